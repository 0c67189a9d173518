"""Server-rendered pages for county staff under /county/ (kept out of the OpenAPI schema)."""

from litestar import Controller, Request, get
from litestar.response import Template

from backend.accounts.guards import current_user, requires_staff
from backend.errors import request_language
from backend.i18n import text_direction


class CountyPagesController(Controller):
    path = "/county"
    include_in_schema = False
    guards = [requires_staff]

    @get("/")
    async def dashboard(self, request: Request) -> Template:
        language = request_language(request)
        return Template(
            "county/placeholder.html",
            context={
                "lang": language,
                "dir": text_direction(language),
                "user": current_user(request),
            },
        )


ROUTE_HANDLERS = [CountyPagesController]
