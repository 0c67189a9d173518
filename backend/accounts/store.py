"""The only code that touches the accounts tables: users, sessions, login failures, the audit trail.

Rows leave as msgspec Structs. The session lookup every request makes is one hand-written
statement (Piccolo's select through the user's foreign key cost more than a 20-event sync push).

One read reaches outside: a station's county and whether it is closed (registry_station), for
the station-scope guard and to check a keeper's station. It is read-only, and it is here so that
accounts never imports the registry (the registry audits through accounts, so the import may
only point that way).
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from piccolo.columns import Column

from backend import db
from backend.accounts import session_cache
from backend.accounts.tables import AuditEntry, Session, User, UserCounty


class UserRow(msgspec.Struct, frozen=True):
    """An account without its password hash."""

    id: uuid.UUID
    role: str
    county: uuid.UUID | None
    station: uuid.UUID | None
    name: str
    phone: str
    language: str
    active: bool
    township: uuid.UUID | None = None


class LoginRow(msgspec.Struct, frozen=True):
    user: UserRow
    password_hash: str


class SessionUserRow(msgspec.Struct, frozen=True):
    """A session and its user, as the request's authentication reads them."""

    session_id: uuid.UUID
    last_seen_at: datetime.datetime
    expires_at: datetime.datetime
    revoked_at: Any
    user: UserRow


class AuditChange(msgspec.Struct, frozen=True):
    """A `user.updated` entry on someone's account, with who made it."""

    at: datetime.datetime
    details: str
    actor_name: str | None
    actor_role: str | None


class StationPlace(msgspec.Struct, frozen=True):
    county: uuid.UUID
    closed: bool


class RowPlace(msgspec.Struct, frozen=True):
    """Where a registry row is: its county and its township."""

    county: uuid.UUID
    township: uuid.UUID


_USER_COLUMNS = (
    User.id,
    User.role,
    User.county,
    User.station,
    User.name,
    User.phone,
    User.language,
    User.active,
    User.township,
)


def _user_row(row: dict[str, Any]) -> UserRow:
    return UserRow(
        id=db.as_uuid(row["id"]),
        role=row["role"],
        county=db.as_uuid(row["county"]) if row["county"] else None,
        station=db.as_uuid(row["station"]) if row["station"] else None,
        name=row["name"],
        phone=row["phone"],
        language=row["language"],
        active=bool(row["active"]),
        township=db.as_uuid(row["township"]) if row.get("township") else None,
    )


# Users -----------------------------------------------------------------------------------------


async def login_row(phone: str) -> LoginRow | None:
    row = await User.select(*_USER_COLUMNS, User.password_hash).where(User.phone == phone).first()
    return LoginRow(_user_row(row), row["password_hash"]) if row else None


async def user_by_phone(phone: str) -> UserRow | None:
    row = await User.select(*_USER_COLUMNS).where(User.phone == phone).first()
    return _user_row(row) if row else None


async def password_hash(user_id: uuid.UUID) -> str | None:
    row = await User.select(User.password_hash).where(User.id == user_id).first()
    return row["password_hash"] if row else None


async def user(user_id: uuid.UUID) -> UserRow | None:
    row = await User.select(*_USER_COLUMNS).where(User.id == user_id).first()
    return _user_row(row) if row else None


async def county_users(county_id: uuid.UUID) -> list[UserRow]:
    rows = (
        await User.select(*_USER_COLUMNS)
        .where(User.county == county_id)
        .order_by(User.role)
        .order_by(User.name)
    )
    return [_user_row(row) for row in rows]


async def phone_taken(phone: str) -> bool:
    return await User.exists().where(User.phone == phone)


async def insert_user(
    *,
    user_id: uuid.UUID,
    phone: str,
    name: str,
    password_hash: str,
    role: str,
    county_id: uuid.UUID | None,
    station_id: uuid.UUID | None,
    language: str,
    township_id: uuid.UUID | None = None,
) -> None:
    """Raises the database's integrity error when the phone is taken (caller maps it)."""
    await User.insert(
        User(
            id=user_id,
            phone=phone,
            name=name,
            password_hash=password_hash,
            role=role,
            county=county_id,
            station=station_id,
            township=township_id,
            language=language,
        )
    )


