// Local state in IndexedDB: the outbox (written first, before anything else happens), the
// station's confirmed events and their projection (shelf, open purchases). The screens render
// from here, so they look the same online and offline.
//
// Databases: "cunzhan" (meta: device id, user, language, CSRF token for background sync) and
// one "cunzhan-station-<id>" per station, so a second keeper logging in on this phone never
// mixes with (or drops) another station's unsent entries. Nothing here deletes user data except
// an outbox entry the server acknowledged, or a rejected one the keeper chose to discard.

import { openDatabase, request, run } from "./idb.js";
import { dayInZone, daysBetween, localIso, uuid4, weekStart } from "./util.js";

export const bus = new EventTarget();

export function emit(type, detail) {
  bus.dispatchEvent(new CustomEvent(type, { detail }));
}

const STORES = ["outbox", "events", "parcels", "purchases", "kv"];
const DEFAULT_TIMEZONE = "Asia/Shanghai";
const DEFAULT_RULE = { free_days: 3, daily_fee_fen: 0, fee_cap_fen: 0, return_days: 7 };

let metaDb = null;
let stationDb = null;
let openStationId = null;
let timezone = DEFAULT_TIMEZONE;
let counter = 0;

// Meta ----------------------------------------------------------------------------------------

export async function openMeta() {
  if (metaDb) return;
  metaDb = await openDatabase("cunzhan", 1, (db, oldVersion) => {
    if (oldVersion < 1) db.createObjectStore("meta");
  });
}

export function getMeta(key) {
  return run(metaDb, ["meta"], "readonly", (tx) => request(tx.objectStore("meta").get(key)));
}

export function setMeta(key, value) {
  return run(metaDb, ["meta"], "readwrite", (tx) =>
    request(tx.objectStore("meta").put(value, key))
  );
}

export async function deviceId() {
  let id = await getMeta("device_id");
  if (!id) {
    id = uuid4();
    await setMeta("device_id", id);
  }
  return id;
}

// Station database ----------------------------------------------------------------------------

export function stationDbName(stationId) {
  return `cunzhan-station-${stationId}`;
}

export async function openStation(stationId) {
  if (stationDb && openStationId === stationId) return;
  if (stationDb) stationDb.close();
  stationDb = await openDatabase(stationDbName(stationId), 1, (db, oldVersion) => {
    if (oldVersion < 1) {
      db.createObjectStore("outbox", { keyPath: "id" }).createIndex("n", "n");
      const events = db.createObjectStore("events", { keyPath: "id" });
      events.createIndex("day", "business_date");
      events.createIndex("type", "type");
      const parcels = db.createObjectStore("parcels", { keyPath: "id" });
      parcels.createIndex("state", "state");
      parcels.createIndex("tracking_no", "tracking_no");
      db.createObjectStore("purchases", { keyPath: "id" }).createIndex("state", "state");
      db.createObjectStore("kv");
    }
  });
  openStationId = stationId;
  const summary = await kvGet("summary");
  timezone = (summary && summary.timezone) || DEFAULT_TIMEZONE;
}

export function isStationOpen() {
  return Boolean(stationDb);
}

export function kvGet(key) {
  return run(stationDb, ["kv"], "readonly", (tx) => request(tx.objectStore("kv").get(key)));
}

export function kvSet(key, value) {
  if (key === "summary" && value && value.timezone) timezone = value.timezone;
  return run(stationDb, ["kv"], "readwrite", (tx) => request(tx.objectStore("kv").put(value, key)));
}

export function countyTimezone() {
  return timezone;
}

export function today() {
  return dayInZone(new Date(), timezone);
}

// The outbox ----------------------------------------------------------------------------------

/** Save an entry: the outbox write (with its UUID) commits before anything else happens. */
export async function record(type, data, options = {}) {
  const occurredAt = options.occurred_at || localIso();
  const entry = {
    id: options.id || uuid4(),
    n: Date.now() * 1000 + (counter++ % 1000),
    type,
    occurred_at: occurredAt,
    data,
    status: "pending",
    error: null,
    local_date: dayInZone(new Date(occurredAt), timezone),
    created_at: Date.now(),
  };
  await run(stationDb, ["outbox"], "readwrite", (tx) =>
    request(tx.objectStore("outbox").add(entry))
  );
  emit("recorded", entry);
  emit("change");
  return entry;
}

