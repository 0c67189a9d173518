"""Path and query parameters shared by the routes, with titles that make the OpenAPI schema read."""

import datetime
import uuid
from typing import Annotated

from litestar.params import PathParameter, QueryParameter

from backend import clock

CountyId = Annotated[
    uuid.UUID, PathParameter(title="County id", description="A county the caller works for")
]
StationId = Annotated[
    uuid.UUID, PathParameter(title="Station id", description="A station the caller may see")
]
TownshipId = Annotated[uuid.UUID, PathParameter(title="Township id", description="A township")]
VillageId = Annotated[uuid.UUID, PathParameter(title="Village id", description="A village")]
TraineeId = Annotated[uuid.UUID, PathParameter(title="Trainee id", description="A trainee row")]
HouseholdId = Annotated[uuid.UUID, PathParameter(title="Household id", description="A household")]
PhotoId = Annotated[uuid.UUID, PathParameter(title="Photo id", description="A station photo")]
PhotoName = Annotated[
    str, PathParameter(title="Photo file", description="`{photo id}.jpg`", max_length=48)
]
UserId = Annotated[uuid.UUID, PathParameter(title="User id", description="An account")]
Since = Annotated[
    str | None,
    QueryParameter(
        name="since",
        required=False,
        description="The cursor of the last pull; omitted or empty = from the beginning",
    ),
]
Day = Annotated[
    datetime.date | None,
    QueryParameter(name="date", required=False, description="County-local day, YYYY-MM-DD"),
]


EARLIEST_DAY = datetime.date(2015, 1, 1)  # the programme's stations did not exist before


def day_in_range(day: datetime.date | None) -> datetime.date | None:
    """A `date` query parameter between 2015 and a year from now, else a 400 problem: a day like
    0001-01-01 would overflow when it is turned into a moment in the county's time zone."""
    from backend.errors import DomainError

    latest = clock.utcnow().date() + datetime.timedelta(days=366)
    if day is not None and not EARLIEST_DAY <= day <= latest:
        raise DomainError(
            "day_out_of_range",
            status=400,
            field="date",
            earliest=EARLIEST_DAY.isoformat(),
            latest=latest.isoformat(),
        )
    return day


def parse_month(month: str | None) -> tuple[datetime.date, datetime.date]:
    """`YYYY-MM` → its first and last day; anything else is a localized problem."""
    from backend.errors import DomainError

    try:
        if not month or len(month) != 7 or month[4] != "-" or not month.isascii():
            raise ValueError
        first = datetime.date(int(month[:4]), int(month[5:]), 1)
    except ValueError:
        raise DomainError("county_invalid_month", status=400, field="month") from None
    # The programme's stations did not exist before 2015; a year ahead is the furthest plan.
    today = clock.utcnow().date()
    latest = datetime.date(today.year + 1, today.month, 1)
    if first < EARLIEST_DAY or first > latest:
        raise DomainError(
            "county_month_out_of_range",
            status=400,
            field="month",
            earliest=EARLIEST_DAY.strftime("%Y-%m"),
            latest=latest.strftime("%Y-%m"),
        )
    following = datetime.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - datetime.timedelta(days=1)
