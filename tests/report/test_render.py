"""The consolidated report in the Decree 30/2020/NĐ-CP layout: one test per rule of Annex I
(read back from the DOCX with the formatting Word would show), draft attribution, the final
without it, finalizing an edited draft, and the PDF LibreOffice makes of it."""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import unicodedata
import zipfile
from collections.abc import Callable
from typing import TYPE_CHECKING

import docx
import pytest
from docx.document import Document
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml.ns import qn
from docx.shared import Length, Mm
from docx.table import Table
from docx.text.paragraph import Paragraph

from reportcycle.documents.convert import convert
from reportcycle.report.context import (
    Para,
    ReportContext,
    ReportSection,
    SignatureBlock,
    TableBlock,
)
from reportcycle.report.finalize import finalize_edited
from reportcycle.report.render import MOTTO, MOTTO_NATION, issuer_lines, render_docx
from tests.docx_layout import (
    Layout,
    ParagraphLook,
    RunLook,
    all_paragraphs,
    table_paragraphs,
    twips,
)

if TYPE_CHECKING:
    from pypdf import PageObject
    from pypdf.generic import DictionaryObject

NUMBER_LINE = "Số: 05/BC-UBND"
PLACE_DATE = "Đồng Nai, ngày 03 tháng 7 năm 2024"
DRAFT_NUMBER_LINE = "Số:      /BC-UBND"
DRAFT_PLACE_DATE = "Đồng Nai, ngày      tháng 7 năm 2024"
DRAFT_LABEL = "DỰ THẢO lần 2 — 25/6/2024 10:00"
FLAG = "Gần trùng với đoạn của Sở Thông tin và Truyền thông (mục 3b)"
EMPTY_NOTE = "Chưa nhận được báo cáo của UBND các huyện, thành phố (hạn 20/6/2024)"
REVIEW_NOTES = (
    "Chưa nhận được báo cáo của UBND các huyện, thành phố: mục 3d để trống.",
    "Đoạn về giao ban báo chí gần trùng giữa hai đơn vị: giữ một đoạn.",
)
RECIPIENTS = (
    "Ban Tuyên giáo Tỉnh ủy",
    "Q. Chủ tịch, các Phó Chủ tịch UBND tỉnh",
    "Chánh, Phó Chánh Văn phòng (THNC)",
    "Sở Thông tin và Truyền thông",
    "Lưu: VT, THNC.",
)
OPENING = (
    "Thực hiện văn bản số 2608/CV/BTGTU ngày 10/6/2024 của Ban Tuyên giáo Tỉnh ủy về việc báo "
    "cáo kết quả triển khai công tác thông tin đối ngoại 6 tháng đầu năm 2024; UBND tỉnh báo cáo "
    "kết quả thực hiện cụ thể như sau:"
)
CLOSING = (
    "Trên đây là kết quả triển khai công tác thông tin đối ngoại 6 tháng đầu năm 2024, kính gửi "
    "Ban Tuyên giáo Tỉnh ủy tổng hợp theo quy định./."
)
SO_NGOAI_VU, BAO_DN = "Sở Ngoại vụ", "Báo Đồng Nai"
DAI_PTTH, SO_TTTT = "Đài Phát thanh – Truyền hình Đồng Nai", "Sở Thông tin và Truyền thông"
SO_VHTTDL, SO_CT = "Sở Văn hóa, Thể thao và Du lịch", "Sở Công Thương"
TNR = "Times New Roman"


