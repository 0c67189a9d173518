"""The county's catalogue: one row per product, and one per 代销 product text staff mapped to a
product (the keepers' free text, as written in the ledger).

A product's `category` decides the 上行 figures: a 代销 of a `farm` product is 农产品网络零售额,
of an `other` product only 网络零售额. Codes are unique per county and never change (the ledger's
sales name them); texts unique per county. Both unique keys are unique indexes made by a raw-SQL
migration (Piccolo cannot add composite ones on SQLite).
"""

from piccolo.columns import UUID, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.registry.tables import County


class CatalogueProduct(Table, tablename="catalogue_product"):
    id = UUID(primary_key=True)
    county = ForeignKey(County, on_delete=OnDelete.restrict, null=False, index=True)
    code = Varchar(length=24)  # A–Z 0–9 and "-", unique in the county; never changes
    name = Varchar(length=40)  # what a 代销 says as its product (the ledger's 40 characters)
    category = Varchar(length=8, default="farm")  # farm | other
    brand = Varchar(length=40, default="")
    # pollution_free | green | organic | geo_indication (the trace batches' codes), "" = none
    certification = Varchar(length=16, default="")
    unit = Varchar(length=10, default="")  # what a 代销 says as its unit (斤, 箱, kg…)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class CatalogueText(Table, tablename="catalogue_text"):
    """A 代销 product text of the county's ledger, mapped by staff to a catalogue product."""

    county = ForeignKey(County, on_delete=OnDelete.restrict, null=False)
    text = Varchar(length=40)
    product = ForeignKey(CatalogueProduct, on_delete=OnDelete.cascade, null=False)
    mapped_at = Timestamptz(default=TimestamptzNow())
