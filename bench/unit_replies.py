"""What the simulated units write (benchmarks only): each unit its own paragraphs per section
and its own indicator values, deterministic from a seed, with the near-duplicates real units
send (a paragraph copied from another unit and lightly edited, or copied as it is).

    replies = unit_replies([UnitSpec(0, "Sở Ngoại vụ số 0", ("2", "3a"), ("an_pham",)), …])

Without distinct text the merge collapses every unit's paragraph into one, and consolidation
is measured far too cheaply (issue 15).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from reportcycle.vietnamese import format_number_vi

SEED = 15
NEAR_SHARE = 0.07  # units whose paragraph is a light edit (≥ 90 % alike) of another unit's
EXACT_SHARE = 0.01  # units that send another unit's paragraph as it is
NEAR_RATIO = 0.9

PLACES = (
    "Biên Hòa", "Long Khánh", "Long Thành", "Nhơn Trạch", "Trảng Bom", "Thống Nhất",
    "Vĩnh Cửu", "Định Quán", "Tân Phú", "Xuân Lộc", "Cẩm Mỹ", "Amata", "Hố Nai", "Tam Phước",
)  # fmt: skip
PARTNERS = (
    "Hàn Quốc", "Nhật Bản", "Đài Loan", "Thái Lan", "Lào", "Campuchia", "Singapore",
    "Cộng hòa Liên bang Đức", "Hoa Kỳ", "Ôxtrâylia", "Pháp", "Ấn Độ", "Trung Quốc",
)  # fmt: skip
TOPICS = (
    "chủ quyền biển, đảo", "xúc tiến đầu tư", "quảng bá du lịch", "hội nhập quốc tế",
    "phòng, chống di cư trái phép", "người Việt Nam ở nước ngoài", "văn hóa dân tộc",
    "sản phẩm OCOP", "chuyển đổi số", "an ninh mạng", "bảo vệ môi trường", "công tác biên giới",
)  # fmt: skip
CHANNELS = ("facebook", "zalo", "youtube", "tiktok", "trang thông tin điện tử", "bản tin nội bộ")
VERBS = ("tổ chức", "phối hợp tổ chức", "chủ trì", "tham gia", "cử cán bộ tham gia")
MONTHS = ("01", "02", "3", "4", "5", "6")
# Per section: sentences a unit writes, filled from the lists above and the unit's own figures.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "2": (
        "{unit} ban hành Kế hoạch số {n3}/KH-{abbr} ngày {d}/{m}/2024 về công tác thông tin "
        "đối ngoại năm 2024, tập trung vào {topic}.",
        "Văn bản số {n3}/{abbr} ngày {d}/{m}/2024 hướng dẫn các phòng, đơn vị trực thuộc "
        "tuyên truyền về {topic} tại {place}.",
        "{unit} tham mưu UBND tỉnh ban hành {n1} văn bản chỉ đạo về {topic}, trong đó có "
        "kế hoạch phối hợp với đối tác {partner}.",
    ),
    "3a": (
        "{unit} {verb} {n1} lớp tập huấn về {topic} cho {n2} cán bộ, công chức tại {place} "
        "trong tháng {m}/2024.",
        "Cử {n1} lượt cán bộ dự khóa bồi dưỡng kiến thức đối ngoại do đối tác {partner} "
        "tài trợ, kéo dài {n1} ngày.",
        "Phối hợp Học viện Ngoại giao bồi dưỡng kỹ năng {topic} cho {n2} học viên tại {place}.",
    ),
    "3b": (
        "{unit} đăng tải {n2} tin, bài về {topic} trên {channel}, thu hút {big} lượt xem; "
        "nổi bật là loạt bài về {place}.",
        "Duy trì chuyên mục về {topic} phát sóng {n1} kỳ mỗi tháng, phát lại trên {channel} "
        "với phụ đề tiếng {language}.",
        "Xuất bản {n1} số bản tin song ngữ, {n2} bản mỗi số, giới thiệu {place} tới bạn bè "
        "{partner}.",
    ),
    "3c": (
        "{unit} {verb} {n1} sự kiện giao lưu với đối tác {partner} tại {place}, thu hút "
        "{n2} lượt người tham dự.",
        "Hỗ trợ {n1} doanh nghiệp tại {place} tham gia hội chợ ở {partner}, giới thiệu {topic}.",
        "Cập nhật {n2} tin về {topic} trên {channel} của đơn vị trong tháng {m}/2024.",
    ),
}
DEFAULT_TEMPLATES = TEMPLATES["3b"]
# What makes two units' paragraphs on one template differ as real ones do: their own details.
CLAUSES = (
    "kinh phí {n2} triệu đồng từ nguồn xã hội hóa",
    "phối hợp Đoàn Thanh niên {place} và các hội, đoàn thể",
    "đón {n1} đoàn khách {partner} đến làm việc, trao đổi kinh nghiệm",
    "ghi nhận {big} lượt tương tác trên {channel}",
    "lồng ghép nội dung {topic} trong sinh hoạt chi bộ hằng tháng",
    "xây dựng {n1} video ngắn giới thiệu {place} bằng tiếng {language}",
    "tiếp nhận và trả lời {n2} ý kiến phản ánh của người dân qua {channel}",
    "khảo sát {n2} hộ dân tại {place} về mức độ tiếp cận thông tin",
    "tổ chức tọa đàm kỷ niệm quan hệ Việt Nam – {partner} với {n2} đại biểu",
    "in và phát hành {big} tờ gấp tại các khu công nghiệp",
)
LANGUAGES = ("Anh", "Hàn", "Nhật", "Trung", "Pháp")
# Indicator values: a range for each (small counts for pages, large for followers).
INDICATOR_RANGES = {"trang_mxh": (1, 3), "nguoi_theo_doi_facebook": (800, 60)}


@dataclass(frozen=True)
class UnitSpec:
    index: int  # the unit's place in the regime: values are distinct by it
    name: str
    sections: tuple[str, ...]
    indicators: tuple[str, ...]


@dataclass
class UnitReply:
    sections: dict[str, list[str]] = field(default_factory=dict)  # "- " starts a bullet
    indicators: dict[str, str] = field(default_factory=dict)  # Vietnamese format, "1.234"
    copied: list[tuple[str, int, str]] = field(default_factory=list)  # (kind, from, section)


def unit_replies(units: Sequence[UnitSpec], *, seed: int = SEED) -> list[UnitReply]:
    """Each unit's reply, in the order given; some paragraphs are other units' (earlier in the
    order, with the same section) lightly edited or copied."""
    replies: list[UnitReply] = []
    by_section: dict[str, list[int]] = {}
    for position, unit in enumerate(units):
        rng = random.Random(f"{seed}:{unit.index}")
        reply = UnitReply(indicators=_values(unit, rng))
        for code in unit.sections:
            own = _own_paragraphs(unit, code, rng)
            earlier = by_section.setdefault(code, [])
            draw = rng.random()
            if earlier and draw < NEAR_SHARE + EXACT_SHARE:
                source = replies[rng.choice(earlier)].sections[code][0]
                exact = draw < EXACT_SHARE
                own[0] = source if exact else light_edit(source, rng)
                reply.copied.append(("exact" if exact else "near", position, code))
            reply.sections[code] = own
            earlier.append(position)
        replies.append(reply)
    return replies


def _own_paragraphs(unit: UnitSpec, code: str, rng: random.Random) -> list[str]:
    """One to three paragraphs: a template sentence, and a clause or two of the unit's own."""
    templates = TEMPLATES.get(code, DEFAULT_TEMPLATES)
    chosen = rng.sample(range(len(templates)), k=rng.choice((1, 2, 2, 3)))
    out = []
    for k, which in enumerate(chosen):
        slots = _slots(unit, rng)
        text = templates[which].format(**slots).rstrip(".")
        extra = rng.sample(CLAUSES, k=2)
        text += "; " + "; ".join(c.format(**_slots(unit, rng)) for c in extra) + "."
        out.append(f"- {text}" if k > 0 and rng.random() < 0.5 else text)
    return out


