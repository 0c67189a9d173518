"""A training session the county held, and its trainees (one row per person per session: 人次).

A trainee's `poor` is decided when the session is recorded: the household's flag when a household
code was given, else what staff marked. `outcome` is the follow-up (培训转化): what the person did
with the training, noted by staff later ("" = nothing noted yet). A trainee may be a station's
keeper (站长培训): `station` names the station, beside or instead of a household.
"""

from piccolo.columns import (
    UUID,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.accounts.tables import User
from backend.registry.tables import County, Household, Station, Township, Village


class TrainingSession(Table, tablename="training_session"):
    id = UUID(primary_key=True)
    county = ForeignKey(County, on_delete=OnDelete.restrict, null=False, index=True)
    township = ForeignKey(Township, on_delete=OnDelete.set_null, null=True, default=None)
    # Where it was held, when a village (a village session); in the township when both are given.
    village = ForeignKey(Village, on_delete=OnDelete.set_null, null=True, default=None)
    title = Varchar(length=80)
    held_on = Date(index=True)
    kind = Varchar(length=24)
    trainer = Varchar(length=40, default="")
    hours_centi = Integer(null=True, default=None)  # hours × 100 (2.5 h = 250); None = not given
    author = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class TrainingTrainee(Table, tablename="training_trainee"):
    id = UUID(primary_key=True)
    session = ForeignKey(TrainingSession, on_delete=OnDelete.cascade, null=False, index=True)
    position = Integer(default=0)  # the order staff entered them in
    name = Varchar(length=40)
    household_code = Varchar(length=24, default="")
    household = ForeignKey(Household, on_delete=OnDelete.set_null, null=True, default=None)
    poor = Boolean(default=False)
    # employed | online_shop | business | sells_at_station | leader (电商带头人) | ""
    outcome = Varchar(length=16, default="")
    outcome_on = Date(null=True, default=None)  # the day staff learnt of it
    station = ForeignKey(Station, on_delete=OnDelete.set_null, null=True, default=None)


class TrainingAttendedOutcome(Table, tablename="training_attended_outcome"):
    """The follow-up of a trainee a keeper signed in at a village session (`training.attended`,
    kept in the station's ledger, which is never rewritten): keyed by the trainee's id in the
    training figures (uuid5 of the entry's id and the trainee's place in it)."""

    id = UUID(primary_key=True)  # the trainee's id
    county = ForeignKey(County, on_delete=OnDelete.restrict, null=False, index=True)
    outcome = Varchar(length=16)  # as TrainingTrainee.outcome, never ""
    outcome_on = Date()
