"""HTTP for notifications: the push key and subscriptions, the keeper's inbox, county notices
and the delivery log ("who was reminded and how")."""

import uuid
from typing import Annotated

from litestar import Controller, Request, Response, delete, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from backend.accounts.guards import (
    LoggedIn,
    requires_county_scope,
    requires_keeper,
    requires_login,
    requires_staff,
)
from backend.errors import request_language
from backend.notify import inbox as keeper_inbox
from backend.notify import notices as county_notices
from backend.notify import subscriptions
from backend.notify.keys import vapid_pair
from backend.notify.schemas import (
    DeliveryOut,
    Inbox,
    InboxItemOut,
    NoticeCreate,
    NoticeCreated,
    NoticeOut,
    PushKey,
    SubscriptionIn,
    SubscriptionRemove,
    SubscriptionSaved,
)
from backend.params import CountyId
from backend.settings import AppSettings

ItemId = Annotated[uuid.UUID, PathParameter(title="Inbox item id", description="An inbox item")]
StationFilter = Annotated[
    uuid.UUID | None,
    QueryParameter(name="station_id", required=False, description="Only this station"),
]
Limit = Annotated[int, QueryParameter(name="limit", required=False, ge=1, le=1000)]


class PushController(Controller):
    path = "/api/v1/push"
    tags = ["notifications"]

    @get(
        "/key",
        operation_id="getPushKey",
        summary="The server's VAPID public key (for pushManager.subscribe)",
        guards=[requires_login],
    )
    async def key(self, settings: AppSettings) -> PushKey:
        return PushKey(public_key=(await vapid_pair(settings)).public_key)

    @post(
        "/subscriptions",
        operation_id="savePushSubscription",
        summary="Save the browser's PushSubscription for this keeper and device",
        description="The body is `PushSubscription.toJSON()` plus an optional `device_id`. "
        "The same endpoint again updates it; an endpoint another keeper registered is 409 "
        "until that keeper deletes it or the push service says it is gone. Endpoints must be "
        "https on a public address (422).",
        guards=[requires_keeper],
        status_code=HTTP_201_CREATED,
    )
    async def subscribe(self, user: LoggedIn, data: JSONBody[SubscriptionIn]) -> SubscriptionSaved:
        subscription_id = await subscriptions.save_subscription(
            user.id,
            endpoint=data.endpoint,
            p256dh=data.keys.p256dh,
            auth=data.keys.auth,
            device_id=data.device_id or "",
        )
        return SubscriptionSaved(id=subscription_id)

    @delete(
        "/subscriptions",
        operation_id="deletePushSubscription",
        summary="Forget a subscription of the caller (the keeper turned reminders off)",
        guards=[requires_keeper],
        status_code=HTTP_204_NO_CONTENT,
    )
    async def unsubscribe(self, user: LoggedIn, data: JSONBody[SubscriptionRemove]) -> None:
        await subscriptions.delete_subscription(user.id, data.endpoint)


class InboxController(Controller):
    path = "/api/v1/inbox"
    tags = ["notifications"]
    guards = [requires_keeper]

    @get(
        operation_id="getInbox",
        summary="The keeper's notices and reminders, newest first, in the caller's language",
    )
    async def inbox(self, request: Request, user: LoggedIn) -> Inbox:
        items = await keeper_inbox.inbox(user.id, request_language(request))
        return Inbox(items=[InboxItemOut(**item) for item in items])

    @post(
        "/{item_id:uuid}/read",
        operation_id="markInboxItemRead",
        summary="Mark an inbox item read (idempotent)",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def read(self, user: LoggedIn, item_id: ItemId) -> None:
        await keeper_inbox.mark_read(user.id, item_id)


class CountyNoticesController(Controller):
    path = "/api/v1/counties/{county_id:uuid}"
    tags = ["notifications"]
    guards = [requires_staff, requires_county_scope]

    @get(
        "/notices",
        operation_id="listNotices",
        summary="The county's notices with recipients, reached and read counts",
    )
    async def notices(self, county_id: CountyId, limit: Limit = 50) -> list[NoticeOut]:
        return [NoticeOut(**row) for row in await county_notices.list_notices(county_id, limit)]

    @post(
        "/notices",
        operation_id="createNotice",
        summary="Send a notice to all stations, a township or one station",
        description="`title` ≤ 40 characters, `body` ≤ 500; `target_id` is the township or "
        "station (omitted for the whole county). Answers at once: delivery (push → SMS → "
        "WeChat) runs in the background; the banner is in every keeper's inbox already.",
        status_code=HTTP_201_CREATED,
    )
    async def create_notice(
        self,
        user: LoggedIn,
        settings: AppSettings,
        county_id: CountyId,
        data: JSONBody[NoticeCreate],
    ) -> Response[NoticeCreated]:
        notice = await county_notices.create_notice(
            county_id,
            user,
            settings,
            scope=data.scope,
            target_id=data.target_id,
            title=data.title,
            body=data.body,
        )
        deliver = BackgroundTask(county_notices.deliver, settings, notice.items)
        return Response(
            NoticeCreated(id=notice.id), status_code=HTTP_201_CREATED, background=deliver
        )

    @get(
        "/deliveries",
        operation_id="listDeliveries",
        summary="Who was reminded and how: every channel attempt, phones masked",
    )
    async def deliveries(
        self,
        request: Request,
        county_id: CountyId,
        station_id: StationFilter = None,
        limit: Limit = 200,
    ) -> list[DeliveryOut]:
        rows = await county_notices.deliveries(
            county_id, station_id=station_id, limit=limit, language=request_language(request)
        )
        return [DeliveryOut(**row) for row in rows]


ROUTE_HANDLERS = [PushController, InboxController, CountyNoticesController]
