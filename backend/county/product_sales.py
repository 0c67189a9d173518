"""The county's 代销 by catalogue product and by trace batch, and the texts the keepers wrote.

A sale names its product by catalogue code (`product_code`, from the phone's catalogue) or only
by its text; staff map a text to a product, and from then on that text's sales (those without a
code) are that product's — and count as farm produce or not by its category, in every figure
(the rollups are rebuilt under the new rule at once, so the page, the kpis, the CSV and the
workbook all change together). Reversed sales are left out everywhere."""

from __future__ import annotations

import uuid
from collections import defaultdict

import msgspec

from backend import db
from backend.accounts.schemas import CurrentUser
from backend.catalogue import service as catalogue
from backend.catalogue.schemas import ProductOut, TextMapping
from backend.county import rollups, sale_months
from backend.county.store import sale_months as sale_month_rows
from backend.trace import service as trace


class ProductSales(msgspec.Struct):
    """A catalogue product's sales in one unit (product_id null: sales matching no product)."""

    product_id: uuid.UUID | None
    code: str
    name: str
    category: str  # farm | other; "" for sales matching no product (they count as farm)
    unit: str
    sales: int
    quantity: float
    amount_fen: int


class BatchSales(msgspec.Struct):
    """A trace batch's sales in one unit (the sales that carried its code)."""

    batch_code: str
    product: str  # the batch's product, as registered
    unit: str
    sales: int
    quantity: float
    amount_fen: int


class SaleText(msgspec.Struct):
    """A product text of the county's sales without a catalogue code, and its mapping."""

    text: str
    sales: int
    amount_fen: int
    product_id: uuid.UUID | None  # the product it is mapped to; null: not mapped (farm)


class SalesOut(msgspec.Struct):
    products: list[ProductSales]
    batches: list[BatchSales]
    texts: list[SaleText]


class _Sum:
    __slots__ = ("amount_fen", "quantity", "sales")

    def __init__(self) -> None:
        self.sales, self.quantity, self.amount_fen = 0, 0.0, 0

    def add(self, sales: sale_month_rows.SaleGroup) -> None:
        self.sales += sales.sales
        self.quantity += sales.quantity
        self.amount_fen += sales.amount_fen


def _quantity(value: float) -> float:
    return round(value, 3)


async def county_sales(county_id: uuid.UUID) -> SalesOut:
    """Every standing 代销 of the county summed per product and unit, per batch and unit, and
    per text written without a code (most sales first)."""
    products = await catalogue.list_products(county_id)
    by_code = {p.code: p for p in products}
    by_id = {p.id: p for p in products}
    mapped = await catalogue.mappings(county_id)
    per_product: dict[tuple[uuid.UUID | None, str], _Sum] = defaultdict(_Sum)
    per_batch: dict[tuple[str, str], _Sum] = defaultdict(_Sum)
    per_text: dict[str, _Sum] = defaultdict(_Sum)
    await sale_months.catch_up(county_id)
    async with db.read_transaction():
        groups = await sale_month_rows.county_groups(county_id)
    for sales in groups:  # grouped alike, the county's months summed
        text = sales.product.strip()
        product = by_code.get(sales.product_code or "")
        if not sales.product_code:
            per_text[text].add(sales)
            mapped_to = mapped.get(text)
            product = by_id.get(mapped_to) if mapped_to else None
        per_product[(product.id if product else None, sales.unit)].add(sales)
        if sales.batch_code:
            per_batch[(sales.batch_code, sales.unit)].add(sales)
    batch_products = {b.code: b.product for b in await trace.list_batches(county_id, "")}
    return SalesOut(
        products=_product_rows(per_product, by_id),
        batches=[
            BatchSales(
                code,
                batch_products.get(code, ""),
                unit,
                s.sales,
                _quantity(s.quantity),
                s.amount_fen,
            )
            for (code, unit), s in sorted(per_batch.items())
        ],
        texts=[
            SaleText(text, s.sales, s.amount_fen, mapped.get(text))
            for text, s in sorted(per_text.items(), key=lambda item: (-item[1].sales, item[0]))
        ],
    )


def _product_rows(
    sums: dict[tuple[uuid.UUID | None, str], _Sum], products: dict[uuid.UUID, ProductOut]
) -> list[ProductSales]:
    """By product code, the sales matching no product last."""
    rows = []
    for (product_id, unit), s in sums.items():
        product = products.get(product_id) if product_id else None
        rows.append(
            ProductSales(
                product_id=product_id,
                code=product.code if product else "",
                name=product.name if product else "",
                category=product.category if product else "",
                unit=unit,
                sales=s.sales,
                quantity=_quantity(s.quantity),
                amount_fen=s.amount_fen,
            )
        )
    return sorted(rows, key=lambda row: (row.product_id is None, row.code, row.unit))


async def map_text(county_id: uuid.UUID, actor: CurrentUser, data: TextMapping) -> None:
    """The text mapped (audited by the catalogue), then the county's rollups follow the new rule:
    a text mapped to a product that is not farm produce leaves 农产品网络零售额 at once."""
    await rollups.catch_up(county_id)  # the figures under the rule before, so only the text moves
    async with db.read_transaction():
        before = await catalogue.not_farm(county_id)
    await catalogue.map_text(county_id, actor, data)
    await rollups.follow_catalogue(county_id, before)
