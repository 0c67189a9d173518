// Record: one tap to each kind, then its short form. Saving writes the outbox first; the form is
// ready for the next entry at once (a courier drops twenty parcels: scan, phone, scan, phone…).
// Also the edit of an entry the server rejected (same id, new content).

import { maskedPhone, rulesReady } from "../carriers.js";
import { buildForm, describe, detailNode, focusNext, warnReplaced } from "../forms.js";
import { hasForm, useCatalogue } from "../form-fields.js";
import { api } from "../api.js";
import { formatDateTime, formatTime, ltr, money, t } from "../i18n.js";
import { navigate, setTitle } from "../main.js";
import { proposePickupCode } from "../projector.js";
import { getEntry, knownFullPhones, localView, trackingHistory } from "../local-view.js";
import { countyTimezone, kvGet, kvSet, record, resubmit } from "../store.js";
import { cell, cells, clear, confirmSheet, h, icon, sectionTitle, toast } from "../ui.js";
import { counterStrings, suggestDispatchFee } from "./counter-kit.js";

const KINDS = {
  received: "parcel.received",
  dispatched: "parcel.dispatched",
  ordered: "purchase.ordered",
  sale: "sale.recorded",
  service: "service.recorded",
};

const TILES = [
  { href: "#/record/received", icon: "received", label: "type.parcel.received", hint: "record.hint.received" },
  { href: "#/batch", icon: "received", label: "batch.title", hint: "batch.hint" },
  { href: "#/pickup", icon: "pickup", label: "type.parcel.picked_up", hint: "record.hint.pickup" },
  { href: "#/handover", icon: "pickup", label: "handover.title", hint: "handover.hint" },
  { href: "#/record/dispatched", icon: "dispatched", label: "type.parcel.dispatched", hint: "record.hint.dispatched" },
  { href: "#/record/ordered", icon: "ordered", label: "type.purchase.ordered", hint: "record.hint.ordered" },
  { href: "#/record/delivered", icon: "delivered", label: "type.purchase.delivered", hint: "record.hint.delivered" },
  { href: "#/record/sale", icon: "sale", label: "type.sale.recorded", hint: "record.hint.sale" },
  { href: "#/record/service", icon: "service", label: "type.service.recorded", hint: "record.hint.service" },
  { href: "#/checkin", icon: "checkin", label: "type.checkin.recorded", hint: "record.hint.checkin" },
  { href: "#/training", icon: "training", label: "type.training.attended", hint: "record.hint.training" },
];

// What the forms remember between entries.
const REMEMBERED = ["carrier", "platform", "unit", "channel"];

export async function render(root, args) {
  const [what, arg] = args;
  useCatalogue(await kvGet("products")); // the county's catalogue, as last fetched (sync.js)
  if (!what) {
    await counterStrings(); // the counter tiles' labels
    return menu(root);
  }
  if (what === "delivered") return delivered(root);
  if (what === "edit") return edit(root, arg);
  if (KINDS[what]) return form(root, KINDS[what], arg);
  navigate("#/record");
  return null;
}

function menu(root) {
  setTitle(t("record.title"));
  root.appendChild(
    h(
      "div",
      { class: "tiles" },
      TILES.map((tile) =>
        h(
          "a",
          { class: "tile", href: tile.href },
          h("span", { class: "tile-icon" }, icon(tile.icon)),
          h("span", { class: "tile-label" }, t(tile.label)),
          h("span", { class: "tile-hint" }, t(tile.hint))
        )
      )
    )
  );
  return {};
}

/** A household card scanned at hand-over fills the household code of the next 代发/代购/代销 once. */
async function takeHouseholdPrefill() {
  const code = await kvGet("prefill_household");
  if (!code) return {};
  await kvSet("prefill_household", null);
  return { household_code: code };
}

async function rememberDefaults(data) {
  const defaults = (await kvGet("defaults")) || {};
  for (const key of REMEMBERED) if (data[key]) defaults[key] = data[key];
  await kvSet("defaults", defaults);
}

