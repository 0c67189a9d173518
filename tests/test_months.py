"""Month close (县级审核): a closed month's figures never change; its late entries still sync and
count in the station's next open month as adjustments (API.md "Month close")."""

from __future__ import annotations

import asyncio
import datetime
import io
import re
import uuid

from openpyxl import load_workbook

from backend.accounts.tables import AuditEntry
from backend.county import rollups
from backend.ledger import integrity
from tests.support import event, push, statuses
from tests.test_county_pages import html_as
from tests.test_county_subsidies import _claims
from tests.test_projections import projection_snapshot

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def _today() -> datetime.date:
    return datetime.datetime.now(SHANGHAI).date()


def _month(day: datetime.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def last_month() -> str:
    return _month(_today().replace(day=1) - datetime.timedelta(days=1))


def this_month() -> str:
    return _month(_today())


def next_month() -> str:
    return _month(_today().replace(day=28) + datetime.timedelta(days=5))


def in_last_month(day: int, hour: int = 10) -> str:
    year, month = (int(part) for part in last_month().split("-"))
    return datetime.datetime(year, month, day, hour, tzinfo=SHANGHAI).isoformat()


def sale(amount_fen: int, occurred_at: str) -> dict:
    data = {
        "product": "苹果",
        "quantity": 1,
        "unit": "kg",
        "amount_fen": amount_fen,
        "commission_fen": 0,
        "channel": "抖音",
    }
    return event("sale.recorded", data, occurred_at)


async def _post(client, actor, station, month: str, action: str, body: dict | None = None):
    return await client.post(
        f"/api/v1/stations/{station}/months/{month}/{action}",
        json=body if body is not None else {},
        headers=actor.headers,
    )


async def close(client, world, month: str, station=None):
    answer = await _post(client, world.staff, station or world.station_a, month, "close")
    assert answer.status_code == 200, answer.text
    return answer.json()


async def retail(client, world, month: str) -> int:
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={month}", headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["figures"]["retail_fen"]


async def county_month(client, world, month: str) -> dict:
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/months/{month}", headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text
    return {row["station_id"]: row for row in answer.json()["stations"]}


async def test_a_late_entry_for_a_closed_month_counts_in_the_next_open_month(client, world):
    on_time = sale(10_000, in_last_month(10))
    assert statuses(await push(client, world.keeper_a, [on_time])) == ["accepted"]
    before_closed, before_open = (
        await retail(client, world, last_month()),
        await retail(client, world, this_month()),
    )
    assert before_closed == 10_000

    closed = await close(client, world, last_month())
    assert closed["state"] == "closed" and closed["closed_by"] == str(world.staff.id)

    late = sale(2_345, in_last_month(20))
    assert statuses(await push(client, world.keeper_a, [late])) == ["accepted"]
    await rollups.refresh()
    assert await retail(client, world, last_month()) == 10_000  # to the fen
    assert await retail(client, world, this_month()) == before_open + 2_345

    # The log keeps the entry's own date and counts it on the first day of this month.
    pulled = await client.get("/api/v1/sync", headers=world.keeper_a.headers)
    row = next(e for e in pulled.json()["events"] if e["id"] == late["id"])
    assert row["occurred_at"].startswith(in_last_month(20)[:10])
    cashbook = await client.get(
        f"/api/v1/stations/{world.station_a}/cashbook?date={_today().replace(day=1)}",
        headers=world.keeper_a.headers,
    )
    sold = [line for line in cashbook.json()["kinds"] if line["kind"] == "sale_recorded"]
    assert sold and sold[0]["amount_fen"] >= 2_345

    # Undoing an entry that counts in the closed month is refused; the late one may be undone.
    undo_old = event("entry.reversed", {"target_id": on_time["id"], "reason": "录错"})
    undo_late = event("entry.reversed", {"target_id": late["id"], "reason": "录错"})
    results = await push(client, world.keeper_a, [undo_old, undo_late])
    assert statuses(results) == ["rejected", "accepted"]
    assert results[0]["error"]["code"] == "month_closed"
    assert await retail(client, world, last_month()) == 10_000
    assert await retail(client, world, this_month()) == before_open

    assert (await integrity.verify())["broken"] == []


async def test_closing_twice_changes_nothing_and_reopen_needs_a_reason(client, world):
    first = await close(client, world, last_month())
    second = await close(client, world, last_month())
    assert second == first

    for body in ({}, {"reason": "  "}, {"reason": "x" * 201}, {"reason": "改\x07"}):
        answer = await _post(client, world.staff, world.station_a, last_month(), "reopen", body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    english = await client.post(
        f"/api/v1/stations/{world.station_a}/months/{last_month()}/reopen",
        json={},
        headers={**world.staff.headers, "Accept-Language": "en"},
    )
    assert english.json()["detail"] == "Reopening a closed month needs a reason."
    assert (await county_month(client, world, last_month()))[str(world.station_a)][
        "state"
    ] == "closed"

    reopened = await _post(
        client, world.staff, world.station_a, last_month(), "reopen", {"reason": "补录漏报的代销"}
    )
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["state"] == "open"
    audited = await AuditEntry.select(AuditEntry.action, AuditEntry.details).where(
        AuditEntry.action.like("month.%")
    )
    assert [row["action"] for row in audited] == ["month.closed", "month.reopened"]
    assert "补录漏报的代销" in str(audited[1]["details"])

    # Reopened: a later entry of the month counts in it again.
    assert statuses(await push(client, world.keeper_a, [sale(700, in_last_month(5))])) == [
        "accepted"
    ]
    assert await retail(client, world, last_month()) == 700


async def test_who_may_close_submit_and_which_months(client, world):
    month = last_month()
    foreign = await _post(client, world.foreign_staff, world.station_a, month, "close")
    assert foreign.status_code == 403
    keeper = await _post(client, world.keeper_a, world.station_a, month, "close")
    assert keeper.status_code == 403
    other_keeper = await _post(client, world.keeper_b, world.station_a, month, "submit")
    assert other_keeper.status_code == 403
    staff_submits = await _post(client, world.staff, world.station_a, month, "submit")
    assert staff_submits.status_code == 403

    for refused in (this_month(), next_month()):
        for actor, action in ((world.staff, "close"), (world.keeper_a, "submit")):
            answer = await _post(client, actor, world.station_a, refused, action)
            assert answer.status_code == 409, answer.text
            assert answer.json()["code"] == "month_not_finished"
    bad = await _post(client, world.staff, world.station_a, "2026-13", "close")
    assert bad.status_code == 422

    submitted = await _post(client, world.keeper_a, world.station_a, month, "submit")
    assert submitted.status_code == 200 and submitted.json()["state"] == "submitted"
    await close(client, world, month, world.station_b)
    states = await county_month(client, world, month)
    assert list(states) == [str(world.station_a), str(world.station_b)]
    assert states[str(world.station_a)]["state"] == "submitted"
    assert "closed_at" not in states[str(world.station_a)]
    assert states[str(world.station_b)]["state"] == "closed"
    assert states[str(world.station_b)]["closed_by"] == str(world.staff.id)
    assert states[str(world.station_b)]["closed_at"]

    mine = await client.get(
        f"/api/v1/stations/{world.station_b}/months/{month}", headers=world.keeper_b.headers
    )
    assert mine.status_code == 200 and mine.json()["state"] == "closed"
    # A closed month stays closed when the keeper submits it afterwards.
    late_submit = await _post(client, world.keeper_b, world.station_b, month, "submit")
    assert late_submit.status_code == 200 and late_submit.json()["state"] == "closed"

    foreign_list = await client.get(
        f"/api/v1/counties/{world.county_id}/months/{month}", headers=world.foreign_staff.headers
    )
    assert foreign_list.status_code == 403


async def test_a_close_racing_a_sync_loses_nothing_and_counts_nothing_twice(client, world):
    month = last_month()
    entries = [sale(100 + n, in_last_month(3 + n % 20)) for n in range(40)]
    total = sum(e["data"]["amount_fen"] for e in entries)
    before_open = await retail(client, world, this_month())

    async def sync(batch):
        return await push(client, world.keeper_a, batch)

    batches = [entries[n : n + 5] for n in range(0, 40, 5)]
    tasks = [asyncio.create_task(sync(batch)) for batch in batches[:4]]
    tasks.append(asyncio.create_task(close(client, world, month)))
    tasks += [asyncio.create_task(sync(batch)) for batch in batches[4:]]
    answers = await asyncio.gather(*tasks)
    for answer in answers[:4] + answers[5:]:
        assert statuses(answer) == ["accepted"] * 5

    in_closed = await retail(client, world, month)
    in_open = await retail(client, world, this_month()) - before_open
    assert in_closed + in_open == total  # every entry once: before the close, or after it
    # Whatever the close saw stays: the closed month no longer changes.
    assert statuses(await push(client, world.keeper_a, [sale(9, in_last_month(2))])) == ["accepted"]
    await rollups.refresh()
    assert await retail(client, world, month) == in_closed
    assert (await integrity.verify())["broken"] == []
    before = await projection_snapshot()
    assert (await integrity.rebuild())["events"] == 41
    assert await projection_snapshot() == before  # the log alone gives the same cashbook
    assert await retail(client, world, month) == in_closed


async def test_the_workbook_lists_the_adjustments(client, world):
    await close(client, world, last_month())
    late = sale(2_345, in_last_month(20))
    assert statuses(await push(client, world.keeper_a, [late])) == ["accepted"]
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={this_month()}",
        headers=world.staff.headers,
    )
    assert answer.status_code == 200, answer.text
    sheet = load_workbook(io.BytesIO(answer.content))["调整"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows() if row[0].value]
    found = [row for row in rows if "A001" in str(row)]
    assert len(found) == 1, rows
    own_day = datetime.date.fromisoformat(in_last_month(20)[:10])
    code, name, dated, month, counted_on, kind, amount, fee = found[0]
    assert (code, name, month, kind, amount, fee) == ("A001", "A001服务站", last_month(), "代销",
                                                      23.45, 0)  # fmt: skip
    assert dated.date() == own_day and counted_on.date() == _today().replace(day=1)

    rollup = await client.get(
        f"/api/v1/counties/{world.county_id}/rollup?from={_today().replace(day=1)}"
        f"&to={_today().replace(day=1)}&station_id={world.station_a}",
        headers=world.staff.headers,
    )
    rows = {row["kind"]: row for row in rollup.json()["rows"]}
    assert rows["sale_recorded"]["adjustments"] == 1
    assert rows["sale_recorded"]["amount_fen"] >= 2_345
    # The row gives the adjustment's own date and closed month, not only a count.
    assert rows["sale_recorded"]["adjustment_entries"] == [
        {"own_date": str(own_day), "month": last_month(), "amount_fen": 2_345, "fee_fen": 0}
    ]

    empty = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={last_month()}",
        headers=world.staff.headers,
    )
    sheet = load_workbook(io.BytesIO(empty.content))["调整"]
    assert not [row for row in sheet.iter_rows() if "A001" in str([c.value for c in row])]


