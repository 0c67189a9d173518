"""The jobs' own tables: who holds the scheduler lease, every run, and parcels marked for return.

`JobRun` has a unique (name, window_key) index (a raw-SQL migration): a window runs once even
if two processes both believe they hold the lease for a moment.
"""

from piccolo.columns import UUID, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class JobLease(Table, tablename="jobs_lease"):
    """One row per lease (the scheduler's is "scheduler"); whoever holds it runs the jobs."""

    name = Varchar(length=40, primary_key=True)
    holder = Varchar(length=200)  # hostname:pid:random of the holding process
    acquired_at = Timestamptz()
    renewed_at = Timestamptz()
    expires_at = Timestamptz()


class JobRun(Table, tablename="jobs_run"):
    """One execution of a job for one window (a scheduler tick, or a manual `jobs run`)."""

    id = UUID(primary_key=True)
    name = Varchar(length=40)
    window_key = Varchar(length=64)
    trigger = Varchar(length=12)  # schedule | manual
    holder = Varchar(length=200)
    started_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)
    status = Varchar(length=12)  # running | done | failed | abandoned
    counts = Text(default="{}")  # JSON: what the run did
    error = Text(default="")


class OverdueParcel(Table, tablename="jobs_overdue_parcel"):
    """A parcel on the shelf past the county's return limit, marked for return by the job.

    Not a ledger change: the ledger stays a projection of events; the keeper's return is an event.
    """

    parcel = UUID(primary_key=True)
    station = UUID(index=True)
    county = UUID(index=True)
    days_on_shelf = Integer()
    marked_at = Timestamptz()
