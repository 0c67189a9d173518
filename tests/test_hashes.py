"""The content and chain hashes of logged events must never change (stored chains must still
verify), and the faster paths a push takes must give exactly what the reference functions give:
the chain hash of a push's rows (`BatchChain`), the event's id read by msgspec, the text rules
checked in one search, and the SQLite parameters adapted before `executemany`."""

from __future__ import annotations

import datetime
import hashlib
import random
import sqlite3
import uuid

import pytest

from backend.ledger.chain import BatchChain, chain_hash
from backend.ledger.projector import StationState, assign_pickup_code
from backend.ledger.store.events import EventRow, sqlite_parameters
from backend.ledger.text_rules import TextRuleViolation, check_text, check_text_fields
from backend.ledger.validation import (
    Rejection,
    canonical_json,
    check_event,
    content_hash,
    utc_iso,
)

CHINA = datetime.timezone(datetime.timedelta(hours=8))
GENESIS = "0" * 64
TEXTS = ["核桃", "拼多多", "王小明", "Ayşe", "ئۈرۈمچى", "😀", 'a\\b"c', "é", "杭州市", ""]


def test_the_content_and_chain_hashes_of_a_known_event_are_as_they_were_logged():
    """Written out by hand: the material each hash covers, and the digests a chain logged before
    the faster paths holds (they must verify for ever)."""
    occurred = datetime.datetime(2026, 12, 5, 9, 30, 15, 123456, tzinfo=CHINA)
    received = datetime.datetime(2026, 12, 5, 1, 31, 0, tzinfo=datetime.UTC)
    data = canonical_json(
        {
            "tracking_no": "SF1234567890123",
            "carrier": "SF",
            "recipient_phone": "138****5678",
            "recipient_name": "王小明",
        }
    )
    assert data == (
        '{"carrier":"SF","recipient_name":"王小明","recipient_phone":"138****5678",'
        '"tracking_no":"SF1234567890123"}'
    )
    material = f"parcel.received\n2026-12-05T01:30:15.123456+00:00\n{data}"
    expected_content = "d54d3078a4723d069ae05102e3a26c6af3b08babf55562f2c3327dd3dbc60ea5"
    assert hashlib.sha256(material.encode()).hexdigest() == expected_content
    assert content_hash("parcel.received", occurred, data) == expected_content

    sale = canonical_json(
        {"product": "核桃", "quantity": 12.5, "unit": "斤", "amount_fen": 22000,
         "commission_fen": 1100, "channel": "拼多多"}
    )  # fmt: skip
    assert sale == (
        '{"amount_fen":22000,"channel":"拼多多","commission_fen":1100,"product":"核桃",'
        '"quantity":12.5,"unit":"斤"}'
    )
    expected_sale = "399597a1e94a2a63dfc393482755a2fe858303ded0d72e89aa6be26a992265dc"
    assert content_hash("sale.recorded", occurred, sale) == expected_sale

    row = EventRow(
        id=uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
        station=uuid.UUID("00000000-0000-4000-8000-000000000001"),
        county=uuid.UUID("00000000-0000-4000-8000-000000000002"),
        seq=42,
        device_id=uuid.UUID("00000000-0000-4000-8000-000000000003"),
        keeper=uuid.UUID("00000000-0000-4000-8000-000000000004"),
        type="parcel.received",
        occurred_at=occurred,
        received_at=received,
        business_date=datetime.date(2026, 12, 5),
        data=data,
        server_data='{"pickup_code":"2-3-0123"}',
        content_hash=expected_content,
        prev_hash=GENESIS,
    )
    chain_material = "\n".join(
        [
            GENESIS,
            "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
            "00000000-0000-4000-8000-000000000001",
            "42",
            "00000000-0000-4000-8000-000000000003",
            "00000000-0000-4000-8000-000000000004",
            "parcel.received",
            "2026-12-05T01:30:15.123456+00:00",
            "2026-12-05T01:31:00.000000+00:00",
            "2026-12-05",
            data,
            '{"pickup_code":"2-3-0123"}',
        ]
    )
    expected_chain = "0fc903382b42ff13944944fd8b2d5f36434c3fb69da7e0ccfd1a76953ee138f2"
    assert hashlib.sha256(chain_material.encode()).hexdigest() == expected_chain
    assert chain_hash(GENESIS, row) == expected_chain