async def insert_user_counties(user_id: uuid.UUID, county_ids: Sequence[uuid.UUID]) -> None:
    """The counties a province officer reads (in the caller's transaction, with the account)."""
    await UserCounty.insert(
        *(UserCounty(id=uuid.uuid4(), user=user_id, county=county) for county in county_ids)
    )


async def user_counties(user_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await UserCounty.select(UserCounty.county).where(UserCounty.user == user_id)
    return [db.as_uuid(row["county"]) for row in rows]


def _forget_kept_sessions() -> None:
    """After a write to an account or a session: at once, so no lookup begun before it is kept,
    and again once its transaction ends, so none that read the row before the commit is."""
    session_cache.forget_all()
    db.after_commit(session_cache.forget_all)


# The columns a staff member may change on an account, by the name the audit trail records.
USER_FIELDS = ("name", "language", "station", "active", "password_hash", "password_changed_at")


async def update_user(user_id: uuid.UUID, values: dict[str, Any]) -> None:
    """`values` by column name, each one of USER_FIELDS."""
    if unknown := set(values) - set(USER_FIELDS):
        raise ValueError(f"not an account field: {sorted(unknown)}")
    if values:
        columns: dict[Column | str, Any] = {
            User._meta.get_column_by_name(name): value for name, value in values.items()
        }
        await User.update(columns).where(User.id == user_id)
        _forget_kept_sessions()


# Sessions --------------------------------------------------------------------------------------


async def device_known(user_id: uuid.UUID, device_id: str) -> bool:
    return await Session.exists().where(
        (Session.user == user_id) & (Session.device_id == device_id)
    )


async def insert_session(
    *,
    session_id: uuid.UUID,
    token_hash: str,
    user_id: uuid.UUID,
    expires_at: datetime.datetime,
    user_agent: str,
    device_id: str,
) -> None:
    await Session.insert(
        Session(
            id=session_id,
            token_hash=token_hash,
            user=user_id,
            expires_at=expires_at,
            user_agent=user_agent,
            device_id=device_id,
        )
    )


_SESSION_LOOKUP = (
    "SELECT s.id AS session_id, s.last_seen_at, s.expires_at, s.revoked_at, u.id, u.role, "
    "u.station, u.county, u.language, u.name, u.phone, u.active, u.township "
    "FROM accounts_session s "
    'JOIN accounts_user u ON u.id = s."user" WHERE s.token_hash = $1'
)


async def session_by_token_hash(token_hash: str) -> SessionUserRow | None:
    rows = await db.fetch_once(_SESSION_LOOKUP, token_hash)
    if not rows:
        return None
    row = rows[0]
    return SessionUserRow(
        session_id=db.as_uuid(row["session_id"]),
        last_seen_at=db.as_moment(row["last_seen_at"]),
        expires_at=db.as_moment(row["expires_at"]),
        revoked_at=row["revoked_at"],
        user=_user_row(row),
    )


async def touch_session(
    session_id: uuid.UUID, seen_at: datetime.datetime, expires_at: datetime.datetime
) -> None:
    await Session.update({Session.last_seen_at: seen_at, Session.expires_at: expires_at}).where(
        Session.id == session_id
    )


async def revoke_session(session_id: uuid.UUID, at: datetime.datetime) -> None:
    await Session.update({Session.revoked_at: at}).where(
        (Session.id == session_id) & Session.revoked_at.is_null()
    )
    _forget_kept_sessions()


async def revoke_sessions(
    user_id: uuid.UUID, at: datetime.datetime, keep: uuid.UUID | None = None
) -> int:
    condition = (Session.user == user_id) & Session.revoked_at.is_null()
    if keep is not None:
        condition &= Session.id != keep
    revoked = await Session.update({Session.revoked_at: at}).where(condition).returning(Session.id)
    _forget_kept_sessions()
    return len(revoked)


async def previous_login_at(user_id: uuid.UUID, session_id: uuid.UUID) -> datetime.datetime | None:
    """When the user's latest session other than this one began."""
    row = (
        await Session.select(Session.created_at)
        .where((Session.user == user_id) & (Session.id != session_id))
        .order_by(Session.created_at, ascending=False)
        .first()
    )
    return row["created_at"] if row else None


# Login failures (the throttle's) ---------------------------------------------------------------


class FailureCounts(msgspec.Struct, frozen=True):
    by_phone: int
    by_address: int
    by_pair: int


async def failure_counts(phone: str, address: str, since: datetime.datetime) -> FailureCounts:
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT (SELECT COUNT(*) FROM accounts_login_failure WHERE phone = $1 AND at > $3)"
            " AS by_phone, (SELECT COUNT(*) FROM accounts_login_failure WHERE address = $2 "
            "AND at > $3) AS by_address, (SELECT COUNT(*) FROM accounts_login_failure "
            "WHERE phone = $1 AND address = $2 AND at > $3) AS by_pair",
            phone,
            address,
            since,
        )
    return FailureCounts(
        by_phone=int(rows[0]["by_phone"]),
        by_address=int(rows[0]["by_address"]),
        by_pair=int(rows[0]["by_pair"]),
    )


