// The short forms of each kind of entry: fields of API.md, defaults, checks before submit, and
// the conversion to event data (yuan → fen, kg → g; no floats for money).

import {
  CARRIERS,
  guessCarrier,
  isPossibleTrackingNo,
  matchesCarrier,
  parseTrackingNo,
  phoneForm,
  phoneLast4,
} from "./carriers.js";
import { ltr, money, t } from "./i18n.js";
import { field, h, icon, setFieldError } from "./ui.js";
import {
  asciiDigits,
  debounce,
  fenToYuanText,
  gramsToKgText,
  MOBILE,
  normalizePhone,
  parseKg,
  parseQuantity,
  parseYuan,
} from "./util.js";

export const PLATFORMS = ["pinduoduo", "taobao", "jd", "tmall", "youle", "douyin", "kuaishou", "wechat", "other"];
export const SERVICES = ["phone_topup", "electricity", "water", "broadband", "ticket", "cash_withdrawal", "other"];

// What each kind asks for. `from`/`to` convert between event data and what the form shows.
const FORMS = {
  "parcel.received": [
    { name: "tracking_no", kind: "tracking", label: "field.tracking_no" },
    { name: "carrier", kind: "carrier", label: "field.carrier" },
    { name: "recipient_phone", kind: "label_phone", label: "field.recipient_phone", hint: "field.recipient_phone_hint" },
    { name: "recipient_name", kind: "text", label: "field.recipient_name", optional: true, max: 40 },
  ],
  "parcel.dispatched": [
    { name: "tracking_no", kind: "tracking", label: "field.tracking_no" },
    { name: "carrier", kind: "carrier", label: "field.carrier" },
    { name: "weight_g", kind: "weight", label: "field.weight_kg" },
    { name: "fee_fen", kind: "money", label: "field.fee_dispatch" },
    { name: "destination", kind: "text", label: "field.destination", max: 100 },
    { name: "farm_product", kind: "switch", label: "field.farm_product" },
    { name: "household_code", kind: "household", label: "field.household_code", optional: true },
  ],
  "purchase.ordered": [
    { name: "platform", kind: "select", label: "field.platform", options: PLATFORMS, prefix: "platform." },
    { name: "item", kind: "text", label: "field.item", max: 100 },
    { name: "amount_fen", kind: "money", label: "field.amount_purchase" },
    { name: "commission_fen", kind: "money", label: "field.commission", zeroIfEmpty: true },
    { name: "customer_phone", kind: "phone", label: "field.customer_phone", optional: true },
    { name: "household_code", kind: "household", label: "field.household_code", optional: true },
  ],
  "sale.recorded": [
    { name: "product", kind: "text", label: "field.product", max: 40 },
    { name: "quantity", kind: "quantity", label: "field.quantity" },
    { name: "unit", kind: "text", label: "field.unit", max: 10, remember: true, fallback: "sale.unit_default" },
    { name: "amount_fen", kind: "money", label: "field.amount_sale" },
    { name: "commission_fen", kind: "money", label: "field.commission", zeroIfEmpty: true },
    { name: "channel", kind: "text", label: "field.channel", max: 40, remember: true, fallback: "sale.channel_default" },
    { name: "household_code", kind: "household", label: "field.household_code", optional: true },
  ],
  "service.recorded": [
    { name: "service", kind: "choice", label: "field.service", options: SERVICES, prefix: "service." },
    { name: "amount_fen", kind: "money", label: "field.amount_service" },
    { name: "fee_fen", kind: "money", label: "field.fee_service", zeroIfEmpty: true },
    { name: "account", kind: "text", label: "field.account", optional: true, max: 40 },
  ],
};

export function hasForm(type) {
  return Boolean(FORMS[type]);
}

/** A field a scanner gun types a tracking number into (scan.js finds it by `data-scan`). */
export function trackingField(attributes) {
  return h("input", {
    name: "tracking_no",
    type: "text",
    inputmode: "text",
    autocomplete: "off",
    autocapitalize: "characters",
    spellcheck: "false",
    maxlength: "40",
    "data-scan": "true",
    class: "input input-mono",
    ...attributes,
  });
}