def _sections() -> tuple[ReportSection, ...]:
    """Sections 1–4 of the reference report (abridged where a paragraph only adds length)."""
    return (
        ReportSection("1", "1. Bối cảnh, tình hình", 1, (
            Para(
                "Trong 6 tháng đầu năm 2024, tình hình thế giới tiếp tục diễn biến nhanh, phức "
                "tạp, khó lường, chứa đựng nhiều yếu tố bất ngờ khó dự báo. Hòa bình, hợp tác, "
                "liên kết để phát triển vẫn là xu thế lớn, nhưng cạnh tranh chiến lược giữa các "
                "nước lớn tiếp tục gia tăng với hình thái đa dạng. Kinh tế thế giới chịu sự tác "
                "động tiêu cực của nhiều yếu tố như: cạnh tranh chiến lược giữa các nước lớn gay "
                "gắt hơn; xung đột Nga - Ukraine tiếp tục kéo dài, xung đột địa chính trị tại Biển "
                "Đỏ, dải Gaza leo thang, tiếp tục làm gia tăng rủi ro đối với an toàn hàng hải, "
                "thương mại quốc tế, chuỗi cung ứng hàng hóa, dầu thô, lương thực toàn cầu... "
                "Trong bối cảnh đó, ngoại giao Việt Nam tiếp tục thực hiện nhất quán đường lối "
                "đối ngoại độc lập, tự chủ vì hòa bình, hữu nghị, hợp tác và phát triển, đa dạng "
                "hóa, đa phương hóa; đồng thời uyển chuyển, linh hoạt, sáng tạo, cơ động trong "
                "sách lược để thích ứng với tình hình mới."
            ),
            Para(
                "Trước bối cảnh đó, UBND tỉnh đã lãnh đạo, chỉ đạo công tác thông tin đối ngoại "
                "một cách đồng bộ và hiệu quả; tích cực chủ động, linh hoạt và sáng tạo trong "
                "công tác thông tin đối ngoại, thực hiện tốt công tác hội nhập quốc tế, đưa mối "
                "quan hệ hợp tác giữa tỉnh Đồng Nai với các địa phương nước ngoài ngày càng nâng "
                "cao và đi vào chiều sâu thực tiễn và hiệu quả."
            ),
        )),
        ReportSection("2", "2. Công tác chỉ đạo, triển khai thực hiện", 1, (
            Para("UBND tỉnh đã ban hành các Kế hoạch, chương trình về công tác thông tin đối "
                 "ngoại như sau:"),
            Para("- Kế hoạch số 262/KH-UBND ngày 08/11/2023 về hoạt động thông tin đối ngoại "
                 "năm 2024.", bullet=True, sources=(SO_NGOAI_VU,)),
            Para("- Chương trình số 10/CTr-UBND ngày 11/12/2023 của UBND tỉnh Đồng Nai về công "
                 "tác đối ngoại nhân dân 2024.", bullet=True, sources=(SO_NGOAI_VU,)),
            Para("- Kế hoạch số 103/KH-UBND ngày 27/3/2024 về phối hợp với các cơ quan báo chí "
                 "Trung ương và ngoài tỉnh tuyên truyền về Đồng Nai năm 2024.", bullet=True,
                 sources=(SO_TTTT,)),
            Para("- Kế hoạch thực hiện Nghị quyết số 47/NQ-CP ngày 15/4/2024 của Chính phủ về "
                 "Chương trình hành động của Chính phủ đến năm 2030 thực hiện Kết luận số "
                 "57-KL/TW ngày 15 tháng 6 năm 2023 của Bộ Chính trị về tiếp tục nâng cao chất "
                 "lượng, hiệu quả công tác thông tin đối ngoại trong tình hình mới.", bullet=True,
                 sources=(SO_NGOAI_VU,)),
            Para(
                "Trên cơ sở kế hoạch của UBND tỉnh, các sở, ban, ngành, địa phương đã triển khai "
                "thực hiện hoạt động thông tin đối ngoại phù hợp với chức năng, nhiệm vụ của đơn "
                "vị, địa phương: thông tin, tuyên truyền đối ngoại năm và hướng dẫn tuyên truyền "
                "biển, đảo năm 2024; hướng dẫn tuyên truyền nâng cao nhận thức nhằm ngăn chặn "
                "việc di cư trái pháp luật; thông tin, hướng dẫn việc nhập cảnh của người nước "
                "ngoài, người Việt Nam định cư ở nước ngoài..."
            ),
        )),
        ReportSection("3", "3. Kết quả thực hiện", 1),
        ReportSection("3a", "a) Đào tạo, tập huấn, bồi dưỡng kiến thức đối ngoại, thông tin đối "
                      "ngoại", 2, (
            Para(
                "UBND tỉnh chỉ đạo các đơn vị, địa phương tham gia các lớp tập huấn do các bộ, "
                "ngành Trung ương tổ chức về công tác thông tin đối ngoại và đối ngoại như: hội "
                "nghị tập huấn truyền thông quảng bá hình ảnh Việt Nam; tham gia Khóa đào tạo quốc "
                "tế (AITC) năm 2024 của Vụ Hợp tác quốc tế Thái Lan (TICA) tổ chức; Hội thảo đánh "
                "giá giữa kỳ Đề án đào tạo, bồi dưỡng của Học viện Ngoại giao... Ngoài ra, UBND "
                "tỉnh chỉ đạo Sở Ngoại vụ phối hợp với Trung tâm đào tạo cán bộ đối ngoại, Học "
                "viện Ngoại giao tổ chức Lớp bồi dưỡng kỹ năng biên dịch tiếng Anh dành cho cán "
                "bộ, công chức, viên chức tỉnh Đồng Nai.",
                sources=(SO_NGOAI_VU,),
            ),
        )),
        ReportSection("3b", "b) Công tác truyền thông", 2, (
            Para(
                "Định kỳ hàng tháng, quý, Ban Tuyên giáo Tỉnh ủy đã phối hợp Sở Thông tin và "
                "Truyền thông tổ chức giao ban báo chí nhằm nắm bắt công tác tuyên truyền, đồng "
                "thời định hướng thông tin, tuyên truyền, trong đó có nội dung tuyên truyền thông "
                "tin đối ngoại. Các cơ quan báo chí trong tỉnh đã đẩy mạnh tuyên truyền, giới "
                "thiệu, quảng bá hình ảnh về đất nước, con người Đồng Nai đến với bạn bè quốc tế "
                "và đồng bào ta đang sinh sống ở nước ngoài; tuyên truyền đấu tranh có hiệu quả "
                "với những thông tin sai sự thật, luận điệu xuyên tạc của các thế lực thù địch.",
                sources=(SO_TTTT, BAO_DN),
                flag=FLAG,
            ),
            Para(
                "- Đài Phát thanh – Truyền hình Đồng Nai dành một thời lượng nhất định trên sóng "
                "phát thanh – truyền hình để thông tin các hoạt động thông tin đối ngoại trên địa "
                "bàn tỉnh. Một số tiết mục, bản tin tiêu biểu như: tiết mục “Việt Nam và thế "
                "giới” phát sóng 18h00 vào thứ tư trên kênh ĐN1; bản tin “Thế giới đa chiều” phát "
                "sóng lúc 6g00 hàng ngày; “Thế giới chuyển động” phát sóng lúc 18g00 hàng ngày; "
                "chuyên mục “Nhịp cầu hữu nghị” phát sóng 20g00 trên kênh ĐN2 với 02 ngôn ngữ: "
                "tiếng Việt, tiếng Anh. Đồng thời, duy trì chuyên mục “Rộng đường dư luận” trên "
                "sóng phát thanh; “Nhận diện sự thật” trên sóng truyền hình và chuyên mục “Chung "
                "một bóng cờ” trên trang thông tin điện tử của Đài tại địa chỉ www.dnrtv.org.vn.",
                bullet=True,
                sources=(DAI_PTTH,),
            ),
            Para(
                "- Báo Đồng Nai tiếp tục duy trì chuyên trang “Hội nhập và phát triển”, “Đấu "
                "tranh chống các quan điểm sai trái”, để thông tin, tuyên truyền đấu tranh chống "
                "quan điểm sai trái và nhiều tin, bài phục vụ công tác tuyên truyền thông tin đối "
                "ngoại. Một số bài viết nổi bật: loạt bài 4 kỳ “Vạch trần thủ đoạn chống phá Đảng "
                "từ “Công đoàn độc lập” đến lợi dụng nhân quyền”; Cảnh giác trước thủ đoạn bôi "
                "nhọ, hạ thấp uy tín của Đảng, Nhà nước; tăng cường bảo đảm an toàn thông tin "
                "mạng.",
                bullet=True,
                sources=(BAO_DN,),
            ),
            Para(
                "Bên cạnh đó, Báo Đồng Nai thiết lập 03 trang mạng xã hội trên facebook, zalo, "
                "youtube; Đài Phát thanh Truyền hình Đồng Nai thiết lập 05 trang mạng xã hội trên "
                "facebook, zalo, youtube, tiktok để thông tin, tuyên truyền về hoạt động thông tin "
                "đối ngoại:",
                sources=(BAO_DN, DAI_PTTH),
            ),
            TableBlock(
                header=("Cơ quan", "Trang, kênh", "Người theo dõi"),
                rows=(
                    (DAI_PTTH, "Facebook Thời sự Đồng Nai", "212.000"),
                    (DAI_PTTH, "YouTube Truyền hình Đồng Nai", "13.350"),
                ),
                caption="Một số trang mạng xã hội của các cơ quan báo chí trong tỉnh",
                sources=(DAI_PTTH,),
            ),
            Para(
                "- Hàng năm, UBND tỉnh đều xây dựng kế hoạch phối hợp với các cơ quan báo chí "
                "Trung ương và ngoài tỉnh thông tin, tuyên truyền quảng bá về tỉnh. Năm 2024, tỉnh "
                "sẽ phối hợp các cơ quan báo chí chủ lực quốc gia như Đài Truyền hình Việt Nam, "
                "Thông tấn xã Việt Nam, Báo Nhân Dân và các cơ quan báo chí như Thanh niên; Sài "
                "Gòn Giải phóng; Vietnamnet; Báo Công thương... thực hiện các chuyên đề, bài viết "
                "giới thiệu tiềm năng, thế mạnh của tỉnh Đồng Nai.",
                bullet=True,
                sources=(SO_TTTT,),
            ),
            Para(
                "- Căn cứ chức năng, nhiệm vụ chuyên ngành, các cơ quan, đơn vị trên địa bàn tỉnh "
                "thực hiện biên tập và xuất bản một số bản tin, tài liệu, tờ rời, tờ gấp có nội "
                "dung tuyên truyền về thông tin đối ngoại và chủ quyền biển, đảo. Một số ấn phẩm "
                "đối ngoại nổi bật được xuất bản định kỳ như: Bản tin đối ngoại Đồng Nai (Sở "
                "Ngoại vụ); Hữu nghị Đồng Nai - song ngữ (Liên hiệp các tổ chức hữu nghị Đồng "
                "Nai); Công nghiệp và thương mại (Sở Công thương); brochure tiềm năng đầu tư Đồng "
                "Nai (Sở Kế hoạch và Đầu tư)...",
                bullet=True,
                sources=(SO_NGOAI_VU, SO_CT),
            ),
        )),
        ReportSection("3c", "c) Công tác tuyên truyền thông tin đối ngoại được thực hiện thông "
                      "qua các hình thức khác", 2, (
            Para(
                "- Các đơn vị, địa phương trên địa bàn tỉnh cũng đã ứng dụng công nghệ, chú trọng "
                "đa dạng hóa các hình thức, phương tiện truyền thông (pano điện tử, bản tin điện "
                "tử, sản phẩm âm nhạc...), đặc biệt quan tâm đẩy mạnh việc truyền thông quảng bá "
                "qua phương tiện truyền thông mới, như: Sở Văn hóa, Thể thao và Du lịch thiết lập "
                "trang website http://noidung.ttxtdldongnai.vn (song ngữ Anh – Việt) để thông tin "
                "các điểm đến, tuyến du lịch; Sở Công Thương vận hành hiệu quả Sàn giao dịch "
                "thương mại điện tử tỉnh Đồng Nai (ecdn.vn) để giới thiệu, quảng bá, tiêu thụ các "
                "sản phẩm nông sản đặc trưng của tỉnh.",
                bullet=True,
                sources=(SO_VHTTDL, SO_CT),
            ),
            Para(
                "- Hoạt động thông tin đối ngoại của tỉnh cũng được thực hiện lồng ghép thông qua "
                "các hoạt động văn hóa, thể thao, du lịch và xúc tiến thương mại. Trong 6 tháng "
                "đầu năm 2024, tỉnh đã tổ chức Họp mặt Tết cổ truyền Bunpimay (Lào) và Chol Chnam "
                "Thmay (Campuchia) và Ngày hội văn hóa Việt Nam – Lào – Campuchia cho sinh viên "
                "Lào và Campuchia đang học tập tại tỉnh năm 2024. Tổ chức thành công Triển lãm "
                "giao lưu ảnh đẹp các nước ASEAN tỉnh Đồng Nai lần thứ 1 năm 2024. Chỉ đạo Sở Công "
                "thương phối hợp hỗ trợ 16 doanh nghiệp tham gia Triển lãm Thành phố Hồ Chí Minh "
                "và các tỉnh, thành hữu nghị tại Savannakhet lần thứ 4 năm 2024 tại Lào.",
                bullet=True,
                sources=(SO_NGOAI_VU, SO_CT),
            ),
            Para(
                "Ngoài ra, các cơ quan hành chính nhà nước đã chủ động nắm bắt thông tin, trao "
                "đổi thông tin kịp thời cho báo chí. Tổ chức phát ngôn và cung cấp thông tin cho "
                "báo chí bằng các hình thức: tổ chức giao ban báo chí định kỳ hàng tháng, quý; tổ "
                "chức họp báo thông tin các vấn đề kinh tế - xã hội của tỉnh (định kỳ 6 "
                "tháng/lần); cung cấp thông tin trên trang thông tin điện tử của tỉnh và của các "
                "cơ quan, đơn vị, địa phương.",
                sources=(SO_TTTT,),
            ),
        )),
        ReportSection("3d", "d) Thông tin đối ngoại tại các địa phương", 2, (), EMPTY_NOTE),
        ReportSection("4", "4. Phương hướng, nhiệm vụ 6 tháng cuối năm 2024", 1, (
            Para(
                "- Duy trì giao ban báo chí để định hướng công tác tuyên truyền thông tin đối "
                "ngoại, trong đó đặc biệt chú trọng công tác đấu tranh, phản bác lại các thông "
                "tin xuyên tạc, sai sự thật, trái với chủ trương những chính sách của Đảng và Nhà "
                "nước; tuyên truyền về chủ quyền biển đảo, biên giới lãnh thổ quốc gia, tuyên "
                "truyền về thành tựu quyền con người tại Việt Nam; tăng cường công tác tuyên "
                "truyền thông tin đối ngoại với Lào và Campuchia.",
                bullet=True,
            ),
            Para(
                "- Tiếp tục triển khai Kế hoạch thông tin đối ngoại năm 2024, trọng tâm là các "
                "nội dung: phối hợp với các kênh thông tin quốc gia, các cơ quan báo chí Trung "
                "ương để thông tin, tuyên truyền về thông tin đối ngoại trên địa bàn tỉnh. Tổ "
                "chức Hội nghị phát ngôn, cung cấp thông tin và kỹ năng tương tác với báo chí – "
                "truyền thông năm 2024.",
                bullet=True,
            ),
            Para(
                "- Tiếp tục công tác thanh tra, kiểm tra các trang thông tin điện tử và mạng xã "
                "hội nhằm phát hiện các sai phạm để có các biện pháp chấn chỉnh kịp thời.",
                bullet=True,
            ),
        )),
    )  # fmt: skip


