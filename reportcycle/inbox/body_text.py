"""The words and files of a reply: body text without quoted history, attachments, and whether
the message is an auto-reply or a bounce rather than a unit's answer.

Mail clients differ in every detail, so each rule below names the client it exists for.
Everything returned is NFC (macOS and some webmail send NFD).
"""

from __future__ import annotations

import codecs
import re
from email.message import EmailMessage, Message
from html.parser import HTMLParser

from reportcycle.vietnamese import nfc

_FALLBACK_CHARSETS = ("utf-8", "cp1258", "windows-1252")


def body_text(message: EmailMessage) -> str:
    """The text of the message itself: text/plain if there is one, else its HTML as text, with
    the quoted history HTML marks as such dropped (`strip_quoted` removes the rest)."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = decode_bytes(part_payload(part), part.get_content_charset())
    if part.get_content_type() == "text/html":
        # A forward with nothing written above it is all "quote": keep it then.
        text = html_to_text(text) or html_to_text(text, drop_quotes=False)
    elif str(part.get_param("format", "")).lower() == "flowed":
        text = _unflow(text, delsp=str(part.get_param("delsp", "")).lower() == "yes")
    return _normalise(text).strip("\n")


def decode_bytes(data: bytes, declared: str | None) -> str:
    """Decode with the declared charset, unless it fails, is unknown or missing, or the bytes
    are valid non-ASCII UTF-8 under a different label (a wrong "iso-8859-1" is common and never
    fails); then UTF-8, Windows-1258 (Vietnamese), Windows-1252."""
    utf8 = not data.isascii() and _decodes(data, "utf-8")
    if declared and _decodes(data, declared):
        if not utf8 or codecs.lookup(declared).name == "utf-8":
            return data.decode(declared)
    for charset in _FALLBACK_CHARSETS:
        if _decodes(data, charset):
            return data.decode(charset)
    return data.decode("windows-1252", errors="replace")


def _decodes(data: bytes, charset: str) -> bool:
    try:
        data.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def part_payload(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _unflow(text: str, *, delsp: bool) -> str:
    """RFC 3676 format=flowed (Thunderbird, Apple Mail): a line ending in a space goes on in the
    next line of the same quote depth; unjoined, each wrapped line would read as a paragraph."""
    lines: list[tuple[int, str]] = []  # (quote depth, text)
    soft = False
    for raw in text.replace("\r\n", "\n").split("\n"):
        unquoted = raw.lstrip(">")
        depth = len(raw) - len(unquoted)
        line = unquoted[1:] if unquoted.startswith(" ") else unquoted  # space-stuffing
        if soft and lines[-1][0] == depth:
            lines[-1] = (depth, lines[-1][1] + line)
        else:
            lines.append((depth, line))
        soft = line.endswith(" ") and line != "-- "
        if soft and delsp:
            lines[-1] = (depth, lines[-1][1][:-1])
    return "\n".join(">" * d + " " * bool(d) + t for d, t in lines)


class _HtmlText(HTMLParser):
    """HTML to lines: block elements break lines, <li> starts "- ", cells are tab-separated,
    <style>/<script> vanish; with drop_quotes, everything from a client's quote marker on is
    ignored."""

    _BLOCKS = frozenset(
        "p div tr table tbody thead ul ol li h1 h2 h3 h4 h5 h6 blockquote pre hr dl dt dd "
        "section article header footer address center".split()
    )
    _SKIPPED = frozenset({"style", "script", "title", "template", "noscript"})

    def __init__(self, *, drop_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.drop_quotes, self.stopped = drop_quotes, False
        self.skipping = self.pre = 0
        self.chunks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: (v or "") for k, v in attrs}
        if self.drop_quotes and _is_quote_marker(tag, values):
            self.stopped = True
        self.skipping += tag in self._SKIPPED
        self.pre += tag == "pre"
        if tag == "br":
            self.chunks.append("\n")
        elif tag in ("td", "th") and not self._at_line_start():
            self.chunks.append("\t")
        elif tag in self._BLOCKS:
            self._line_break()
            if tag == "li":
                self.chunks.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED and self.skipping:
            self.skipping -= 1
        if tag == "pre" and self.pre:
            self.pre -= 1
        if tag in self._BLOCKS:
            self._line_break()

    def handle_data(self, data: str) -> None:
        if self.stopped or self.skipping:
            return
        data = data.replace("\xa0", " ")
        self.chunks.append(data if self.pre else re.sub(r"[ \t\r\n\f]+", " ", data))

    def _at_line_start(self) -> bool:
        while self.chunks and not self.chunks[-1].strip(" "):  # spaces at a line's end go
            self.chunks.pop()
        return not self.chunks or self.chunks[-1].endswith(("\n", "\t"))

    def _line_break(self) -> None:
        if not self._at_line_start():
            self.chunks.append("\n")


def _is_quote_marker(tag: str, attrs: dict[str, str]) -> bool:
    classes = set(attrs.get("class", "").split())
    if tag == "div" and classes & {"gmail_quote", "gmail_quote_container", "moz-cite-prefix",
                                   "yahoo_quoted"}:  # fmt: skip
        return True  # Gmail; Thunderbird's "On … wrote:" above its blockquote; Yahoo
    if tag == "div" and attrs.get("id") in ("divRplyFwdMsg", "appendonsend"):
        return True  # Outlook on the web / new Outlook
    if tag == "hr" and attrs.get("id") == "zwchr":
        return True  # Zimbra, the webmail of many provincial mail servers
    return tag == "blockquote" and attrs.get("type", "").lower() == "cite"  # Apple, Thunderbird


def html_to_text(html: str, *, drop_quotes: bool = True) -> str:
    """Readable text of an HTML body (see `_HtmlText`); "" when nothing is left."""
    parser = _HtmlText(drop_quotes=drop_quotes)
    parser.feed(html)
    parser.close()
    text = re.sub(r" *\t *", "\t", re.sub(r" {2,}", " ", "".join(parser.chunks)))
    lines = (line.strip(" ") for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def _normalise(text: str) -> str:
    """NFC, "\\n" line ends, no trailing spaces."""
    text = nfc(text).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n"))


_BLANK_RUNS = re.compile(r"\n{3,}")  # three or more line ends: one blank line is enough


_ATTRIBUTION = re.compile(  # Gmail, Thunderbird, Apple Mail; Vietnamese and French Gmail
    r"(?:On\s.{1,300}\swrote|Vào\s.{1,300}\sđã viết|Le\s.{1,300}\sa écrit)\s?:", re.S
)
_ORIGINAL = re.compile(r"-{2,}\s*(?:Original Message|Thư gốc|Tin nhắn gốc)\s*-{2,}", re.I)
_FORWARD = re.compile(
    r"-{2,}\s*(?:Forwarded message|Thư được chuyển tiếp|Tin nhắn được chuyển tiếp)\s*-{2,}"
    r"|Begin forwarded message:|Bắt đầu thư được chuyển tiếp:",
    re.I,
)
_SIGNATURE = re.compile(r"--\s?")  # "-- ", or "--" once trailing spaces are gone
_FIELD = r"\*?(?:{})\s*:\*?"
_FROM = re.compile(_FIELD.format("From|Từ|Người gửi") + r"\s*\S")
_SENT = re.compile(_FIELD.format("Sent|Date|Đã gửi|Gửi|Ngày|Ngày gửi|Gửi lúc|Thời gian"))
_SUBJECT = re.compile(_FIELD.format("Subject|Chủ đề|Tiêu đề"))
_HEADER_LINE = re.compile(
    _FIELD.format("From|Sent|Date|To|Cc|Bcc|Subject|Reply-To|Từ|Người gửi|Đã gửi|Gửi|Ngày|"
                  "Ngày gửi|Đến|Tới|Gửi đến|Gửi tới|Chủ đề|Tiêu đề|Gửi lúc|Thời gian"),
    re.I,
)  # fmt: skip
_RULE = re.compile(r"[_\-=*]{5,}")  # Outlook's "______" above its header block


def strip_quoted(text: str) -> str:
    """The reply's own words: lines quoted with ">" go, and so does everything from the first
    attribution line ("On … wrote:", "Vào … đã viết:", "Le … a écrit :"), "-----Original
    Message-----" (or "Thư gốc", "Tin nhắn gốc"), Outlook header block (From/Sent/To/Subject,
    "Từ/Đã gửi/Đến/Chủ đề"), forwarded-message line or signature separator "-- ".

    A forward with nothing written above it is the reply passed on by someone else: then the
    forwarded text, without its header block, is the reply."""
    lines = _normalise(text).split("\n")
    cut = _first_cut(lines)
    own = [line for line in lines[:cut] if not line.startswith(">")]
    if not "".join(own).strip():
        for i in range(cut, len(lines)):
            if _FORWARD.fullmatch(lines[i].strip()):
                return strip_quoted("\n".join(_skip_header_block(lines[i + 1 :])))
    while own and (not own[-1].strip() or _RULE.fullmatch(own[-1].strip())):
        own.pop()
    return _BLANK_RUNS.sub("\n\n", "\n".join(own)).strip("\n")


def _first_cut(lines: list[str]) -> int:
    """Index of the first line where quoted history or a signature begins (len if none)."""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if (
            _SIGNATURE.fullmatch(line)
            or _ORIGINAL.fullmatch(stripped)
            or _FORWARD.fullmatch(stripped)
            or _is_attribution(lines, i)
            or _is_header_block(lines, i)
        ):
            return i
    return len(lines)


def _is_attribution(lines: list[str], i: int) -> bool:
    # Gmail wraps a long attribution ("On …, Name <address>\nwrote:") over two or three lines.
    if not lines[i].startswith(("On ", "Vào ", "Le ")):
        return False
    return any(
        _ATTRIBUTION.fullmatch(" ".join(s.strip() for s in lines[i : i + n])) for n in (1, 2, 3)
    )


def _is_header_block(lines: list[str], i: int) -> bool:
    if not _FROM.match(lines[i].strip()):
        return False
    following = [line.strip() for line in lines[i + 1 : i + 8]]
    return any(_SENT.match(s) for s in following) and any(_SUBJECT.match(s) for s in following)


def _skip_header_block(lines: list[str]) -> list[str]:
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start == len(lines) or not _HEADER_LINE.match(lines[start].strip()):
        return lines[start:]
    end = start
    while end < len(lines) and lines[end].strip():  # fields and their folded continuations
        end += 1
    return lines[end:]
