// 出库 hand-over: a villager's visit in one scan or one phone tail, and one confirm.
//
// Find by pickup code, the last four digits of the phone, the recipient's name, a scan of a
// parcel's barcode or of the household card (一户一码). Every parcel of that villager on the shelf
// is listed (same phone, or same tail for privacy labels) with the storage fees summed; one tap
// hands them all over (one parcel.picked_up each). While the list is open, scanning a parcel's
// barcode confirms it is one of them (✓); any other parcel is refused loudly.

import { api } from "../api.js";
import { maskedPhone, parseTrackingNo, phoneLast4, rulesReady } from "../carriers.js";
import { ltr, money, t } from "../i18n.js";
import { app, navigate, setTitle } from "../main.js";
import { localView } from "../local-view.js";
import { kvSet, record } from "../store.js";
import { button, cell, cells, clear, h, icon, sectionTitle, toast } from "../ui.js";
import { asciiDigits } from "../util.js";
import { counterStrings, shelfLabel, stationShelf } from "./counter-kit.js";

const CARD = /^CZHH:[^:]*:([A-Za-z0-9-]+)$/i;

/** The villager a parcel belongs to: its full phone, else its visible tail. */
export function villagerKey(parcel) {
  const phone = String(parcel.recipient_phone || "");
  return /^1\d{10}$/.test(phone) ? phone : `*${phoneLast4(phone)}`;
}

function sameVillager(a, b) {
  const ka = villagerKey(a);
  const kb = villagerKey(b);
  if (ka === kb) return true;
  // A privacy label and a full number with the same tail may be the same villager: both are
  // listed (masked alike, as every list shows numbers) for the keeper to ask.
  return phoneLast4(a.recipient_phone) === phoneLast4(b.recipient_phone);
}

/** The parcels a query names: {group, anchor} (anchor: the scanned/coded parcel, if any). */
export function findGroup(shelf, query) {
  const q = asciiDigits(String(query || "")).trim();
  if (!q) return { group: [], anchor: null };
  const upper = q.toUpperCase();
  if (/^\d{4}$/.test(q)) {
    return { group: shelf.filter((p) => phoneLast4(p.recipient_phone) === q), anchor: null };
  }
  let anchor = shelf.find((p) => (p.pickup_code || "").toUpperCase() === upper);
  if (!anchor) {
    const scanned = parseTrackingNo(upper);
    anchor = shelf.find((p) => p.tracking_no === scanned.tracking_no && (!scanned.package || (p.package || null) === scanned.package));
  }
  if (anchor) return { group: shelf.filter((p) => sameVillager(p, anchor)), anchor };
  const byName = shelf.filter((p) => p.recipient_name && p.recipient_name.indexOf(q) >= 0);
  if (byName.length) return { group: shelf.filter((p) => byName.some((n) => sameVillager(n, p))), anchor: null };
  return { group: [], anchor: null };
}

