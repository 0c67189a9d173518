// The fields of each kind of entry's short form (API.md's event data): how each is shown, and how
// what the keeper typed is checked and turned into event data (yuan → fen, kg → g; no floats for
// money). forms.js builds the form around them.

import {
  CARRIERS,
  isPossibleTrackingNo,
  matchesCarrier,
  parseTrackingNo,
  phoneForm,
  PLATFORMS,
  SERVICES,
} from "./carriers.js";
import { t } from "./i18n.js";
import { h, setFieldError } from "./ui.js";
import {
  asciiDigits,
  fenToYuanText,
  gramsToKgText,
  labelPhone,
  MOBILE,
  normalizePhone,
  oneLine,
  parseKg,
  parseQuantity,
  parseYuan,
} from "./util.js";

// The county's catalogue (产品目录) as the phone last fetched it (sync.js keeps it for offline
// use): the 代销 form's picker fills a product's name and unit, and sends its code.
let CATALOGUE = [];

/** Use the catalogue (the screens set it from the phone's copy before building a form). */
export function useCatalogue(products) {
  CATALOGUE = Array.isArray(products) ? products : [];
}

export function catalogueProduct(code) {
  return CATALOGUE.find((p) => p.code === code) || null;
}

/** A trace batch's code from what was scanned or typed: the label's QR holds its page's URL
 * (…/t/CODE). The server reads I/L as 1 and O as 0 as the public page does. */
export function batchCode(text) {
  const at = text.lastIndexOf("/t/");
  const code = (at >= 0 ? text.slice(at + 3) : text).split(/[?#]/)[0].trim().toUpperCase();
  return /^[A-Z0-9]{1,8}-[0-9A-Z]{8}$/.test(code) ? code : null;
}

// What each kind asks for. `options` are read when a form is built: the screens await the rules
// file (rulesReady) first.
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
    { name: "destination", kind: "text", label: "field.destination", required: "error.destination_required", max: 100 },
    { name: "farm_product", kind: "switch", label: "field.farm_product" },
    { name: "household_code", kind: "household", label: "field.household_code", optional: true },
  ],
  "purchase.ordered": [
    { name: "platform", kind: "select", label: "field.platform", options: () => PLATFORMS, prefix: "platform." },
    { name: "item", kind: "text", label: "field.item", max: 100 },
    { name: "amount_fen", kind: "money", label: "field.amount_purchase", positive: true },
    { name: "commission_fen", kind: "money", label: "field.commission", zeroIfEmpty: true },
    { name: "customer_phone", kind: "phone", label: "field.customer_phone", optional: true },
    { name: "household_code", kind: "household", label: "field.household_code", optional: true },
  ],
  "sale.recorded": [
    { name: "product_code", kind: "catalogue", label: "field.catalogue_product", optional: true },
    { name: "product", kind: "text", label: "field.product", max: 40 },
    { name: "quantity", kind: "quantity", label: "field.quantity" },
    { name: "unit", kind: "text", label: "field.unit", max: 10, remember: true, fallback: "sale.unit_default" },
    { name: "amount_fen", kind: "money", label: "field.amount_sale", positive: true },
    { name: "commission_fen", kind: "money", label: "field.commission", zeroIfEmpty: true },
    { name: "channel", kind: "text", label: "field.channel", max: 40, remember: true, fallback: "sale.channel_default" },
    { name: "household_code", kind: "household", label: "field.household_code", optional: true },
    { name: "batch_code", kind: "batch", label: "field.batch_code", hint: "field.batch_code_hint", optional: true },
  ],
  "service.recorded": [
    { name: "service", kind: "choice", label: "field.service", options: () => SERVICES, prefix: "service." },
    { name: "amount_fen", kind: "money", label: "field.amount_service", positive: true },
    { name: "fee_fen", kind: "money", label: "field.fee_service", zeroIfEmpty: true },
    { name: "account", kind: "text", label: "field.account", optional: true, max: 40 },
  ],
};

export function hasForm(type) {
  return Boolean(FORMS[type]);
}

/** The fields of the form for `type`. */
export function formFields(type) {
  return FORMS[type];
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

export function inputFor(spec, initial, defaults) {
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
    case "catalogue":
      return h(
        "select",
        { name: spec.name, class: "input" },
        h("option", { value: "" }, t("sale.catalogue_free")),
        CATALOGUE.map((p) =>
          h("option", { value: p.code, selected: p.code === value }, p.brand ? `${p.name} · ${p.brand}` : p.name)
        )
      );
    case "batch":
      // A scanner gun reads the label's QR into it (scan.js: data-scan), or the keeper types the code.
      return h("input", {
        name: spec.name,
        type: "text",
        autocomplete: "off",
        autocapitalize: "characters",
        spellcheck: "false",
        maxlength: "200",
        dir: "ltr",
        "data-scan": "true",
        class: "input input-mono",
        value: value || "",
      });
    case "select":
      return h(
        "select",
        { name: spec.name, class: "input" },
        spec.options().map((o) => h("option", { value: o, selected: o === value }, t(`${spec.prefix}${o}`)))
      );
    case "phone":
      return h("input", {
        name: spec.name,
        type: "tel",
        inputmode: "numeric",
        autocomplete: "off",
        maxlength: "20",
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
        spec.options().map((o, i) =>
          h(
            "label",
            { class: "chip" },
            h("input", { type: "radio", name: spec.name, value: o, checked: value ? value === o : i === 0 }),
            h("span", null, t(`${spec.prefix}${o}`))
          )
        )
      );
    default:
      // No maxlength: it cut a pasted 300-character address to its first 100 without a word
      // (out of sight in a one-line box); collect() refuses it with "最多 N 个字" instead.
      return h("input", {
        name: spec.name,
        type: "text",
        autocomplete: "off",
        class: "input",
        value: value || "",
      });
  }
}

/** The event data the controls hold, or the first control whose value is refused. */
export function collect(type, specs, controls, confirmBox) {
  const data = {};
  let firstError = null;
  const fail = (control, key, params) => {
    setFieldError(control, t(key, params));
    if (!firstError) firstError = control.tagName === "DIV" ? control.querySelector("input") : control;
  };
  for (const spec of specs) {
    const control = controls[spec.name];
    if (spec.kind !== "choice" && spec.kind !== "switch") setFieldError(control, "");
    const raw = spec.kind === "choice" || spec.kind === "switch" ? null : asciiDigits(oneLine(control.value)).trim();
    if (raw === "" && !spec.zeroIfEmpty) {
      // A field whose label does not read well inside the generic sentence has its own.
      if (!spec.optional) fail(control, spec.required || "error.required", { field: t(spec.label) });
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
        const phone = labelPhone(raw);
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
        // A sale, purchase or top-up of ¥0 is a slip of the finger (a 0 sale still counted its
        // household as served); a 代发 fee of 0 can be true (the county pays it).
        else if (spec.positive && parsed.fen === 0) fail(control, "error.money_zero");
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
      case "batch": {
        const code = batchCode(raw);
        if (!code) fail(control, "error.batch_code");
        else data[spec.name] = code;
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
        data[spec.name] = chosen ? chosen.value : spec.options()[0];
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
