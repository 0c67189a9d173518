"""What the catalogue API takes and gives (msgspec: validated at the edge, typed in the schema)."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated

import msgspec

# One line of text without control characters (as the ledger's texts).
_PLAIN = r"^[^\x00-\x1f\x7f]*$"
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9-]+$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=_PLAIN)]
Brand = Annotated[str, msgspec.Meta(max_length=40, pattern=_PLAIN)]
Unit = Annotated[str, msgspec.Meta(max_length=10, pattern=_PLAIN)]
Choice = Annotated[str, msgspec.Meta(max_length=16)]
SaleText = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=_PLAIN)]


class ProductEdit(msgspec.Struct, forbid_unknown_fields=True):
    """A product as staff edit it (PUT: every field; the code never changes)."""

    name: Name
    category: Choice  # farm | other
    brand: Brand = ""
    certification: Choice | None = None  # pollution_free | green | organic | geo_indication
    unit: Unit = ""


class ProductCreate(ProductEdit, forbid_unknown_fields=True):
    code: Code = ""  # required; "" only so that the form's missing code is refused by name


class ProductOut(msgspec.Struct):
    id: uuid.UUID
    code: str
    name: str
    category: str
    brand: str
    certification: str
    unit: str
    updated_at: datetime.datetime


class TextMapping(msgspec.Struct, forbid_unknown_fields=True):
    """A 代销 text of the county's ledger mapped to a product (`product_id` null: unmapped)."""

    text: SaleText
    product_id: uuid.UUID | None = None
