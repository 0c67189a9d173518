"""The hash chain: each event's hash covers the one before it, so changing, removing or
inserting a logged event breaks every link after it (verify names the first)."""

from __future__ import annotations

import datetime
import hashlib
import uuid

from backend.ledger.store.events import EventRow
from backend.ledger.validation import Candidate, utc_iso


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


class BatchChain:
    """`chain_hash` for the rows of one push, which share their station, device, keeper and
    receipt time: those texts are written once, not for every row (they were two thirds of its
    cost). A row whose shared values are other objects is hashed by `chain_hash` itself, so the
    result never depends on the caller keeping to that; tests/test_hashes.py compares the two
    over many generated rows."""

    def __init__(
        self,
        station: uuid.UUID,
        device_id: uuid.UUID,
        keeper: uuid.UUID,
        received_at: datetime.datetime,
    ) -> None:
        self._station, self._device, self._keeper = station, device_id, keeper
        self._received_at = received_at
        self._station_text = str(station)
        self._device_keeper = f"{device_id}\n{keeper}"
        self._received_text = utc_iso(received_at)
        self._day: datetime.date | None = None
        self._day_text = ""

    def link(self, prev_hash: str, row: EventRow, candidate: Candidate) -> str:
        """The hash of the row made of `candidate`, whose id and time were written as text for
        its content hash already."""
        if not (
            row.id is candidate.id
            and row.occurred_at is candidate.occurred_at
            and row.station is self._station
            and row.device_id is self._device
            and row.keeper is self._keeper
            and row.received_at is self._received_at
        ):
            return chain_hash(prev_hash, row)
        if row.business_date != self._day:
            self._day, self._day_text = row.business_date, row.business_date.isoformat()
        material = (
            f"{prev_hash}\n{candidate.id_text}\n{self._station_text}\n{row.seq}\n{self._device_keeper}\n"
            f"{row.type}\n{candidate.occurred_text}\n{self._received_text}\n{self._day_text}\n"
            f"{row.data}\n{row.server_data}"
        )
        return hashlib.sha256(material.encode()).hexdigest()