/** A rejected entry fixed by the keeper: same id, new content (the server never stored it). */
export async function resubmit(id, data) {
  const entry = await run(stationDb, ["outbox"], "readwrite", async (tx) => {
    const store = tx.objectStore("outbox");
    const found = await request(store.get(id));
    if (!found || found.status !== "rejected") return null;
    Object.assign(found, { data, status: "pending", error: null });
    await request(store.put(found));
    return found;
  });
  emit("recorded", entry);
  emit("change");
  return entry;
}

/** Remove a rejected or conflicting entry the keeper chose to give up. */
export async function discard(id) {
  await run(stationDb, ["outbox"], "readwrite", async (tx) => {
    const store = tx.objectStore("outbox");
    const found = await request(store.get(id));
    if (found && (found.status === "rejected" || found.status === "conflict")) {
      await request(store.delete(id));
    }
  });
  emit("change");
}

/** The oldest pending entries, at most `maxEvents` and about `maxBytes` of JSON. */
export async function pendingBatch(maxEvents, maxBytes) {
  const all = await run(stationDb, ["outbox"], "readonly", (tx) =>
    request(tx.objectStore("outbox").index("n").getAll())
  );
  const batch = [];
  let bytes = 200;
  for (const entry of all) {
    if (entry.status !== "pending") continue;
    const event = { id: entry.id, type: entry.type, occurred_at: entry.occurred_at, data: entry.data };
    const size = JSON.stringify(event).length * 3 + 2; // UTF-8 worst case, never over the limit
    if (batch.length >= maxEvents || (batch.length && bytes + size > maxBytes)) break;
    batch.push(event);
    bytes += size;
  }
  return batch;
}

/** Apply the server's answers to a push; only accepted/duplicate leave the outbox. */
export async function applyPushResults(results) {
  const changedCodes = [];
  await run(stationDb, STORES, "readwrite", async (tx) => {
    const outbox = tx.objectStore("outbox");
    for (const result of results) {
      if (!result.id) continue;
      const entry = await request(outbox.get(result.id));
      if (!entry) continue;
      if (result.status === "accepted" || result.status === "duplicate") {
        await confirmEntry(tx, entry, result);
        if (result.pickup_code_changed && entry.type === "parcel.received") {
          changedCodes.push({ tracking_no: entry.data.tracking_no, pickup_code: result.pickup_code });
        }
      } else if (result.status === "rejected" || result.status === "conflict") {
        entry.status = result.status;
        entry.error = result.error || null;
        await request(outbox.put(entry));
      }
    }
  });
  emit("change");
  return { changedCodes };
}

/** Entries the service worker pushed in the background (it marks them "acked"). */
export async function finalizeAcked() {
  let moved = 0;
  await run(stationDb, STORES, "readwrite", async (tx) => {
    const all = await request(tx.objectStore("outbox").getAll());
    for (const entry of all) {
      if (entry.status !== "acked") continue;
      await confirmEntry(tx, entry, entry.result || {});
      moved += 1;
    }
  });
  if (moved) emit("change");
  return moved;
}

async function confirmEntry(tx, entry, result) {
  await request(tx.objectStore("outbox").delete(entry.id));
  await applyConfirmed(tx, {
    id: entry.id,
    seq: result.seq || null,
    type: entry.type,
    occurred_at: entry.occurred_at,
    business_date: entry.local_date,
    data: entry.data,
    server: result.pickup_code ? { pickup_code: result.pickup_code } : {},
    reversed_by: null,
    mine: true,
  });
}

/** A page of the station's events from the server, with the cursor after it, in one commit. */
export async function applyPulled(events, cursor) {
  await run(stationDb, STORES, "readwrite", async (tx) => {
    for (const event of events) {
      await applyConfirmed(tx, {
        id: event.id,
        seq: event.seq,
        type: event.type,
        occurred_at: event.occurred_at,
        business_date: event.business_date,
        data: event.data,
        server: event.server || {},
        reversed_by: event.reversed_by || null,
        mine: false,
      });
    }
    await request(tx.objectStore("kv").put(cursor, "cursor"));
  });
  if (events.length) emit("change");
}