def with_table_in_3b(ctx: ReportContext, table: TableBlock) -> ReportContext:
    """The context with `table` appended to section 3b's blocks."""
    sections = tuple(
        dataclasses.replace(s, blocks=(*s.blocks, table)) if s.code == "3b" else s
        for s in ctx.sections
    )
    return dataclasses.replace(ctx, sections=sections)


def reference_context(*, draft: bool) -> ReportContext:
    final = ReportContext(
        supervisor=None,
        issuer="ỦY BAN NHÂN DÂN TỈNH ĐỒNG NAI",
        number_line=NUMBER_LINE,
        place_date=PLACE_DATE,
        doc_type="BÁO CÁO",
        summary="Kết quả triển khai công tác thông tin đối ngoại 6 tháng đầu năm 2024",
        opening=OPENING,
        sections=_sections(),
        closing=CLOSING,
        recipients=RECIPIENTS,
        signer=SignatureBlock("TM. ỦY BAN NHÂN DÂN", "Q. CHỦ TỊCH", "Võ Tân Đức"),
        draft=False,
    )
    if not draft:
        return final
    return dataclasses.replace(
        final,
        number_line=DRAFT_NUMBER_LINE,
        place_date=DRAFT_PLACE_DATE,
        draft=True,
        draft_label=DRAFT_LABEL,
        review_notes=REVIEW_NOTES,
    )


