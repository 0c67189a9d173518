// What the screens show, read from the station's database: the confirmed state with the entries
// not yet acknowledged laid over it, a day's ledger, one entry, what the phone knows of a number.

import { request, run } from "./idb.js";
import { countInCashbook, parcelCharges } from "./projector.js";
import { emit, kvGet, openStationDb, STORES, today } from "./store.js";
import { weekStart } from "./util.js";

const DEFAULT_RULE = { free_days: 3, daily_fee_fen: 0, fee_cap_fen: 0, return_days: 7 };

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
  return run(openStationDb(), STORES, "readonly", async (tx) => {
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
      } else if (entry.type === "parcel.moved") {
        const moved = shelf.get(data.parcel_id);
        if (moved) shelf.set(moved.id, Object.assign({}, moved, { pickup_code: data.pickup_code, relabel: "" }));
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
    for (const event of await request(events.index("day").getAll(day))) {
      if (event.reversed_by || reversedPending.has(event.id)) continue;
      countInCashbook(lines, event.type, event.data);
    }
    for (const entry of live) {
      if (entry.local_date !== day || reversedPending.has(entry.id)) continue;
      countInCashbook(lines, entry.type, entry.data);
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

// Days that need no till count of their own: a check-in, a correction or a training is not business.
const NOT_BUSINESS = ["checkin.recorded", "entry.reversed", "cash.counted", "training.attended"];

/**
 * A month at a glance before the keeper submits it (works offline): the days with business in
 * the station's ledger on this phone, and which of them had their till counted (日结).
 */
export async function monthDays(month) {
  return run(openStationDb(), ["events", "outbox"], "readonly", async (tx) => {
    const business = new Set();
    const counted = new Set();
    const note = (day, type) => {
      if (!day || day.slice(0, 7) !== month) return;
      if (type === "cash.counted") counted.add(day);
      else if (!NOT_BUSINESS.includes(type)) business.add(day);
    };
    const range = IDBKeyRange.bound(`${month}-01`, `${month}-31`);
    for (const event of await request(tx.objectStore("events").index("day").getAll(range))) {
      if (!event.reversed_by) note(event.business_date, event.type);
    }
    for (const entry of await request(tx.objectStore("outbox").getAll())) {
      if (entry.status !== "rejected" && entry.status !== "conflict") note(entry.local_date, entry.type);
    }
    const days = Array.from(business).sort();
    return { days: days.length, counted: days.filter((d) => counted.has(d)).length, uncounted: days.filter((d) => !counted.has(d)) };
  });
}

/** The ledger of one day: confirmed events and this phone's entries, newest first. */
export async function dayEntries(day) {
  return run(openStationDb(), ["events", "outbox"], "readonly", async (tx) => {
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
  return run(openStationDb(), ["events", "outbox"], "readonly", async (tx) => {
    const mine = await request(tx.objectStore("outbox").get(id));
    if (mine && (mine.status === "rejected" || mine.status === "conflict")) return mine;
    const confirmed = await request(tx.objectStore("events").get(id));
    if (confirmed) return Object.assign({ status: "synced" }, confirmed);
    return mine || null;
  });
}

/**
 * What this phone knows of a tracking number (and package) before a new entry is saved: its
 * parcels in any state and its dispatches not reversed, confirmed or still in the outbox.
 */
export async function trackingHistory(trackingNo, pkg) {
  return run(openStationDb(), STORES, "readonly", async (tx) => {
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
  return run(openStationDb(), STORES, "readonly", async (tx) => {
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
  await run(openStationDb(), ["parcels"], "readwrite", async (tx) => {
    const parcels = tx.objectStore("parcels");
    const parcel = await request(parcels.get(parcelId));
    if (parcel) {
      parcel.relabel = "";
      await request(parcels.put(parcel));
    }
  });
  emit("change");
}