async def checkins(client, world, month: str) -> int:
    answer = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={month}", headers=world.staff.headers
    )
    return answer.json()["figures"]["checkins"]


async def test_a_late_till_count_or_check_in_is_kept_but_not_counted_later(client, world):
    checkin = event("checkin.recorded", {"note": "正常营业"}, in_last_month(27, 9))
    assert statuses(await push(client, world.keeper_a, [checkin])) == ["accepted"]
    assert await checkins(client, world, last_month()) == 1
    await close(client, world, last_month())
    late_checkin = event("checkin.recorded", {"note": "正常营业"}, in_last_month(28, 9))
    assert statuses(await push(client, world.keeper_a, [late_checkin])) == ["accepted"]
    await rollups.refresh()
    assert await checkins(client, world, last_month()) == 1
    assert await checkins(client, world, this_month()) == 0

    first_day = _today().replace(day=1)
    late_count = event("cash.counted", {"counted_fen": 777}, in_last_month(28, 21))
    assert statuses(await push(client, world.keeper_a, [late_count])) == ["accepted"]
    cashbook = await client.get(
        f"/api/v1/stations/{world.station_a}/cashbook?date={first_day}",
        headers=world.keeper_a.headers,
    )
    assert cashbook.json()["cash"]["counted_fen"] is None