# --- fixtures and helpers -------------------------------------------------------------------


@pytest.fixture(scope="module")
def final_docx() -> bytes:
    return render_docx(reference_context(draft=False))


@pytest.fixture(scope="module")
def draft_docx() -> bytes:
    return render_docx(reference_context(draft=True))


@pytest.fixture(scope="module")
def final(final_docx: bytes) -> Document:
    return docx.Document(io.BytesIO(final_docx))


@pytest.fixture(scope="module")
def draft(draft_docx: bytes) -> Document:
    return docx.Document(io.BytesIO(draft_docx))


def _layout(document: Document) -> Layout:
    return Layout(document)


def _paragraph(document: Document, text: str) -> Paragraph:
    found = [p for p in all_paragraphs(document) if p.text == text]
    assert len(found) == 1, f"{text!r} found {len(found)} times"
    return found[0]


def _cell_paragraphs(table: Table, row: int, column: int) -> list[Paragraph]:
    return table.cell(row, column).paragraphs


def _body_blocks() -> list[tuple[str, int]]:
    """(text, level) of the report's body in order: 0 a paragraph, 1 and 2 headings."""
    blocks = [(OPENING, 0)]
    for section in _sections():
        blocks.append((section.heading, section.level))
        blocks += [(b.text, 0) for b in section.blocks if isinstance(b, Para)]
    return [*blocks, (CLOSING, 0)]


def _body_paragraphs(document: Document, *, headings: bool = True) -> list[Paragraph]:
    return [_paragraph(document, t) for t, level in _body_blocks() if headings or level == 0]


def _run_looks(layout: Layout, paragraph: Paragraph) -> list[RunLook]:
    runs = [r for r in paragraph.runs if r.text.strip()]
    assert runs, f"no text runs in {paragraph.text!r}"
    return [layout.run(r, paragraph) for r in runs]


def _assert_runs(
    document: Document, paragraph: Paragraph, *, size: float, bold: bool, italic: bool = False
) -> None:
    for look in _run_looks(_layout(document), paragraph):
        assert (look.size, look.bold, look.italic) == (size, bold, italic), paragraph.text


def _look(document: Document, paragraph: Paragraph) -> ParagraphLook:
    return _layout(document).paragraph(paragraph)


def _comments_by_id(document: Document) -> dict[str, str]:
    return {str(c.comment_id): c.text for c in document.comments}


def _comment_texts_on(document: Document, paragraph: Paragraph) -> list[str]:
    by_id = _comments_by_id(document)
    starts = paragraph._p.findall(qn("w:commentRangeStart"))
    return [by_id[s.get(qn("w:id"))] for s in starts]


def _mm(length: Length) -> float:
    return round(length.mm, 1)  # a twip is 0.018 mm: 15 mm is stored as 14.99 mm


def _zip_names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


def _all_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = [n for n in archive.namelist() if n.endswith((".xml", ".rels"))]
        return "".join(archive.read(n).decode("utf-8") for n in names)


# --- page ------------------------------------------------------------------------------------


def test_page_is_a4_portrait(final: Document) -> None:
    section = final.sections[0]
    assert section.page_width is not None
    assert section.page_height is not None
    assert (_mm(section.page_width), _mm(section.page_height)) == (210, 297)
    assert section.orientation == 0  # WD_ORIENT.PORTRAIT


def test_margins_within_decree_ranges(final: Document) -> None:
    section = final.sections[0]
    margins = {
        "top": section.top_margin, "bottom": section.bottom_margin,
        "left": section.left_margin, "right": section.right_margin,
    }  # fmt: skip
    ranges = {"top": (20, 25), "bottom": (20, 25), "left": (30, 35), "right": (15, 20)}
    for side, (low, high) in ranges.items():
        margin = margins[side]
        assert margin is not None
        assert low <= _mm(margin) <= high, side
    assert {side: _mm(m) for side, m in margins.items() if m is not None} == {
        "top": 20,
        "bottom": 20,
        "left": 30,
        "right": 15,
    }


# --- type --------------------------------------------------------------------------------------


def test_font_is_times_new_roman_everywhere(final: Document) -> None:
    layout = _layout(final)
    section = final.sections[0]
    paragraphs = [
        *all_paragraphs(final),
        *section.header.paragraphs,
        *section.first_page_header.paragraphs,
    ]
    for paragraph in paragraphs:
        for run in paragraph.runs:
            fonts = layout.run(run, paragraph).fonts
            assert set(fonts.values()) == {TNR}, (paragraph.text, fonts)
    # What a secretary types into the file in Word is Times New Roman too: the defaults and
    # Normal name it for every script and no theme font overrides it.
    normal = final.styles["Normal"].element.find(qn("w:rPr"))
    for rpr in (layout.default_rpr, normal):
        assert rpr is not None
        fonts = rpr.find(qn("w:rFonts"))
        assert {fonts.get(qn(f"w:{a}")) for a in ("ascii", "hAnsi", "cs", "eastAsia")} == {TNR}
        assert not [a for a in fonts.attrib if "theme" in a.lower()]


def test_text_is_black(final: Document) -> None:
    layout = _layout(final)
    for paragraph in all_paragraphs(final):
        for run in paragraph.runs:
            look = layout.run(run, paragraph)
            assert look.color in (None, "auto", "000000"), paragraph.text
            assert look.highlight is None, paragraph.text


def test_body_is_14pt_justified_with_first_line_indent(final: Document) -> None:
    for paragraph in _body_paragraphs(final):
        look = _look(final, paragraph)
        assert look.alignment == "both", paragraph.text
        assert look.first_line == 720, paragraph.text  # 1.27 cm (the decree: 1 or 1.27 cm)
        assert {r.size for r in _run_looks(_layout(final), paragraph)} == {14}


def test_section_headings_bold_14pt_with_first_line_indent(final: Document) -> None:
    headings = [section.heading for section in _sections()]
    for text in headings:
        paragraph = _paragraph(final, text)
        _assert_runs(final, paragraph, size=14, bold=True)
        assert _look(final, paragraph).first_line == 720


def test_paragraph_spacing_at_least_6pt(final: Document) -> None:
    for paragraph in _body_paragraphs(final):
        assert _look(final, paragraph).after >= twips(6), paragraph.text


def test_line_spacing_between_single_and_1_5(final: Document) -> None:
    for paragraph in _body_paragraphs(final):
        look = _look(final, paragraph)
        assert look.line_rule == "auto", paragraph.text  # a multiple of single spacing
        assert look.line is not None, paragraph.text
        assert 240 <= look.line <= 360, paragraph.text  # 240 = single, 360 = 1.5 lines


