"""The one clock: every "now" of the server comes from here, so a test moves time in one place
(`monkeypatch.setattr(clock, "utcnow", …)`) and every capability sees the same moment."""

from __future__ import annotations

import datetime


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