// The projection of confirmed events (mirrors backend/ledger/projector.py) -------------------

async function applyConfirmed(tx, event) {
  const events = tx.objectStore("events");
  const existing = await request(events.get(event.id));
  if (existing) {
    // Applied before (our own entry, acknowledged): take the server's facts, keep our data
    // (the server's copy has the phone numbers masked).
    const server = Object.assign({}, existing.server, event.server);
    const merged = Object.assign({}, existing, {
      seq: event.seq || existing.seq,
      business_date: event.business_date || existing.business_date,
      server,
      reversed_by: event.reversed_by || existing.reversed_by || null,
    });
    await request(events.put(merged));
    if (existing.type === "parcel.received") {
      const parcels = tx.objectStore("parcels");
      const parcel = await request(parcels.get(existing.id));
      if (parcel) {
        if (server.pickup_code && parcel.state === "on_shelf") {
          // The server gave another code (another phone took this one offline): the label
          // already written on the parcel is wrong until the keeper rewrites it.
          if (parcel.pickup_code && parcel.pickup_code !== server.pickup_code && !parcel.relabel) parcel.relabel = parcel.pickup_code;
          parcel.pickup_code = server.pickup_code;
        }
        parcel.received_date = merged.business_date;
        await request(parcels.put(parcel));
      }
    }
    return;
  }
  await request(events.put(event));
  await project(tx, event);
}

async function parcelOnShelf(tx, trackingNo, pkg) {
  const rows = await request(tx.objectStore("parcels").index("tracking_no").getAll(trackingNo));
  return rows.find((p) => p.state === "on_shelf" && (p.package || "") === (pkg || "")) || null;
}

async function project(tx, event) {
  const parcels = tx.objectStore("parcels");
  const purchases = tx.objectStore("purchases");
  const data = event.data || {};
  const server = event.server || {};
  switch (event.type) {
    case "parcel.received":
      await request(
        parcels.put({
          id: event.id,
          tracking_no: data.tracking_no,
          package: data.package || "",
          carrier: data.carrier,
          recipient_phone: data.recipient_phone || "",
          recipient_name: data.recipient_name || "",
          pickup_code: server.pickup_code || data.pickup_code || "",
          proposed_code: data.pickup_code || "",
          // Written on the parcel with the phone's proposal, then changed by the server.
          relabel: server.pickup_code && data.pickup_code && server.pickup_code !== data.pickup_code ? data.pickup_code : "",
          state: "on_shelf",
          received_at: event.occurred_at,
          received_date: event.business_date,
          closed_by: null,
          closed_at: null,
          fee_fen: 0,
        })
      );
      break;
    case "parcel.picked_up":
    case "parcel.returned": {
      const parcel = await parcelOnShelf(tx, data.tracking_no, data.package);
      if (parcel) {
        parcel.state = event.type === "parcel.picked_up" ? "picked_up" : "returned";
        parcel.closed_by = event.id;
        parcel.closed_at = event.occurred_at;
        parcel.fee_fen = data.fee_fen || 0;
        await request(parcels.put(parcel));
      }
      break;
    }
    case "purchase.ordered":
      await request(
        purchases.put({
          id: event.id,
          platform: data.platform,
          item: data.item,
          amount_fen: data.amount_fen,
          commission_fen: data.commission_fen,
          customer_phone: data.customer_phone || "",
          state: "ordered",
          ordered_at: event.occurred_at,
          delivered_by: null,
        })
      );
      break;
    case "purchase.delivered": {
      const purchase = await request(purchases.get(data.purchase_id));
      if (purchase) {
        purchase.state = "delivered";
        purchase.delivered_by = event.id;
        await request(purchases.put(purchase));
      }
      break;
    }
    case "entry.reversed": {
      const events = tx.objectStore("events");
      const target = await request(events.get(data.target_id));
      if (!target) break;
      target.reversed_by = event.id;
      await request(events.put(target));
      await undo(tx, target, server);
      break;
    }
    default:
      break;
  }
}

