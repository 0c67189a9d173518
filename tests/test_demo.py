"""The demo county of API.md: its shape, its logins, and loading it twice."""

from backend.demo.service import load_demo
from backend.registry.tables import County, Household, Station, Township, Village
from tests.support import login


async def test_demo_county_has_the_seeds_shape_and_loads_once(app, client):
    await load_demo(app.state.settings)
    assert await County.count() == 1
    assert await Township.count() == 9
    assert await Village.count() == 60
    assert await Station.count() == 40
    assert 200 <= await Household.count() <= 500
    assert await Village.count().where(Village.poor == True) >= 5  # noqa: E712
    # Every township has its 乡级服务站 (乡镇 coverage 100%); the other 31 are 村级服务点.
    townships_with_station = {
        row["township"]
        for row in await Station.select(Station.township).where(Station.level == "township")
    }
    assert len(townships_with_station) == 9
    assert await Station.count().where(Station.level == "village") == 31
    assert await Township.count().where(Township.poor == True) == 2  # noqa: E712
    await load_demo(app.state.settings)
    assert await Station.count() == 40


async def test_demo_without_history_has_an_empty_ledger_at_any_hour(app, client, monkeypatch):
    # Browser tests count a keeper's entries from zero; "today" used to be filled up to now.
    from backend.ledger.tables import Event

    monkeypatch.setenv("CUNZHAN_DEMO_HISTORY_DAYS", "0")
    await load_demo(app.state.settings)
    assert await Event.count() == 0


async def test_demo_logins_of_api_md_work(app, client):
    await load_demo(app.state.settings)
    keeper_1 = await login(client, "13800000001", "demo1234")
    keeper_2 = await login(client, "13800000002", "demo1234")
    staff = await login(client, "13900000001", "demo1234")
    assert keeper_1["user"]["role"] == "keeper"
    assert keeper_2["user"]["role"] == "keeper"
    assert keeper_1["user"]["station_id"] != keeper_2["user"]["station_id"]
    assert staff["user"]["role"] == "county_staff"
    assert staff["user"]["county_id"] == keeper_1["user"]["county_id"]


async def test_demo_history_is_realistic_and_keepers_1_and_2_have_not_checked_in(
    app, client, monkeypatch
):
    from backend.ledger import integrity
    from backend.ledger.tables import Event

    monkeypatch.setenv("CUNZHAN_DEMO_HISTORY_DAYS", "14")
    await load_demo(app.state.settings)
    assert (await integrity.verify())["broken"] == []
    received = await Event.count().where(Event.type == "parcel.received")
    dispatched = await Event.count().where(Event.type == "parcel.dispatched")
    assert received > dispatched > 0, "more parcels come in than go out"
    for kind in ("purchase.ordered", "purchase.delivered", "sale.recorded", "service.recorded",
                 "checkin.recorded", "parcel.picked_up"):  # fmt: skip
        assert await Event.count().where(Event.type == kind) > 0, kind
    keepers = {}
    for phone in ("13800000001", "13800000002", "13800000003", "13800000004"):
        answer = await login(client, phone, "demo1234")
        summary = await client.get(
            f"/api/v1/stations/{answer['user']['station_id']}/summary",
            headers={"authorization": f"Bearer {answer['token']}"},
        )
        keepers[phone] = summary.json()
    assert keepers["13800000001"]["checked_in_this_week"] is False
    assert keepers["13800000002"]["checked_in_this_week"] is False
    assert keepers["13800000003"]["checked_in_this_week"] is True
    assert keepers["13800000004"]["checked_in_this_week"] is True
    assert keepers["13800000003"]["parcels_on_shelf"] > 0


