"""Constrained field types shared by the request schemas of every capability."""

from typing import Annotated

import msgspec

MOBILE_PATTERN = r"^1[3-9][0-9]{9}$"

# Typed as the person wrote it (full-width digits, spaces, +86); the struct's __post_init__
# turns it into the normal form with backend.phones.normalized_mobile.
Mobile = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=32, description="中国大陆手机号，11位（可带 +86、空格、全角数字）"
    ),
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
ShortText = Annotated[str, msgspec.Meta(max_length=200)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9_-]+$")]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Language = Annotated[str, msgspec.Meta(pattern=r"^(zh-CN|ug|en)$")]
Percent = Annotated[int, msgspec.Meta(ge=0, le=100)]
Fen = Annotated[int, msgspec.Meta(ge=0, le=10_000_000, description="金额，单位：分")]