async function undo(tx, target, server) {
  const parcels = tx.objectStore("parcels");
  const purchases = tx.objectStore("purchases");
  if (target.type === "parcel.received") {
    const parcel = await request(parcels.get(target.id));
    if (parcel) {
      parcel.state = "reversed";
      await request(parcels.put(parcel));
    }
  } else if (target.type === "parcel.picked_up" || target.type === "parcel.returned") {
    const rows = await request(parcels.index("tracking_no").getAll(target.data.tracking_no));
    const parcel = rows.find((p) => p.closed_by === target.id);
    if (parcel) {
      Object.assign(parcel, {
        state: "on_shelf",
        closed_by: null,
        closed_at: null,
        fee_fen: 0,
        pickup_code: server.pickup_code || parcel.pickup_code,
      });
      await request(parcels.put(parcel));
    }
  } else if (target.type === "purchase.ordered") {
    const purchase = await request(purchases.get(target.id));
    if (purchase) {
      purchase.state = "reversed";
      await request(purchases.put(purchase));
    }
  } else if (target.type === "purchase.delivered") {
    const purchase = await request(purchases.get(target.data.purchase_id));
    if (purchase) {
      purchase.state = "ordered";
      purchase.delivered_by = null;
      await request(purchases.put(purchase));
    }
  }
}

// Views ---------------------------------------------------------------------------------------

export function cashbookKind(type, data) {
  if (type === "service.recorded") return `service_${data.service}`;
  return type.replace(".", "_");
}

/**
 * What the till should hold by a day's cashbook lines ({kind, amount_fen, fee_fen}): the README's
 * "expected", the same rule as backend/ledger/service.py `expected_cash`.
 */
export function expectedCash(lines) {
  let total = 0;
  for (const line of lines) {
    const kind = line.kind;
    if (kind === "service_cash_withdrawal") total += line.fee_fen - line.amount_fen;
    else if (kind.indexOf("service_") === 0) total += line.amount_fen + line.fee_fen;
    else if (kind === "parcel_dispatched" || kind === "parcel_picked_up") total += line.fee_fen;
    else if (kind === "purchase_ordered") total += line.amount_fen;
    else if (kind === "sale_recorded") total -= line.amount_fen - line.fee_fen;
  }
  return total;
}

/** A day's totals from its entries (dayEntries): lines per kind, takings, the till and its count. */
export function dayTotals(rows) {
  const lines = {};
  let counted = null;
  let countedAt = "";
  for (const row of rows) {
    if (row.reversed || row.reversal_pending || row.type === "entry.reversed") continue;
    if (row.status === "rejected" || row.status === "conflict") continue;
    if (row.type === "cash.counted") {
      // The latest count of the day replaces earlier ones.
      if (row.occurred_at >= countedAt) {
        counted = row.data.counted_fen;
        countedAt = row.occurred_at;
      }
      continue;
    }
    const kind = cashbookKind(row.type, row.data);
    const line = lines[kind] || (lines[kind] = { kind, count: 0, amount_fen: 0, fee_fen: 0 });
    const [amount, fee] = amounts(row.data);
    line.count += 1;
    line.amount_fen += amount;
    line.fee_fen += fee;
  }
  const list = Object.keys(lines).map((k) => lines[k]);
  const expected = expectedCash(list);
  return {
    lines: list,
    total_amount_fen: list.reduce((n, l) => n + l.amount_fen, 0),
    total_fee_fen: list.reduce((n, l) => n + l.fee_fen, 0),
    cash: { expected_fen: expected, counted_fen: counted, difference_fen: counted === null ? null : counted - expected },
  };
}

function amounts(data) {
  const amount = data.amount_fen || 0;
  const fee = data.fee_fen !== undefined ? data.fee_fen : data.commission_fen || 0;
  return [amount, fee];
}

/** Days on the shelf, storage fee due and overdue, by the county's rule (service.parcel_charges). */
export function parcelCharges(rule, receivedDate, day) {
  const days = Math.max(0, daysBetween(receivedDate, day));
  const chargeable = Math.max(0, days - rule.free_days);
  const fee = Math.min(chargeable * rule.daily_fee_fen, rule.fee_cap_fen);
  return { days, fee_fen: fee, overdue: days >= rule.return_days };
}