async def test_demo_county_keeps_its_programme_records(app, client, monkeypatch):
    """What an officer shows the inspector is there on the first login: targets judged in the
    kpis, the programme's start at the history's first day, training 人次 with poor trainees,
    trace batches with their public pages."""
    import datetime
    import zoneinfo

    monkeypatch.setenv("CUNZHAN_DEMO_HISTORY_DAYS", "14")
    await load_demo(app.state.settings)
    staff = await login(client, "13900000001", "demo1234")
    headers = {"authorization": f"Bearer {staff['token']}"}
    county = f"/api/v1/counties/{staff['user']['county_id']}"
    today = datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai")).date()
    programme = (await client.get(f"{county}/targets", headers=headers)).json()
    assert programme["programme_start"] == (today - datetime.timedelta(days=14)).isoformat()
    month = today.strftime("%Y-%m")
    kpis = (await client.get(f"{county}/kpis", params={"month": month}, headers=headers)).json()
    judged = {target["name"] for target in kpis["targets"]}
    # The ledger began with the history: the year to date compares with the county's 基数 of the
    # year before for the same days (growth shown, not "—").
    year_to_date = kpis["year_to_date"]
    assert year_to_date["last_year_source"]["upward_sales_fen"] == "baseline"
    assert year_to_date["growth_pct"]["upward_sales_fen"] is not None
    assert {"stations_village", "upward_sales_growth_pct", "poor_households_served",
            "poor_village_sales_growth_pct", "training_people", "training_conversion_pct",
            "courier_township_reach_pct"} <= judged  # fmt: skip
    year = await client.get(f"{county}/trainings", params={"year": today.year}, headers=headers)
    totals = year.json()["totals"]
    assert totals["sessions"] == len(year.json()["sessions"])
    if totals["sessions"]:  # in early January the demo's sessions are last year's
        assert 0 < totals["poor_trainee_visits"] < totals["trainee_visits"]
    if (today - datetime.timedelta(days=42)).year == today.year:  # the keepers' session
        keepers = year.json()["keepers"]  # three in four of the 40 keepers came
        assert len(keepers["trained"]) == 30 and keepers["open_untrained"] == 10
    batches = (await client.get(f"{county}/trace-batches", headers=headers)).json()
    assert len(batches) == 4
    # Every open station's file is filled in; a few stations are short of the standard.
    standards = (await client.get(f"{county}/station-standards", headers=headers)).json()
    assert standards["files_saved"] == standards["stations"] > 0
    assert 0 < standards["equipped"] < standards["stations"]
    assert "stations_equipped_pct" in judged
    # The produce the keepers sell is in the catalogue, its sales counted per product.
    sales = (await client.get(f"{county}/product-sales", headers=headers)).json()
    sold = [row for row in sales["products"] if row["product_id"] and row["sales"]]
    assert sold and all(row["category"] == "farm" for row in sold)
    assert not [row for row in sales["texts"] if row["product_id"] is None]
    public = await client.get("/" + batches[0]["url"].split("/", 3)[3])
    assert public.status_code == 200 and batches[0]["product"] in public.text


async def test_demo_hub_worker_and_its_legs(app, client, monkeypatch):
    """The hub's worker (13900000002) hands the week's parcels of 12 stations over each morning;
    4 parcels handed over 52–90 h ago are still not received: the hub page's 超时未到 lists them."""
    import datetime
    import zoneinfo

    monkeypatch.setenv("CUNZHAN_DEMO_HISTORY_DAYS", "14")
    await load_demo(app.state.settings)
    hub = await login(client, "13900000002", "demo1234")
    assert hub["user"]["role"] == "hub" and hub["user"]["station_id"] is None
    staff = await login(client, "13900000001", "demo1234")
    headers = {"authorization": f"Bearer {staff['token']}"}
    county = f"/api/v1/counties/{staff['user']['county_id']}"
    today = datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai")).date()
    last_month = (today.replace(day=1) - datetime.timedelta(days=1)).strftime("%Y-%m")
    totals = {"legs": 0, "within_48h": 0, "late_open": 0, "pending": 0}
    late_hours = []
    for month in (last_month, today.strftime("%Y-%m")):
        answer = await client.get(f"{county}/delivery", params={"month": month}, headers=headers)
        for name in totals:
            totals[name] += answer.json()["totals"][name]
        late_hours += [round(leg["hours_open"]) for leg in answer.json()["late_open_legs"]]
    assert sorted(late_hours) == [52, 55, 70, 90]
    assert totals["late_open"] == 4 and totals["pending"] == 3
    assert totals["within_48h"] > 20, totals  # the week's received parcels of 12 stations
    page = await client.get(
        "/county/hub",
        headers={"accept": "text/html", "authorization": f"Bearer {hub['token']}"},
    )
    assert page.status_code == 200
    late = page.text.split('id="late"', 1)[1]
    assert late.count("<tr data-tracking-no=") == 4
    assert "90.0 小时" in late and "QS006" in late


async def test_demo_township_officer_sees_cheng_guan(app, client, monkeypatch):
    """The demo's officer (13900000003) serves 城关镇: its page and its overview, nothing else."""
    monkeypatch.setenv("CUNZHAN_DEMO_HISTORY_DAYS", "7")
    await load_demo(app.state.settings)
    officer = await login(client, "13900000003", "demo1234")
    assert officer["user"]["role"] == "township" and officer["user"]["township_id"]
    headers = {"authorization": f"Bearer {officer['token']}"}
    overview = await client.get(
        f"/api/v1/townships/{officer['user']['township_id']}/overview", headers=headers
    )
    assert overview.status_code == 200 and overview.json()["name"] == "城关镇"
    assert overview.json()["stations"], "城关镇 has stations"
    page = await client.get("/county/township", headers={"accept": "text/html", **headers})
    assert page.status_code == 200 and "城关镇" in page.text
    county = await client.get("/county/", headers={"accept": "text/html", **headers})
    assert county.status_code == 403
