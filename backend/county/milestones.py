"""The county's milestones (中期目标): a since-start training figure to reach by the end of a due
month — 鲁甸's 「2018年10月底前完成50%」 of its 3,500 人次 is `trainee_visits` 1,750 due 2018-10.

    milestones(county_id) -> [{"figure", "target", "due"}]
    set_milestones(user, county_id, [(figure, target, due "YYYY-MM")]) -> the same, after
    judged(county, until, programme_start) -> [{"figure", "target", "due", "status", "actual",
        "through", "progress_pct"}]

A milestone is judged on the scorecard of a month: before its due month it is `due` (the figure
counted through the month's end shows the progress); from its due month on it is `met` or
`not_met` on the figure counted from the programme's start through the due month's end (through
today while that month runs).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from backend import db
from backend.accounts.schemas import CurrentUser
from backend.accounts.service import audit
from backend.county.store import places, programme_rows
from backend.county.store.programme_rows import MilestoneRow
from backend.errors import DomainError
from backend.numbers import Unreadable, read_whole
from backend.params import EARLIEST_DAY
from backend.training import figures as training

# figure → the scorecard's unit; the figures are the training's totals since the start.
FIGURES: dict[str, str] = {
    "trainee_visits": "visits",  # 培训人次
    "poor_trainee_visits": "visits",  # 脱贫户人次
    "people": "people",  # 培训人数 (distinct persons)
    "people_converted": "people",  # of them with a follow-up outcome (转化)
    "sessions": "sessions",  # 培训场次
}
MAX_MILESTONES = 20
MAX_TARGET = 10**9
YEARS_AHEAD = 15  # a due month up to this many years after the county's today


def _month_text(day: datetime.date) -> str:
    return f"{day:%Y-%m}"


def _due(value: Any, today: datetime.date, field: str) -> datetime.date:
    text = str(value or "").strip()
    try:
        if len(text) != 7 or not text.isascii():
            raise ValueError
        due = datetime.date.fromisoformat(f"{text}-01")
    except ValueError:
        due = None
    latest = today.replace(year=today.year + YEARS_AHEAD, day=1)
    if due is None or not EARLIEST_DAY.replace(day=1) <= due <= latest:
        raise DomainError(
            "county_milestone_due_invalid",
            field=field,
            earliest=_month_text(EARLIEST_DAY),
            latest=_month_text(latest),
        )
    return due


def check_milestones(
    milestones: list[tuple[str, Any, Any]], today: datetime.date
) -> list[MilestoneRow]:
    """Each (figure, target, due) checked: a known figure, a whole target from 1, a due month
    YYYY-MM from 2015 to 15 years ahead, no figure twice for one month; at most 20."""
    if len(milestones) > MAX_MILESTONES:
        raise DomainError("county_milestones_count", field="milestones", max=MAX_MILESTONES)
    rows: list[MilestoneRow] = []
    for index, (figure, target, due_text) in enumerate(milestones):
        field = f"milestones[{index}]"
        if figure not in FIGURES:
            raise DomainError("county_milestone_figure_invalid", field=f"{field}.figure")
        number = target if isinstance(target, int) and not isinstance(target, bool) else None
        if isinstance(target, str):
            number = _typed_target(target, f"{field}.target")
        if number is None or not 1 <= number <= MAX_TARGET:
            raise DomainError("county_milestone_target_invalid", field=f"{field}.target")
        due = _due(due_text, today, f"{field}.due")
        if any(row.figure == figure and row.due == due for row in rows):
            raise DomainError("county_milestone_duplicate", field=f"{field}.due")
        rows.append(MilestoneRow(figure, number, due))
    return sorted(rows, key=lambda row: (row.due, row.figure, row.target))


def _typed_target(typed: str, field: str) -> int:
    """A target typed in the page's box ("1200", "１２００"); "1,200" is refused as unclear."""
    try:
        return read_whole(typed)
    except Unreadable as refusal:
        raise refusal.problem(field, typed, "county_milestone_target_invalid") from None


def _out(row: MilestoneRow) -> dict[str, Any]:
    return {"figure": row.figure, "target": row.target, "due": _month_text(row.due)}


async def milestones(county_id: uuid.UUID) -> list[dict[str, Any]]:
    async with db.read_transaction():
        rows = await programme_rows.milestones(county_id)
    return [_out(row) for row in rows]


async def set_milestones(
    user: CurrentUser, county_id: uuid.UUID, chosen: list[tuple[str, Any, Any]]
) -> list[dict[str, Any]]:
    """The county's milestones become these (checked first: a refusal changes nothing; audited
    as `county.milestones_set`)."""
    async with db.read_transaction():
        county = await places.county(county_id)
    rows = check_milestones(chosen, county.today())
    async with db.write_transaction():
        await programme_rows.replace_milestones(county_id, rows)
        await audit(
            user,
            "county.milestones_set",
            "county",
            county_id,
            county_id=county_id,
            milestones=[_out(row) for row in rows],
        )
    return await milestones(county_id)


def _month_end(first: datetime.date) -> datetime.date:
    following = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return following - datetime.timedelta(days=1)


async def judged(
    county: places.CountyRow, until: datetime.date, programme_start: datetime.date
) -> list[dict[str, Any]]:
    """The county's milestones as the scorecard of the period ending `until` judges them (see
    the module's docstring); `through` is the last day counted, `progress_pct` the actual in
    percent of the target (one decimal)."""
    today = county.today()
    async with db.read_transaction():
        rows = await programme_rows.milestones(county.id)
        totals: dict[datetime.date, training.Totals] = {}
        answer = []
        for row in rows:
            if until < row.due:
                status, through = "due", until
            else:
                status, through = "", min(_month_end(row.due), max(today, row.due))
            if through not in totals:
                totals[through] = (
                    await training.totals_between(county.id, programme_start, through)
                    if programme_start <= through
                    else training.totals_of(0, [])
                )
            actual = int(getattr(totals[through], row.figure))
            if not status:
                status = "met" if actual >= row.target else "not_met"
            answer.append(
                {
                    **_out(row),
                    "status": status,
                    "actual": actual,
                    "through": through,
                    "progress_pct": round(actual * 100 / row.target, 1),
                }
            )
    return answer