def _phone(rng: random.Random) -> str:
    return rng.choice(
        [
            f"1{rng.randint(3, 9)}{rng.randrange(10**9):09d}",
            f"1{rng.randint(3, 9)}{rng.randrange(10):d}****{rng.randrange(10**4):04d}",
            f"****{rng.randrange(10**4):04d}",
            f"{rng.randrange(10**4):04d}",
        ]
    )


def _raw_event(rng: random.Random, received_at: datetime.datetime) -> dict:
    """A valid event of a random kind, from a phone in a random zone, with unicode text, masked
    phones and decimal quantities."""
    zone = datetime.timezone(datetime.timedelta(minutes=rng.choice([0, 480, 360, -300, 345])))
    moment = received_at - datetime.timedelta(seconds=rng.randrange(0, 90 * 86400))
    moment = moment.replace(microsecond=rng.choice([0, rng.randrange(10**6)]))
    occurred = moment.astimezone(zone).isoformat()
    if rng.random() < 0.1:
        occurred = moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
    kind = rng.randrange(5)
    if kind == 0:
        data = {
            "tracking_no": f"SF{rng.randrange(10**13):013d}",
            "carrier": "SF",
            "recipient_phone": _phone(rng),
            "recipient_name": f" {rng.choice(TEXTS)}{rng.choice(TEXTS)} ",
            "tracking_confirmed": True,
        }
        event_type = "parcel.received"
    elif kind == 1:
        data = {
            "product": rng.choice(TEXTS[:5]) or "米",
            "quantity": rng.choice([12.5, 0.25, 1, 3.75, 1e-4, 1e-05, 123456.789, 2.0]),
            "unit": "斤",
            "amount_fen": rng.randrange(1, 90000),
            "commission_fen": 0,
            "channel": rng.choice(["拼多多", "抖音", "Taobao"]),
        }
        event_type = "sale.recorded"
    elif kind == 2:
        data = {"lat": rng.uniform(-90, 90), "lng": rng.uniform(-180, 180),
                "note": f"{rng.choice(TEXTS)}\n{rng.choice(TEXTS)}\t"}  # fmt: skip
        event_type = "checkin.recorded"
    elif kind == 3:
        data = {
            "title": rng.choice(TEXTS[:5]) or "培训",
            "kind": "livestream",
            "trainees": [{"name": rng.choice(TEXTS[:5]) or "李", "household_code": "t-0001"}],
        }
        event_type = "training.attended"
    else:
        data = {"service": "phone_topup", "amount_fen": rng.randrange(1, 10**7), "fee_fen": 0,
                "account": _phone(rng)}  # fmt: skip
        event_type = "service.recorded"
    event_id = uuid.uuid4()
    written = rng.choice([str(event_id), str(event_id).upper(), event_id.hex, f"{{{event_id}}}"])
    return {"id": written, "type": event_type, "occurred_at": occurred, "data": data}