function inputFor(spec, initial, defaults) {
  const value = initial !== undefined ? initial : defaults[spec.name];
  switch (spec.kind) {
    case "tracking":
      return trackingField({ name: spec.name, value: value || "" });
    case "carrier":
      return h(
        "select",
        { name: spec.name, class: "input" },
        CARRIERS.map((c) => h("option", { value: c, selected: c === (value || "ZTO") }, t(`carrier.${c}`)))
      );
    case "select":
      return h(
        "select",
        { name: spec.name, class: "input" },
        spec.options.map((o) => h("option", { value: o, selected: o === value }, t(`${spec.prefix}${o}`)))
      );
    case "phone":
      return h("input", {
        name: spec.name,
        type: "tel",
        inputmode: "numeric",
        autocomplete: "off",
        maxlength: "13",
        class: "input input-mono",
        value: value || "",
      });
    case "label_phone":
      // What the label shows: 13812345678, 138****5678 or 5678 (the phone pad has *).
      return h("input", {
        name: spec.name,
        type: "text",
        inputmode: "tel",
        autocomplete: "off",
        maxlength: "20",
        dir: "ltr",
        class: "input input-mono",
        value: value || "",
      });
    case "money":
      return h("input", {
        name: spec.name,
        type: "text",
        inputmode: "decimal",
        autocomplete: "off",
        placeholder: "0.00",
        class: "input input-money",
        value: value === undefined || value === null ? "" : fenToYuanText(value),
      });
    case "weight":
      return h("input", {
        name: spec.name,
        type: "text",
        inputmode: "decimal",
        autocomplete: "off",
        class: "input input-money",
        value: value ? gramsToKgText(value) : "",
      });
    case "quantity":
      return h("input", {
        name: spec.name,
        type: "text",
        inputmode: "decimal",
        autocomplete: "off",
        class: "input input-money",
        value: value ? String(value) : "",
      });
    case "switch":
      return h("input", { name: spec.name, type: "checkbox", class: "switch", role: "switch", checked: Boolean(value) });
    case "household":
      return h("input", {
        name: spec.name,
        type: "text",
        autocomplete: "off",
        autocapitalize: "characters",
        maxlength: "24",
        class: "input input-mono",
        value: value || "",
      });
    case "choice":
      return h(
        "div",
        { class: "chips", role: "radiogroup", "data-name": spec.name },
        spec.options.map((o, i) =>
          h(
            "label",
            { class: "chip" },
            h("input", { type: "radio", name: spec.name, value: o, checked: value ? value === o : i === 0 }),
            h("span", null, t(`${spec.prefix}${o}`))
          )
        )
      );
    default:
      return h("input", {
        name: spec.name,
        type: "text",
        autocomplete: "off",
        maxlength: String(spec.max || 100),
        class: "input",
        value: value || "",
      });
  }
}

/**
 * A form for `type`. `initial`: event data to edit; `defaults`: remembered values (last carrier…).
 * `onSubmit(data)` gets checked event data; it may return a promise.
 */
