"""Push subscriptions, county notices, the keeper's inbox and the log of every delivery attempt.

An inbox item is one message to one keeper (a reminder rendered from i18n keys at read time, or a
county notice); it is also the notification outbox: it is committed first with `chain_state`
"pending", and the channel chain (push → SMS → WeChat) runs after the commit, claimed by
`claimed_until` so that one process sends it and a crashed sender's items are picked up again.
Composite unique keys are indexes made in this app's migrations (see piccolo_migrations/).
"""

from piccolo.columns import (
    UUID,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.accounts.tables import User
from backend.registry.tables import County, Station


class VapidKey(Table, tablename="notify_vapid_key"):
    """The server's VAPID key pair when none is configured: made once, kept (row id 1)."""

    id = Integer(primary_key=True)
    private_key = Text(secret=True)  # raw P-256 scalar, URL-safe base64
    public_key = Varchar(length=100)  # uncompressed point, URL-safe base64 (what browsers take)
    created_at = Timestamptz(default=TimestamptzNow())


class PushSubscription(Table, tablename="notify_push_subscription"):
    """A browser's PushSubscription, tied to a keeper and their device; the endpoint is unique."""

    id = UUID(primary_key=True)
    keeper = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    device_id = Varchar(length=64, default="")
    endpoint = Varchar(length=1000, unique=True)
    p256dh = Varchar(length=120)
    auth = Varchar(length=40)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    last_success_at = Timestamptz(null=True, default=None)
    failures = Integer(default=0)
    # After 429/5xx/network errors the push service is left alone until then (exponential).
    next_attempt_at = Timestamptz(null=True, default=None)


class Notice(Table, tablename="notify_notice"):
    """A short notice from county staff to all stations, a township or one station."""

    id = UUID(primary_key=True)
    county = ForeignKey(County, on_delete=OnDelete.restrict, null=False, index=True)
    scope = Varchar(length=16)  # county | township | station
    target_id = UUID(null=True, default=None)
    title = Varchar(length=40)
    body = Text()
    author = ForeignKey(User, on_delete=OnDelete.restrict, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class InboxItem(Table, tablename="notify_inbox_item"):
    """One message to one keeper: the in-app banner, and the outbox of its channel chain."""

    id = UUID(primary_key=True)
    keeper = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    county = ForeignKey(County, on_delete=OnDelete.restrict, null=False, index=True)
    station = ForeignKey(Station, on_delete=OnDelete.restrict, null=True, default=None, index=True)
    kind = Varchar(length=16)  # reminder | notice
    notice = ForeignKey(Notice, on_delete=OnDelete.restrict, null=True, default=None, index=True)
    title_key = Varchar(length=80, default="")
    body_key = Varchar(length=80, default="")
    params = Text(default="{}")
    url = Varchar(length=200, default="")
    dedupe_key = Varchar(length=120)
    urgency = Varchar(length=8, default="normal")
    ttl_seconds = Integer(default=86400)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    read_at = Timestamptz(null=True, default=None)
    chain_state = Varchar(length=12, default="pending")  # pending | done
    claimed_until = Timestamptz(null=True, default=None)
    delivered_via = Varchar(length=12, default="")  # push | sms | wechat | "" (banner only)


class Delivery(Table, tablename="notify_delivery"):
    """One attempt on one channel for one message to one keeper (what the county sees)."""

    id = UUID(primary_key=True)
    item = ForeignKey(InboxItem, on_delete=OnDelete.cascade, null=False, index=True)
    keeper = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    county = ForeignKey(County, on_delete=OnDelete.restrict, null=False)
    station = UUID(null=True, default=None)
    channel = Varchar(length=8)  # push | sms | wechat | banner
    status = Varchar(length=12)  # delivered | gone | failed | skipped | sending
    http_status = Integer(null=True, default=None)
    error = Varchar(length=300, default="")
    subscription = UUID(null=True, default=None)  # no foreign key: gone subscriptions are deleted
    dedupe_key = Varchar(length=120)
    at = Timestamptz(default=TimestamptzNow())


class VillagerSms(Table, tablename="notify_villager_sms"):
    """One SMS to a villager about a parcel: the pickup notice (取件通知, `seq` 0) or a reminder
    for a parcel left on the shelf (`seq` 1, 2, 3). Written in the transaction that accepted the
    parcel (or by the overdue job), so it exists exactly once however often the event is retried;
    a unique (parcel, kind, seq) index keeps it so. `state` is the outbox: pending → sending
    (logged before the provider hears of it: never sent twice) → sent | failed."""

    id = UUID(primary_key=True)  # also the provider's message_id
    # Read by parcel and by county through notify_villager_sms_once and _county_month.
    parcel = UUID()
    station = UUID(index=True)
    county = UUID()
    kind = Varchar(length=12)  # pickup | reminder
    seq = Integer(default=0)
    phone = Varchar(length=20, secret=True)
    language = Varchar(length=8, default="zh-CN")
    params = Text(default="{}")  # station, code, hours (and days for a reminder)
    month = Varchar(length=7)  # county-local YYYY-MM of creation: what the county pays for
    state = Varchar(length=10, default="pending")  # pending | sending | sent | failed
    http_status = Integer(null=True, default=None)
    error = Varchar(length=300, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    attempted_at = Timestamptz(null=True, default=None)
