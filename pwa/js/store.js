// Local state in IndexedDB: the outbox (written first, before anything else happens), the
// station's confirmed events and their projection (shelf, open purchases: projector.js). The
// screens render from here (local-view.js), so they look the same online and offline.
//
// Databases: "cunzhan" (meta: device id, user, language, CSRF token for background sync) and
// one "cunzhan-station-<id>" per station, so a second keeper logging in on this phone never
// mixes with (or drops) another station's unsent entries. Nothing here deletes user data except
// an outbox entry the server acknowledged, or a rejected one the keeper chose to discard.

import { openDatabase, request, run } from "./idb.js";
import { applyConfirmed } from "./projector.js";
import { dayInZone, localIso, uuid4 } from "./util.js";

export const bus = new EventTarget();

export function emit(type, detail) {
  bus.dispatchEvent(new CustomEvent(type, { detail }));
}

export const STORES = ["outbox", "events", "parcels", "purchases", "kv"];
const DEFAULT_TIMEZONE = "Asia/Shanghai";

let metaDb = null;
// The open station's database; other modules ask openStationDb() each time (the page hands its
// exports to modules loaded later once, so a variable's later values would not reach them).
let stationDb = null;
let openStationId = null;
let timezone = DEFAULT_TIMEZONE;
let counter = 0;

// Meta ----------------------------------------------------------------------------------------

let metaOpening = null;

/** Opens the "cunzhan" database on first use: the login screen draws before it (creating it costs
 * a slow phone a good part of a second of main thread). */
function openMeta() {
  if (!metaOpening) {
    metaOpening = openDatabase("cunzhan", 1, (db, oldVersion) => {
      if (oldVersion < 1) db.createObjectStore("meta");
    }).then((db) => {
      metaDb = db;
    });
  }
  return metaOpening;
}

export async function getMeta(key) {
  await openMeta();
  return run(metaDb, ["meta"], "readonly", (tx) => request(tx.objectStore("meta").get(key)));
}

export async function setMeta(key, value) {
  await openMeta();
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

/** The station database opened last (null before a keeper's station is open). */
export function openStationDb() {
  return stationDb;
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

/** How many entries wait for upload, and how many need the keeper (rejected or in conflict). */
/** Entries waiting to be sent or needing the keeper; `month` ("YYYY-MM") also counts those of
 * that month (county-local day) still unsent, which must reach the county before it is submitted. */
export async function outboxCounts(month = null) {
  const all = await run(stationDb, ["outbox"], "readonly", (tx) => request(tx.objectStore("outbox").getAll()));
  let pending = 0;
  let problems = 0;
  let pendingInMonth = 0;
  for (const entry of all) {
    if (entry.status === "pending") {
      pending += 1;
      if (month && (entry.local_date || "").slice(0, 7) === month) pendingInMonth += 1;
    } else if (entry.status === "rejected" || entry.status === "conflict") problems += 1;
  }
  return { pending, problems, pendingInMonth };
}

/** Whether a reversal of this entry waits in the outbox (so it is not offered twice). */
export async function hasPendingReversal(id) {
  const all = await run(stationDb, ["outbox"], "readonly", (tx) => request(tx.objectStore("outbox").getAll()));
  return all.some((e) => e.type === "entry.reversed" && e.data.target_id === id && e.status !== "rejected" && e.status !== "conflict");
}
