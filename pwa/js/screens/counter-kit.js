// Small pieces the counter's screens share (batch scan-in, hand-over, the stale list, home): the
// shelf as the keeper named it, the server's view of notices, and the day's count per carrier.
// Everything here degrades to the local copy when the phone is offline.

import { api } from "../api.js";
import { addStrings, language, ltr, money, t } from "../i18n.js";
import { dayEntries } from "../local-view.js";
import { kvGet, kvSet } from "../store.js";
import { cell, cells, h, sectionTitle } from "../ui.js";
import { fenToYuanText, parseKg } from "../util.js";

const loadedStrings = new Map();
let styled = null;

/** pwa/counter.css, once: the counter screens' own styles. */
function counterStyles() {
  if (!styled) {
    styled = new Promise((resolve) => {
      const link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = new URL("../../counter.css", import.meta.url).href;
      link.onload = resolve;
      link.onerror = resolve; // unstyled beats stuck
      document.head.appendChild(link);
    });
  }
  return styled;
}

/** The counter screens' own strings (pwa/locales/counter/<lang>.json, cached with them), added
 * to the app's catalog when one of them opens: the first load stays small. */
export async function counterStrings() {
  await counterStyles();
  const lang = language();
  if (!loadedStrings.has(lang)) {
    const response = await fetch(new URL(`../../locales/counter/${lang}.json`, import.meta.url).href);
    loadedStrings.set(lang, await response.json());
  }
  addStrings(loadedStrings.get(lang));
}

/** The station's shelf {shelves, layers, shelf_names, opening_hours}: fetched, else the last copy. */
export async function stationShelf() {
  const user = await import("../main.js").then((m) => m.app.user);
  try {
    const shelf = await api("GET", `/api/v1/stations/${user.station_id}/shelf`, undefined, { timeout: 4000 });
    await kvSet("shelf", shelf);
    return shelf;
  } catch (error) {
    const cached = await kvGet("shelf");
    if (cached) return cached;
    const station = (await kvGet("station")) || {};
    return { shelves: station.shelves || 6, layers: station.layers || 4, shelf_names: [], opening_hours: "" };
  }
}

/** "货架 B · 第 4 层" for the code 2-4-3303 (the keeper's own shelf names when set). */
export function shelfLabel(code, shelf) {
  const match = /^(\d{1,2})-(\d{1,2})-/.exec(code || "");
  if (!match) return "";
  const index = Number(match[1]) - 1;
  const names = (shelf && shelf.shelf_names) || [];
  const name = names[index] || String(index + 1);
  return t("batch.where", { shelf: ltr(name), layer: ltr(match[2]) });
}

/** The server's parcels on the shelf by id (notice state, SMS sent); {} when offline. */
export async function serverParcels(stationId) {
  try {
    const rows = await api("GET", `/api/v1/stations/${stationId}/parcels?state=on_shelf`, undefined, { timeout: 6000 });
    const byId = {};
    for (const row of rows) byId[row.id] = row;
    return byId;
  } catch (error) {
    return null;
  }
}

/** Today's parcels in and handed over, per carrier, from the phone's own ledger (works offline). */
export async function carrierCounts(day) {
  const counts = {};
  let received = 0;
  let handed = 0;
  for (const entry of await dayEntries(day)) {
    if (entry.reversed || entry.reversal_pending || entry.status === "rejected" || entry.status === "conflict") continue;
    if (entry.type === "parcel.received") {
      counts[entry.data.carrier] = (counts[entry.data.carrier] || 0) + 1;
      received += 1;
    } else if (entry.type === "parcel.picked_up") handed += 1;
  }
  return { counts, received, handed };
}

/** The home screen's card: today's parcels in per carrier, with the way to batch scan-in and
 * the stale list. */
export async function counterCard(view) {
  await counterStrings();
  const { counts, received, handed } = await carrierCounts(view.today);
  const carriers = Object.keys(counts).sort((a, b) => counts[b] - counts[a]);
  const stale = view.shelf.filter((p) => isStale(p, view.rule)).length;
  return h(
    "section",
    { class: "counter-card", "data-card": "counter" },
    sectionTitle(t("counter.today", { n: received, handed })),
    carriers.length
      ? h(
          "div",
          { class: "carrier-chips" },
          carriers.map((c) => h("span", { class: "carrier-chip", "data-carrier-count": c }, t(`carrier.${c}`), " ", h("b", null, ltr(counts[c]))))
        )
      : null,
    cells(
      cell({ title: t("batch.title"), detail: t("batch.hint"), href: "#/batch", iconName: "received", attrs: { "data-link": "batch" } }),
      cell({ title: t("handover.title"), detail: t("handover.hint"), href: "#/handover", iconName: "pickup", attrs: { "data-link": "handover" } }),
      cell({
        title: t("stale.title"),
        detail: t("stale.hint"),
        extra: stale ? t("stale.count", { n: stale }) : "",
        href: "#/stale",
        iconName: "warn",
        attrs: { "data-link": "stale" },
      })
    )
  );
}

/** Past the county's free days: storage fees run, the villager gets reminders. */
export function isStale(parcel, rule) {
  return parcel.days > ((rule && rule.free_days) || 3);
}

/** The 代发 price table ({carrier: [[up to grams, fee fen], …]}): fetched, else the last copy. */
async function priceTable() {
  const user = await import("../main.js").then((m) => m.app.user);
  try {
    const answer = await api("GET", `/api/v1/stations/${user.station_id}/prices`, undefined, { timeout: 4000 });
    await kvSet("prices", answer.prices);
    return answer.prices;
  } catch (error) {
    return (await kvGet("prices")) || null;
  }
}

export function suggestedFee(prices, carrier, grams) {
  for (const [upTo, fee] of (prices && prices[carrier]) || []) if (grams <= upTo) return fee;
  return null;
}

/** On the 代发 form: the fee follows the price table for the carrier and weight until the
 * keeper types a fee of their own (which is then left alone). */
export async function suggestDispatchFee(controls) {
  if (!controls.fee_fen || !controls.weight_g || !controls.carrier) return;
  const [prices] = await Promise.all([priceTable(), counterStrings()]);
  if (!prices) return;
  const fieldEl = controls.fee_fen.closest(".field");
  const hint = h("p", { class: "field-hint", "data-fee-suggestion": "" });
  if (fieldEl) fieldEl.insertBefore(hint, fieldEl.querySelector(".field-error"));
  let lastSuggested = "";
  const update = () => {
    const weight = parseKg(controls.weight_g.value);
    const fee = weight.grams ? suggestedFee(prices, controls.carrier.value, weight.grams) : null;
    hint.textContent = fee === null ? "" : t("dispatch.suggested", { fee: money(fee) });
    const typedByKeeper = controls.fee_fen.value && controls.fee_fen.value !== lastSuggested;
    if (fee !== null && !typedByKeeper) {
      lastSuggested = fenToYuanText(fee);
      controls.fee_fen.value = lastSuggested;
    }
  };
  // Typing over the suggestion replaces it: "12,5" typed into "10.00" must not become "10.0012,5".
  controls.fee_fen.addEventListener("focus", () => {
    if (controls.fee_fen.value && controls.fee_fen.value === lastSuggested) controls.fee_fen.select();
  });
  controls.weight_g.addEventListener("input", update);
  controls.carrier.addEventListener("change", update);
  controls.tracking_no && controls.tracking_no.addEventListener("change", update);
}
