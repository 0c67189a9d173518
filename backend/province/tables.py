"""Each county's line of the province's comparison, counted once and kept with the moment it was
counted (issue #17): the province page reads these instead of counting every county per request,
as DHIS2's analytics tables serve its dashboards. One row per county and month, unique by a
raw-SQL index (Piccolo cannot add a composite unique constraint on SQLite)."""

from piccolo.columns import UUID, Text, Timestamptz, Varchar
from piccolo.table import Table


class StoredLine(Table, tablename="province_county_line"):
    county = UUID()
    month = Varchar(length=7)  # 'YYYY-MM': the month the line counts
    line = Text()  # the line's figures as JSON (service.CountyLine without `counted_at`)
    counted_at = Timestamptz()
    # When the county's rollups had last moved as the line was counted (county_rollup_state's
    # refreshed_at): while it has not moved since, the line still holds (service.py).
    rollups_as_of = Timestamptz(null=True, default=None)