async def test_the_county_closes_every_station_at_once(client, world):
    month = last_month()
    await close(client, world, month, world.station_b)
    first_b = (await county_month(client, world, month))[str(world.station_b)]
    foreign = await client.post(
        f"/api/v1/counties/{world.county_id}/months/{month}/close",
        headers=world.foreign_staff.headers,
    )
    assert foreign.status_code == 403
    assert (await county_month(client, world, month))[str(world.station_a)]["state"] == "open"
    answer = await client.post(
        f"/api/v1/counties/{world.county_id}/months/{month}/close", headers=world.staff.headers
    )
    assert answer.status_code == 200, answer.text
    states = {row["station_id"]: row for row in answer.json()["stations"]}
    assert [row["state"] for row in states.values()] == ["closed", "closed"]
    assert states[str(world.station_b)] == first_b  # closed before: unchanged
    refused = await client.post(
        f"/api/v1/counties/{world.county_id}/months/{this_month()}/close",
        headers=world.staff.headers,
    )
    assert refused.status_code == 409


async def test_a_late_check_in_of_a_closed_month_does_not_silence_the_reminder(app, client, world):
    """A check-in dated in a closed month counts on the first day of the next open month for
    the ledger, but it is not a check-in of that week: the week's reminder still finds the
    station missing."""
    from backend.jobs.service import run_now

    for station in (world.station_a, world.station_b):
        # Opened before that week (created today, they are not due in a week already past).
        opened = {"opened_on": f"{last_month()}-01"}
        answer = await client.patch(
            f"/api/v1/stations/{station}", json=opened, headers=world.staff.headers
        )
        assert answer.status_code == 200, answer.text
    await close(client, world, last_month())
    late = event("checkin.recorded", {"note": "正常营业"}, in_last_month(28, 9))
    assert statuses(await push(client, world.keeper_a, [late])) == ["accepted"]
    first_day = _today().replace(day=1)  # the day the late entry counts on
    monday = first_day - datetime.timedelta(days=first_day.weekday())
    moment = datetime.datetime.combine(monday, datetime.time(9, 1), tzinfo=SHANGHAI)
    run = await run_now(app.state.settings, "checkin-reminder", now=moment)
    assert run.status == "done", run.error
    assert run.counts["stations_missing"] == 2  # A001 and B001 of the county due at 09:00


