"""The hash chain: each event's hash covers the one before it, so changing, removing or
inserting a logged event breaks every link after it (verify names the first)."""

from __future__ import annotations

import hashlib

from backend.ledger.store.events import EventRow
from backend.ledger.validation import utc_iso


def chain_hash(prev_hash: str, row: EventRow) -> str:
    material = "\n".join(
        [
            prev_hash,
            str(row.id),
            str(row.station),
            str(row.seq),
            str(row.device_id),
            str(row.keeper),
            row.type,
            utc_iso(row.occurred_at),
            utc_iso(row.received_at),
            row.business_date.isoformat(),
            row.data,
            row.server_data,
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()