def _slots(unit: UnitSpec, rng: random.Random) -> dict[str, str]:
    return {
        "unit": unit.name,
        "abbr": "".join(w[0] for w in unit.name.split()[:3]).upper() + str(unit.index),
        "topic": rng.choice(TOPICS),
        "place": rng.choice(PLACES),
        "partner": rng.choice(PARTNERS),
        "channel": rng.choice(CHANNELS),
        "verb": rng.choice(VERBS),
        "language": rng.choice(LANGUAGES),
        "d": f"{rng.randint(1, 28):02d}",
        "m": rng.choice(MONTHS),
        "n1": f"{rng.randint(1, 9):02d}",
        "n2": format_number_vi(rng.randint(20, 900)),
        "n3": str(rng.randint(10, 999)),
        "big": format_number_vi(rng.randint(1_000, 250_000)),
    }


def light_edit(text: str, rng: random.Random) -> str:
    """`text` with one or two words changed, still ≥ 90 % alike (SequenceMatcher)."""
    words = text.split()
    for _ in range(20):
        edited = list(words)
        for _ in range(rng.choice((1, 2))):
            at = rng.randrange(len(edited))
            edited[at] = _other_word(edited[at], rng)
        candidate = " ".join(edited)
        ratio = SequenceMatcher(None, text, candidate, autojunk=False).ratio()
        if candidate != text and ratio >= NEAR_RATIO:
            return candidate
    return text.rstrip(".") + " nữa."


def _other_word(word: str, rng: random.Random) -> str:
    if word.strip(",.;").replace(".", "").isdigit():
        return str(rng.randint(2, 99)) + word[-1] if word[-1] in ",.;" else str(rng.randint(2, 99))
    return rng.choice(("các", "nhiều", "một số", "thêm", "tiếp tục", "đã")) + " " + word


def _values(unit: UnitSpec, rng: random.Random) -> dict[str, str]:
    """Distinct per unit by construction: the unit's index times a step wider than the jitter."""
    out = {}
    for code in unit.indicators:
        base, step = INDICATOR_RANGES.get(code, (100, 40))
        out[code] = format_number_vi(base + unit.index * step + rng.randrange(step))
    return out