async def test_the_month_review_page_closes_reopens_with_a_reason_and_closes_all(client, world):
    """县级审核 on the county's page, through its forms: last month by default, a close per
    station, a reopen refused without a reason (the page says why, nothing changes), then with
    one, and every station at once; another county's station is out of reach."""
    from tests.test_county_pages import CSRF_FIELD, HTML, page_login

    await page_login(client, world.staff.phone)
    page = await client.get("/county/months", headers=HTML)
    assert page.status_code == 200
    assert f'value="{last_month()}"' in page.text and 'data-state="open"' in page.text
    token = CSRF_FIELD.search(page.text).group(1)

    async def act(action: str, station=None, **extra):
        data = {"_csrf_token": token, "month": last_month(), "action": action, **extra}
        if station is not None:
            data["station_id"] = str(station)
        return await client.post("/county/months", data=data, headers=HTML)

    closed = await act("close", world.station_a)
    assert closed.status_code == 303
    states = await county_month(client, world, last_month())
    assert states[str(world.station_a)]["state"] == "closed"
    assert states[str(world.station_b)]["state"] == "open"
    refused = await act("reopen", world.station_a, reason="  ")
    assert refused.status_code == 200 and 'role="alert"' in refused.text
    # Said in the station's own row (at the page's top it named no station).
    row = refused.text.split('data-station="A001"')[1].split("</tr>")[0]
    assert 'class="field-error" role="alert"' in row and 'aria-invalid="true"' in row
    assert (await county_month(client, world, last_month()))[str(world.station_a)]["state"] == (
        "closed"
    )
    reopened = await act("reopen", world.station_a, reason="站长补录漏记的代收")
    assert reopened.status_code == 303
    assert (await county_month(client, world, last_month()))[str(world.station_a)]["state"] == (
        "open"
    )
    assert (await act("close_all")).status_code == 303
    states = await county_month(client, world, last_month())
    assert {states[str(s)]["state"] for s in (world.station_a, world.station_b)} == {"closed"}
    foreign = await act("close", world.foreign_station)
    assert foreign.status_code == 403
    for lang in ("zh-CN", "ug", "en"):
        shown = await client.get(f"/county/months?lang={lang}", headers=HTML)
        assert shown.status_code == 200 and "county_page." not in shown.text
        assert shown.text.count('data-state="closed"') == 2