async function form(root, type, prefill) {
  setTitle(t(`type.${type}`), "#/record");
  await rulesReady;
  const defaults = Object.assign({}, (await kvGet("defaults")) || {}, await takeHouseholdPrefill());
  const recent = h("div", { class: "recent" });
  const saved = [];
  const initial = prefill && type === "parcel.received" ? { tracking_no: prefill } : undefined;
  const { form: element, controls } = buildForm(type, {
    initial,
    defaults,
    submitLabel: t("common.save"),
    suggestPhone,
    check: (data) => checkLocally(type, data),
    clearForNext: () => emptyFields(element, controls),
    onSubmit: async (data) => {
      if (type === "parcel.received") {
        const view = await localView();
        data.pickup_code = proposePickupCode(data.tracking_no, view.shelf, await kvGet("station"));
      }
      const entry = await record(type, data);
      await rememberDefaults(data);
      saved.unshift(entry);
      toast(type === "parcel.received" ? t("received.saved", { code: data.pickup_code }) : t("common.saved"));
      drawRecent(recent, saved);
    },
  });
  root.appendChild(element);
  root.appendChild(recent);
  if (type === "parcel.dispatched") suggestDispatchFee(controls); // the price table (issue 12)
  const first = element.querySelector("input, select");
  if (first && !prefill) first.focus();
  else if (prefill && controls.recipient_phone) controls.recipient_phone.focus();
  return {
    // The server may have changed a pickup code since: the list shows the code the parcel must
    // carry now, marked until the keeper rewrites the label.
    refresh: async () => {
      if (!saved.length) return;
      for (let i = 0; i < saved.length && i < 5; i++) saved[i] = (await getEntry(saved[i].id)) || saved[i];
      const view = await localView();
      drawRecent(recent, saved, new Set(view.relabel.map((p) => p.id)));
    },
    // A scan while another field has the focus still goes to the tracking number.
    onScan: (code) => {
      const input = controls.tracking_no || controls.batch_code;
      if (!input) return;
      if (input === controls.tracking_no) warnReplaced(input.value, code);
      input.value = code;
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.dispatchEvent(new Event("change", { bubbles: true }));
      focusNext(input);
    },
  };
}

/**
 * Checks against this phone's own state, before anything is saved (the server would refuse the
 * same later, after the keeper has moved on): a parcel already on the shelf, a number already
 * dispatched; a parcel handed over before is received again only after the keeper confirms.
 */
async function checkLocally(type, data) {
  if (type !== "parcel.received" && type !== "parcel.dispatched") return null;
  const known = await trackingHistory(data.tracking_no, data.package);
  if (type === "parcel.dispatched") {
    return known.dispatched.length ? { field: "tracking_no", message: t("error.already_dispatched") } : null;
  }
  const view = await localView();
  if (view.shelf.some((p) => p.tracking_no === data.tracking_no && (p.package || "") === (data.package || ""))) {
    return { field: "tracking_no", message: t("error.already_on_shelf") };
  }
  const handed = known.parcels.filter((p) => p.state === "picked_up" || p.state === "returned");
  if (handed.length) {
    const last = handed[handed.length - 1];
    const ok = await confirmSheet(
      t("received.again_title"),
      t(last.state === "picked_up" ? "received.again_picked_up" : "received.again_returned", {
        tracking: data.tracking_no,
        date: formatDateTime(last.closed_at || last.received_at, countyTimezone()),
      }),
      t("received.again_ok")
    );
    if (!ok) return { field: "tracking_no", message: t("received.again_cancelled") };
  }
  return null;
}

/** The one full number known for a label's tail and name: this phone's records, then the server. */
async function suggestPhone(last4, name) {
  const found = new Set(await knownFullPhones(last4, name));
  const station = await kvGet("station");
  if (station && station.id) {
    const query = `phone_last4=${last4}&name=${encodeURIComponent(name)}`;
    try {
      const answer = await api("GET", `/api/v1/stations/${station.id}/recipients/suggestion?${query}`);
      if (answer && answer.phone) found.add(answer.phone);
    } catch (error) {
      // Offline or refused: what this phone knows is enough.
    }
  }
  return found.size === 1 ? Array.from(found)[0] : null;
}

/** The fields a save empties: not the remembered choices (carrier, unit, channel…) nor lists. */
function emptied(controls) {
  return Object.keys(controls).filter((name) => {
    const control = controls[name];
    return REMEMBERED.indexOf(name) < 0 && control.tagName !== "SELECT" && control.tagName !== "DIV";
  });
}

/**
 * Empty the fields for the next entry and put the cursor in the first one, as soon as the keeper
 * saves. `refilled()` says whether the keeper has typed or scanned into them since; `restore()`
 * puts the entry back if the phone refuses it or fails to save it, unless the keeper has begun the
 * next one (then it returns false and changes nothing: two entries' values are never mixed).
 */