function toParcel(entry) {
  const data = entry.data;
  return {
    id: entry.id,
    tracking_no: data.tracking_no,
    package: data.package || "",
    carrier: data.carrier,
    recipient_phone: data.recipient_phone,
    recipient_name: data.recipient_name || "",
    pickup_code: data.pickup_code || "",
    proposed_code: data.pickup_code || "",
    state: "on_shelf",
    received_at: entry.occurred_at,
    received_date: entry.local_date,
    pending: true,
  };
}

/**
 * What the home, pickup and record screens show: confirmed state with the entries not yet
 * acknowledged laid over it (rejected and conflicting ones are listed, not counted).
 */
export async function localView() {
  const day = today();
  const summary = (await kvGet("summary")) || null;
  const rule = (summary && summary.parcel_rule) || DEFAULT_RULE;
  return run(stationDb, STORES, "readonly", async (tx) => {
    const events = tx.objectStore("events");
    const parcels = tx.objectStore("parcels");
    const outbox = await request(tx.objectStore("outbox").index("n").getAll());
    const live = [];
    const problems = [];
    let pending = 0;
    for (const entry of outbox) {
      if (entry.status === "rejected" || entry.status === "conflict") {
        problems.push(entry);
        continue;
      }
      if (entry.status === "pending") pending += 1; // until the server acknowledges it
      if (await request(events.getKey(entry.id))) continue; // pulled already: counted once
      live.push(entry);
    }
    const shelf = new Map();
    for (const p of await request(parcels.index("state").getAll("on_shelf"))) shelf.set(p.id, p);
    const purchases = new Map();
    for (const p of await request(tx.objectStore("purchases").index("state").getAll("ordered"))) {
      purchases.set(p.id, p);
    }
    const reversedPending = new Set();
    const removedBy = new Map();
    for (const entry of live) {
      const data = entry.data;
      if (entry.type === "parcel.received") shelf.set(entry.id, toParcel(entry));
      else if (entry.type === "parcel.picked_up" || entry.type === "parcel.returned") {
        for (const [id, parcel] of shelf) {
          if (parcel.tracking_no === data.tracking_no && (parcel.package || "") === (data.package || "")) {
            shelf.delete(id);
            removedBy.set(entry.id, parcel);
          }
        }
      } else if (entry.type === "purchase.ordered") {
        purchases.set(entry.id, Object.assign({ id: entry.id, state: "ordered", ordered_at: entry.occurred_at, pending: true }, data));
      } else if (entry.type === "purchase.delivered") {
        purchases.delete(data.purchase_id);
      } else if (entry.type === "entry.reversed") {
        const target = data.target_id;
        reversedPending.add(target);
        shelf.delete(target);
        purchases.delete(target);
        if (removedBy.has(target)) {
          const parcel = removedBy.get(target);
          shelf.set(parcel.id, parcel);
        } else {
          const confirmed = await request(events.get(target));
          if (confirmed && (confirmed.type === "parcel.picked_up" || confirmed.type === "parcel.returned")) {
            const rows = await request(parcels.index("tracking_no").getAll(confirmed.data.tracking_no));
            const parcel = rows.find((p) => p.closed_by === target);
            if (parcel) shelf.set(parcel.id, Object.assign({}, parcel, { state: "on_shelf" }));
          }
        }
      }
    }
    const lines = {};
    const add = (type, data) => {
      if (type === "cash.counted") return; // a till count is not takings
      const kind = cashbookKind(type, data);
      const line = lines[kind] || (lines[kind] = { kind, count: 0, amount_fen: 0, fee_fen: 0 });
      const [amount, fee] = amounts(data);
      line.count += 1;
      line.amount_fen += amount;
      line.fee_fen += fee;
    };
    for (const event of await request(events.index("day").getAll(day))) {
      if (event.type === "entry.reversed" || event.reversed_by || reversedPending.has(event.id)) continue;
      add(event.type, event.data);
    }
    for (const entry of live) {
      if (entry.local_date !== day || entry.type === "entry.reversed" || reversedPending.has(entry.id)) continue;
      add(entry.type, entry.data);
    }
    const monday = weekStart(day);
    let checkedIn = false;
    let lastCheckin = null;
    for (const event of await request(events.index("type").getAll("checkin.recorded"))) {
      if (event.reversed_by || reversedPending.has(event.id)) continue;
      if (!lastCheckin || event.occurred_at > lastCheckin) lastCheckin = event.occurred_at;
      if (event.business_date >= monday) checkedIn = true;
    }
    for (const entry of live) {
      if (entry.type === "checkin.recorded" && !reversedPending.has(entry.id)) {
        if (!lastCheckin || entry.occurred_at > lastCheckin) lastCheckin = entry.occurred_at;
        if (entry.local_date >= monday) checkedIn = true;
      }
    }
    const shelfList = Array.from(shelf.values()).map((p) =>
      Object.assign({}, p, parcelCharges(rule, p.received_date, day))
    );
    shelfList.sort((a, b) => (a.received_at < b.received_at ? 1 : -1));
    const kinds = Object.keys(lines)
      .sort()
      .map((k) => lines[k]);
    return {
      today: day,
      summary,
      rule,
      shelf: shelfList,
      relabel: shelfList.filter((p) => p.relabel),
      overdue: shelfList.filter((p) => p.overdue),
      purchases: Array.from(purchases.values()),
      kinds,
      total_amount_fen: kinds.reduce((s, l) => s + l.amount_fen, 0),
      total_fee_fen: kinds.reduce((s, l) => s + l.fee_fen, 0),
      checked_in: checkedIn,
      last_checkin: lastCheckin,
      pending,
      problems,
    };
  });
}