def test_a_push_hashes_its_chain_as_chain_hash_does_over_many_generated_events():
    rng = random.Random(5)
    received_at = datetime.datetime(2026, 12, 5, 13, 7, 9, rng.randrange(10**6), datetime.UTC)
    station, county, device, keeper = (uuid.uuid4() for _ in range(4))
    chain = BatchChain(station, device, keeper, received_at)
    fast = slow = GENESIS
    for seq in range(1, 3001):
        candidate = check_event(_raw_event(rng, received_at), received_at)
        assert candidate.id_text == str(candidate.id)
        assert candidate.occurred_text == utc_iso(candidate.occurred_at)
        assert candidate.content_hash == content_hash(
            candidate.type, candidate.occurred_at, candidate.data_json
        )
        day = (candidate.occurred_at + datetime.timedelta(hours=8)).date()
        decided = {"pickup_code": f"{seq % 7}-1-{seq:04d}"} if seq % 3 else {}
        row = EventRow(
            id=candidate.id, station=station, county=county, seq=seq, device_id=device,
            keeper=keeper, type=candidate.type, occurred_at=candidate.occurred_at,
            received_at=received_at, business_date=day, data=candidate.data_json,
            server_data=canonical_json(decided),
            content_hash=candidate.content_hash, prev_hash=fast,
        )  # fmt: skip
        fast = chain.link(fast, row, candidate)
        slow = chain_hash(slow, row)
        assert fast == slow
    # A row that does not share the batch's values (or is not the candidate's) is still right.
    other = EventRow(**{**_fields(row), "station": uuid.UUID(str(station)), "seq": 9})
    assert chain.link(fast, other, candidate) == chain_hash(fast, other)
    moved = EventRow(**{**_fields(row), "occurred_at": received_at})
    assert chain.link(fast, moved, candidate) == chain_hash(fast, moved)


def _fields(row: EventRow) -> dict:
    return {name: getattr(row, name) for name in row.__struct_fields__}


def test_event_ids_are_read_as_uuid_reads_them():
    rng = random.Random(9)
    for _ in range(3000):
        value = uuid.UUID(int=rng.getrandbits(128))
        text = str(value)
        cut = rng.randrange(37)
        for written in (
            text, text.upper(), value.hex, value.hex.upper(), f"{{{text}}}", f"urn:uuid:{text}",
            text.replace("-", ""), text[:cut] + "-" + text[cut:], text.replace("-", "")[:cut],
        ):  # fmt: skip
            event = {
                "id": written,
                "type": "cash.counted",
                "occurred_at": "2026-12-05T08:00:00+08:00",
                "data": {"counted_fen": 5},
            }
            received = datetime.datetime(2026, 12, 5, 1, 0, tzinfo=datetime.UTC)
            try:
                expected = uuid.UUID(written)
            except ValueError:
                with pytest.raises(Rejection) as refused:
                    check_event(event, received)
                assert refused.value.code == "invalid_id"
                continue
            candidate = check_event(event, received)
            assert candidate.id == expected
            assert candidate.id_text == str(expected)


def _walked(data: dict) -> tuple[str, str] | None:
    """What the text rules' walk refuses first, field by field (the reference)."""
    for key, value in data.items():
        try:
            check_text("key", key)
            if isinstance(value, str):
                check_text(key, value)
        except TextRuleViolation as bad:
            return bad.field, bad.character
    return None


def test_flat_data_is_checked_as_field_by_field():
    rng = random.Random(3)
    alphabet = ["a", "核", "\t", "\n", "\r", "\x00", "\x1f", "\x7f", "\x85", "\u202e", "\u2067",
                "\ud800", "\uffff", "\ufffe", " ", "😀", "\u2028"]  # fmt: skip
    for _ in range(20_000):
        data = {}
        for _ in range(rng.randrange(1, 5)):
            key = rng.choice(["note", "product", "item", "tracking_no", "k" + rng.choice(alphabet)])
            data[key] = rng.choice(
                ["".join(rng.choice(alphabet) for _ in range(rng.randrange(4))), 5, 1.5, True, None]
            )
        expected = _walked(data)
        try:
            check_text_fields(data)
            found = None
        except TextRuleViolation as bad:
            found = bad.field, bad.character
        assert found == expected, data


