"""Legacy Vietnamese encodings seen through Unicode: TCVN3 (ABC, ".VnTime" fonts) and VNI-Windows.

Old documents stored Vietnamese as single bytes that only their own fonts draw correctly.
Opened without those fonts, or copied out of them, each byte becomes the Latin-1 character
of the same number: "ViÖt Nam" (TCVN3) or "Vieät Nam" (VNI) for "Việt Nam". This module says
whether a text is such garbage (`detect_legacy`), turns it back into Unicode (`to_unicode`),
and reads the font names a DOCX uses (`font_encoding`, `legacy_fonts_in_docx`).

Detection works per word: a word votes for an encoding when it is *not* a Vietnamese syllable
as it stands but becomes one once decoded. Ordinary Unicode Vietnamese words are syllables
already and English words are ASCII, so neither votes; French or German accents decode into
non-syllables ("café" → "cafộ"), so they do not vote either.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from typing import Literal

from lxml import etree

from reportcycle.vietnamese import nfc

Encoding = Literal["tcvn3", "vni"]

# The 67 lowercase Vietnamese letters beyond ASCII, in the order both tables below follow:
# per vowel (a ă â e ê i o ô ơ u ư y) the bare letter where it is not ASCII, then the tones
# sắc, huyền, hỏi, ngã, nặng; then đ. Capitals are the same string upper-cased.
LETTERS = "áàảãạăắằẳẵặâấầẩẫậéèẻẽẹêếềểễệíìỉĩịóòỏõọôốồổỗộơớờởỡợúùủũụưứừửữựýỳỷỹỵđ"

# TCVN 5712:1993. The ABC fonts (.VnTime) use the lowercase set (VN3, 0xA8-0xFE) and seven
# bare capitals (0xA1-0xA7); toned capitals have no code there (typists switched to the
# all-capitals ".VnTimeH" fonts), so the full standard (VN1) puts them in C0/C1 control
# positions and in VN3's gaps. Checked against glibc's TCVN5712-1 in tests.
_TCVN3_LOWER = (
    "¸µ¶·¹" "¨¾»¼½Æ" "©ÊÇÈÉË" "ÐÌÎÏÑ" "ªÕÒÓÔÖ" "Ý×ØÜÞ" "ãßáâä" "«èåæçé" "¬íêëìî"
    "óïñòô" "\xadøõö÷ù" "ýúûüþ" "®"
)  # fmt: skip
_TCVN3_UPPER = (
    "\x83\x80\x81\x82\x84" "\xa1\xc0\xaf\xba\xbf\x85" "\xa2\xc4\xc1\xc2\xc3\x86"
    "\x8a\x87\x88\x89\x8b" "\xa3\xda\xc5\xcd\xd9\x8c" "\x90\x8d\x8e\x8f\x91"
    "\x95\x92\x93\x94\x96" "\xa4\xff\xdb\xe0\xf0\x97" "\xa5\x9b\x98\x99\x9a\x9c"
    "\x01\x9d\x9e\x9f\x02" "\xa6\x11\x04\x05\x06\x12" "\x16\x13\x14\x15\x17" "\xa7"
)  # fmt: skip
# VNI-Windows: a base letter then a mark byte (two characters), except for i, ơ, ư, ỵ and đ,
# which have one byte each. Capitals: the same sequences upper-cased ("Vieät" / "VIEÄT").
_VNI_LOWER = (
    "aù aø aû aõ aï aê aé aè aú aü aë aâ aá aà aå aã aä eù eø eû eõ eï eâ eá eà eå eã eä "
    "í ì æ ó ò où oø oû oõ oï oâ oá oà oå oã oä ô ôù ôø ôû ôõ ôï uù uø uû uõ uï "
    "ö öù öø öû öõ öï yù yø yû yõ î ñ"
)

TCVN3: dict[str, str] = dict(
    zip(_TCVN3_LOWER + _TCVN3_UPPER, LETTERS + LETTERS.upper(), strict=True)
)
VNI: dict[str, str] = dict(
    zip(_VNI_LOWER.split() + _VNI_LOWER.upper().split(), LETTERS + LETTERS.upper(), strict=True)
)
_TCVN3_TRANS = str.maketrans(TCVN3)
_TCVN3_CASELESS = frozenset(_TCVN3_LOWER)  # drawn as capitals by the ".VnTimeH" fonts
_VNI_RE = re.compile("|".join(re.escape(k) for k in sorted(VNI, key=len, reverse=True)))

# A word: letters and anything non-ASCII (legacy letters include "§", "¸", "\xad"), without
# ASCII digits and punctuation or typographic quotes and dashes. Python counts "\x85" as a
# space, but in TCVN3 it is "Ặ": hence the explicit whitespace.
_SPACE = "\t\n\v\f\r \u00a0\u2028\u2029\u3000"
_TOKEN = re.compile(rf"[^{_SPACE}!-@\[-`{{-~\u2010-\u2027]+")
_WORDS_AND_SPACES = re.compile(rf"[^{_SPACE}]+|[{_SPACE}]+")
_TONES = {"\u0301": "sắc", "\u0300": "huyền", "\u0309": "hỏi", "\u0303": "ngã", "\u0323": "nặng"}
_ONSET = r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?"
_GLIDED = (  # ending in a glide: no final consonant
    "iêu|yêu|oai|oao|oay|oeo|uây|uôi|uya|ươi|ươu|uyu|"
    "ai|ao|au|ay|âu|ây|eo|êu|ia|iu|oi|ôi|ơi|ua|ui|ưa|ưi|ưu|uơ"
)
_CLOSED = "uyê|iê|yê|uô|ươ|oă|uâ|ă|â"  # only before a final consonant
_OPEN = "oa|oe|uê|uy|a|e|ê|i|o|ô|ơ|u|ư|y"
_CODA = "ch|ng|nh|[cmnpt]"
_SYLLABLE = re.compile(
    rf"{_ONSET}(?:(?:{_GLIDED})|(?:{_CLOSED})(?:{_CODA})|(?:{_OPEN})(?:{_CODA})?)"
)
_STOP_FINAL = ("c", "ch", "p", "t")
_ENCODINGS: tuple[Encoding, ...] = ("tcvn3", "vni")

MAX_PART_BYTES = 50 * 1024 * 1024
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_FONT_ATTRS = tuple(f"{{{W_NS}}}{a}" for a in ("ascii", "hAnsi", "cs", "eastAsia"))


def is_syllable(word: str) -> bool:
    """Whether `word` (Unicode, any case) is one well-formed Vietnamese syllable: onset, vowel
    cluster, final, at most one tone, and only sắc or nặng before -c, -ch, -p, -t."""
    bare = unicodedata.normalize("NFD", word.lower())
    tones = [c for c in bare if c in _TONES]
    bare = unicodedata.normalize("NFC", "".join(c for c in bare if c not in _TONES))
    if len(tones) > 1 or not _SYLLABLE.fullmatch(bare):
        return False
    if bare.endswith(_STOP_FINAL):
        return bool(tones) and _TONES[tones[0]] in ("sắc", "nặng")
    return True


def _decode_word(word: str, encoding: Encoding) -> str:
    if encoding == "tcvn3":
        return word.translate(_TCVN3_TRANS)
    return _VNI_RE.sub(lambda m: VNI[m.group()], word)


def _votes(tokens: list[str]) -> dict[Encoding, set[str]]:
    """Per encoding, the distinct words (lowercased) that vote for it."""
    votes: dict[Encoding, set[str]] = {"tcvn3": set(), "vni": set()}
    for token in tokens:
        if token.isascii() or is_syllable(token):  # English, or ordinary Unicode Vietnamese
            continue
        for encoding in _ENCODINGS:
            decoded = _decode_word(token, encoding)
            if decoded != token and is_syllable(decoded):
                votes[encoding].add(token.lower())
    return votes


def detect_legacy(text: str) -> Encoding | None:
    """The encoding when `text` is TCVN3 or VNI Vietnamese seen as Latin-1, else None.

    Needs at least two distinct voting words (one repeated French "où" is not enough), twice
    as many votes as the other encoding, and votes from half the non-ASCII words (a Unicode
    text with a stray legacy word stays Unicode). Under four words, every non-ASCII word must
    vote."""
    tokens = _TOKEN.findall(nfc(text))
    votes = _votes(tokens)
    best: Encoding = max(_ENCODINGS, key=lambda e: len(votes[e]))
    count, other = len(votes[best]), min(len(v) for v in votes.values())
    if count < 2 or count < 2 * other:
        return None
    non_ascii = sum(1 for t in tokens if not t.isascii())
    voters = sum(1 for t in tokens if t.lower() in votes[best])  # running text: repeats count
    return best if voters >= (non_ascii if len(tokens) < 4 else non_ascii / 2) else None


def to_unicode(text: str, encoding: Encoding) -> str:
    """Decode legacy text seen as Latin-1 back to Unicode (NFC). Characters outside the table
    (ASCII, punctuation, real Unicode) pass through unchanged.

    TCVN3 has no codes for toned capitals in the ABC fonts, so a lowercase code inside an
    all-capitals word ("VIÖT") or line is taken as a capital ("VIỆT")."""
    text = nfc(text)  # an NFD copy splits "ö" into "o" + diaeresis, which no table knows
    if encoding == "vni":
        return nfc(_VNI_RE.sub(lambda m: VNI[m.group()], text))
    if encoding != "tcvn3":
        raise ValueError(f"unknown legacy encoding {encoding!r}: use 'tcvn3' or 'vni'")
    lines = re.split(r"(?<=\n)", text)  # not splitlines(): it also splits at "\x85" (Ặ)
    return nfc("".join(_tcvn3_line(line) for line in lines))


def _cased(chars: Iterable[tuple[str, str]]) -> list[str]:
    """The decoded cased letters of (legacy, decoded) pairs whose case is known."""
    return [d for o, d in chars if o not in _TCVN3_CASELESS and d.lower() != d.upper()]


def _tcvn3_line(line: str) -> str:
    decoded = line.translate(_TCVN3_TRANS)
    known = _cased(zip(line, decoded, strict=True))
    line_caps = len(known) >= 3 and all(c.isupper() for c in known)
    out: list[str] = []
    for match in _WORDS_AND_SPACES.finditer(line):
        word, plain = match.group(), decoded[match.start() : match.end()]
        others = _cased(zip(word, plain, strict=True))
        caps = all(c.isupper() for c in others) and (len(others) >= 2 or line_caps)
        if caps and any(o in _TCVN3_CASELESS for o in word):
            plain = "".join(
                d.upper() if o in _TCVN3_CASELESS else d for o, d in zip(word, plain, strict=True)
            )
        out.append(plain)
    return "".join(out)


def font_encoding(font_name: str) -> Encoding | None:
    """The legacy encoding a font name implies: ".VnTime", ".VnTimeH", ".VnArial" … (ABC) →
    "tcvn3"; "VNI-Times", "VNI-Helve" … → "vni"; anything else → None."""
    name = font_name.strip().lower()
    if re.match(r"vni[-_ ]", name):
        return "vni"
    if name.startswith(".vn") or re.match(r"vn(?!i[-_ ])[a-z]", name):
        return "tcvn3"  # some files lose the leading dot ("VnTime")
    return None


def fonts_in_docx(data: bytes) -> set[str]:
    """Every font name in w:rFonts of word/document.xml and word/styles.xml (theme references
    like w:asciiTheme are not names). Raises ValueError for a non-zip or an oversized part."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ValueError(f"not a DOCX (zip) file: {exc}") from exc
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    names: set[str] = set()
    with archive:
        for part in ("word/document.xml", "word/styles.xml"):
            xml = _read_part(archive, part)
            if xml is None:
                continue
            try:
                root = etree.fromstring(xml, parser)
            except etree.XMLSyntaxError as exc:
                raise ValueError(f"{part} is not well-formed XML: {exc}") from exc
            for element in root.iter(f"{{{W_NS}}}rFonts"):
                names.update(v.strip() for a in _FONT_ATTRS if (v := element.get(a)))
    return {n for n in names if n}


def legacy_fonts_in_docx(data: bytes) -> set[str]:
    """The fonts of `fonts_in_docx` that imply TCVN3 or VNI text."""
    return {name for name in fonts_in_docx(data) if font_encoding(name)}


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_PART_BYTES:
        raise ValueError(f"{name} is {info.file_size} bytes, over {MAX_PART_BYTES}")
    with archive.open(info) as member:  # the header's size may lie: read one byte past it
        xml = member.read(MAX_PART_BYTES + 1)
    if len(xml) > MAX_PART_BYTES:
        raise ValueError(f"{name} is over {MAX_PART_BYTES} bytes")
    return xml