def test_body_follows_the_outline_in_order(final: Document) -> None:
    expected = [text for text, _ in _body_blocks()]
    body = [p.text for p in final.paragraphs if p.text in set(expected)]
    assert body == expected
    assert final.paragraphs[3].text == OPENING  # after the title, summary and its rule


# --- header block ------------------------------------------------------------------------------


def test_header_block_is_borderless_two_column_table(final: Document) -> None:
    table = final.tables[0]
    assert table._tbl is final.element.body[0]  # the first thing on the page
    assert len(table.columns) == 2
    borders = table._tbl.tblPr.find(qn("w:tblBorders"))
    assert borders is not None
    assert {b.get(qn("w:val")) for b in borders} == {"nil"}
    assert table.style is None or table.style.name == "Normal Table"
    for paragraph in table_paragraphs(table):
        assert _look(final, paragraph).alignment == "center"


def test_issuer_caps_bold_13pt(final: Document) -> None:
    left = _cell_paragraphs(final.tables[0], 0, 0)
    assert [p.text for p in left] == ["ỦY BAN NHÂN DÂN", "TỈNH ĐỒNG NAI", ""]
    for paragraph in left[:2]:
        assert paragraph.text == paragraph.text.upper()
        _assert_runs(final, paragraph, size=13, bold=True)


def test_short_rule_under_issuer(final: Document) -> None:
    table = final.tables[0]
    rule = _cell_paragraphs(table, 0, 0)[-1]
    look = _look(final, rule)
    column = table.columns[0].width
    assert column is not None
    assert rule.text == ""
    assert look.border_bottom
    width = column.twips - look.left - look.right
    assert look.left == look.right  # centred
    assert column.twips / 5 <= width <= column.twips / 2  # short: under the issuer's words


def test_issuer_broken_after_uy_ban_nhan_dan() -> None:
    assert issuer_lines("ỦY BAN NHÂN DÂN TỈNH ĐỒNG NAI") == ["ỦY BAN NHÂN DÂN", "TỈNH ĐỒNG NAI"]
    assert issuer_lines("Ủy ban nhân dân thành phố Biên Hòa") == [
        "ỦY BAN NHÂN DÂN",
        "THÀNH PHỐ BIÊN HÒA",
    ]
    assert issuer_lines("ỦY BAN NHÂN DÂN") == ["ỦY BAN NHÂN DÂN"]
    assert issuer_lines("Sở Ngoại vụ") == ["SỞ NGOẠI VỤ"]


def test_supervisor_caps_regular_13pt() -> None:
    ctx = dataclasses.replace(
        reference_context(draft=False), supervisor="UBND tỉnh Đồng Nai", issuer="Sở Ngoại vụ"
    )
    document = docx.Document(io.BytesIO(render_docx(ctx)))
    supervisor, issuer, rule = _cell_paragraphs(document.tables[0], 0, 0)
    assert (supervisor.text, issuer.text, rule.text) == ("UBND TỈNH ĐỒNG NAI", "SỞ NGOẠI VỤ", "")
    _assert_runs(document, supervisor, size=13, bold=False)
    _assert_runs(document, issuer, size=13, bold=True)
    assert _look(document, rule).border_bottom


def test_number_line_format(final: Document) -> None:
    (number,) = _cell_paragraphs(final.tables[0], 1, 0)  # the row of the place and date
    assert number.text == NUMBER_LINE
    # "Số:", number with a leading zero under 10, "/", symbol groups joined by "-", no spaces
    assert re.fullmatch(r"Số: (0[1-9]|[1-9]\d+)/[A-ZĐ]+(-[A-ZĐ]+)+", number.text)
    _assert_runs(final, number, size=13, bold=False)
    assert _look(final, number).alignment == "center"


def test_motto_lines(final: Document) -> None:
    table = final.tables[0]
    nation, motto, rule = _cell_paragraphs(table, 0, 1)
    assert (nation.text, motto.text) == (MOTTO_NATION, MOTTO)
    assert nation.text == nation.text.upper()
    _assert_runs(final, nation, size=13, bold=True)
    _assert_runs(final, motto, size=14, bold=True)
    look = _look(final, rule)
    column = table.columns[1].width
    assert column is not None
    assert rule.text == ""
    assert look.border_bottom
    assert look.left == look.right
    # about as long as "Độc lập - Tự do - Hạnh phúc" in 14 pt bold (≈ 62 mm)
    assert Mm(50).twips <= column.twips - look.left - look.right <= Mm(75).twips


def test_place_date_italic(final: Document) -> None:
    (place_date,) = _cell_paragraphs(final.tables[0], 1, 1)  # right column, beside "Số:"
    assert place_date.text == PLACE_DATE
    # leading zero for days under 10 and for months 1 and 2 only
    assert re.fullmatch(
        r"[^\d,]+, ngày (0[1-9]|[12]\d|3[01]) tháng (0[12]|[3-9]|1[0-2]) năm \d{4}", place_date.text
    )
    _assert_runs(final, place_date, size=14, bold=False, italic=True)
    assert _look(final, place_date).alignment == "center"


# --- title ---------------------------------------------------------------------------------


def test_doc_type_caps_bold_centred(final: Document) -> None:
    doc_type = final.paragraphs[0]
    assert doc_type._p.getprevious() is final.tables[0]._tbl  # right under the header block
    assert doc_type.text == "BÁO CÁO" == doc_type.text.upper()
    _assert_runs(final, doc_type, size=14, bold=True)
    assert _look(final, doc_type).alignment == "center"
    assert _look(final, doc_type).first_line == 0


def test_summary_bold(final: Document) -> None:
    summary = final.paragraphs[1]
    assert summary.text == reference_context(draft=False).summary
    _assert_runs(final, summary, size=14, bold=True)
    assert _look(final, summary).alignment == "center"


# --- body tables -------------------------------------------------------------------------------


def test_table_block_bordered_with_bold_header_and_right_aligned_numbers(final: Document) -> None:
    table = final.tables[1]
    caption = Paragraph(table._tbl.getprevious(), table._parent)
    assert caption.text == "Một số trang mạng xã hội của các cơ quan báo chí trong tỉnh"
    _assert_runs(final, caption, size=14, bold=True)
    borders = table._tbl.tblPr.find(qn("w:tblBorders"))
    assert borders is not None
    assert {b.get(qn("w:val")) for b in borders} == {"single"}
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert rows[0] == ["Cơ quan", "Trang, kênh", "Người theo dõi"]
    assert [row[2] for row in rows[1:]] == ["212.000", "13.350"]
    for paragraph in (cell.paragraphs[0] for cell in table.rows[0].cells):
        for look in _run_looks(_layout(final), paragraph):
            assert look.bold
            assert 12 <= (look.size or 0) <= 13
    for row in table.rows[1:]:
        name, _, number = (cell.paragraphs[0] for cell in row.cells)
        assert _look(final, number).alignment == "right"
        assert _look(final, name).alignment == "left"
        for look in _run_looks(_layout(final), name):
            assert not look.bold
            assert 12 <= (look.size or 0) <= 13


