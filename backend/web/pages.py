"""The staff pages' static files (explicit routes keep the route table simple)."""

from __future__ import annotations

from pathlib import Path

from litestar import Controller, get
from litestar.response import File

STATIC_DIR = Path(__file__).parent / "static"


class StaffStaticController(Controller):
    path = "/county/static"
    include_in_schema = False

    @get("/county.css")
    async def stylesheet(self) -> File:
        return File(
            STATIC_DIR / "county.css", media_type="text/css", content_disposition_type="inline"
        )

    @get("/county.js")
    async def script(self) -> File:
        return File(
            STATIC_DIR / "county.js",
            media_type="text/javascript",
            content_disposition_type="inline",
        )

    @get("/hub.js")
    async def hub_script(self) -> File:
        """The hub's scanner page (an ES module importing the keeper app's scan and rules)."""
        return File(
            STATIC_DIR / "hub.js", media_type="text/javascript", content_disposition_type="inline"
        )


ROUTE_HANDLERS = [StaffStaticController]
