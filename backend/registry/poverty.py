"""A village's 贫困村 flag over time: the one rule for coverage as of a past day (county) and for
the changes the registry records.

`Village.poor` is the flag today. Each change of it is kept with the county-local day it holds
from (`registry_village_poverty`). On a day, the flag is the latest change's that holds from on
or before it; before the first change it is the opposite of that change (a change flips the
flag); a village never changed has had today's flag all along.

    poor_on(today_flag, changes, day) -> bool
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import msgspec


class PovertyChange(msgspec.Struct, frozen=True):
    from_day: datetime.date
    poor: bool


def poor_on(today_flag: bool, changes: Sequence[PovertyChange], day: datetime.date) -> bool:
    """The flag on `day`; `changes` in the order they hold from (oldest first)."""
    if not changes:
        return today_flag
    held = [change for change in changes if change.from_day <= day]
    return held[-1].poor if held else not changes[0].poor