async def test_a_dispatch_dated_in_a_closed_month_is_claimed_in_the_next_as_a_late_claim(
    client, world
):
    """补报: the closed month's claim never changes; the late parcel is claimed in the station's
    next open month and labelled with the month it was dated in (API, page and workbook)."""
    await client.patch(
        f"/api/v1/counties/{world.county_id}",
        json={"subsidy_fen_per_parcel": 150, "subsidy_monthly_cap_fen": 100_000},
        headers=world.staff.headers,
    )
    on_time = event(
        "parcel.dispatched",
        {"tracking_no": "SF1400000000001", "carrier": "SF", "weight_g": 900, "fee_fen": 800,
         "destination": "广州", "farm_product": True},
        in_last_month(3),
    )  # fmt: skip
    late = dict(on_time, id=str(uuid.uuid4()), occurred_at=in_last_month(27))
    late["data"] = dict(on_time["data"], tracking_no="SF1400000000002")
    assert statuses(await push(client, world.keeper_a, [on_time])) == ["accepted"]
    await close(client, world, last_month())
    before = await _claims(client, world, last_month())
    assert statuses(await push(client, world.keeper_a, [late])) == ["accepted"]

    assert await _claims(client, world, last_month()) == before
    (old,) = [p for s in before["stations"] for p in s["parcels"]]
    assert (old["tracking_no"], old["late_for"]) == ("SF1400000000001", None)
    now = await _claims(client, world, this_month())
    (parcel,) = [p for s in now["stations"] for p in s["parcels"]]
    assert (parcel["tracking_no"], parcel["late_for"], parcel["status"]) == (
        "SF1400000000002",
        last_month(),
        "paid",
    )
    assert now["totals"]["payable_fen"] == 150

    page = await client.get(
        f"/county/subsidies?month={this_month()}&station=A001", headers=world.staff.headers
    )
    assert f'data-late-for="{last_month()}"' in page.text and "补报" in page.text
    book = await client.get(
        f"/api/v1/counties/{world.county_id}/export.xlsx?month={this_month()}",
        headers=world.staff.headers,
    )
    sheet = load_workbook(io.BytesIO(book.content))["补贴明细"]
    header = [cell.value for cell in sheet[1]]
    row = next(r for r in sheet.iter_rows(values_only=True) if "SF1400000000002" in r)
    assert row[header.index("补报（原属月份）")] == last_month()


async def test_late_entries_for_a_closed_month_racing_the_rollup_job(client, world):
    """Issue #16: late entries of a closed month synced while the rollup job runs again and
    again: the closed month keeps its figures to the fen and the open month counts each one
    once, whatever the interleaving."""
    on_time = sale(10_000, in_last_month(9))
    assert statuses(await push(client, world.keeper_a, [on_time])) == ["accepted"]
    await close(client, world, last_month())
    await rollups.refresh()
    before_open = await retail(client, world, this_month())
    late = [sale(101 + n, in_last_month(10 + n % 15)) for n in range(30)]

    async def sync(batch):
        return await push(client, world.keeper_a, batch)

    async def job_runs():
        for _ in range(6):
            await rollups.refresh()
            await asyncio.sleep(0)

    batches = [late[n : n + 3] for n in range(0, 30, 3)]
    answers = await asyncio.gather(job_runs(), *(sync(batch) for batch in batches), job_runs())
    for answer in answers[1:-1]:
        assert statuses(answer) == ["accepted"] * 3
    await rollups.refresh()
    assert await retail(client, world, last_month()) == 10_000
    added = await retail(client, world, this_month()) - before_open
    assert added == sum(e["data"]["amount_fen"] for e in late)
    rows = await client.get(
        f"/api/v1/counties/{world.county_id}/rollup?month={this_month()}",
        headers=world.staff.headers,
    )
    assert rows.status_code == 200, rows.text
    adjusted = sum(row.get("adjustments", 0) for row in rows.json()["rows"])
    assert adjusted == 30  # each late sale counted once, as an adjustment
    assert (await integrity.verify())["broken"] == []