# --- recipients and signature ------------------------------------------------------------------


def test_noi_nhan_12pt_bold_italic(final: Document) -> None:
    heading = _cell_paragraphs(final.tables[-1], 0, 0)[0]
    assert heading.text == "Nơi nhận:"
    _assert_runs(final, heading, size=12, bold=True, italic=True)


def test_recipient_lines_11pt_semicolons_last_luu_with_period(final: Document) -> None:
    lines = _cell_paragraphs(final.tables[-1], 0, 0)[1:]
    assert [p.text for p in lines] == [
        "- Ban Tuyên giáo Tỉnh ủy;",
        "- Q. Chủ tịch, các Phó Chủ tịch UBND tỉnh;",
        "- Chánh, Phó Chánh Văn phòng (THNC);",
        "- Sở Thông tin và Truyền thông;",
        "- Lưu: VT, THNC.",  # the context's "Lưu: VT, THNC." keeps one period
    ]
    for paragraph in lines:
        _assert_runs(final, paragraph, size=11, bold=False)


def test_signature_block(final: Document) -> None:
    table = final.tables[-1]
    assert table._tbl.getnext().tag == qn("w:sectPr")  # the end of the document
    assert _paragraph(final, CLOSING)._p.getnext() is table._tbl  # right after the closing
    signature = _cell_paragraphs(table, 0, 1)
    texts = [p.text for p in signature]
    assert texts[:2] == ["TM. ỦY BAN NHÂN DÂN", "Q. CHỦ TỊCH"]
    assert texts[-1] == "Võ Tân Đức"
    assert len(texts[2:-1]) >= 3
    assert not any(texts[2:-1])
    for paragraph in signature[:2]:
        assert paragraph.text == paragraph.text.upper()
        _assert_runs(final, paragraph, size=14, bold=True)
    _assert_runs(final, signature[-1], size=14, bold=True)
    assert {_look(final, p).alignment for p in signature} == {"center"}
    borders = table._tbl.tblPr.find(qn("w:tblBorders"))
    assert borders is not None
    assert {b.get(qn("w:val")) for b in borders} == {"nil"}
    assert table.rows[0]._tr.find(f"{qn('w:trPr')}/{qn('w:cantSplit')}") is not None  # one page


def test_page_number_in_header_centred_not_on_first_page(final: Document) -> None:
    section = final.sections[0]
    assert section.different_first_page_header_footer
    first = section.first_page_header
    assert not first.is_linked_to_previous
    assert not "".join(p.text for p in first.paragraphs).strip()
    assert not first._element.xpath(".//w:instrText | .//w:fldSimple")
    (paragraph,) = section.header.paragraphs
    instructions = [i.text.strip() for i in paragraph._p.iter(qn("w:instrText"))]
    assert instructions == ["PAGE"]
    assert _look(final, paragraph).alignment == "center"
    for run in paragraph.runs:
        look = _layout(final).run(run, paragraph)
        assert look.size == 14
        assert set(look.fonts.values()) == {TNR}
    # in the top margin: the header starts above where the text does
    assert section.header_distance is not None
    assert section.top_margin is not None
    assert section.header_distance < section.top_margin


# --- draft and final -----------------------------------------------------------------------------


def test_draft_label_at_top_bold_red_and_boxed(draft: Document) -> None:
    label = draft.paragraphs[0]
    assert label._p is draft.element.body[0]
    assert label.text == DRAFT_LABEL
    for look in _run_looks(_layout(draft), label):
        assert look.bold
        assert look.color == "C00000"
    borders = label._p.find(f"{qn('w:pPr')}/{qn('w:pBdr')}")
    assert borders is not None
    assert len(borders) == 4
    assert [p.text for p in _cell_paragraphs(draft.tables[0], 1, 0)] == [DRAFT_NUMBER_LINE]


def test_draft_has_attribution_comments(draft: Document) -> None:
    expected = 0
    for section in _sections():
        for block in section.blocks:
            if not block.sources:
                continue
            expected += 1
            text = block.text if isinstance(block, Para) else block.caption
            assert text is not None
            comments = _comment_texts_on(draft, _paragraph(draft, text))
            assert "Nguồn: " + "; ".join(block.sources) in comments, text
    sources = [c for c in draft.comments if c.text.startswith("Nguồn: ")]
    assert len(sources) == expected > 10
    assert {(c.author, c.initials) for c in draft.comments} == {("reportcycle", "RC")}
    # the opening and closing are the secretariat's own
    assert not _comment_texts_on(draft, _paragraph(draft, OPENING))


def test_draft_shows_flags_as_comments(draft: Document) -> None:
    flagged = next(b for s in _sections() for b in s.blocks if isinstance(b, Para) and b.flag)
    comments = _comment_texts_on(draft, _paragraph(draft, flagged.text))
    assert any(FLAG in c for c in comments)
    assert FLAG not in "".join(p.text for p in all_paragraphs(draft))  # not in the text itself


def test_empty_section_visible_in_draft(draft: Document, final: Document) -> None:
    heading = _paragraph(draft, "d) Thông tin đối ngoại tại các địa phương")
    note = Paragraph(heading._p.getnext(), heading._parent)
    assert note.text == f"[Chưa có nội dung: {EMPTY_NOTE}]"
    for look in _run_looks(_layout(draft), note):
        assert look.italic
        assert look.highlight == "yellow"
    assert not [p for p in all_paragraphs(final) if "Chưa có nội dung" in p.text]


def test_draft_ends_with_review_notes_on_new_page(draft: Document) -> None:
    heading = _paragraph(draft, "GHI CHÚ RÀ SOÁT (chỉ có trong bản dự thảo)")
    assert heading._p.getprevious() is draft.tables[-1]._tbl  # after the signature
    assert _look(draft, heading).page_break_before
    _assert_runs(draft, heading, size=14, bold=True)
    assert [p.text for p in draft.paragraphs[-len(REVIEW_NOTES) :]] == [
        f"- {note}" for note in REVIEW_NOTES
    ]


def test_final_has_no_attribution(final_docx: bytes, final: Document) -> None:
    assert not [n for n in _zip_names(final_docx) if "comment" in n.lower() or "people" in n]
    xml = _all_xml(final_docx)
    for trace in ("comment", "Nguồn", "DỰ THẢO", "GHI CHÚ RÀ SOÁT", "Chưa có nội dung", FLAG):
        assert trace not in xml, trace
    assert "w:highlight" not in xml
    # units are named only where the report's own text names them
    shown = "\n".join(p.text for p in all_paragraphs(final))
    own = [text for text, _ in _body_blocks()] + list(RECIPIENTS)
    for table in (b for s in _sections() for b in s.blocks if isinstance(b, TableBlock)):
        own += [table.caption or "", *table.header, *(cell for row in table.rows for cell in row)]
    for unit in (SO_NGOAI_VU, BAO_DN, DAI_PTTH, SO_TTTT, SO_VHTTDL, SO_CT):
        assert shown.count(unit) == "\n".join(own).count(unit), unit


