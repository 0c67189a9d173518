"""Structured logs (one JSON object per line) with phone numbers masked on the way out."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from backend.privacy import mask_phones_in_text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_phones_in_text(record.getMessage()),
        }
        for key in ("event", "station_id", "count", "duration_ms", "job", "status"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = mask_phones_in_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_phones_in_text(super().format(record))


def configure(level: str = "INFO", as_json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if as_json
        else MaskingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # APScheduler's scheduler says "Adding job tentatively" and "Added job" for each job at every
    # start (ours says once that it started, and what each job did); its warnings still show.
    quiet = ("uvicorn.access", "httpx", "apscheduler.executors.default", "apscheduler.scheduler")
    for noisy in quiet:
        logging.getLogger(noisy).setLevel(logging.WARNING)
