"""Users, their sessions (kept in the database so they survive restarts), failed logins, audit."""

from piccolo.columns import UUID, Boolean, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

# The registry's tables by name: the registry imports accounts (its changes are audited here), so
# accounts must not import the registry back.
County = LazyTableReference(table_class_name="County", app_name="registry")
Station = LazyTableReference(table_class_name="Station", app_name="registry")
Township = LazyTableReference(table_class_name="Township", app_name="registry")


class User(Table, tablename="accounts_user"):
    id = UUID(primary_key=True)
    phone = Varchar(length=11, unique=True)
    name = Varchar(length=40, default="")
    password_hash = Varchar(length=200, secret=True)
    role = Varchar(length=16)  # keeper | county_staff | admin | hub | township | province
    county: ForeignKey = ForeignKey(
        County, on_delete=OnDelete.restrict, null=True, default=None, index=True
    )
    station: ForeignKey = ForeignKey(
        Station, on_delete=OnDelete.restrict, null=True, default=None, index=True
    )
    # A township information officer (乡镇电商信息员, role `township`) serves one township.
    township: ForeignKey = ForeignKey(
        Township, on_delete=OnDelete.restrict, null=True, default=None
    )
    language = Varchar(length=8, default="zh-CN")
    active = Boolean(default=True)
    password_changed_at = Timestamptz(default=TimestamptzNow())
    created_at = Timestamptz(default=TimestamptzNow())


class UserCounty(Table, tablename="accounts_province_county"):
    """The counties a province (or prefecture) officer's account reads (role `province`): one row
    per county, written with the account."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    county: ForeignKey = ForeignKey(County, on_delete=OnDelete.restrict, null=False)


class Session(Table, tablename="accounts_session"):
    """A login. Only a hash of the token is stored: a database leak does not hand out sessions."""

    id = UUID(primary_key=True)
    token_hash = Varchar(length=64, unique=True)
    user = ForeignKey(User, on_delete=OnDelete.restrict, null=False, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    user_agent = Varchar(length=200, default="")
    # The PWA's device id: a keeper logging in again from this device is not locked out by
    # failures from elsewhere (accounts.throttle).
    device_id = Varchar(length=64, default="", index=True)


class LoginFailure(Table, tablename="accounts_login_failure"):
    """Failed logins, counted per phone and per address across all processes."""

    phone = Varchar(length=32, index=True)
    address = Varchar(length=64, index=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)


class AuditEntry(Table, tablename="accounts_audit"):
    """Who changed what: every staff action on the registry and on accounts."""

    id = UUID(primary_key=True)
    actor = ForeignKey(User, on_delete=OnDelete.restrict, null=True, default=None, index=True)
    county: ForeignKey = ForeignKey(
        County, on_delete=OnDelete.restrict, null=True, default=None, index=True
    )
    action = Varchar(length=48)
    target_type = Varchar(length=32)
    target_id = Varchar(length=40)
    details = Text(default="{}")
    at = Timestamptz(default=TimestamptzNow(), index=True)