async def forget_failures(phone: str, address: str) -> None:
    async with db.write_transaction():
        await db.execute(
            "DELETE FROM accounts_login_failure WHERE phone = $1 AND address = $2",
            phone,
            address,
        )


async def record_failures(failures: Sequence[tuple[str, str, datetime.datetime]]) -> None:
    """(phone, address, at) rows in one transaction: one commit for a whole batch."""
    async with db.write_transaction():
        await db.executemany(
            "INSERT INTO accounts_login_failure (phone, address, at) VALUES ($1, $2, $3)",
            failures,
        )


# The audit trail -------------------------------------------------------------------------------


async def insert_audit(
    *,
    actor_id: uuid.UUID | None,
    county_id: uuid.UUID | None,
    action: str,
    target_type: str,
    target_id: str,
    details: dict[str, Any],
) -> None:
    """One entry; inside the caller's transaction when there is one."""
    await AuditEntry.insert(
        AuditEntry(
            actor=actor_id,
            county=county_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=json.dumps(details, ensure_ascii=False, default=str),
        )
    )


async def changes_to_user(user_id: uuid.UUID, since: datetime.datetime | None) -> list[AuditChange]:
    """`user.updated` entries on this account by others (or by nobody: a script), oldest first."""
    query = AuditEntry.select(
        AuditEntry.at, AuditEntry.details, AuditEntry.actor.name, AuditEntry.actor.role
    ).where(
        (AuditEntry.target_type == "user")
        & (AuditEntry.target_id == str(user_id))
        & (AuditEntry.action == "user.updated")
        & ((AuditEntry.actor != user_id) | AuditEntry.actor.is_null())
    )
    if since is not None:
        query = query.where(AuditEntry.at > since)
    return [
        AuditChange(
            at=entry["at"],
            details=entry["details"] or "{}",
            actor_name=entry["actor.name"],
            actor_role=entry["actor.role"],
        )
        for entry in await query.order_by(AuditEntry.at)
    ]


# The one read of the registry's table ----------------------------------------------------------


async def township_county(township_id: uuid.UUID) -> uuid.UUID | None:
    """A township's county (read-only, from registry_township)."""
    rows = await db.fetch_once("SELECT county FROM registry_township WHERE id = $1", township_id)
    return db.as_uuid(rows[0]["county"]) if rows else None


async def station_place(station_id: uuid.UUID) -> StationPlace | None:
    """A station's county and whether it is closed (read-only, from registry_station)."""
    rows = await db.fetch_once(
        "SELECT county, closed_at FROM registry_station WHERE id = $1", station_id
    )
    if not rows:
        return None
    return StationPlace(
        county=db.as_uuid(rows[0]["county"]), closed=rows[0]["closed_at"] is not None
    )


# How each registry table that a township officer may reach finds its row's county and township
# (read-only; table and column names are constants, never input).
_PLACE_OF = {
    "registry_station": "SELECT county, township FROM registry_station WHERE id = $1",
    "registry_household": (
        "SELECT h.county, v.township FROM registry_household h "
        "JOIN registry_village v ON v.id = h.village WHERE h.id = $1"
    ),
}
PLACED_TABLES = frozenset(_PLACE_OF)


async def row_place(tablename: str, row_id: uuid.UUID) -> RowPlace | None:
    """The county and township of a station's or a household's row (None: no such row)."""
    rows = await db.fetch_once(_PLACE_OF[tablename], row_id)
    if not rows:
        return None
    return RowPlace(county=db.as_uuid(rows[0]["county"]), township=db.as_uuid(rows[0]["township"]))
