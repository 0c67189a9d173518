"""Accounts: password hashing, login with throttling, database-backed sessions."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from backend import clock
from backend.accounts import passwords, session_cache, store
from backend.accounts.schemas import (
    AccountChange,
    CurrentUser,
    ProvinceUserCreate,
    UserCreate,
    UserOut,
    UserUpdate,
)
from backend.accounts.throttle import LoginThrottle
from backend.db import is_integrity_error, write_transaction
from backend.errors import DomainError
from backend.phones import normalize_phone
from backend.privacy import mask_phone
from backend.settings import Settings

ROLES = ("keeper", "county_staff", "admin", "hub", "township", "province")
# The ladder: an account may be changed only by someone above it, or by an admin.
ROLE_RANK = {"keeper": 0, "hub": 0, "township": 0, "county_staff": 1, "province": 1, "admin": 2}
MIN_PASSWORD_LENGTH = passwords.MIN_PASSWORD_LENGTH
# OWASP's argon2id baseline (19 MiB, 2 passes): strong, and small enough that two at a time
# fit a county server's memory.
PASSWORD_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


# Hashing runs in two dedicated threads, so a login flood can neither starve the event loop nor
# grow memory: each thread's malloc arena keeps a freed 19 MiB block, so the thread count bounds it.
# They also run at a lower CPU priority: on a two-core county server a login flood must leave a
# core to the event loop that answers the keepers' syncs.
def _lower_priority() -> None:
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


_HASHING_THREADS = ThreadPoolExecutor(
    max_workers=2, thread_name_prefix="password-hash", initializer=_lower_priority
)
_DUMMY_HASH = PASSWORD_HASHER.hash("cunzhan-timing-equaliser")
# last_seen_at is written at most this often per session, not on every request.
SESSION_TOUCH_INTERVAL = timedelta(minutes=5)


async def hash_password(password: str) -> str:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_HASHING_THREADS, PASSWORD_HASHER.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(
            _HASHING_THREADS, PASSWORD_HASHER.verify, password_hash, password
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password_strength(password: str, field: str = "password") -> None:
    """Length, more than one class of character, not a common password (passwords.py)."""
    passwords.check_password_strength(password, field)


def token_hash(settings: Settings, token: str) -> str:
    return hmac.new(settings.secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def session_lifetime(settings: Settings, role: str) -> timedelta:
    """Keepers stay logged in for weeks on their own phone; staff sessions end when idle."""
    if role == "keeper":
        return timedelta(days=settings.keeper_session_days)
    return timedelta(hours=settings.staff_session_idle_hours)


async def login(
    settings: Settings,
    throttle: LoginThrottle,
    phone: str,
    password: str,
    address: str,
    user_agent: str = "",
    device_id: str = "",
) -> tuple[str, CurrentUser]:
    """Check the password and open a session; returns the new token (shown once) and the user."""
    phone, address, device_id = normalize_phone(phone)[:32], address[:64], device_id[:64]
    row = await store.login_row(phone)
    known_device = False
    if device_id and row is not None:
        known_device = await store.device_known(row.user.id, device_id)
    await throttle.admit(settings, phone, address, known_device=known_device)
    if row is None or not row.user.active:
        await verify_password(_DUMMY_HASH, password)  # same time as a real check
        throttle.failed(phone, address)
        raise DomainError("wrong_credentials", status=401)
    if not await verify_password(row.password_hash, password):
        throttle.failed(phone, address)
        raise DomainError("wrong_credentials", status=401)
    await throttle.succeeded(phone, address)
    token = secrets.token_urlsafe(32)
    session_id = uuid.uuid4()
    await store.insert_session(
        session_id=session_id,
        token_hash=token_hash(settings, token),
        user_id=row.user.id,
        expires_at=clock.utcnow() + session_lifetime(settings, row.user.role),
        user_agent=user_agent[:200],
        device_id=device_id,
    )
    return token, _current_user(row.user, session_id)


def _current_user(row: store.UserRow, session_id: uuid.UUID) -> CurrentUser:
    return CurrentUser(
        id=row.id,
        role=row.role,
        station_id=row.station,
        county_id=row.county,
        language=row.language,
        name=row.name,
        phone=row.phone,
        session_id=session_id,
        township_id=row.township,
    )


async def authenticate(settings: Settings, token: str) -> CurrentUser | None:
    """The user behind a token, or None when it is unknown, revoked, expired or disabled."""
    if not token or len(token) > 200:
        return None
    # Every request comes through here: kept a few seconds (see session_cache for how a
    # revocation still takes effect), else one plain statement (see accounts.store).
    key = token_hash(settings, token)
    moment = clock.utcnow()
    cached = session_cache.get(key, moment.timestamp())
    if cached is not None:
        return cached
    looked_up_in = session_cache.generation()
    row = await store.session_by_token_hash(key)
    if row is None:
        return None
    if row.revoked_at is not None or row.expires_at <= moment or not row.user.active:
        return None
    if moment - row.last_seen_at > SESSION_TOUCH_INTERVAL:
        await store.touch_session(
            row.session_id, moment, moment + session_lifetime(settings, row.user.role)
        )
    user = _current_user(row.user, row.session_id)
    session_cache.keep(key, looked_up_in, user, row.expires_at.timestamp())
    return user


async def logout(session_id: uuid.UUID) -> None:
    await store.revoke_session(session_id, clock.utcnow())


async def change_password(
    user: CurrentUser,
    old_password: str,
    new_password: str,
    *,
    settings: Settings,
    throttle: LoginThrottle,
    address: str,
) -> int:
    """Changes the password and signs out every other session; returns how many were revoked.
    Wrong current passwords count like failed logins (a stolen session must not be a free
    password oracle)."""
    address = address[:64]
    await throttle.admit(settings, user.phone, address)
    current_hash = await store.password_hash(user.id)
    if current_hash is None or not await verify_password(current_hash, old_password):
        throttle.failed(user.phone, address)
        raise DomainError("wrong_password", status=403, field="old_password")
    await throttle.succeeded(user.phone, address)
    check_password_strength(new_password)
    new_hash = await hash_password(new_password)
    await store.update_user(
        user.id, {"password_hash": new_hash, "password_changed_at": clock.utcnow()}
    )
    return await revoke_sessions(user.id, keep=user.session_id)


async def revoke_sessions(user_id: uuid.UUID, keep: uuid.UUID | None = None) -> int:
    return await store.revoke_sessions(user_id, clock.utcnow(), keep=keep)


async def set_language(user: CurrentUser, language: str) -> None:
    await store.update_user(user.id, {"language": language})


async def audit(
    actor: CurrentUser | uuid.UUID | None,
    action: str,
    target_type: str,
    target_id: Any,
    county_id: uuid.UUID | None = None,
    **details: Any,
) -> None:
    """Record a staff action: the one way into the audit trail, for every capability.

    `actor` is the logged-in user, or just their id (a background step that kept only the id),
    or None (a script). Inside the caller's transaction when there is one. Details never carry
    secrets or unmasked phone numbers."""
    actor_id = actor.id if isinstance(actor, CurrentUser) else actor
    if isinstance(actor, CurrentUser):
        county_id = county_id or actor.county_id
    await store.insert_audit(
        actor_id=actor_id,
        county_id=county_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        details=details,
    )


# Staff managing accounts ---------------------------------------------------------------------


async def _station_in_county(station_id: uuid.UUID | None, county_id: uuid.UUID | None) -> None:
    if station_id is None:
        return
    place = await store.station_place(station_id)
    if place is None or place.county != county_id:
        raise DomainError("unknown_station", field="station_id")
    if place.closed:
        raise DomainError("station_closed", field="station_id")


async def _township_of_officer(
    role: str, township_id: uuid.UUID | None, county_id: uuid.UUID
) -> None:
    """A township officer serves one township of the county; no other role has one."""
    if role != "township":
        if township_id is not None:
            raise DomainError("only_officers_have_a_township", field="township_id")
        return
    if township_id is None:
        raise DomainError("officer_needs_township", field="township_id")
    if await store.township_county(township_id) != county_id:
        raise DomainError("unknown_township", field="township_id")


def _user_out(row: store.UserRow) -> UserOut:
    return UserOut(
        id=row.id,
        role=row.role,
        station_id=row.station,
        county_id=row.county,
        name=row.name,
        phone=mask_phone(row.phone),
        language=row.language,
        township_id=row.township,
    )


async def _changed_user(user_id: uuid.UUID) -> UserOut:
    row = await store.user(user_id)
    if row is None:
        raise DomainError("not_found", status=404)
    return _user_out(row)


async def list_users(county_id: uuid.UUID) -> list[UserOut]:
    return [_user_out(row) for row in await store.county_users(county_id)]


async def create_user(actor: CurrentUser | None, county_id: uuid.UUID, data: UserCreate) -> UserOut:
    if data.role == "keeper" and data.station_id is None:
        raise DomainError("keeper_needs_station", field="station_id")
    if data.role != "keeper" and data.station_id is not None:
        raise DomainError("staff_has_no_station", field="station_id")
    await _station_in_county(data.station_id, county_id)
    await _township_of_officer(data.role, data.township_id, county_id)
    check_password_strength(data.password)
    if await store.phone_taken(data.phone):
        raise DomainError("phone_taken", status=409, field="phone")
    user_id = uuid.uuid4()
    try:
        await store.insert_user(
            user_id=user_id,
            phone=data.phone,
            name=data.name,
            password_hash=await hash_password(data.password),
            role=data.role,
            county_id=county_id,
            station_id=data.station_id,
            language=data.language,
            township_id=data.township_id,
        )
    except Exception as exc:
        if is_integrity_error(exc):
            raise DomainError("phone_taken", status=409, field="phone") from exc
        raise
    await audit(actor, "user.created", "user", user_id, county_id, role=data.role)
    return await _changed_user(user_id)


async def create_province_user(actor: CurrentUser | None, data: ProvinceUserCreate) -> UserOut:
    """A province officer's account and the counties it reads, in one transaction (the caller
    has checked that the counties exist)."""
    check_password_strength(data.password)
    if await store.phone_taken(data.phone):
        raise DomainError("phone_taken", status=409, field="phone")
    user_id = uuid.uuid4()
    counties = list(dict.fromkeys(data.county_ids))
    password_hash = await hash_password(data.password)  # before the write lock: it is slow
    try:
        async with write_transaction():
            await store.insert_user(
                user_id=user_id,
                phone=data.phone,
                name=data.name,
                password_hash=password_hash,
                role="province",
                county_id=None,
                station_id=None,
                language=data.language,
            )
            await store.insert_user_counties(user_id, counties)
            await audit(actor, "user.created", "user", user_id, None, role="province",
                        counties=[str(county) for county in counties])  # fmt: skip
    except Exception as exc:
        if is_integrity_error(exc):
            raise DomainError("phone_taken", status=409, field="phone") from exc
        raise
    return await _changed_user(user_id)


async def readable_counties(user: CurrentUser) -> list[uuid.UUID] | None:
    """The counties a province officer reads; None for an admin (every county)."""
    if user.role == "admin" and user.county_id is None:
        return None
    return await store.user_counties(user.id) if user.role == "province" else []


def check_role_ladder(actor: CurrentUser | None, target_role: str) -> None:
    """Staff take care of keepers; only an admin changes a staff member's or an admin's account
    (a staff member who could reset a peer's password could log in as that peer)."""
    if actor is None or actor.role == "admin":
        return
    if ROLE_RANK.get(target_role, len(ROLE_RANK)) >= ROLE_RANK.get(actor.role, -1):
        raise DomainError("role_ladder", status=403, role=target_role)


async def account_changes(user: CurrentUser, language: str) -> list[AccountChange]:
    """What others changed on this account since its previous login (shown once, at login)."""
    from backend.i18n import translate

    since = await store.previous_login_at(user.id, user.session_id)
    changes = []
    for entry in await store.changes_to_user(user.id, since):
        details = json.loads(entry.details)
        fields = [str(name) for name in details.get("fields", [])]
        role = entry.actor_role or "admin"
        labels = [translate(f"account_field.{name}", language) for name in fields]
        changes.append(
            AccountChange(
                at=entry.at.isoformat(),
                by_role=role,
                by_name=entry.actor_name or "",
                fields=fields,
                message=translate(
                    "account.changed_by_other",
                    language,
                    by=entry.actor_name or translate(f"role.{role}", language),
                    fields="、".join(labels) if language == "zh-CN" else ", ".join(labels),
                    at=entry.at.strftime("%Y-%m-%d %H:%M UTC"),
                ),
            )
        )
    return changes


async def reveal_keeper_phone(actor: CurrentUser, user_id: uuid.UUID) -> dict[str, Any]:
    """A keeper's full number for staff who need to call (a station flagged "not checked in").
    Keepers are the programme's own people; each reveal is written to the audit log. Villagers'
    numbers are never revealed to staff."""
    row = await store.user(user_id)
    if row is None:
        raise DomainError("not_found", status=404)
    if row.role != "keeper":
        raise DomainError("phone_not_revealable", status=403)
    await audit(actor, "user.phone_revealed", "user", user_id, row.county)
    return {
        "id": row.id,
        "name": row.name,
        "phone": row.phone,
        "role": row.role,
        "county": row.county,
        "station": row.station,
    }


async def update_user(actor: CurrentUser | None, user_id: uuid.UUID, data: UserUpdate) -> UserOut:
    row = await store.user(user_id)
    if row is None:
        raise DomainError("not_found", status=404)
    check_role_ladder(actor, row.role)
    changes: dict[str, Any] = {}
    if data.name is not msgspec.UNSET:
        changes["name"] = data.name
    if data.language is not msgspec.UNSET:
        changes["language"] = data.language
    if data.station_id is not msgspec.UNSET:
        if row.role != "keeper":
            raise DomainError("staff_has_no_station", field="station_id")
        if data.station_id is None:
            raise DomainError("keeper_needs_station", field="station_id")
        await _station_in_county(data.station_id, row.county)
        changes["station"] = data.station_id
    if data.active is not msgspec.UNSET:
        changes["active"] = data.active
    if data.password is not msgspec.UNSET:
        check_password_strength(data.password)
        changes["password_hash"] = await hash_password(data.password)
        changes["password_changed_at"] = clock.utcnow()
    await store.update_user(user_id, changes)
    if data.password is not msgspec.UNSET or data.active is False:
        await revoke_sessions(user_id)
    await audit(
        actor,
        "user.updated",
        "user",
        user_id,
        row.county,
        fields=sorted(name for name in changes if name != "password_hash"),
        target_role=row.role,
        actor_role=actor.role if actor else None,
    )
    return await _changed_user(user_id)
