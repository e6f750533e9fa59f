"""Default label sets (see DOMAIN.md, Taxonomy). Models carry their own label sets; these are
the defaults the shipped corpus and model use."""

from __future__ import annotations

# 业务领域 business area (default set; a center may train on its own)
CATEGORIES: tuple[str, ...] = (
    "城乡建设",
    "环境保护",
    "交通运输",
    "教育文体",
    "劳动和社会保障",
    "商贸旅游",
    "卫生计生",
    "市场监管",
    "公共安全",
    "城市管理",
    "住房",
    "公用事业(水电气热)",
    "三农",
    "民政",
    "政务服务",
)

# 诉求类型 appeal type
APPEAL_TYPES: tuple[str, ...] = ("咨询", "求助", "投诉", "举报", "建议", "表扬/感谢", "其他")

# 紧急程度 urgency, least to most urgent
URGENCIES: tuple[str, ...] = ("一般", "紧急", "特急")

HEADS: tuple[str, ...] = ("category", "appeal_type", "urgency", "department")


def urgency_rank(level: str) -> int:
    """0 for 一般 … 2 for 特急; unknown levels rank lowest."""
    return URGENCIES.index(level) if level in URGENCIES else -1