export function buildForm(type, { initial, defaults = {}, onSubmit, submitLabel, extra, suggestPhone, check }) {
  const specs = FORMS[type];
  const form = h("form", { class: "form", "data-form": type, novalidate: true, autocomplete: "off" });
  const controls = {};
  const groups = h("div", { class: "cells form-cells" });
  for (const spec of specs) {
    const start = initial ? initial[spec.name] : undefined;
    const fallback = spec.fallback && !defaults[spec.name] ? t(spec.fallback) : undefined;
    const control = inputFor(spec, start, Object.assign({}, defaults, fallback ? { [spec.name]: fallback } : {}));
    controls[spec.name] = control;
    let wrap = null;
    if (spec.kind === "tracking" && "BarcodeDetector" in window && navigator.mediaDevices) {
      wrap = (input) =>
        h(
          "div",
          { class: "input-row" },
          input,
          h(
            "button",
            { type: "button", class: "icon-btn", "aria-label": t("scan.camera"), onclick: () => scanInto(input) },
            icon("camera")
          )
        );
    }
    if (spec.kind === "money") {
      wrap = (input) => h("div", { class: "input-row input-affix" }, h("span", { class: "affix", "aria-hidden": "true" }, "¥"), input);
    }
    if (spec.kind === "weight") {
      wrap = (input) => h("div", { class: "input-row input-affix" }, input, h("span", { class: "affix", "aria-hidden": "true" }, t("unit.kg")));
    }
    if (spec.kind === "switch") {
      groups.appendChild(
        h("div", { class: "field field-switch", "data-field": spec.name }, h("label", { class: "switch-label" }, h("span", null, t(spec.label)), control))
      );
      continue;
    }
    if (spec.kind === "choice") {
      groups.appendChild(
        h("fieldset", { class: "field", "data-field": spec.name }, h("legend", { class: "field-label" }, t(spec.label)), control)
      );
      continue;
    }
    groups.appendChild(field(t(spec.label), control, { optional: spec.optional, wrap, hint: spec.hint ? t(spec.hint) : null }));
  }
  form.appendChild(groups);
  // A field's refusal goes once the keeper changes what it holds.
  for (const name of Object.keys(controls)) {
    const control = controls[name];
    if (control.tagName === "INPUT" && control.type !== "checkbox") control.addEventListener("input", () => setFieldError(control, ""));
  }
  if (suggestPhone && controls.recipient_phone && controls.recipient_name) offerFullNumber(groups, controls, suggestPhone);

  // A tracking number off its carrier's usual pattern: the keeper confirms it (never refused).
  let confirmBox = null;
  if (controls.tracking_no && controls.carrier) {
    confirmBox = h("input", { type: "checkbox", name: "tracking_confirmed", class: "checkbox" });
    const confirmRow = h(
      "div",
      { class: "confirm-row", hidden: true },
      h("label", { class: "checkbox-label" }, confirmBox, h("span", { class: "confirm-text" }))
    );
    groups.insertBefore(confirmRow, groups.children[2]);
    // A JD package suffix (-1-3-) is its own parcel: shown under the number, sent as `package`.
    const packageNote = h("p", { class: "package-note", hidden: true, "data-package-note": "" });
    groups.insertBefore(packageNote, confirmRow);
    const setPackage = (pkg) => {
      if (pkg) controls.tracking_no.dataset.package = pkg;
      else delete controls.tracking_no.dataset.package;
      packageNote.hidden = !pkg;
      packageNote.textContent = pkg ? t("tracking.package", { package: pkg }) : "";
    };
    if (initial && initial.package) setPackage(initial.package);
    const refresh = () => {
      const number = parseTrackingNo(controls.tracking_no.value).tracking_no;
      const carrier = controls.carrier.value;
      const unusual = isPossibleTrackingNo(number) && !matchesCarrier(carrier, number);
      confirmRow.hidden = !unusual;
      confirmRow.querySelector(".confirm-text").textContent = t("tracking.confirm_unusual", { carrier: t(`carrier.${carrier}`) });
      if (!unusual) confirmBox.checked = false;
    };
    controls.tracking_no.addEventListener("change", () => {
      const parsed = parseTrackingNo(controls.tracking_no.value);
      if (!parsed.tracking_no) setPackage(null);
      else if (parsed.tracking_no !== controls.tracking_no.value || parsed.package) setPackage(parsed.package);
      controls.tracking_no.value = parsed.tracking_no;
      // Guessed afresh from every number; the remembered carrier only when the number says nothing.
      const guessed = guessCarrier(parsed.tracking_no, defaults.carrier || null);
      if (guessed && guessed !== controls.carrier.value) {
        controls.carrier.value = guessed;
        confirmBox.checked = false;
      }
      refresh();
    });
    controls.tracking_no.addEventListener("input", () => {
      if (!controls.tracking_no.value) setPackage(null);
    });
    controls.tracking_no.addEventListener("input", refresh);
    controls.carrier.addEventListener("change", refresh);
    if (initial && initial.tracking_confirmed) confirmBox.checked = true;
    refresh();
  }

  if (type === "sale.recorded") showPayout(groups, controls);
  if (extra) form.appendChild(extra);
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, submitLabel || t("common.save"));
  form.appendChild(h("div", { class: "form-actions" }, submit));

  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    const { data, firstError } = collect(type, specs, controls, confirmBox);
    if (firstError) {
      firstError.focus();
      return;
    }
    // Checks against the phone's own state (a number already dispatched…) before saving.
    if (check) {
      const problem = await check(data);
      if (problem) {
        setFieldError(controls[problem.field], problem.message);
        controls[problem.field].focus();
        return;
      }
    }
    busy = true;
    submit.disabled = true;
    try {
      await onSubmit(data, form);
    } finally {
      busy = false;
      submit.disabled = false;
    }
  });
  return { form, controls };
}

