"""The county's catalogue: products staff add and edit (every edit audited), the 代销 texts they
map to a product, and what the ledger and the county's figures ask of it (which codes exist,
which sales are not farm produce)."""

from __future__ import annotations

import hashlib
import json
import uuid

import msgspec

from backend import clock, db
from backend.accounts import service as accounts
from backend.accounts.schemas import CurrentUser
from backend.catalogue import store
from backend.catalogue.schemas import ProductCreate, ProductEdit, ProductOut, TextMapping
from backend.errors import DomainError
from backend.trace.service import CERTIFICATIONS

CATEGORIES = ("farm", "other")
FARM = "farm"


def _certification(value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        return ""
    chosen = CERTIFICATIONS.get(text) or CERTIFICATIONS.get(text.lower())
    if chosen is None:
        raise DomainError("invalid_input", field="certification")
    return chosen


def _checked(data: ProductEdit) -> dict[str, str]:
    """The product's values, trimmed and as codes; a refusal naming the field otherwise."""
    name = data.name.strip()
    if not name:
        raise DomainError("invalid_input", field="name")
    category = data.category.strip().lower()
    if category not in CATEGORIES:
        raise DomainError("invalid_input", field="category")
    return {
        "name": name,
        "category": category,
        "brand": data.brand.strip(),
        "certification": _certification(data.certification),
        "unit": data.unit.strip(),
    }


def _out(row: store.ProductRow) -> ProductOut:
    return ProductOut(
        id=row.id,
        code=row.code,
        name=row.name,
        category=row.category,
        brand=row.brand,
        certification=row.certification,
        unit=row.unit,
        updated_at=row.updated_at,
    )


async def list_products(county_id: uuid.UUID) -> list[ProductOut]:
    """The county's products, by code."""
    return [_out(row) for row in await store.products(county_id)]


async def add_product(county_id: uuid.UUID, actor: CurrentUser, data: ProductCreate) -> ProductOut:
    values = _checked(data)
    code = data.code.strip().upper()
    if not code:
        raise DomainError("invalid_input", field="code")
    row = store.ProductRow(
        id=uuid.uuid4(), county=county_id, code=code, updated_at=clock.utcnow(), **values
    )
    try:
        async with db.write_transaction():
            await store.insert_product(row)
            await accounts.audit(
                actor, "catalogue_product.create", "catalogue_product", row.id, county_id, code=code
            )
    except Exception as exc:
        if db.is_integrity_error(exc):
            raise DomainError(
                "catalogue_code_taken", status=409, field="code", product_code=code
            ) from exc
        raise
    return _out(row)


async def edit_product(
    county_id: uuid.UUID, product_id: uuid.UUID, actor: CurrentUser, data: ProductEdit
) -> ProductOut:
    """Everything but the code; the audit names what changed, from what to what."""
    values = _checked(data)
    async with db.write_transaction():
        before = await store.product(county_id, product_id)
        if before is None:
            raise DomainError("not_found", status=404)
        after = msgspec.structs.replace(before, updated_at=clock.utcnow(), **values)
        changed = {
            key: [getattr(before, key), value]
            for key, value in values.items()
            if getattr(before, key) != value
        }
        await store.update_product(after)
        await accounts.audit(
            actor,
            "catalogue_product.edit",
            "catalogue_product",
            product_id,
            county_id,
            code=before.code,
            changed=changed,
        )
    return _out(after)


async def get_product(county_id: uuid.UUID, product_id: uuid.UUID) -> ProductOut:
    row = await store.product(county_id, product_id)
    if row is None:
        raise DomainError("not_found", status=404)
    return _out(row)


# 代销 texts mapped to products ------------------------------------------------------------------


async def mappings(county_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """Each mapped 代销 text of the county and its product."""
    return await store.mappings(county_id)


async def map_text(county_id: uuid.UUID, actor: CurrentUser, data: TextMapping) -> None:
    """The text (as the keepers wrote it) mapped to a product of the county, or unmapped."""
    text = data.text.strip()
    if not text:
        raise DomainError("invalid_input", field="text")
    async with db.write_transaction():
        if data.product_id is not None and await store.product(county_id, data.product_id) is None:
            raise DomainError("catalogue_unknown_product", field="product_id")
        await store.set_mapping(county_id, text, data.product_id, clock.utcnow())
        await accounts.audit(
            actor,
            "catalogue_text.map",
            "catalogue_text",
            text,  # at most 40 characters, as the audit's target
            county_id,
            product_id=str(data.product_id) if data.product_id else None,
        )


# What the ledger and the figures ask ------------------------------------------------------------


async def existing_codes(county_id: uuid.UUID, codes: list[str] | None = None) -> set[str]:
    """Those of `codes` that name a product of the county (every code when None); inside or
    outside the caller's transaction."""
    if codes is not None and not codes:
        return set()
    return await store.existing_codes(county_id, codes)


class NotFarm(msgspec.Struct, frozen=True):
    """Which 代销 sales of the county are not farm produce: those naming an `other` product by
    its code, and those (without a code) whose text is mapped to one. Anything else is farm."""

    codes: frozenset[str]
    texts: frozenset[str]

    def is_farm(self, product_code: str | None, product_text: str) -> bool:
        if product_code:
            return product_code not in self.codes
        return product_text.strip() not in self.texts

    def as_text(self) -> str:
        """The rule as the rollups keep it beside its digest (`from_text` reads it back)."""
        return json.dumps({"codes": sorted(self.codes), "texts": sorted(self.texts)},
                          ensure_ascii=False)  # fmt: skip

    @classmethod
    def from_text(cls, text: str) -> NotFarm:
        rule = json.loads(text)
        return cls(codes=frozenset(rule["codes"]), texts=frozenset(rule["texts"]))

    def digest(self) -> str:
        """ "" for a county whose sales are all farm produce (as every county's were before the
        catalogue: its rollups need no rebuild)."""
        if not self.codes and not self.texts:
            return ""
        material = "\n".join(sorted(self.codes)) + "\n\n" + "\n".join(sorted(self.texts))
        return hashlib.sha256(material.encode()).hexdigest()


async def not_farm(county_id: uuid.UUID) -> NotFarm:
    products = await store.products(county_id)
    other = {row.id for row in products if row.category != FARM}
    mapped = await store.mappings(county_id)
    texts = {text for text, product in mapped.items() if product in other}
    return NotFarm(
        codes=frozenset(row.code for row in products if row.id in other),
        texts=frozenset(texts),
    )
