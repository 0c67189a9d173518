"""The accounts' staff pages: the staff login and logout under /county/. Browsers that are not
logged in are sent to the login page (web/layout.py). The keepers' screen, where accounts meet the
registry's stations, is registry/keeper_pages.py."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from backend.accounts import service as accounts
from backend.accounts.guards import LoggedIn, requires_login
from backend.accounts.middleware import CSRF_COOKIE
from backend.accounts.routes import session_cookie
from backend.accounts.throttle import LoginThrottle, login_throttle
from backend.errors import DomainError, problem_document
from backend.security import client_address
from backend.settings import AppSettings
from backend.web.layout import (
    HUB_PATH,
    LOGIN_PATH,
    PAGE_ERRORS,
    PROVINCE_PATH,
    TOWNSHIP_PATH,
    page_language,
    render,
    safe_next,
)

NextPage = Annotated[str | None, QueryParameter(required=False, description="Where to go after")]


# Login and logout --------------------------------------------------------------------------------


class CountyLoginController(Controller):
    path = "/county"
    include_in_schema = False
    exception_handlers = PAGE_ERRORS

    @get("/login", name="county_login")
    async def login_form(self, request: Request, next: NextPage = None) -> Response:
        user = request.scope.get("user")
        if user is not None and getattr(user, "is_staff", False):
            return Redirect(safe_next(next), status_code=303)  # already signed in
        if user is not None and getattr(user, "role", "") == "hub":
            return Redirect(HUB_PATH, status_code=303)  # the hub's one page
        if user is not None and getattr(user, "role", "") == "township":
            return Redirect(TOWNSHIP_PATH, status_code=303)  # the officer's township
        if user is not None and getattr(user, "role", "") == "province":
            return Redirect(PROVINCE_PATH, status_code=303)  # the province's counties
        return render(request, "county/login.html", next=safe_next(next), phone="", error="")

    @post(
        "/login",
        status_code=200,
        dependencies={"throttle": Provide(login_throttle, sync_to_thread=False)},
    )
    async def login(
        self, request: Request, settings: AppSettings, throttle: NamedDependency[LoginThrottle]
    ) -> Response:
        form = await request.form()
        phone = str(form.get("phone", "")).strip()
        target = safe_next(form.get("next"))
        language = page_language(request)

        def again(code: str, **params: Any) -> Template:
            error = problem_document(code, 400, language, **params)["detail"]
            return render(request, "county/login.html", next=target, phone=phone, error=error)

        # Login CSRF: the form must carry the token of the cookie set when it was shown.
        token, cookie = str(form.get("_csrf_token", "")), request.cookies.get(CSRF_COOKIE, "")
        if not token or not cookie or not hmac.compare_digest(token, cookie):
            return again("csrf_failed")
        try:
            token_value, user = await accounts.login(
                settings,
                throttle,
                phone,
                str(form.get("password", "")),
                address=client_address(request.scope),
                user_agent=request.headers.get("user-agent", ""),
            )
        except DomainError as exc:
            return again(exc.code, **exc.params)
        if user.role == "hub":
            target = HUB_PATH  # a hub worker has one page: the scanner's hand-over
        elif user.role == "township":
            target = TOWNSHIP_PATH  # an officer has one page: the township's
        elif user.role == "province":
            target = PROVINCE_PATH  # the province's officer: its counties side by side
        elif not user.is_staff:
            await accounts.logout(user.session_id)  # a keeper's place is the phone app
            return again("staff_only")
        lifetime = accounts.session_lifetime(settings, user.role)
        return Redirect(
            target,
            status_code=303,
            cookies=[
                session_cookie(token_value, int(lifetime.total_seconds()), settings.secure_cookies)
            ],
        )

    @post("/logout", guards=[requires_login], status_code=303)
    async def logout(self, user: LoggedIn, settings: AppSettings) -> Redirect:
        await accounts.logout(user.session_id)
        cookie = session_cookie("", 0, settings.secure_cookies)
        return Redirect(LOGIN_PATH, status_code=303, cookies=[cookie])


ROUTE_HANDLERS = [CountyLoginController]
