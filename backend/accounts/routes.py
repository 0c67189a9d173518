"""HTTP for login, logout, the caller's own account, and staff managing accounts."""

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from backend.accounts import service
from backend.accounts.guards import (
    LoggedIn,
    requires_county_scope,
    requires_login,
    requires_row_in_county,
    requires_staff,
)
from backend.accounts.middleware import CSRF_COOKIE, SESSION_COOKIE, csrf_token_for_session
from backend.accounts.schemas import (
    LanguageChange,
    LoginRequest,
    LoginResponse,
    PasswordChange,
    PasswordChanged,
    UserCreate,
    UserOut,
    UserUpdate,
    user_out,
)
from backend.accounts.tables import User
from backend.accounts.throttle import LoginThrottle, login_throttle
from backend.errors import DomainError, request_language
from backend.params import CountyId, UserId
from backend.security import client_address, is_cross_site
from backend.settings import AppSettings


def session_cookie(token: str, max_age: int, secure: bool):
    from litestar.datastructures import Cookie

    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        max_age=max_age,
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
    )


def _csrf_cookie(token: str, secure: bool):
    """The new session's CSRF token (a token of the old one no longer passes)."""
    from litestar.datastructures import Cookie

    return Cookie(
        key=CSRF_COOKIE,
        value=token,
        httponly=False,  # the PWA reads it to send it back in the header
        secure=secure,
        samesite="strict",
        path="/",
    )


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]
    dependencies = {"throttle": Provide(login_throttle, sync_to_thread=False)}

    @post(
        "/login",
        operation_id="login",
        summary="Log in with phone and password",
        description="Returns a bearer token and sets the same session as an HttpOnly cookie. "
        "Wrong credentials give 401; repeated failures per phone or address give 429.",
        status_code=HTTP_200_OK,
        exclude_from_csrf=True,
    )
    async def login(
        self,
        request: Request,
        data: JSONBody[LoginRequest],
        throttle: NamedDependency[LoginThrottle],
        settings: AppSettings,
    ) -> Response[LoginResponse]:
        if is_cross_site(request.scope):
            # A page of another site must not log this browser into the attacker's account.
            raise DomainError("cross_site_login", status=403)
        token, user = await service.login(
            settings,
            throttle,
            data.phone,
            data.password,
            address=client_address(request.scope),
            user_agent=request.headers.get("user-agent", ""),
            device_id=data.device_id or "",
        )
        lifetime = service.session_lifetime(settings, user.role)
        changes = await service.account_changes(user, request_language(request))
        return Response(
            LoginResponse(token=token, user=user_out(user), account_changes=changes),
            cookies=[
                session_cookie(token, int(lifetime.total_seconds()), settings.secure_cookies),
                _csrf_cookie(
                    csrf_token_for_session(settings.secret_key, token), settings.secure_cookies
                ),
            ],
        )

    @post(
        "/logout",
        operation_id="logout",
        summary="Log out: the session's token stops working at once",
        guards=[requires_login],
        status_code=HTTP_200_OK,
    )
    async def logout(self, user: LoggedIn, settings: AppSettings) -> Response[dict]:
        await service.logout(user.session_id)
        cookie = session_cookie("", 0, settings.secure_cookies)
        return Response({"status": "logged_out"}, cookies=[cookie])

    @get("/me", operation_id="me", summary="The logged-in user", guards=[requires_login])
    async def me(self, user: LoggedIn) -> UserOut:
        return user_out(user)

    @post(
        "/password",
        operation_id="changePassword",
        summary="Change the password; every other session is signed out",
        description="Wrong current passwords are throttled like logins (429). A new password "
        "needs 8 characters, more than one kind of character, and must not be a common one "
        "(422 with the reason).",
        guards=[requires_login],
        status_code=HTTP_200_OK,
    )
    async def change_password(
        self,
        request: Request,
        data: JSONBody[PasswordChange],
        throttle: NamedDependency[LoginThrottle],
        user: LoggedIn,
        settings: AppSettings,
    ) -> PasswordChanged:
        revoked = await service.change_password(
            user,
            data.old_password,
            data.new_password,
            settings=settings,
            throttle=throttle,
            address=client_address(request.scope),
        )
        return PasswordChanged(other_sessions_revoked=revoked)

    @post(
        "/language",
        operation_id="setLanguage",
        summary="Save the interface language (zh-CN, ug, en)",
        guards=[requires_login],
        status_code=HTTP_200_OK,
    )
    async def set_language(self, user: LoggedIn, data: JSONBody[LanguageChange]) -> UserOut:
        await service.set_language(user, data.language)
        return msgspec.structs.replace(user_out(user), language=data.language)


class CountyUsersController(Controller):
    path = "/api/v1/counties/{county_id:uuid}/users"
    tags = ["accounts"]
    guards = [requires_staff, requires_county_scope]

    @get(operation_id="listUsers", summary="Keepers and staff of the county (phones masked)")
    async def list_users(self, county_id: CountyId) -> list[UserOut]:
        return await service.list_users(county_id)

    @post(
        operation_id="createUser",
        summary="Create a keeper (for a station) or a staff account",
        status_code=HTTP_201_CREATED,
    )
    async def create_user(
        self, user: LoggedIn, data: JSONBody[UserCreate], county_id: CountyId
    ) -> UserOut:
        return await service.create_user(user, county_id, data)


class UserController(Controller):
    path = "/api/v1/users/{user_id:uuid}"
    tags = ["accounts"]
    guards = [requires_staff, requires_row_in_county(User, "user_id")]

    @patch(operation_id="updateUser", summary="Rename, move, disable or reset an account")
    async def update_user(
        self, user: LoggedIn, data: JSONBody[UserUpdate], user_id: UserId
    ) -> UserOut:
        return await service.update_user(user, user_id, data)


ROUTE_HANDLERS = [AuthController, CountyUsersController, UserController]
