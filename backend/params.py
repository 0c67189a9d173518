"""Path and query parameters shared by the routes, with titles that make the OpenAPI schema read."""

import datetime
import uuid
from typing import Annotated

from litestar.params import PathParameter, QueryParameter

CountyId = Annotated[
    uuid.UUID, PathParameter(title="County id", description="A county the caller works for")
]
StationId = Annotated[
    uuid.UUID, PathParameter(title="Station id", description="A station the caller may see")
]
TownshipId = Annotated[uuid.UUID, PathParameter(title="Township id", description="A township")]
VillageId = Annotated[uuid.UUID, PathParameter(title="Village id", description="A village")]
HouseholdId = Annotated[uuid.UUID, PathParameter(title="Household id", description="A household")]
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

    latest = datetime.date.today() + datetime.timedelta(days=366)
    if day is not None and not EARLIEST_DAY <= day <= latest:
        raise DomainError(
            "day_out_of_range",
            status=400,
            field="date",
            earliest=EARLIEST_DAY.isoformat(),
            latest=latest.isoformat(),
        )
    return day
