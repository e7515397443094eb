"""The words and files of a reply, as Outlook, Gmail, Thunderbird and others send them."""

from __future__ import annotations

import base64
import email
import email.policy
import quopri
import unicodedata
from email.message import EmailMessage

import pytest

from reportcycle.inbox.body_text import body_text, decode_bytes, html_to_text, strip_quoted
from reportcycle.inbox.message_parts import attachments, is_auto_reply, is_bounce

OWN = "Kính gửi Văn phòng UBND tỉnh,\nSở Ngoại vụ gửi số liệu: 212.000 người theo dõi.\nTrân trọng."
REQUEST = "Đề nghị các đơn vị báo cáo kết quả công tác thông tin đối ngoại 6 tháng đầu năm 2024."
OWN_HTML = OWN.replace("\n", "<br>")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def headers(subject: str = "Re: [RC-abc] Báo cáo 6 tháng", **extra: str) -> bytes:
    fields = {"From": "Sở Ngoại vụ <songoaivu@dongnai.gov.vn>", "To": "baocao@dongnai.gov.vn"}
    fields |= {k.replace("_", "-"): v for k, v in extra.items()}
    lines = [f"{k}: {v}" for k, v in fields.items()]
    encoded = base64.b64encode(subject.encode()).decode()
    return ("\r\n".join([*lines, f"Subject: =?utf-8?B?{encoded}?=", "MIME-Version: 1.0"])).encode()


def single_part(body: bytes, content_type: str, cte: str = "8bit", **extra: str) -> EmailMessage:
    head = headers(**extra) + f"\r\nContent-Type: {content_type}\r\n".encode()
    return parse(head + f"Content-Transfer-Encoding: {cte}\r\n\r\n".encode() + body)