/** The ledger of one day: confirmed events and this phone's entries, newest first. */
export async function dayEntries(day) {
  return run(stationDb, ["events", "outbox"], "readonly", async (tx) => {
    const events = tx.objectStore("events");
    const outbox = await request(tx.objectStore("outbox").getAll());
    const reversedPending = new Set(
      outbox
        .filter((e) => e.type === "entry.reversed" && e.status !== "rejected" && e.status !== "conflict")
        .map((e) => e.data.target_id)
    );
    const rows = [];
    const seen = new Set();
    const conflicts = new Set(outbox.filter((e) => e.status === "conflict").map((e) => e.id));
    for (const event of await request(events.index("day").getAll(day))) {
      seen.add(event.id);
      rows.push({
        id: event.id,
        type: event.type,
        occurred_at: event.occurred_at,
        data: event.data,
        server: event.server || {},
        status: conflicts.has(event.id) ? "conflict" : "synced",
        reversed: Boolean(event.reversed_by),
        reversal_pending: !event.reversed_by && reversedPending.has(event.id),
        error: null,
      });
    }
    for (const entry of outbox) {
      if (entry.local_date !== day || seen.has(entry.id)) continue;
      rows.push({
        id: entry.id,
        type: entry.type,
        occurred_at: entry.occurred_at,
        data: entry.data,
        server: {},
        status: entry.status === "acked" ? "synced" : entry.status,
        reversed: false,
        reversal_pending: reversedPending.has(entry.id),
        error: entry.error,
      });
    }
    rows.sort((a, b) => (a.occurred_at < b.occurred_at ? 1 : a.occurred_at > b.occurred_at ? -1 : 0));
    return rows;
  });
}

/**
 * One entry by id, wherever it is. This phone's copy comes first when the server refused it or
 * holds other content under its id (a conflict: the server's copy may have been pulled too).
 */
export async function getEntry(id) {
  return run(stationDb, ["events", "outbox"], "readonly", async (tx) => {
    const mine = await request(tx.objectStore("outbox").get(id));
    if (mine && (mine.status === "rejected" || mine.status === "conflict")) return mine;
    const confirmed = await request(tx.objectStore("events").get(id));
    if (confirmed) return Object.assign({ status: "synced" }, confirmed);
    return mine || null;
  });
}

