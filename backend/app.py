"""The app factory: every router, middleware, handler and hook is wired here and only here."""

from __future__ import annotations

import gc
import logging
import mimetypes
import os
from pathlib import Path

from jinja2 import pass_context
from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from markupsafe import Markup

from backend import db, replica, runtime
from backend.accounts.guards import provide_user
from backend.accounts.middleware import (
    CSRF_COOKIE,
    CSRF_HEADER,
    CookieCSRFMiddleware,
    SessionAuthenticationMiddleware,
)
from backend.accounts.throttle import LoginThrottle
from backend.compression import WholeBodyGzipMiddleware
from backend.county import rollups
from backend.delivery.throttle import TrackThrottle
from backend.errors import EXCEPTION_HANDLERS
from backend.i18n import translate_html
from backend.jobs import lifecycle as jobs_lifecycle
from backend.ratelimit import RateLimitMiddleware
from backend.registry.marks import FailedBatchesReader
from backend.request_guard import JsonRequestGuardMiddleware
from backend.security import SecurityHeadersMiddleware
from backend.settings import Settings, get_settings, provide_settings
from backend.system.metrics import prometheus_config
from backend.training.figures import StartOf
from backend.web.layout import app_http_error

log = logging.getLogger("cunzhan.app")

# Litestar and the browsers must agree that modules are JavaScript (some distros map .js oddly).
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("application/manifest+json", ".webmanifest")

MAX_BODY_BYTES = 1024 * 1024  # the sync batch limit of API.md; nothing else needs more


def provide_programme_start_of() -> StartOf:
    from backend.county.targets import programme_start_of

    return programme_start_of


def provide_failed_batches_of() -> FailedBatchesReader:
    from backend.trace.inspections import failed_batches

    return failed_batches


def route_handlers() -> list:
    from backend.accounts.pages import ROUTE_HANDLERS as accounts_pages
    from backend.accounts.routes import ROUTE_HANDLERS as accounts
    from backend.catalogue.pages import ROUTE_HANDLERS as catalogue_pages
    from backend.catalogue.routes import ROUTE_HANDLERS as catalogue
    from backend.counter.routes import ROUTE_HANDLERS as counter
    from backend.county.pages import ROUTE_HANDLERS as county_pages
    from backend.county.product_sales_pages import ROUTE_HANDLERS as county_product_sales
    from backend.county.routes import ROUTE_HANDLERS as county
    from backend.county.settings_page import ROUTE_HANDLERS as county_settings_page
    from backend.county.township_pages import ROUTE_HANDLERS as county_township_page
    from backend.delivery.pages import ROUTE_HANDLERS as delivery_pages
    from backend.delivery.routes import ROUTE_HANDLERS as delivery
    from backend.jobs.routes import ROUTE_HANDLERS as jobs
    from backend.ledger.routes import ROUTE_HANDLERS as ledger
    from backend.notify.pages import ROUTE_HANDLERS as notify_pages
    from backend.notify.routes import ROUTE_HANDLERS as notify
    from backend.province.pages import ROUTE_HANDLERS as province_pages
    from backend.province.routes import ROUTE_HANDLERS as province
    from backend.registry.file_pages import ROUTE_HANDLERS as station_file_pages
    from backend.registry.keeper_pages import ROUTE_HANDLERS as keeper_pages
    from backend.registry.pages import ROUTE_HANDLERS as registry_pages
    from backend.registry.routes import ROUTE_HANDLERS as registry
    from backend.shell.routes import ROUTE_HANDLERS as shell
    from backend.system.routes import ROUTE_HANDLERS as system
    from backend.trace.pages import ROUTE_HANDLERS as trace_pages
    from backend.trace.public import ROUTE_HANDLERS as trace_public
    from backend.trace.routes import ROUTE_HANDLERS as trace
    from backend.training.pages import ROUTE_HANDLERS as training_pages
    from backend.training.routes import ROUTE_HANDLERS as training
    from backend.web.pages import ROUTE_HANDLERS as web_pages

    return [
        *system,
        *accounts,
        *registry,
        *ledger,
        *counter,
        *notify,
        *jobs,
        *county,
        *training,
        *delivery,
        *trace,
        *trace_public,
        *catalogue,
        *province,
        # The staff pages under /county/: the frame's files, login, the county's review pages,
        # and the pages of what they edit.
        *web_pages,
        *accounts_pages,
        *keeper_pages,
        *station_file_pages,
        *county_pages,
        *notify_pages,
        *training_pages,
        *registry_pages,
        *county_settings_page,
        *county_township_page,
        *delivery_pages,  # the villagers' public tracking page
        *trace_pages,
        *catalogue_pages,
        *county_product_sales,
        *province_pages,
        *shell,
    ]


