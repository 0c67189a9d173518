"""What capabilities above the registry mark on a household: the trace batches of its produce
that failed inspection (溯源, issue #15). The registry shows them on the household (its API and
its page) without reading the trace tables: app.py hands the trace capability's reader down as
the dependency `failed_batches_of`."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeAlias

from litestar.di import NamedDependency

from backend.registry.schemas import FailedBatchOut, HouseholdOut

# (county id, household ids) → per household its failed batches as (code, day), oldest first.
FailedBatchesReader: TypeAlias = Callable[
    [uuid.UUID, list[uuid.UUID]], Awaitable[dict[uuid.UUID, list[tuple[str, datetime.date]]]]
]
FailedBatchesOf: TypeAlias = NamedDependency[FailedBatchesReader]


async def with_failed_batches(
    county_id: uuid.UUID, households: list[HouseholdOut], read: FailedBatchesReader
) -> list[HouseholdOut]:
    """The households, each with its failed batches (the mark)."""
    marks = await read(county_id, [household.id for household in households])
    for household in households:
        household.failed_batches = [
            FailedBatchOut(code, day) for code, day in marks.get(household.id, [])
        ]
    return households