def test_sqlite_parameters_are_what_sqlite3_adapts_byte_for_byte():
    """As the adapters Piccolo registers with sqlite3 write each value, shared or not."""
    import piccolo.engine.sqlite  # noqa: F401  (registers the adapters, as the engine does)

    rng = random.Random(11)
    received = datetime.datetime(2026, 12, 5, 13, 7, 9, 0, datetime.UTC)
    shared = dict(station=uuid.uuid4(), county=uuid.uuid4(), device_id=uuid.uuid4(),
                  keeper=uuid.uuid4(), received_at=received)  # fmt: skip
    zones = [datetime.UTC, CHINA, datetime.timezone(datetime.timedelta(hours=-5, minutes=-30))]
    rows = []
    for seq in range(1, 2001):
        moment = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(
            seconds=rng.randrange(10**7), microseconds=rng.choice([0, rng.randrange(10**6)])
        )
        fields = dict(shared)
        if seq % 500 == 0:  # a row that shares nothing with the others: adapted on its own
            fields = dict(station=uuid.uuid4(), county=uuid.uuid4(), device_id=uuid.uuid4(),
                          keeper=uuid.uuid4(), received_at=moment)  # fmt: skip
        rows.append(
            EventRow(
                id=uuid.uuid4(), seq=seq, type="sale.recorded",
                occurred_at=moment.astimezone(rng.choice(zones)),
                business_date=datetime.date(2026, 12, rng.randint(1, 5)), data='{"a":"核桃"}',
                server_data="{}", content_hash="c" * 64, prev_hash="p" * 64, hash="h" * 64,
                adjusts_month=rng.choice([None, "2026-11"]), **fields,
            )
        )  # fmt: skip
    for batch in (rows[:499], rows[499:500], rows):
        expected = [
            tuple(sqlite3.adapt(v) if isinstance(v, uuid.UUID | datetime.date) else v for v in (
                r.id, r.station, r.county, r.seq, r.device_id, r.keeper, r.type, r.occurred_at,
                r.received_at, r.business_date, r.data, r.server_data, r.content_hash,
                r.prev_hash, r.hash, r.adjusts_month,
            ))
            for r in batch
        ]  # fmt: skip
        assert sqlite_parameters(batch) == expected
    assert sqlite_parameters(rows[:1])[0][7] == str(rows[0].occurred_at.astimezone(datetime.UTC))


def _assigned_by_sorting(state: StationState, tracking_no: str, proposed: str | None) -> str:
    """assign_pickup_code as it was, sorting every slot for every parcel (the reference)."""
    taken = state.shelf_codes
    if proposed and proposed not in taken:
        return proposed
    slots = [(s, lay) for s in range(1, state.shelves + 1) for lay in range(1, state.layers + 1)]
    slots.sort(key=lambda slot: (state.slot_load.get(slot, 0), slot))
    tail = tracking_no[-4:]
    for shelf, layer in slots:
        code = f"{shelf}-{layer}-{tail}"
        if code not in taken:
            return code
    suffix = 2
    while f"{slots[0][0]}-{slots[0][1]}-{tail}-{suffix}" in taken:
        suffix += 1
    return f"{slots[0][0]}-{slots[0][1]}-{tail}-{suffix}"


def test_pickup_codes_are_assigned_as_by_sorting_every_slot():
    """The code the server assigns is in the event's server data, which the chain hash covers."""
    rng = random.Random(13)
    for _ in range(300):
        state = StationState(uuid.uuid4(), uuid.uuid4(), rng.randint(1, 6), rng.randint(1, 4))
        shelf: list[tuple[str, str]] = []
        for n in range(rng.randrange(0, 80)):
            tail = f"{rng.randrange(3):04d}"  # few tails: codes collide, slots fill unevenly
            proposed = rng.choice([None, None, f"{rng.randint(1, 3)}-1-{tail}", "P1"])
            expected = _assigned_by_sorting(state, f"SF{tail}", proposed)
            assert assign_pickup_code(state, f"SF{tail}", proposed) == expected
            state.shelve(f"SF{n}", uuid.uuid4(), expected)
            shelf.append((f"SF{n}", expected))
            if rng.random() < 0.3:  # a parcel picked up
                state.unshelve(*shelf.pop(rng.randrange(len(shelf))))
