"""What the accounts API takes and returns."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec

from backend.phones import normalized_mobile
from backend.types import Language, Mobile, Name, Password

# hub: a county hub (县级物流配送中心) worker: county-scoped, no station; hands parcels to routes.
# township: a township's information officer (乡镇电商信息员): one township's stations and figures.
# province: a province's or prefecture's officer: reads the figures of the counties it is given.
Role = Literal["keeper", "county_staff", "admin", "hub", "township", "province"]


class CurrentUser(msgspec.Struct, frozen=True):
    """The authenticated caller, as guards and services see it."""

    id: uuid.UUID
    role: str
    station_id: uuid.UUID | None
    county_id: uuid.UUID | None
    language: str
    name: str
    phone: str
    session_id: uuid.UUID
    township_id: uuid.UUID | None = None  # role `township` only

    @property
    def is_staff(self) -> bool:
        return self.role in ("county_staff", "admin")

    @property
    def township_scope(self) -> uuid.UUID | None:
        """The one township a township officer's lists and edits are held to; None for everyone
        else (staff are held to their county by the guards)."""
        return self.township_id if self.role == "township" else None


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    phone: Annotated[str, msgspec.Meta(max_length=64)] = msgspec.field()
    password: Password = msgspec.field()
    # The PWA's device id: its own device is not locked out by failures from elsewhere.
    device_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class UserOut(msgspec.Struct):
    id: uuid.UUID
    role: str
    station_id: uuid.UUID | None
    county_id: uuid.UUID | None
    name: str = ""
    phone: str = ""
    language: str = "zh-CN"
    township_id: uuid.UUID | None = None  # role `township`: the township the officer serves


class AccountChange(msgspec.Struct):
    """A change someone else made to the caller's account since the caller's last login."""

    at: str
    by_role: str
    by_name: str
    fields: list[str]
    message: str


class LoginResponse(msgspec.Struct):
    token: str
    user: UserOut
    account_changes: list[AccountChange] = msgspec.field(default_factory=list)


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    old_password: Password
    new_password: Password


class PasswordChanged(msgspec.Struct):
    other_sessions_revoked: int


class LanguageChange(msgspec.Struct, forbid_unknown_fields=True):
    language: Language


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    phone: Mobile
    name: Name
    password: Password
    role: Literal["keeper", "county_staff", "hub", "township"] = "keeper"
    station_id: uuid.UUID | None = None
    township_id: uuid.UUID | None = None  # required for role `township`, refused otherwise
    language: Language = "zh-CN"

    def __post_init__(self) -> None:
        self.phone = normalized_mobile(self.phone)


class ProvinceUserCreate(msgspec.Struct, forbid_unknown_fields=True):
    """An officer of a province or prefecture (role `province`), reading several counties."""

    phone: Mobile
    name: Name
    password: Password
    county_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=200)]
    language: Language = "zh-CN"

    def __post_init__(self) -> None:
        self.phone = normalized_mobile(self.phone)


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    station_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    password: Password | msgspec.UnsetType = msgspec.UNSET
    language: Language | msgspec.UnsetType = msgspec.UNSET


def user_out(user: CurrentUser, mask_phone: bool = False) -> UserOut:
    from backend.privacy import mask_phone as mask

    return UserOut(
        id=user.id,
        role=user.role,
        station_id=user.station_id,
        county_id=user.county_id,
        name=user.name,
        phone=mask(user.phone) if mask_phone else user.phone,
        language=user.language,
        township_id=user.township_id,
    )