def text_message(text: str, **extra: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = "songoaivu@dongnai.gov.vn", "baocao@dongnai.gov.vn"
    message["Subject"] = extra.pop("subject", "Re: Báo cáo")
    for name, value in extra.items():
        del message[name.replace("_", "-")]
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message


# --- Outlook ---------------------------------------------------------------------------------

OUTLOOK_HTML = f"""<html><head><meta charset="utf-8"><style>p.MsoNormal {{margin:0}}</style>
<!--[if gte mso 9]><xml><o:OfficeDocumentSettings/></xml><![endif]--></head>
<body><div class="WordSection1">
<p class="MsoNormal">Kính gửi Văn phòng UBND tỉnh,</p>
<p class="MsoNormal">Sở Ngoại vụ gửi số liệu:&nbsp;212.000 người theo dõi.</p>
<p class="MsoNormal">Trân trọng.</p></div>
<div id="appendonsend"></div><hr style="display:inline-block;width:98%">
<div id="divRplyFwdMsg"><b>From:</b> Văn phòng &lt;baocao@dongnai.gov.vn&gt;<br>
<b>Sent:</b> Monday, June 17, 2024 8:00 AM<br><b>Subject:</b> Báo cáo</div>
<div>{REQUEST}</div></body></html>"""


def test_outlook_html_reply_quoted_printable_keeps_only_the_reply() -> None:
    body = quopri.encodestring(OUTLOOK_HTML.encode())
    message = single_part(body, 'text/html; charset="utf-8"', "quoted-printable")
    assert body_text(message) == OWN


def test_outlook_plain_text_header_block_is_cut() -> None:
    text = (
        f"{OWN}\n\n________________________________\nFrom: Văn phòng <baocao@dongnai.gov.vn>\n"
        f"Sent: Monday, June 17, 2024 8:00 AM\nTo: Sở Ngoại vụ\nSubject: Báo cáo\n\n{REQUEST}"
    )
    assert strip_quoted(text) == OWN


def test_vietnamese_outlook_header_block_is_cut() -> None:
    text = (
        f"{OWN}\r\n\r\nTừ: Văn phòng <baocao@dongnai.gov.vn>\r\nĐã gửi: Thứ Hai, 17 tháng 6, "
        f"2024 8:00\r\nĐến: Sở Ngoại vụ\r\nChủ đề: Báo cáo\r\n\r\n{REQUEST}"
    )
    assert strip_quoted(text) == OWN


@pytest.mark.parametrize("marker", ["-----Original Message-----", "-----Thư gốc-----",
                                    "-----Tin nhắn gốc-----"])  # fmt: skip
def test_original_message_separator_is_cut(marker: str) -> None:
    assert strip_quoted(f"{OWN}\n\n{marker}\nFrom: x\n{REQUEST}") == OWN


def test_zimbra_html_quote_after_its_rule_is_dropped() -> None:
    html = (
        f'<html><body><div>{OWN_HTML}</div><hr id="zwchr"><div><b>Người gửi: </b>Văn phòng'
        f"<br><b>Chủ đề: </b>Báo cáo</div><blockquote>{REQUEST}</blockquote></body></html>"
    )
    message = single_part(html.encode(), "text/html; charset=utf-8")
    assert body_text(message) == OWN


def test_zimbra_plain_original_message_with_vietnamese_fields_is_cut() -> None:
    text = (
        f"{OWN}\n\n----- Thư gốc -----\nNgười gửi: Văn phòng <baocao@dongnai.gov.vn>\n"
        f"Gửi tới: so@dongnai.gov.vn\nNgày gửi: Thứ Hai, 17 Tháng Sáu 2024 08:00\n"
        f"Chủ đề: Báo cáo\n\n{REQUEST}"
    )
    assert strip_quoted(text) == OWN
    assert strip_quoted(text.replace("----- Thư gốc -----\n", "")) == OWN


def test_a_line_mentioning_from_in_the_reply_is_kept() -> None:
    text = "From: Sở Ngoại vụ, kết quả như sau\n- 212.000 người theo dõi"
    assert strip_quoted(text) == text


# --- Gmail -----------------------------------------------------------------------------------

GMAIL_HTML = f"""<div dir="ltr"><div>Kính gửi Văn phòng UBND tỉnh,</div><div>Sở Ngoại vụ gửi
số liệu: 212.000 người theo dõi.</div><div><br></div><div>Trân trọng.</div></div><br>
<div class="gmail_quote"><div dir="ltr" class="gmail_attr">Vào Th 2, 17 thg 6, 2024 vào lúc
08:00 Văn phòng &lt;baocao@dongnai.gov.vn&gt; đã viết:<br></div>
<blockquote class="gmail_quote">{REQUEST}</blockquote></div>"""


def test_gmail_html_base64_drops_gmail_quote() -> None:
    body = base64.encodebytes(GMAIL_HTML.encode())
    message = single_part(body, "text/html; charset=UTF-8", "base64")
    assert body_text(message) == OWN.replace("dõi.\n", "dõi.\n\n")  # the <div><br></div>


def test_gmail_plain_part_is_preferred_and_its_quote_stripped() -> None:
    message = text_message("")
    plain = (
        f"{OWN}\n\nOn Mon, 17 Jun 2024 at 08:00, Văn phòng UBND tỉnh <baocao@dongnai.gov.vn>\n"
        f"wrote:\n\n> {REQUEST}\n>\n"
    )
    message.set_content(plain)
    message.add_alternative(GMAIL_HTML, subtype="html")
    assert strip_quoted(body_text(message)) == OWN


# --- Thunderbird, Vietnamese and French attributions, signatures -----------------------------


def test_thunderbird_flowed_text_with_attribution_and_quotes() -> None:
    flowed = (
        "Kính gửi Văn phòng UBND tỉnh,\r\nSở Ngoại vụ gửi số liệu: 212.000 người theo \r\n"
        "dõi.\r\nTrân trọng.\r\n\r\nOn 17/06/2024 08:00, Văn phòng wrote:\r\n> Đề nghị các "
        "đơn vị \r\n> báo cáo.\r\n"
    )
    message = single_part(flowed.encode(), "text/plain; charset=UTF-8; format=flowed")
    assert body_text(message).endswith("> Đề nghị các đơn vị báo cáo.")
    assert strip_quoted(body_text(message)) == OWN


@pytest.mark.parametrize(
    "attribution",
    [
        "Vào Th 2, 17 thg 6, 2024 lúc 08:00 Văn phòng <baocao@dongnai.gov.vn> đã viết:",
        "Vào Th 2, 17 thg 6, 2024 lúc 08:00 Văn phòng UBND tỉnh Đồng Nai <\n"
        "baocao@dongnai.gov.vn> đã viết:",
        "Vào lúc 08:00, ngày 17/06/2024, Văn phòng đã viết:",
        "Le lun. 17 juin 2024 à 08:00, Văn phòng <baocao@dongnai.gov.vn> a écrit :",
        "On Mon, Jun 17, 2024 at 8:00 AM Văn phòng <baocao@dongnai.gov.vn> wrote:",
    ],
)
def test_attribution_lines_start_the_history(attribution: str) -> None:
    assert strip_quoted(f"{OWN}\n\n{attribution}\n\n{REQUEST}\n") == OWN


def test_quoted_lines_are_removed_and_interleaved_answers_kept() -> None:
    text = "> Số người theo dõi?\n212.000 người.\n> Số ấn phẩm?\n12 ấn phẩm."
    assert strip_quoted(text) == "212.000 người.\n12 ấn phẩm."


def test_signature_separator_cuts_the_signature() -> None:
    text = f"{OWN}\n\n-- \nNguyễn Văn A\nChuyên viên Sở Ngoại vụ\nĐT: 0251 3822 xxx"
    assert strip_quoted(text) == OWN
    assert strip_quoted(body_text(text_message(text))) == OWN


def test_blank_lines_collapse() -> None:
    assert strip_quoted("Dòng 1\n\n\n\n\nDòng 2\n\n\n") == "Dòng 1\n\nDòng 2"


# --- forwards --------------------------------------------------------------------------------

FORWARDED = (
    "---------- Forwarded message ---------\nFrom: Nguyễn Văn A <a@dongnai.gov.vn>\n"
    "Date: Mon, 17 Jun 2024 at 09:00\nSubject: Re: Báo cáo 6 tháng\nTo: <so@dongnai.gov.vn>\n"
    f"\n\n{OWN}\n\nVào Th 2, 17 thg 6, 2024 lúc 08:00 Văn phòng đã viết:\n> {REQUEST}\n"
)


def test_forward_with_empty_own_text_keeps_the_forwarded_reply() -> None:
    assert strip_quoted(f"\n\n{FORWARDED}") == OWN
    assert strip_quoted(f"-- \nChuyên viên\n\n{FORWARDED}") == OWN  # signature above it


def test_forward_below_own_text_is_history() -> None:
    assert strip_quoted(f"Chuyển tiếp báo cáo của Sở.\n\n{FORWARDED}") == (
        "Chuyển tiếp báo cáo của Sở."
    )


def test_gmail_html_forward_without_own_text_keeps_the_forwarded_reply() -> None:
    html = (
        '<div dir="ltr"><br><br><div class="gmail_quote"><div class="gmail_attr">'
        "---------- Forwarded message ---------<br>From: <b>Nguyễn Văn A</b> "
        "&lt;a@dongnai.gov.vn&gt;<br>Date: Mon, 17 Jun 2024<br>Subject: Báo cáo<br>"
        f'To: &lt;so@dongnai.gov.vn&gt;<br></div><br><br><div dir="ltr">{OWN_HTML}</div></div>'
        "</div>"
    )
    message = single_part(html.encode(), "text/html; charset=utf-8")
    assert strip_quoted(body_text(message)) == OWN


# --- charsets and normalisation --------------------------------------------------------------


def to_cp1258(text: str) -> bytes:
    """Windows-1258 has ă â ê ô ơ ư đ precomposed but most tones as combining marks."""
    out = []
    for char in text:
        try:
            out.append(char.encode("cp1258"))
        except UnicodeEncodeError:
            base, *marks = list(unicodedata.normalize("NFD", char))
            tones = [m for m in marks if m in "\u0300\u0301\u0303\u0309\u0323"]
            shape = unicodedata.normalize("NFC", base + "".join(m for m in marks if m not in tones))
            out.append((shape + "".join(tones)).encode("cp1258"))
    return b"".join(out)


def test_windows_1258_body_declared_as_such() -> None:
    message = single_part(to_cp1258(OWN), "text/plain; charset=windows-1258")
    assert body_text(message) == OWN


@pytest.mark.parametrize(
    ("body", "declared"),
    [
        (OWN.encode(), "iso-8859-1"),  # never fails, so the UTF-8 check must win
        (OWN.encode(), "us-ascii"),
        (OWN.encode(), "x-unknown-charset"),
        (OWN.encode(), None),
        (to_cp1258(OWN), "utf-8"),
    ],
)
def test_wrong_or_missing_declared_charset_falls_back(body: bytes, declared: str | None) -> None:
    charset = f"; charset={declared}" if declared else ""
    message = single_part(body, f"text/plain{charset}")
    assert body_text(message) == OWN


def test_windows_1252_is_the_last_resort() -> None:
    assert decode_bytes("café €5".encode("cp1252"), None) == "café €5"


def test_nfd_body_and_crlf_come_out_nfc_without_trailing_spaces() -> None:
    nfd = unicodedata.normalize("NFD", OWN).replace("\n", "   \r\n")
    text = body_text(text_message(nfd))
    assert text == OWN
    assert unicodedata.is_normalized("NFC", text)


def test_html_lists_tables_entities_and_scripts() -> None:
    html = (
        "<style>.x{color:red}</style><script>alert(1)</script><p>Kết quả &amp; số liệu:</p>"
        "<ul><li>Lớp tập huấn: 3</li><li>Ấn phẩm: 12,5</li></ul>"
        "<table><tr><td>Chỉ tiêu</td> <td>Số</td></tr><tr><td>Người theo dõi</td>"
        "<td>212.000</td></tr></table>"
    )
    assert html_to_text(html) == (
        "Kết quả & số liệu:\n- Lớp tập huấn: 3\n- Ấn phẩm: 12,5\nChỉ tiêu\tSố\n"
        "Người theo dõi\t212.000"
    )


# --- attachments -----------------------------------------------------------------------------

NFD_NAME = unicodedata.normalize("NFD", "Báo cáo Sở Ngoại vụ.docx")


def _multipart(*parts: bytes) -> EmailMessage:
    body = b"".join(b"--XYZ\r\n" + p + b"\r\n" for p in parts) + b"--XYZ--\r\n"
    head = headers() + b'\r\nContent-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
    return parse(head + body)


def _part(disposition: str, content: bytes = b"PK\x03\x04 docx") -> bytes:
    encoded = base64.b64encode(content)
    return (f"Content-Type: {DOCX}\r\nContent-Transfer-Encoding: base64\r\n"
            f"Content-Disposition: {disposition}\r\n\r\n").encode() + encoded  # fmt: skip


def test_rfc2047_and_rfc2231_names_are_decoded_to_nfc() -> None:
    rfc2047 = base64.b64encode(NFD_NAME.encode()).decode()
    rfc2231 = "".join(f"%{b:02X}" for b in NFD_NAME.encode())
    message = _multipart(
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nXem tep dinh kem.",
        _part(f'attachment; filename="=?utf-8?B?{rfc2047}?="'),
        _part(f"attachment; filename*=utf-8''{rfc2231}"),
        _part("inline; filename*0*=utf-8''B%C3%A1o%20c%C3%A1o; filename*1=\".pdf\""),
        _part("inline"),  # an inline part without a name is part of the body
    )
    found = attachments(message)
    assert [a.filename for a in found] == [unicodedata.normalize("NFC", NFD_NAME)] * 2 + [
        "Báo cáo.pdf"
    ]
    assert all(a.data == b"PK\x03\x04 docx" and a.size == len(a.data) for a in found)
    assert found[0].content_type == DOCX
    assert body_text(message) == "Xem tep dinh kem."


def test_attachment_inside_forwarded_message_is_found() -> None:
    inner = EmailMessage()
    inner["Subject"], inner["From"] = "Báo cáo", "a@dongnai.gov.vn"
    inner.set_content("Gửi kèm phiếu.")
    inner.add_attachment(b"PK form", maintype="application", subtype="msword",
                         filename="Phiếu Sở Ngoại vụ.doc")  # fmt: skip
    outer = text_message("Chuyển tiếp thư của đơn vị.")
    outer.add_attachment(inner)
    outer.add_attachment(b"%PDF-1.7", maintype="application", subtype="pdf",
                         filename="scan.pdf")  # fmt: skip
    found = attachments(parse(outer.as_bytes()))
    assert [(a.filename, a.content_type, a.data) for a in found] == [
        ("Phiếu Sở Ngoại vụ.doc", "application/msword", b"PK form"),
        ("scan.pdf", "application/pdf", b"%PDF-1.7"),
    ]


def test_a_name_with_a_path_is_kept_as_a_name_only() -> None:
    message = _multipart(_part('attachment; filename="../../etc/passwd\x07.docx"'))
    [found] = attachments(message)
    assert found.filename == "../../etc/passwd.docx"  # shown, never used as a path


# --- auto-replies and bounces ----------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Auto_Submitted": "auto-generated; owner-email=x@y"},
        {"X_Autoreply": "yes"},
        {"X_Autorespond": "Out of office"},
        {"Precedence": "bulk"},
        {"Precedence": "auto_reply"},
        {"Precedence": "junk"},
        {"subject": "Auto: Báo cáo 6 tháng"},
        {"subject": "Automatic reply: Báo cáo"},
        {"subject": "Trả lời tự động: Báo cáo"},
        {"subject": "Out of Office: Báo cáo"},
    ],
)
def test_auto_replies_are_recognised(extra: dict[str, str]) -> None:
    message = text_message("Tôi đang đi công tác.", **extra)
    assert is_auto_reply(message)
    assert not is_bounce(message)


def test_normal_reply_is_neither_auto_reply_nor_bounce() -> None:
    message = text_message(OWN, Auto_Submitted="no", Return_Path="<so@dongnai.gov.vn>")
    assert not is_auto_reply(message)
    assert not is_bounce(message)


def test_delivery_status_report_is_a_bounce() -> None:
    raw = headers(subject="Undelivered Mail Returned to Sender", From="MAILER-DAEMON@mx.vn") + (
        b'\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.vn\r\n\r\n"
        b"Final-Recipient: rfc822; x@y.vn\r\nAction: failed\r\nStatus: 5.1.1\r\n--B--\r\n"
    )
    assert is_bounce(parse(raw))


@pytest.mark.parametrize(("return_path", "bounce"), [("<>", True), ("", True), (None, False)])
def test_mailer_daemon_with_empty_envelope_sender_is_a_bounce(
    return_path: str | None, bounce: bool
) -> None:
    extra = {"From": "Mail Delivery System <MAILER-DAEMON@mail.dongnai.gov.vn>"}
    if return_path is not None:
        extra["Return_Path"] = return_path
    assert is_bounce(text_message("Không gửi được thư.", **extra)) is bounce
