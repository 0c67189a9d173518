"""The villagers' tracking page, `/track`: a form (GET) and its answer, no script, Chinese by
default, Uyghur and English; the same lookup and throttle as `GET /api/v1/track`."""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.di import NamedDependency, Provide

from backend.delivery import service
from backend.delivery.routes import PhoneLast4, TrackingNo
from backend.delivery.schemas import TrackOut
from backend.delivery.throttle import TrackThrottle, track_throttle
from backend.errors import DomainError
from backend.security import client_address
from backend.web.layout import page_language, render
from backend.web.public import PUBLIC_STYLE, page_policy

# The page's own form is the one place it may send to.
TRACK_POLICY = page_policy(PUBLIC_STYLE, form_action="'self'")


@get(
    "/track",
    include_in_schema=False,
    dependencies={"throttle": Provide(track_throttle, sync_to_thread=False)},
)
async def track_page(
    request: Request,
    throttle: NamedDependency[TrackThrottle],
    tracking_no: TrackingNo = None,
    phone_last4: PhoneLast4 = None,
) -> Response:
    language = page_language(request)
    answer: TrackOut | None = None
    error = None
    status = 200
    if tracking_no is not None or phone_last4 is not None:
        try:
            answer = await service.track(
                throttle, client_address(request.scope), tracking_no, phone_last4
            )
        except DomainError as exc:
            error = exc.problem(language)["detail"]
            status = exc.status
    page = render(
        request,
        "delivery/track.html",
        status_code=status,
        lang=language,
        answer=answer,
        error=error,
        tracking_no=(tracking_no or "")[:64],
        phone_last4=(phone_last4 or "")[:4],
        style=PUBLIC_STYLE,
    )
    # A pickup code is for the villager alone: no browser or proxy keeps the answer.
    page.headers["cache-control"] = "no-store"
    page.headers["content-security-policy"] = TRACK_POLICY
    return page


ROUTE_HANDLERS = [track_page]