function collect(type, specs, controls, confirmBox) {
  const data = {};
  let firstError = null;
  const fail = (control, key, params) => {
    setFieldError(control, t(key, params));
    if (!firstError) firstError = control.tagName === "DIV" ? control.querySelector("input") : control;
  };
  for (const spec of specs) {
    const control = controls[spec.name];
    if (spec.kind !== "choice" && spec.kind !== "switch") setFieldError(control, "");
    const raw = spec.kind === "choice" || spec.kind === "switch" ? null : asciiDigits(control.value).trim();
    if (raw === "" && !spec.zeroIfEmpty) {
      if (!spec.optional) fail(control, "error.required", { field: t(spec.label) });
      continue;
    }
    switch (spec.kind) {
      case "tracking": {
        const parsed = parseTrackingNo(raw);
        const number = parsed.tracking_no;
        const pkg = parsed.package || control.dataset.package || null;
        control.value = number;
        if (!isPossibleTrackingNo(number)) fail(control, "error.tracking_invalid");
        else {
          data[spec.name] = number;
          if (pkg) data.package = pkg;
        }
        break;
      }
      case "label_phone": {
        const phone = normalizePhone(raw).replace(/[\uFF0A\u00D7xX]/g, "*");
        if (!phoneForm(phone)) fail(control, "error.recipient_phone");
        else data[spec.name] = phone;
        break;
      }
      case "phone": {
        const phone = normalizePhone(raw);
        if (!MOBILE.test(phone)) fail(control, "error.phone");
        else data[spec.name] = phone;
        break;
      }
      case "money": {
        const parsed = parseYuan(raw === "" ? "0" : raw);
        if (parsed.error) fail(control, `error.${parsed.error}`);
        else data[spec.name] = parsed.fen;
        break;
      }
      case "weight": {
        const parsed = parseKg(raw);
        if (parsed.error) fail(control, `error.${parsed.error}`);
        else data[spec.name] = parsed.grams;
        break;
      }
      case "quantity": {
        const parsed = parseQuantity(raw);
        if (parsed.error) fail(control, `error.${parsed.error}`);
        else data[spec.name] = parsed.value;
        break;
      }
      case "household": {
        const code = raw.toUpperCase();
        if (code.length < 2 || code.length > 24) fail(control, "error.household");
        else data[spec.name] = code;
        break;
      }
      case "switch":
        data[spec.name] = control.checked;
        break;
      case "choice": {
        const chosen = control.querySelector("input:checked");
        data[spec.name] = chosen ? chosen.value : spec.options[0];
        break;
      }
      default:
        if (spec.max && raw.length > spec.max) fail(control, "error.too_long", { max: spec.max });
        else data[spec.name] = raw;
    }
  }
  if (type === "sale.recorded" && data.commission_fen > data.amount_fen) {
    fail(controls.commission_fen, "error.commission_exceeds_amount");
  }
  if (confirmBox && data.tracking_no && data.carrier && !matchesCarrier(data.carrier, data.tracking_no)) {
    if (confirmBox.checked) data.tracking_confirmed = true;
    else fail(controls.tracking_no, "error.tracking_unusual", { carrier: t(`carrier.${data.carrier}`) });
  }
  return { data, firstError };
}

/** 代销: what is paid out to the villager (sale − commission), as the keeper types. */
function showPayout(groups, controls) {
  const line = h("p", { class: "payout-line", "data-payout": "" });
  controls.commission_fen.closest(".field").appendChild(line);
  const update = () => {
    const sale = parseYuan(asciiDigits(controls.amount_fen.value).trim() || "0");
    const commission = parseYuan(asciiDigits(controls.commission_fen.value).trim() || "0");
    line.textContent = sale.error || commission.error ? "" : t("sale.payout_live", { amount: money(sale.fen - commission.fen) });
  };
  controls.amount_fen.addEventListener("input", update);
  controls.commission_fen.addEventListener("input", update);
  update();
}

/**
 * A privacy label (138****5678) or a tail (5678) with a name: when exactly one full number is
 * known for them, offer it; the keeper asks the villager and taps to use it.
 */
function offerFullNumber(groups, controls, suggestPhone) {
  const box = h("div", { class: "suggestion", hidden: true, "data-suggestion": "" });
  controls.recipient_name.closest(".field").appendChild(box);
  let asked = 0;
  const look = debounce(async () => {
    const phone = normalizePhone(controls.recipient_phone.value);
    const name = controls.recipient_name.value.trim();
    const form = phoneForm(phone);
    const ticket = ++asked;
    box.hidden = true;
    clearNode(box);
    if (!name || (form !== "masked" && form !== "last4")) return;
    const full = await suggestPhone(phoneLast4(phone), name);
    if (!full || ticket !== asked) return;
    box.appendChild(h("span", { class: "suggestion-text" }, t("received.suggest_phone", { phone: full })));
    box.appendChild(
      h(
        "button",
        {
          type: "button",
          class: "btn btn-small",
          "data-use-phone": full,
          onclick: () => {
            controls.recipient_phone.value = full;
            setFieldError(controls.recipient_phone, "");
            box.hidden = true;
          },
        },
        t("received.use_phone")
      )
    );
    box.hidden = false;
  }, 250);
  controls.recipient_phone.addEventListener("input", look);
  controls.recipient_name.addEventListener("input", look);
}

