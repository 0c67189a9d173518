"""Parameters of a bulk write handed to SQLite already adapted.

sqlite3 looks up the adapter Piccolo registered (`sqlite3.register_adapter`) and calls it into
Python for every UUID, moment and date it binds: that was most of a push's INSERT cost. Calling
Piccolo's own adapters directly writes the same text (tests/test_hashes.py and
tests/test_projections_binding.py compare them).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import Any

from piccolo.engine.sqlite import ADAPTERS as SQLITE_ADAPTERS

from backend import db


def sqlite_value(value: Any) -> Any:
    """A parameter as SQLite is handed it: what the adapter Piccolo registered for its type
    (`sqlite3.register_adapter`) makes of it: a UUID's text, a moment's text in UTC, a date's."""
    adapt = SQLITE_ADAPTERS.get(type(value))
    return value if adapt is None else adapt(value)


def _same(value: Any) -> Any:
    return value


def sqlite_adapters() -> tuple[Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], Any]]:
    """Piccolo's SQLite adapters of a UUID, a moment and a date, to call directly."""
    return (
        SQLITE_ADAPTERS[uuid.UUID],
        SQLITE_ADAPTERS[datetime.datetime],
        SQLITE_ADAPTERS[datetime.date],
    )


def parameter_adapters() -> tuple[Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], Any]]:
    """How a bulk write hands a UUID, a moment and a date to this engine: on SQLite already
    adapted (`sqlite_adapters`), elsewhere as they are."""
    return sqlite_adapters() if db.is_sqlite() else (_same, _same, _same)
