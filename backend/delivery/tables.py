"""The county hub's legs: a parcel handed to a station's route, one row per hand-over.

A leg is never updated: it closes when the station's `parcel.received` of the same number comes
in, which the reads find in the ledger (closing at read time is always right, whatever order the
hub's scan and the station's sync arrive in). `round` numbers the legs of one (station, number,
package); its unique index (a raw-SQL migration) lets two simultaneous scans of the same parcel
make one leg, not two.
"""

from piccolo.columns import UUID, Integer, Timestamptz, Varchar
from piccolo.table import Table


class HubLeg(Table, tablename="delivery_leg"):
    id = UUID(primary_key=True)
    county = UUID()
    station = UUID(index=True)
    tracking_no = Varchar(length=40)  # normalised as the ledger does (ledger.carriers)
    package = Varchar(length=8, default="")  # "n/m" for a JD package, else ""
    round = Integer(default=1)  # 1 for the first leg of this parcel to this station, then 2…
    dispatched_at = Timestamptz()  # the server's clock when the hub handed it over
    dispatched_by = UUID(null=True, default=None)  # the hub worker or staff member
