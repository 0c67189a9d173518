// The ledger's rules on the phone, mirroring the server's (backend/ledger/projector.py, and
// service.py for the till and storage fees; tests/browser/test_ledger_parity.py runs both on the
// same generated cases): the projection of confirmed events into the shelf (parcels) and the open
// purchases, the pickup code the phone proposes offline, the cashbook's kinds and the till's
// expected cash, and storage fees. The server has decided already (pickup codes, what was
// refused), so the projection refuses nothing.

import { request } from "./idb.js";
import { daysBetween } from "./util.js";

/** Apply one confirmed event (pulled, or this phone's own acknowledged) inside `tx`. */
export async function applyConfirmed(tx, event) {
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
    case "parcel.moved": {
      // Put on another slot (issue 12): the parcel carries the new code from now on.
      const parcel = await request(parcels.get(data.parcel_id));
      if (parcel && parcel.state === "on_shelf") {
        parcel.pickup_code = data.pickup_code;
        parcel.relabel = "";
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

// The cashbook, storage fees and pickup codes --------------------------------------------------

// What is no business of the cashbook: a reversal (it undoes its target's line instead), a parcel
// moved between slots, a till count (shown beside the takings, not among them) and a training
// session held at the station: projector.py UNCOUNTED and NOT_IN_CASHBOOK.
const NOT_IN_CASHBOOK = ["entry.reversed", "parcel.moved", "cash.counted", "training.attended"];

/** Count an entry into a day's cashbook lines ({kind: {kind, count, amount_fen, fee_fen}}). */
export function countInCashbook(lines, type, data) {
  if (NOT_IN_CASHBOOK.indexOf(type) >= 0) return;
  const kind = cashbookKind(type, data);
  const line = lines[kind] || (lines[kind] = { kind, count: 0, amount_fen: 0, fee_fen: 0 });
  const [amount, fee] = cashbookAmounts(data);
  line.count += 1;
  line.amount_fen += amount;
  line.fee_fen += fee;
}

/** The cashbook line an entry counts in: its type, a service by its service (cashbook_kind). */
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
    if (row.reversed || row.reversal_pending) continue;
    if (row.status === "rejected" || row.status === "conflict") continue;
    if (row.type === "cash.counted") {
      // The latest count of the day replaces earlier ones.
      if (row.occurred_at >= countedAt) {
        counted = row.data.counted_fen;
        countedAt = row.occurred_at;
      }
      continue;
    }
    countInCashbook(lines, row.type, row.data);
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

/** A cashbook line's amount and fee from event data: the fee, else the commission (cashbook_amounts). */
export function cashbookAmounts(data) {
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