/** The pickup code this phone proposes (the server keeps it if still free): projector.py's rule. */
export function proposePickupCode(trackingNo, shelf, station) {
  const shelves = (station && station.shelves) || 6;
  const layers = (station && station.layers) || 4;
  const taken = new Set(shelf.map((p) => p.pickup_code));
  const load = {};
  for (const code of taken) {
    const match = /^(\d{1,2})-(\d{1,2})-/.exec(code);
    if (match) {
      const key = `${Number(match[1])}-${Number(match[2])}`;
      load[key] = (load[key] || 0) + 1;
    }
  }
  const slots = [];
  for (let s = 1; s <= shelves; s++) for (let l = 1; l <= layers; l++) slots.push([s, l]);
  slots.sort((a, b) => (load[`${a[0]}-${a[1]}`] || 0) - (load[`${b[0]}-${b[1]}`] || 0) || a[0] - b[0] || a[1] - b[1]);
  const tail = trackingNo.slice(-4);
  for (const [s, l] of slots) {
    const code = `${s}-${l}-${tail}`;
    if (!taken.has(code)) return code;
  }
  let suffix = 2;
  while (taken.has(`${slots[0][0]}-${slots[0][1]}-${tail}-${suffix}`)) suffix += 1;
  return `${slots[0][0]}-${slots[0][1]}-${tail}-${suffix}`;
}

/** How many entries wait for upload, and how many need the keeper (rejected or in conflict). */
export async function outboxCounts() {
  const all = await run(stationDb, ["outbox"], "readonly", (tx) => request(tx.objectStore("outbox").getAll()));
  let pending = 0;
  let problems = 0;
  for (const entry of all) {
    if (entry.status === "pending") pending += 1;
    else if (entry.status === "rejected" || entry.status === "conflict") problems += 1;
  }
  return { pending, problems };
}

/** Whether a reversal of this entry waits in the outbox (so it is not offered twice). */
export async function hasPendingReversal(id) {
  const all = await run(stationDb, ["outbox"], "readonly", (tx) => request(tx.objectStore("outbox").getAll()));
  return all.some((e) => e.type === "entry.reversed" && e.data.target_id === id && e.status !== "rejected" && e.status !== "conflict");
}

/**
 * What this phone knows of a tracking number (and package) before a new entry is saved: its
 * parcels in any state and its dispatches not reversed, confirmed or still in the outbox.
 */
export async function trackingHistory(trackingNo, pkg) {
  return run(stationDb, STORES, "readonly", async (tx) => {
    const outbox = await request(tx.objectStore("outbox").getAll());
    const reversing = new Set(
      outbox
        .filter((e) => e.type === "entry.reversed" && e.status !== "rejected" && e.status !== "conflict")
        .map((e) => e.data.target_id)
    );
    const parcels = (await request(tx.objectStore("parcels").index("tracking_no").getAll(trackingNo))).filter(
      (p) => (p.package || "") === (pkg || "") && p.state !== "reversed"
    );
    const dispatched = [];
    for (const e of await request(tx.objectStore("events").index("type").getAll("parcel.dispatched"))) {
      if (e.data.tracking_no === trackingNo && !e.reversed_by && !reversing.has(e.id)) dispatched.push(e);
    }
    for (const e of outbox) {
      if (e.type !== "parcel.dispatched" || e.data.tracking_no !== trackingNo || reversing.has(e.id)) continue;
      if (e.status === "pending" || e.status === "acked") dispatched.push(e);
    }
    return { parcels, dispatched };
  });
}

/** Full numbers this phone recorded for a recipient with this name and last four digits. */
export async function knownFullPhones(last4, name) {
  return run(stationDb, STORES, "readonly", async (tx) => {
    const found = new Set();
    const consider = (phone, who) => {
      if (who === name && /^1[3-9]\d{9}$/.test(phone || "") && phone.slice(-4) === last4) found.add(phone);
    };
    for (const p of await request(tx.objectStore("parcels").getAll())) consider(p.recipient_phone, p.recipient_name);
    for (const e of await request(tx.objectStore("outbox").getAll())) {
      if (e.type === "parcel.received") consider(e.data.recipient_phone, e.data.recipient_name);
    }
    return Array.from(found);
  });
}

/** The keeper rewrote the label of a parcel whose pickup code the server changed. */
export async function confirmRelabel(parcelId) {
  await run(stationDb, ["parcels"], "readwrite", async (tx) => {
    const parcels = tx.objectStore("parcels");
    const parcel = await request(parcels.get(parcelId));
    if (parcel) {
      parcel.relabel = "";
      await request(parcels.put(parcel));
    }
  });
  emit("change");
}