async def test_the_month_review_says_who_submitted_and_was_closed_on_time(client, world):
    """月结 on time (issue #16): submitted and closed by the county's close day of the month
    after (the 5th unless the county sets another), county time."""
    from backend import clock

    real = clock.utcnow
    # The month before last, its close days in last month: every moment is in the past.
    first = (_today().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    month = _month(first - datetime.timedelta(days=1))

    def at(day: int, hour: int = 10) -> None:
        moment = datetime.datetime.combine(first.replace(day=day), datetime.time(hour), SHANGHAI)
        clock.utcnow = lambda: moment.astimezone(datetime.UTC)  # type: ignore[assignment]

    try:
        at(3)  # A submits on the 3rd, B on the 5th at 23:30 (still the 5th in the county)
        assert (
            await _post(client, world.keeper_a, world.station_a, month, "submit")
        ).status_code == 200
        at(5, 23)
        assert (
            await _post(client, world.keeper_b, world.station_b, month, "submit")
        ).status_code == 200
        at(5, 12)
        await close(client, world, month, world.station_a)  # closed on the 5th: on time
        at(7)
        await close(client, world, month, world.station_b)  # closed on the 7th: late
        page = await client.get(f"/county/months?month={month}", headers=html_as(world.staff))
    finally:
        clock.utcnow = real  # type: ignore[assignment]
    assert page.status_code == 200
    rows = {
        code: (submitted, closed)
        for code, submitted, closed in re.findall(
            r'<tr data-station="(\w+)" data-state="closed" data-submitted-on-time="(\w+)" '
            r'data-closed-on-time="(\w+)"',
            page.text,
        )
    }
    assert rows == {"A001": ("yes", "yes"), "B001": ("yes", "no")}
    assert "提交 2 / 2 站，审核 1 / 2 站" in page.text

    # The county moves its close day to the 4th: B submitted late too.
    changed = await client.patch(
        f"/api/v1/counties/{world.county_id}", json={"month_close_day": 4},
        headers=world.staff.headers,
    )  # fmt: skip
    assert changed.status_code == 200 and changed.json()["month_close_day"] == 4
    page = await client.get(f"/county/months?month={month}", headers=html_as(world.staff))
    assert "提交 1 / 2 站，审核 0 / 2 站" in page.text
    refused = await client.patch(
        f"/api/v1/counties/{world.county_id}", json={"month_close_day": 31},
        headers=world.staff.headers,
    )  # fmt: skip
    assert refused.status_code in (400, 422)


async def test_the_scorecard_counts_the_years_months_closed_on_time(client, world):
    """月结 on time over a year (issue #16): the station-months of the months whose close day
    has passed, submitted and closed by it, judged against the county's targets."""
    from backend import clock

    year = _today().year - 1  # a finished year: its months up to November are judged
    for station in (world.station_a, world.station_b):
        opened = await client.patch(
            f"/api/v1/stations/{station}", json={"opened_on": f"{year}-01-01"},
            headers=world.staff.headers,
        )  # fmt: skip
        assert opened.status_code == 200, opened.text
    real = clock.utcnow

    def at(month: int, day: int, hour: int = 10) -> None:
        moment = datetime.datetime(year, month, day, hour, tzinfo=SHANGHAI)
        clock.utcnow = lambda: moment.astimezone(datetime.UTC)  # type: ignore[assignment]

    january, february = f"{year}-01", f"{year}-02"
    try:
        at(2, 3)
        assert (await _post(client, world.keeper_a, world.station_a, january, "submit")).is_success
        at(2, 4)
        await close(client, world, january, world.station_a)  # on time
        at(2, 10)
        assert (await _post(client, world.keeper_b, world.station_b, january, "submit")).is_success
        at(3, 5, 23)  # the 5th, 23:00 in the county: still on time
        assert (await _post(client, world.keeper_b, world.station_b, february, "submit")).is_success
        at(3, 6)
        await close(client, world, february, world.station_b)  # a day late
    finally:
        clock.utcnow = real  # type: ignore[assignment]
    targets = await client.put(
        f"/api/v1/counties/{world.county_id}/targets",
        json={"targets": [{"name": "months_submitted_on_time_pct", "target": 90}]},
        headers=world.staff.headers,
    )
    assert targets.status_code == 200, targets.text
    kpis = await client.get(
        f"/api/v1/counties/{world.county_id}/kpis?month={year}-12", headers=world.staff.headers
    )
    # January to November (December's close day is next year's): 2 stations × 11 months = 22
    # station-months; submitted on time: A's January and B's February; closed on time: A's
    # January.
    judged = {t["name"]: t for t in kpis.json()["targets"]}
    assert judged["months_submitted_on_time_pct"] == {
        "name": "months_submitted_on_time_pct", "target": 90,
        "actual": round(2 * 100 / 22, 1), "met": False, "reason": None,
    }  # fmt: skip
    page = await client.get(f"/county/scorecard?month={year}-12", headers=html_as(world.staff))
    assert page.status_code == 200
    closed_row = re.search(
        r'<tr data-target="months_closed_on_time_pct" data-met="none">(.*?)</tr>', page.text, re.S
    )
    assert closed_row and "4.5" in closed_row.group(1)  # 1 of 22
    assert re.search(r'<tr data-target="months_submitted_on_time_pct" data-met="no">', page.text)
    assert "台帐月结" in page.text


async def test_the_station_lists_its_last_finished_months_with_their_states(client, world):
    last = last_month()
    before = _month(datetime.date.fromisoformat(f"{last}-01") - datetime.timedelta(days=1))
    assert (await _post(client, world.keeper_a, world.station_a, last, "submit")).is_success
    await close(client, world, before, world.station_a)
    answer = await client.get(
        f"/api/v1/stations/{world.station_a}/months?count=3", headers=world.keeper_a.headers
    )
    assert answer.status_code == 200, answer.text
    listed = answer.json()
    assert [m["month"] for m in listed][:2] == [last, before] and len(listed) == 3
    assert [m["state"] for m in listed] == ["submitted", "closed", "open"]
    assert this_month() not in {m["month"] for m in listed}  # only finished months
    default = await client.get(
        f"/api/v1/stations/{world.station_a}/months", headers=world.keeper_a.headers
    )
    assert len(default.json()) == 6
    too_many = await client.get(
        f"/api/v1/stations/{world.station_a}/months?count=25", headers=world.keeper_a.headers
    )
    assert too_many.status_code == 400 and too_many.json()["title"]
    other = await client.get(
        f"/api/v1/stations/{world.station_a}/months", headers=world.keeper_b.headers
    )
    assert other.status_code == 403


async def test_the_month_review_page_lists_a_stations_adjustments(client, world):
    """The months page of a closed month lists the entries that arrived after its close (counted
    in a later month) with their own dates, per station, in Chinese, Uyghur and English; the
    station's row says how many."""
    await close(client, world, last_month())
    late = sale(2_345, in_last_month(20))
    assert statuses(await push(client, world.keeper_a, [late])) == ["accepted"]
    own_day = in_last_month(20)[:10]
    counted_on = str(_today().replace(day=1))
    page = await client.get(
        f"/county/months?month={last_month()}&lang=zh-CN", headers=html_as(world.staff)
    )
    assert page.status_code == 200, page.text
    listed = re.findall(
        r'<tr data-adjustment="(\w+)" data-own-date="([\d-]+)" data-month="([\d-]+)" '
        r'data-counted-on="([\d-]+)">(.*?)</tr>',
        page.text,
        re.S,
    )
    assert [row[:4] for row in listed] == [("A001", own_day, last_month(), counted_on)]
    cells = [" ".join(re.sub(r"<[^>]+>", "", c).split()) for c in re.findall(
        r"<td[^>]*>(.*?)</td>", listed[0][4], re.S)]  # fmt: skip
    assert cells == ["A001 A001服务站", own_day, last_month(), counted_on, "代销", "23.45 元",
                     "0.00 元"]  # fmt: skip
    station_row = re.search(r'<tr data-station="A001".*?</tr>', page.text, re.S).group(0)
    assert 'data-adjustments="1"' in station_row and "调整 1 笔" in station_row
    assert "data-adjustments" not in re.search(
        r'<tr data-station="B001".*?</tr>', page.text, re.S
    ).group(0)
    # The month before last has none.
    before = _month(_today().replace(day=1) - datetime.timedelta(days=40))
    quiet = await client.get(f"/county/months?month={before}", headers=html_as(world.staff))
    assert "data-no-adjustments" in quiet.text and "data-adjustment=" not in quiet.text
    for lang, words in (("ug", "تەڭشەش"), ("en", "Adjustments")):
        shown = await client.get(
            f"/county/months?month={last_month()}&lang={lang}", headers=html_as(world.staff)
        )
        assert words in shown.text and "county_page." not in shown.text
        assert f'data-own-date="{own_day}"' in shown.text