def template_config() -> TemplateConfig:
    directories: list[Path | os.PathLike | str] = [
        *sorted(Path(__file__).parent.glob("*/templates"))
    ]

    @pass_context
    def t(context, key: str, **params) -> Markup:
        return translate_html(key, context.get("lang", "zh-CN"), **params)

    def configure(engine: JinjaTemplateEngine) -> None:
        engine.engine.globals["t"] = t
        engine.engine.globals["read_from"] = replica.read_from

    return TemplateConfig(
        directory=directories, engine=JinjaTemplateEngine, engine_callback=configure
    )


# The cyclic collector's first generation: a push allocates a few thousand objects, and with
# Python's 700 every push paid several collections that promoted what was in flight (dozens of
# pushes at once) into the older generations, which were walked again and again.
GC_YOUNG_THRESHOLD = 20_000

# Answers are deflated at zlib's own default level, not Litestar's 9: a month's rollup (4.7 MB
# of JSON) took 23 ms instead of 47 for 5 % more bytes, a page of 190 KB 1.1 ms instead of 3.
GZIP_LEVEL = 6


def settle_heap() -> None:
    """For `cunzhan serve` only (it sets CUNZHAN_SETTLE_HEAP): what startup built (modules,
    routes, templates: most of the heap) is moved out of the collector's sight, so collections
    walk only what requests make, and the young generation is collected less often. A process
    that starts many apps (the tests) keeps Python's defaults."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


async def on_startup(app: Litestar) -> None:
    # Whoever opened the database closes it (tests open it before the app, on their own loop).
    app.state.owns_database = await db.start()
    report = await db.durability_report()
    if not db.durability_ok(report):
        log.error("database durability settings are unsafe: %s", report)
        raise RuntimeError(f"unsafe database durability settings: {report}")
    log.info("database ready: %s", report)
    app.state.runtime = runtime.Runtime()
    if app.state.settings.database_read_url:
        app.state.read_replica = replica.ReadReplica(app.state.settings.database_read_url)
        await app.state.read_replica.open()
    app.state.login_throttle = LoginThrottle()
    app.state.track_throttle = TrackThrottle()
    if app.state.settings.scheduler_enabled:
        await jobs_lifecycle.start(app)
    if os.environ.get("CUNZHAN_SETTLE_HEAP") == "1":
        settle_heap()


async def on_shutdown(app: Litestar) -> None:
    await jobs_lifecycle.stop(app)
    throttle = app.state.get("login_throttle")
    if throttle is not None:
        await throttle.close()
    app_runtime = app.state.get("runtime")
    if app_runtime is not None:
        await app_runtime.close()
    read_replica = app.state.get("read_replica")
    if read_replica is not None:
        await read_replica.close()
    if app.state.get("owns_database"):
        await db.stop()


def create_app(settings: Settings | None = None) -> Litestar:
    from backend.county import frozen
    from backend.ledger import months

    settings = settings or get_settings()
    # A close freezes the county's figures of the station-month, a reopen counts them again.
    months.on_close_and_reopen(frozen.freeze, frozen.thaw)
    csrf = CSRFConfig(
        secret=settings.secret_key,
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=settings.secure_cookies,
        cookie_samesite="strict",
        exclude=["/schema", "^/t/"],  # the public trace pages set no cookie
    )
    return Litestar(
        route_handlers=route_handlers(),
        middleware=[
            runtime.runtime_middleware,
            replica.replica_middleware,
            rollups.catch_up_once_per_request,
            SecurityHeadersMiddleware,
            DefineMiddleware(CookieCSRFMiddleware, config=csrf),
            JsonRequestGuardMiddleware,
            DefineMiddleware(
                SessionAuthenticationMiddleware,
                exclude=["^/app/", "^/schema", "^/healthz", "^/readyz", "^/metrics", "^/t/"],
            ),
            DefineMiddleware(
                RateLimitMiddleware,
                limit=settings.api_rate_limit_per_minute,
                redis_url=settings.redis_url,
            ),
            prometheus_config().middleware,
        ],
        exception_handlers={**EXCEPTION_HANDLERS, HTTPException: app_http_error},
        dependencies={
            "user": Provide(provide_user),
            "settings": Provide(provide_settings),
            # The training figures' totals since the programme start (a county setting above
            # training in the layers) get the start from the county capability through this.
            "programme_start_of": Provide(provide_programme_start_of, sync_to_thread=False),
            # The registry marks a household whose produce failed inspection (trace, above it).
            "failed_batches_of": Provide(provide_failed_batches_of, sync_to_thread=False),
        },
        state=State({"settings": settings}),
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        compression_config=CompressionConfig(
            backend="gzip",
            minimum_size=512,
            gzip_compress_level=GZIP_LEVEL,
            middleware_class=WholeBodyGzipMiddleware,
        ),
        template_config=template_config(),
        request_max_body_size=MAX_BODY_BYTES,
        logging_config=None,  # backend.logs configures logging (JSON, phones masked)
        openapi_config=OpenAPIConfig(
            title="村站通 Cunzhan API",
            version="1",
            description="The station ledger, sync protocol, registry and county reports. "
            "Errors are RFC 9457 problem documents with a stable `code`.",
            path="/schema",
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer"),
                }
            ),
            security=[{"bearer": []}],
        ),
    )
