"""What the notification API takes and returns (msgspec Structs at the edge)."""

from __future__ import annotations

import datetime
import uuid
from typing import Literal

import msgspec


class PushKey(msgspec.Struct):
    public_key: str  # VAPID: the uncompressed P-256 point, URL-safe base64 without padding


class SubscriptionKeys(msgspec.Struct):
    p256dh: str
    auth: str


class SubscriptionIn(msgspec.Struct):
    """The browser's `PushSubscription.toJSON()`, plus the app's device id."""

    endpoint: str
    keys: SubscriptionKeys
    expiration_time: int | float | None = msgspec.field(name="expirationTime", default=None)
    device_id: str | None = None


class SubscriptionSaved(msgspec.Struct):
    id: uuid.UUID


class SubscriptionRemove(msgspec.Struct):
    endpoint: str


class InboxItemOut(msgspec.Struct):
    id: uuid.UUID
    kind: str  # notice | reminder
    title: str
    body: str
    created_at: datetime.datetime
    read_at: datetime.datetime | None
    url: str | None


class Inbox(msgspec.Struct):
    items: list[InboxItemOut]


class NoticeCreate(msgspec.Struct, forbid_unknown_fields=True):
    scope: Literal["county", "township", "station"]
    title: str
    body: str
    target_id: uuid.UUID | None = None


class NoticeCreated(msgspec.Struct):
    id: uuid.UUID


class NoticeOut(msgspec.Struct):
    id: uuid.UUID
    scope: str
    target_id: uuid.UUID | None
    target_name: str
    title: str
    body: str
    author_name: str
    created_at: datetime.datetime
    recipients: int
    delivered: int  # reached by push, SMS or WeChat (the banner is there for everyone)
    read: int


class DeliveryOut(msgspec.Struct):
    id: uuid.UUID
    at: datetime.datetime
    item_id: uuid.UUID
    kind: str
    title: str
    dedupe_key: str
    channel: str  # push | sms | wechat | banner
    status: str  # delivered | gone | failed | skipped | sending
    http_status: int | None
    error: str
    keeper_id: uuid.UUID
    keeper_name: str
    keeper_phone: str  # masked: 138****1234
    station_id: uuid.UUID | None
    station_name: str
    read_at: datetime.datetime | None
