"""The workbook's sheet 近12个月 (and `export.csv?table=trends`): the month and the eleven before
it, one row each, from the kpis' own `months` (figures.twelve_months), as the page
/county/trends shows them; amounts in 元."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

TITLE = "近12个月"
# TREND_KEYS' columns: header, key, is money
COLUMNS = (
    ("网络零售额（元）", "retail_fen", True),
    ("农产品上行（代销）（元）", "upward_sales_fen", True),
    ("工业品下行（代购）（元）", "downward_sales_fen", True),
    ("站点收入（不含代发邮费）（元）", "income_fen", True),
    ("代收快递（件）", "parcels_in", False),
    ("代发快递（件）", "parcels_out", False),
    ("脱贫户代销所得（元）", "poverty_payout_fen", True),
)
HEADERS = ["月份", *(header for header, _, _ in COLUMNS)]
MONEY_COLUMNS = {index + 1 for index, (_, _, money) in enumerate(COLUMNS) if money}


def _yuan(fen: int) -> Decimal:
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))


def rows(months: list[dict[str, Any]]) -> list[list[Any]]:
    """One row per month, oldest first."""
    return [
        [month["month"],
         *(_yuan(month["figures"][key]) if money else month["figures"][key]
           for _, key, money in COLUMNS)]
        for month in months
    ]  # fmt: skip