function clearNode(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

async function scanInto(input) {
  const camera = await import("./camera.js");
  const code = await camera.scanBarcode();
  if (!code) return;
  input.value = code;
  input.dispatchEvent(new Event("input", { bubbles: true }));
  input.dispatchEvent(new Event("change", { bubbles: true }));
  focusNext(input);
}

/** The next field to type in (the scanner gun's Enter moves on; choices keep their default). */
export function focusNext(input) {
  const form = input.form;
  if (!form) return;
  const fields = Array.prototype.filter.call(
    form.querySelectorAll("input:not([type=hidden]):not([type=checkbox]):not([type=radio]), textarea"),
    (el) => el === input || (!el.disabled && el.offsetParent !== null)
  );
  const index = fields.indexOf(input);
  const next = fields[index + 1];
  if (next) next.focus();
}

// Describing entries (history, sheets) ---------------------------------------------------------

export function kindLabel(type, data) {
  if (type === "service.recorded") return t(`service.${data.service}`);
  return t(`type.${type}`);
}

const code = (value) => ({ code: value });

/** What an entry was about (parts of one line; codes never break) and its money. */
export function describe(entry) {
  const d = entry.data || {};
  const parts = [];
  let amount = null;
  const pickupCode = (value) => code(t("parcel.code_short", { code: ltr(value) }));
  switch (entry.type) {
    case "parcel.received":
      parts.push(t(`carrier.${d.carrier}`), ltr(d.package ? `${d.tracking_no} ${d.package}` : d.tracking_no));
      if (entry.server && entry.server.pickup_code) parts.push(pickupCode(entry.server.pickup_code));
      else if (d.pickup_code) parts.push(pickupCode(d.pickup_code));
      if (d.recipient_name) parts.push(d.recipient_name);
      break;
    case "parcel.picked_up":
      parts.push(ltr(d.tracking_no), pickupCode(d.pickup_code));
      if (d.fee_fen) amount = d.fee_fen;
      break;
    case "parcel.returned":
      parts.push(ltr(d.tracking_no), d.reason);
      break;
    case "parcel.dispatched":
      parts.push(t(`carrier.${d.carrier}`), ltr(d.tracking_no), d.destination, code(`${ltr(gramsToKgText(d.weight_g))} ${t("unit.kg")}`));
      if (d.farm_product) parts.push(t("field.farm_product"));
      amount = d.fee_fen;
      break;
    case "purchase.ordered":
      parts.push(t(`platform.${d.platform}`), d.item);
      if (d.commission_fen) parts.push(code(t("purchase.commission_part", { amount: money(d.commission_fen) })));
      amount = d.amount_fen;
      break;
    case "purchase.delivered":
      parts.push(t("purchase.delivered_of"));
      break;
    case "sale.recorded":
      parts.push(d.product, code(`${ltr(String(d.quantity))} ${d.unit}`), d.channel);
      // What the villager gets: the sale less the station's commission.
      parts.push(code(t("sale.payout", { amount: money(d.amount_fen - (d.commission_fen || 0)) })));
      amount = d.amount_fen;
      break;
    case "service.recorded":
      if (d.account) parts.push(ltr(d.account));
      amount = d.amount_fen;
      break;
    case "checkin.recorded":
      if (d.lat !== undefined) parts.push(t("checkin.with_location"));
      if (d.note) parts.push(d.note);
      break;
    case "entry.reversed":
      parts.push(d.reason);
      break;
    case "cash.counted":
      if (d.note) parts.push(d.note);
      amount = d.counted_fen;
      break;
    default:
      break;
  }
  if (d.household_code) parts.push(code(t("field.household_short", { code: ltr(d.household_code) })));
  const kept = parts.filter(Boolean);
  return {
    title: kindLabel(entry.type, d),
    parts: kept,
    detail: kept.map((p) => (typeof p === "string" ? p : p.code)).join(" · "),
    amount: amount === null ? null : money(amount),
  };
}

/** The parts of `describe` as one line whose codes and numbers do not break. */
export function detailNode(parts) {
  const line = h("span", { class: "detail-line" });
  parts.forEach((part, i) => {
    if (i) line.appendChild(document.createTextNode(" · "));
    line.appendChild(typeof part === "string" ? document.createTextNode(part) : h("span", { class: "nowrap" }, part.code));
  });
  return line;
}