function emptyFields(formEl, controls) {
  const before = {};
  for (const name of emptied(controls)) {
    const control = controls[name];
    if (control.type === "checkbox") {
      before[name] = control.checked;
      control.checked = false;
      continue;
    }
    before[name] = control.value;
    control.value = "";
    if (control.dataset.package) control.dispatchEvent(new Event("input", { bubbles: true }));
  }
  const confirm = formEl.querySelector("[name=tracking_confirmed]");
  const confirmShown = confirm && !confirm.closest(".confirm-row").hidden;
  const confirmChecked = confirm && confirm.checked;
  if (confirm) {
    confirm.checked = false;
    confirm.closest(".confirm-row").hidden = true;
  }
  // The same catalogue product again: its name back in the emptied field.
  if (controls.product_code && controls.product_code.value) {
    controls.product_code.dispatchEvent(new Event("change", { bubbles: true }));
  }
  const first = formEl.querySelector("input:not([type=checkbox]):not([type=radio])");
  if (first) first.focus();
  const typed = Object.keys(before).filter((name) => controls[name].type !== "checkbox");
  const cleared = Object.fromEntries(typed.map((name) => [name, controls[name].value]));
  return {
    refilled() {
      return typed.some((name) => controls[name].value !== cleared[name]);
    },
    restore() {
      if (this.refilled()) return false;
      for (const name of Object.keys(before)) {
        const control = controls[name];
        if (control.type === "checkbox") control.checked = before[name];
        else {
          control.value = before[name];
          if (control.dataset.package) control.dispatchEvent(new Event("input", { bubbles: true }));
        }
      }
      if (confirm) {
        confirm.checked = confirmChecked;
        confirm.closest(".confirm-row").hidden = !confirmShown;
      }
      return true;
    },
  };
}

function drawRecent(box, saved, relabel = new Set()) {
  clear(box);
  if (!saved.length) return;
  const tz = countyTimezone();
  box.appendChild(sectionTitle(t("record.just_saved", { n: saved.length })));
  box.appendChild(
    cells(
      saved.slice(0, 5).map((entry) => {
        const d = describe(entry);
        const extra = relabel.has(entry.id)
          ? h("span", { class: "tag tag-warn", "data-tag": "relabel" }, t("relabel.tag"))
          : d.amount || formatTime(entry.occurred_at, tz);
        return cell({ title: d.title, detail: detailNode(d.parts), extra, attrs: { "data-entry": entry.id } });
      })
    )
  );
}

async function delivered(root) {
  setTitle(t("type.purchase.delivered"), "#/record");
  const list = h("div");
  root.appendChild(list);
  const draw = async () => {
    const view = await localView();
    clear(list);
    if (!view.purchases.length) {
      list.appendChild(h("p", { class: "empty" }, t("purchase.none_open")));
      return;
    }
    list.appendChild(sectionTitle(t("purchase.open", { n: view.purchases.length })));
    list.appendChild(
      cells(
        view.purchases.map((p) =>
          cell({
            title: p.item,
            detail: `${t(`platform.${p.platform}`)} · ${money(p.amount_fen)}${p.customer_phone ? ` · ${ltr(maskedPhone(p.customer_phone))}` : ""}`,
            attrs: { "data-purchase": p.id },
            onClick: async () => {
              const ok = await confirmSheet(t("purchase.confirm_title"), t("purchase.confirm_text", { item: p.item }), t("purchase.confirm_ok"));
              if (!ok) return;
              await record("purchase.delivered", { purchase_id: p.id });
              toast(t("common.saved"));
            },
          })
        )
      )
    );
  };
  await draw();
  return { refresh: draw };
}

async function edit(root, id) {
  await rulesReady;
  const entry = await getEntry(id);
  if (!entry || entry.status !== "rejected" || !hasForm(entry.type)) {
    navigate("#/history");
    return null;
  }
  setTitle(t("edit.title", { kind: t(`type.${entry.type}`) }), "#/history");
  root.appendChild(h("p", { class: "notice notice-warn" }, (entry.error && entry.error.detail) || t("problem.rejected_generic")));
  const { form: element } = buildForm(entry.type, {
    initial: entry.data,
    submitLabel: t("edit.resend"),
    onSubmit: async (data) => {
      if (entry.type === "parcel.received") data.pickup_code = entry.data.pickup_code;
      await resubmit(entry.id, data);
      toast(t("edit.resent"));
      navigate("#/home");
    },
  });
  root.appendChild(element);
  return {};
}