# --- finalize_edited ---------------------------------------------------------------------------

needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed"
)
COMMENT_TAGS = ("w:commentRangeStart", "w:commentRangeEnd", "w:commentReference")


def _finalize(data: bytes) -> bytes:
    return finalize_edited(data, number_line=NUMBER_LINE, place_date=PLACE_DATE)


def _texts(document: Document) -> list[str]:
    return [p.text for p in all_paragraphs(document) if p.text.strip()]


def _assert_is_final(data: bytes) -> Document:
    """No comment part, relationship, content type or mark; no draft-only text."""
    assert not [n for n in _zip_names(data) if "comment" in n.lower() or "people" in n]
    xml = _all_xml(data)
    assert "comments" not in xml  # content types and relationships
    for tag in COMMENT_TAGS:
        assert f"<{tag}" not in xml
    for trace in ("DỰ THẢO", "GHI CHÚ RÀ SOÁT", "Chưa có nội dung", *REVIEW_NOTES):
        assert trace not in xml, trace
    document = docx.Document(io.BytesIO(data))
    assert [p.text for p in _cell_paragraphs(document.tables[0], 1, 0)] == [NUMBER_LINE]
    assert [p.text for p in _cell_paragraphs(document.tables[0], 1, 1)] == [PLACE_DATE]
    section = document.sections[0]  # the page setup survived the cut at the end
    assert section.page_width is not None
    assert _mm(section.page_width) == 210
    assert section.different_first_page_header_footer
    assert [i.text.strip() for i in section.header._element.iter(qn("w:instrText"))] == ["PAGE"]
    return document


def test_finalize_makes_the_draft_final(draft_docx: bytes, final: Document) -> None:
    finalized = _assert_is_final(_finalize(draft_docx))
    # the same document as rendering the final directly (the empty section's heading stays)
    assert _texts(finalized) == _texts(final)
    # the body's own "ngày 15 tháng 6 năm 2023" is not a place-and-date line
    assert any("ngày 15 tháng 6 năm 2023" in t for t in _texts(finalized))


def test_finalize_keeps_the_formatting_of_number_and_date(draft_docx: bytes) -> None:
    finalized = docx.Document(io.BytesIO(_finalize(draft_docx)))
    (number,) = _cell_paragraphs(finalized.tables[0], 1, 0)
    (place_date,) = _cell_paragraphs(finalized.tables[0], 1, 1)
    assert len(number.runs) == len(place_date.runs) == 1
    _assert_runs(finalized, number, size=13, bold=False)
    _assert_runs(finalized, place_date, size=14, bold=False, italic=True)


def _small_docx(*texts: str) -> bytes:
    document = docx.Document()
    for text in texts:
        paragraph = document.add_paragraph()
        for piece in text.split("|"):  # "|" splits runs, as editing in Word does
            paragraph.add_run(piece)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "typed",
    [
        "Đồng Nai, ngày      tháng 7 năm 2024",
        "Đồng Nai, ngày ..... tháng ..... năm 2024",
        "Đồng Nai, ngày …… tháng 7 năm 20…",
        "Đồng Nai, |ngày 28| tháng 6 năm 2024",
        "Biên Hòa, ngày\u00a0  tháng\u00a07 năm 2024",
    ],
)
def test_finalize_fills_typed_or_blank_place_date_lines(typed: str) -> None:
    data = _small_docx("Số: |    /BC-UBND", "Kết luận số 57-KL/TW ngày 15 tháng 6 năm 2023.", typed)
    document = docx.Document(io.BytesIO(_finalize(data)))
    assert [p.text for p in document.paragraphs] == [
        NUMBER_LINE,
        "Kết luận số 57-KL/TW ngày 15 tháng 6 năm 2023.",
        PLACE_DATE,
    ]


WORD_COMMENT_PARTS = {  # what Word 2013–365 writes beside comments.xml
    "commentsExtended": "http://schemas.microsoft.com/office/2011/relationships/commentsExtended",
    "commentsIds": "http://schemas.microsoft.com/office/2016/09/relationships/commentsIds",
    "commentsExtensible": (
        "http://schemas.microsoft.com/office/2018/08/relationships/commentsExtensible"
    ),
    "people": "http://schemas.microsoft.com/office/2011/relationships/people",
}


def test_finalize_removes_the_comment_parts_word_adds(draft_docx: bytes) -> None:
    document = docx.Document(io.BytesIO(draft_docx))
    package = document.part.package
    for name, reltype in WORD_COMMENT_PARTS.items():
        content_type = f"application/vnd.openxmlformats-officedocument.wordprocessingml.{name}+xml"
        blob = f'<w15:{name} xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml"/>'
        part = Part(PackURI(f"/word/{name}.xml"), content_type, blob.encode(), package)
        document.part.relate_to(part, reltype)
    buffer = io.BytesIO()
    document.save(buffer)
    assert {f"word/{n}.xml" for n in WORD_COMMENT_PARTS} <= set(_zip_names(buffer.getvalue()))
    finalized = _finalize(buffer.getvalue())
    _assert_is_final(finalized)
    for name in WORD_COMMENT_PARTS:
        assert name not in _all_xml(finalized)


def _zip_that_is_no_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bao-cao.txt", NUMBER_LINE)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        OPENING.encode(),
        b"%PDF-1.7\n" + b"\x00" * 100,
        _zip_that_is_no_docx(),
        _small_docx(NUMBER_LINE, PLACE_DATE)[:900],  # cut short in transfer
    ],
    ids=["empty", "text", "pdf", "zip-not-docx", "truncated-docx"],
)
def test_finalize_refuses_what_is_not_a_docx(data: bytes) -> None:
    with pytest.raises(ValueError, match=r"không phải tệp Word .docx .* / the file is not"):
        finalize_edited(data, number_line=NUMBER_LINE, place_date=PLACE_DATE)


@pytest.mark.parametrize(
    ("texts", "missing"),
    [
        (("Đồng Nai, ngày 03 tháng 7 năm 2024", "Nội dung."), r"“Số:”.* / no paragraph .*Số:"),
        (("Số: 05/BC-UBND", "Ngày 03 tháng 7 năm 2024"), r"địa danh.* / no place-and-date"),
    ],
    ids=["no-number", "no-place-date"],
)
def test_finalize_refuses_a_file_without_number_or_date_line(
    texts: tuple[str, ...], missing: str
) -> None:
    with pytest.raises(ValueError, match=missing):
        finalize_edited(_small_docx(*texts), number_line=NUMBER_LINE, place_date=PLACE_DATE)