export async function render(root, args) {
  setTitle(t("handover.title"), "#/record");
  await Promise.all([rulesReady, counterStrings()]);
  const shelf = await stationShelf();
  let query = args[0] || "";
  let household = null; // {code, head_name, parcel_ids} from a card scan
  let group = [];
  const verified = new Set();

  const search = h("input", {
    type: "search",
    name: "q",
    class: "input search-input",
    inputmode: "text",
    autocomplete: "off",
    autocapitalize: "characters",
    // Not a scan field: a scan landing here gives the field its text back and comes to takeScan.
    placeholder: t("handover.placeholder"),
    "aria-label": t("handover.placeholder"),
    value: query,
  });
  const alarm = h("p", { class: "batch-problem handover-alarm", role: "alert", hidden: true });
  const body = h("div", { class: "handover-body" });
  root.appendChild(h("div", { class: "search-bar" }, h("label", { class: "search-box" }, icon("search", "search-icon"), search)));
  root.appendChild(alarm);
  root.appendChild(body);

  const refuse = (text) => {
    alarm.textContent = text;
    alarm.hidden = !text;
    if (text) {
      alarm.classList.remove("batch-shake");
      void alarm.offsetWidth;
      alarm.classList.add("batch-shake");
      if (navigator.vibrate) navigator.vibrate([200, 80, 200, 80, 200]);
    }
  };

  const draw = async () => {
    const view = await localView();
    if (household) {
      const ids = new Set(household.parcel_ids);
      group = view.shelf.filter((p) => ids.has(p.id));
    } else {
      group = findGroup(view.shelf, query).group;
    }
    clear(body);
    if (household) body.appendChild(householdCard(household));
    if (!query && !household) {
      body.appendChild(h("p", { class: "search-hint" }, t("handover.hint_long")));
      return;
    }
    if (!group.length) {
      body.appendChild(h("p", { class: "empty", "data-empty": "" }, t("pickup.none_found")));
      return;
    }
    const fee = group.reduce((sum, p) => sum + (p.fee_fen || 0), 0);
    const tail = phoneLast4(group[0].recipient_phone);
    body.appendChild(
      sectionTitle(
        t("handover.group", { tail: ltr(tail), n: group.length }) + (fee ? ` · ${t("handover.fee_total", { fee: money(fee) })}` : "")
      )
    );
    body.appendChild(
      cells(
        group.map((p) =>
          cell({
            title: h("span", { class: "handover-code", dir: "ltr" }, p.pickup_code),
            detail: `${shelfLabel(p.pickup_code, shelf)} · ${t(`carrier.${p.carrier}`)} · ${ltr(p.tracking_no)}${p.package ? ` ${ltr(p.package)}` : ""} · ${ltr(maskedPhone(p.recipient_phone))}${p.recipient_name ? ` ${p.recipient_name}` : ""}`,
            extra: verified.has(p.id) ? "✓" : p.fee_fen ? money(p.fee_fen) : t("handover.days", { n: p.days || 0 }),
            className: verified.has(p.id) ? "handover-verified" : "",
            attrs: { "data-handover-parcel": p.id, "data-tracking": p.tracking_no },
          })
        )
      )
    );
    body.appendChild(
      h(
        "div",
        { class: "form-actions" },
        button(
          fee ? t("handover.confirm_fee", { n: group.length, fee: money(fee) }) : t("handover.confirm", { n: group.length }),
          "primary",
          () => handOver(),
          { "data-action": "handover", class: "btn btn-primary btn-block" }
        )
      )
    );
  };

  let busy = false;
  const handOver = async () => {
    if (busy || !group.length) return;
    busy = true;
    const parcels = group.slice();
    try {
      for (const p of parcels) {
        const data = { tracking_no: p.tracking_no, pickup_code: p.pickup_code };
        if (p.package) data.package = p.package;
        if (p.fee_fen) data.fee_fen = p.fee_fen;
        await record("parcel.picked_up", data);
      }
      const fee = parcels.reduce((sum, p) => sum + (p.fee_fen || 0), 0);
      toast(fee ? t("handover.done_fee", { n: parcels.length, fee: money(fee) }) : t("handover.done", { n: parcels.length }));
      query = "";
      household = null;
      search.value = "";
      verified.clear();
      refuse("");
      await draw();
      search.focus();
    } finally {
      busy = false;
    }
  };

  const takeScan = async (text) => {
    const card = CARD.exec(text.trim());
    if (card) return openHousehold(text.trim());
    const view = await localView();
    if (group.length) {
      const scanned = parseTrackingNo(text);
      const hit = group.find((p) => p.tracking_no === scanned.tracking_no && (!scanned.package || (p.package || null) === scanned.package));
      if (hit) {
        verified.add(hit.id);
        refuse("");
        search.value = query;
        await draw();
        return;
      }
      const other = view.shelf.find((p) => p.tracking_no === scanned.tracking_no);
      search.value = query;
      refuse(
        other
          ? t("handover.wrong_parcel", { tracking: ltr(scanned.tracking_no), code: ltr(other.pickup_code), tail: ltr(phoneLast4(group[0].recipient_phone)) })
          : t("handover.not_on_shelf", { tracking: ltr(scanned.tracking_no) })
      );
      return;
    }
    query = text.trim();
    search.value = query;
    const found = findGroup(view.shelf, query);
    if (found.anchor) verified.add(found.anchor.id);
    if (!found.group.length) refuse(t("handover.not_on_shelf", { tracking: ltr(parseTrackingNo(text).tracking_no) }));
    else refuse("");
    await draw();
  };

  const openHousehold = async (text) => {
    try {
      household = await api("GET", `/api/v1/stations/${app.user.station_id}/household?code=${encodeURIComponent(text)}`);
      query = "";
      search.value = "";
      refuse("");
    } catch (error) {
      refuse(error && error.problem && error.problem.detail ? error.problem.detail : t("handover.card_offline"));
    }
    await draw();
  };

  const householdCard = (hh) =>
    h(
      "section",
      { class: "household-card", "data-household": hh.code },
      h("div", { class: "household-name" }, hh.head_name || "", " ", h("bdi", { dir: "ltr" }, hh.code)),
      h("div", { class: "household-meta" }, `${hh.village || ""} · ${ltr(hh.phone || "")}`),
      h(
        "div",
        { class: "household-actions" },
        ["dispatched", "ordered", "sale"].map((kind) =>
          button(t(`type.${{ dispatched: "parcel.dispatched", ordered: "purchase.ordered", sale: "sale.recorded" }[kind]}`), "default", async () => {
            await kvSet("prefill_household", hh.code);
            navigate(`#/record/${kind}`);
          }, { "data-household-action": kind })
        )
      )
    );

  search.addEventListener("input", () => {
    if (search.value === query) return; // a scan gave the field its text back
    query = search.value;
    household = null;
    verified.clear();
    refuse("");
    draw();
  });
  await draw();
  search.focus();
  return {
    onScan: (text) => takeScan(text),
    refresh: draw,
  };
}
