// The short form of each kind of entry: its fields (form-fields.js) with the remembered defaults,
// the tracking number's carrier guess and confirmation, the payout line of a sale, the offer of a
// known full phone number, and the checks before submit; and entries described in words.

import { guessCarrier, isPossibleTrackingNo, maskedAccount, matchesCarrier, parseTrackingNo, phoneForm, phoneLast4 } from "./carriers.js";
import { batchCode, catalogueProduct, collect, formFields, inputFor } from "./form-fields.js";
import { ltr, money, t } from "./i18n.js";
import { field, h, icon, setFieldError, toast } from "./ui.js";
import { asciiDigits, debounce, gramsToKgText, normalizePhone, parseYuan } from "./util.js";

/**
 * A form for `type`. `initial`: event data to edit; `defaults`: remembered values (last carrier…).
 * `onSubmit(data)` gets checked event data; it may return a promise.
 */
export function buildForm(type, { initial, defaults = {}, onSubmit, submitLabel, extra, suggestPhone, check, clearForNext }) {
  const specs = formFields(type);
  const form = h("form", { class: "form", "data-form": type, novalidate: true, autocomplete: "off" });
  const { groups, controls } = fieldGroups(specs, initial, defaults);
  form.appendChild(groups);
  // A field's refusal goes once the keeper changes what it holds.
  for (const name of Object.keys(controls)) {
    const control = controls[name];
    if (control.tagName === "INPUT" && control.type !== "checkbox") control.addEventListener("input", () => setFieldError(control, ""));
  }
  if (suggestPhone && controls.recipient_phone && controls.recipient_name) offerFullNumber(groups, controls, suggestPhone);
  const confirmBox = controls.tracking_no && controls.carrier ? watchTracking(groups, controls, initial, defaults) : null;

  if (type === "sale.recorded") {
    showPayout(groups, controls);
    pickFromCatalogue(controls);
    showBatchCode(controls.batch_code);
  }
  if (extra) form.appendChild(extra);
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, submitLabel || t("common.save"));
  form.appendChild(h("div", { class: "form-actions" }, submit));

  // Entries are saved one after another. A form that empties at submit (clearForNext: the
  // counter's) takes the next entry while the last is still saving, as a scanner's Enter comes
  // at once; any other form takes one at a time.
  let saving = Promise.resolve();
  let inFlight = 0;
  let lastHeld = null;
  const settled = () => {
    inFlight -= 1;
    if (inFlight) return;
    submit.disabled = false;
    submit.removeAttribute("aria-busy");
  };
  const save = async (data, held) => {
    try {
      // Checks against the phone's own state (a number already on the shelf…) before saving:
      // run in turn, so a number scanned twice is checked against its first save.
      const problem = check ? await check(data) : null;
      if (problem) {
        refused(form, held, controls[problem.field], problem.message, data);
        return;
      }
      await onSubmit(data, form);
    } catch (error) {
      if (held) refused(form, held, null, null, data);
      throw error;
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (inFlight && (!clearForNext || !lastHeld.refilled())) return; // a second tap on the button
    const { data, firstError } = collect(type, specs, controls, confirmBox);
    if (firstError) {
      firstError.focus();
      return;
    }
    // Emptied now, not once saved: on a slow phone the next scan begins while this entry is
    // still being checked and saved, and its keys must land in an empty field, not after this
    // number.
    const held = clearForNext ? clearForNext() : null;
    lastHeld = held;
    inFlight += 1;
    submit.setAttribute("aria-busy", "true");
    if (!clearForNext) submit.disabled = true; // a disabled default button would swallow an Enter
    const turn = saving.then(() => save(data, held));
    saving = turn.catch(() => {});
    turn.then(settled, (error) => {
      settled();
      throw error;
    });
  });
  return { form, controls };
}

/**
 * An entry refused (`field`, `message`) or failed to save: back into the form when the form is
 * still empty; when the keeper has begun the next entry, said aside with its number instead, so
 * that neither entry's values are mixed into the other's. Said aside in a line above the form
 * that stays until dismissed (a toast alone is gone before a busy keeper looks up), and a toast.
 */
function refused(form, held, control, message, data) {
  if (held && !held.restore()) {
    const number = data.tracking_no ? ltr(data.tracking_no) : "";
    const text = t("record.not_saved", { entry: number, reason: message || t("error.save_failed") });
    notSavedLine(form, text);
    toast(text, "warn", 10000);
    return;
  }
  if (!control) return;
  setFieldError(control, message);
  control.focus();
}