def _edit(data: bytes, edits: dict[str, Callable[[Paragraph], object]]) -> bytes:
    """Open a file as the secretariat's office suite saved it and change some paragraphs."""
    document = docx.Document(io.BytesIO(data))
    for paragraph in all_paragraphs(document):
        for start, change in edits.items():
            if paragraph.text.startswith(start):
                change(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.mark.libreoffice
@needs_soffice
def test_finalize_a_draft_edited_in_libreoffice(draft_docx: bytes, final: Document) -> None:
    saved = convert(draft_docx, source_suffix=".docx", target="docx")
    assert "w:commentRangeStart" in _all_xml(saved)  # LibreOffice kept the comments
    added = " Tổng cộng 05 trang mạng xã hội."
    written = "Trong 6 tháng tới, tỉnh tổ chức Hội nghị thông tin đối ngoại."
    edited = _edit(
        saved,
        {
            "Bên cạnh đó, Báo Đồng Nai": lambda p: p.add_run(added),
            "[Chưa có nội dung": lambda p: p.insert_paragraph_before(written),
            "Đồng Nai, ngày": lambda p: p.runs[0].__setattr__(
                "text", "Đồng Nai, ngày ..... tháng 7 năm 2024"
            ),
        },
    )
    finalized = _assert_is_final(_finalize(edited))
    texts = _texts(finalized)
    assert next(t for t in texts if t.startswith("Bên cạnh đó")).endswith(added)
    expected = _texts(final)
    expected.insert(expected.index("4. Phương hướng, nhiệm vụ 6 tháng cuối năm 2024"), written)
    assert [t for t in texts if not t.endswith(added)] == [
        t for t in expected if not t.startswith("Bên cạnh đó")
    ]


# --- the PDF ----------------------------------------------------------------------------------

FINAL_PAGES = 5  # as LibreOffice lays it out (Liberation Serif, metric-compatible with TNR)
TOP_MARGIN_PT = 841.89 - 20 / 25.4 * 72  # the top margin's lower edge, from the page bottom
TEXT_CENTRE_PT = (30 + 165 / 2) / 25.4 * 72  # the middle of the text column, from the left


def _pdf_pages(pdf: bytes) -> list[list[tuple[float, float, str]]]:
    """For each page, its text pieces with where they start (points from the bottom left)."""
    pypdf = pytest.importorskip("pypdf")  # in the dev extra
    return [_pieces(page) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def _pieces(page: PageObject) -> list[tuple[float, float, str]]:
    pieces: list[tuple[float, float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if text.strip():  # where the text matrix puts the origin, in page space
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            pieces.append((x, y, text.strip()))

    page.extract_text(visitor_text=visit)
    return pieces


@pytest.mark.libreoffice
@needs_soffice
def test_final_pdf_has_page_numbers_from_page_2(final_docx: bytes) -> None:
    pages = _pdf_pages(convert(final_docx, source_suffix=".docx", target="pdf"))
    assert len(pages) == FINAL_PAGES >= 3
    in_margin = [[t for x, y, t in page if y > TOP_MARGIN_PT] for page in pages]
    assert in_margin[0] == []  # page 1: nothing above the header block, no number
    for number, page in enumerate(pages[1:], start=2):
        (piece,) = [(x, t) for x, y, t in page if y > TOP_MARGIN_PT]
        assert piece[1] == str(number)
        assert abs(piece[0] - TEXT_CENTRE_PT) < 10  # centred over the text
    first = " ".join(t for _, _, t in pages[0])
    assert "ỦY BAN NHÂN DÂN" in first
    assert "BÁO CÁO" in first
    assert "Võ Tân Đức" in " ".join(t for _, _, t in pages[-1])


@pytest.fixture(scope="module")
def final_pdf(final_docx: bytes) -> bytes:
    return convert(final_docx, source_suffix=".docx", target="pdf")


def _pdf_fonts(pdf: bytes) -> dict[str, bool]:
    """Every font the PDF's pages use, descendant fonts of Type 0 ones and those of form
    XObjects included: its /BaseFont without the subset prefix ("ABCDEF+") -> embedded?"""
    pypdf = pytest.importorskip("pypdf")  # in the dev extra
    fonts: dict[str, bool] = {}
    seen: set[int] = set()

    def visit_font(font: DictionaryObject) -> None:
        name = re.sub(r"^/([A-Z]{6}\+)?", "", str(font["/BaseFont"]))  # a name: "/ABCDEF+..."
        descriptor = font.get("/FontDescriptor")
        embedded = descriptor is not None and any(
            key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3")
        )
        fonts[name] = fonts.get(name, True) and embedded

    def visit_resources(resources: DictionaryObject | None) -> None:
        if resources is None or id(resources) in seen:
            return
        seen.add(id(resources))
        for font in resources.get("/Font", {}).values():
            font = font.get_object()
            if font.get("/Subtype") != "/Type0":  # a Type 0 font is its descendant's wrapper
                visit_font(font)
            else:
                for descendant in font["/DescendantFonts"]:
                    visit_font(descendant.get_object())
        for xobject in resources.get("/XObject", {}).values():
            inner = xobject.get_object().get("/Resources")
            visit_resources(None if inner is None else inner.get_object())

    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        resources = page.get("/Resources")
        visit_resources(None if resources is None else resources.get_object())
    return fonts


@pytest.mark.libreoffice
@needs_soffice
def test_final_pdf_embeds_only_the_times_new_roman_substitute(final_pdf: bytes) -> None:
    # Liberation Serif 2.x (fonts-liberation2) has every Vietnamese letter. With only 1.07
    # (fonts-liberation), LibreOffice draws ế ạ ố ơ ư Ủ ... in DejaVu Serif inside Liberation
    # words, and the PDF lists DejaVuSerif* beside LiberationSerif*.
    fonts = _pdf_fonts(final_pdf)
    assert {name.split("-")[0] for name in fonts} == {"LiberationSerif"}, sorted(fonts)
    assert set(fonts) <= {
        "LiberationSerif", "LiberationSerif-Bold",
        "LiberationSerif-Italic", "LiberationSerif-BoldItalic",
    }  # fmt: skip
    assert all(fonts.values()), fonts  # embedded, not left to the reader's machine


@pytest.mark.libreoffice
@needs_soffice
def test_final_pdf_text_is_searchable_vietnamese(final_pdf: bytes) -> None:
    # A letter drawn in a fallback font comes back apart from its word ("Y BAN NHÂN DÂNỦ").
    pypdf = pytest.importorskip("pypdf")  # in the dev extra
    page = pypdf.PdfReader(io.BytesIO(final_pdf)).pages[0]
    text = " ".join(unicodedata.normalize("NFC", page.extract_text()).split())
    for phrase in ("ỦY BAN NHÂN DÂN", "TỈNH ĐỒNG NAI", NUMBER_LINE, PLACE_DATE, OPENING):
        assert phrase in text, (phrase, text[:400])