/** A lasting line in the form's list of entries not saved, with its own dismiss button. */
function notSavedLine(form, text) {
  let list = form.querySelector(".not-saved");
  if (!list) {
    list = h("ul", { class: "not-saved", role: "alert" });
    form.insertBefore(list, form.firstChild);
  }
  const item = h("li", null, icon("warn", "icon not-saved-icon"), h("span", { class: "not-saved-text" }, text));
  const dismiss = () => {
    item.remove();
    if (!list.children.length) list.remove();
  };
  item.appendChild(h("button", { type: "button", class: "not-saved-close", "aria-label": t("common.close"), onclick: dismiss }, "×"));
  list.appendChild(item);
}

/** The form's fields in their rows, and their controls by name. */
function fieldGroups(specs, initial, defaults) {
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
  return { groups, controls };
}

/**
 * A tracking number off its carrier's usual pattern: the keeper confirms it (never refused); a
 * JD package suffix (-1-3-) is its own parcel. Returns the confirmation checkbox.
 */
function watchTracking(groups, controls, initial, defaults) {
  const confirmBox = h("input", { type: "checkbox", name: "tracking_confirmed", class: "checkbox" });
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
  return confirmBox;
}

/** 代销: a catalogue product picked fills its name and unit; another name typed is free text again
 * (the county maps it later). Without a catalogue on the phone the picker is not shown. */
function pickFromCatalogue(controls) {
  const picker = controls.product_code;
  const row = picker.closest("[data-field]");
  if (row && picker.options.length < 2) row.hidden = true;
  picker.addEventListener("change", () => {
    const product = catalogueProduct(picker.value);
    if (!product) return;
    controls.product.value = product.name;
    setFieldError(controls.product, "");
    if (product.unit) controls.unit.value = product.unit;
  });
  controls.product.addEventListener("input", () => {
    const product = catalogueProduct(picker.value);
    if (product && controls.product.value.trim() !== product.name) picker.value = "";
  });
}

/** A scanned label puts its page's URL in the field: the batch's code is what is shown. */
function showBatchCode(input) {
  input.addEventListener("change", () => {
    const code = batchCode(input.value.trim());
    if (code) input.value = code;
  });
}

/** 代销: what is paid out to the villager (sale − commission), as the keeper types. */
function showPayout(groups, controls) {
  const line = h("p", { class: "payout-line", "data-payout": "" });
  controls.commission_fen.closest(".field").appendChild(line);
  const update = () => {
    const sale = parseYuan(asciiDigits(controls.amount_fen.value).trim() || "0");
    const commission = parseYuan(asciiDigits(controls.commission_fen.value).trim() || "0");
    const payout = sale.error || commission.error ? null : sale.fen - commission.fen;
    // A commission above the sale is refused on saving; until then the line warns, in the warning
    // colour, instead of showing a negative payout in the colour of a good one.
    line.classList.toggle("payout-invalid", payout !== null && payout < 0);
    if (payout === null) line.textContent = "";
    else if (payout < 0) line.textContent = t("sale.payout_negative", { amount: money(-payout) });
    else line.textContent = t("sale.payout_live", { amount: money(payout) });
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

/**
 * A scan that takes the place of a tracking number typed or scanned but not yet recorded says so:
 * a second parcel scanned before the first was saved replaced it without a word, and the first
 * stayed on the shelf unrecorded, its villager never told.
 */
export function warnReplaced(previousText, text) {
  const previous = parseTrackingNo(previousText || "").tracking_no;
  if (isPossibleTrackingNo(previous) && previous !== parseTrackingNo(text).tracking_no) {
    toast(t("tracking.replaced", { number: previous }), "warn", 8000);
  }
}

/** A gun's scan landed in a form's field: on to the next field. */
export function scannedInto(input, text, before) {
  if (input.name === "tracking_no") warnReplaced(before, text);
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
      if (d.account) parts.push(ltr(maskedAccount(d.account)));
      amount = d.amount_fen;
      break;
    case "checkin.recorded":
      if (d.lat !== undefined) parts.push(t("checkin.with_location"));
      if (d.note) parts.push(d.note);
      break;
    case "entry.reversed":
      parts.push(d.reason);
      break;
    case "training.attended":
      parts.push(d.title, t(`training.kind.${d.kind}`), code(t("training.count", { n: ltr(String(d.trainees.length)) })));
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

/**
 * The dot between the parts of a line, kept with the part before it (a no-break space, inside
 * that part's unbreakable span if it has one: Chromium breaks at the end of a nowrap span even
 * before a no-break space), so a wrapped line never starts with "·".
 */
export const DOT = "\u00A0·";

/** The parts of `describe` as one line whose codes and numbers do not break. */
export function detailNode(parts) {
  const line = h("span", { class: "detail-line" });
  parts.forEach((part, i) => {
    const dot = i < parts.length - 1 ? DOT : "";
    line.appendChild(typeof part === "string" ? document.createTextNode(part + dot) : h("span", { class: "nowrap" }, part.code, dot));
    if (dot) line.appendChild(document.createTextNode(" "));
  });
  return line;
}
