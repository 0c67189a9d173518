// 货架与价格: the keeper sets up the shelf (how many shelves, layers on each, the names used on
// the labels) and the station's opening hours (they go into the villagers' pickup SMS), and the
// station's own 代发 prices: per carrier and weight band, over the county's (shown greyed as the
// placeholder). Fees are typed in 元 with the app's one money parser (12.5 and 12,5 alike).
// Reached from 我的; loaded on demand with the counter's strings (not part of the first load).
// Settings live on the server, so saving needs the network; the last copy is kept for the
// counter's other screens (batch scan-in labels, the 代发 fee suggestion).

import { api, NetworkError } from "../api.js";
import { ltr, t } from "../i18n.js";
import { app, setTitle } from "../main.js";
import { kvSet } from "../store.js";
import { button, clear, field, h, sectionTitle, setFieldError, toast } from "../ui.js";
import { asciiDigits, fenToYuanText, gramsToKgText, parseYuan } from "../util.js";
import { counterStrings, stationShelf } from "./counter-kit.js";

const MAX_SHELVES = 26;
const MAX_LAYERS = 9;
const NAME_MAX = 12;

export async function render(root) {
  setTitle(t("setup.title"), "#/me");
  await counterStrings();
  const base = `/api/v1/stations/${app.user.station_id}`;
  const body = h("div", { class: "setup" });
  root.appendChild(body);
  const [shelf, prices] = await Promise.all([
    stationShelf(),
    api("GET", `${base}/prices`, undefined, { timeout: 6000 }).catch(() => null),
  ]);
  body.appendChild(shelfForm(base, shelf));
  body.appendChild(prices ? pricesForm(base, prices) : h("p", { class: "empty", "data-prices-offline": "" }, t("setup.prices_offline")));
  return {};
}

function wholeNumber(text, min, max) {
  const cleaned = asciiDigits(text).trim();
  if (!/^\d{1,3}$/.test(cleaned)) return null;
  const value = Number(cleaned);
  return value >= min && value <= max ? value : null;
}

function problemText(error) {
  if (error instanceof NetworkError) return t("setup.offline");
  return (error && error.problem && error.problem.detail) || t("setup.offline");
}

// The shelf and the opening hours ------------------------------------------------------------

function shelfForm(base, shelf) {
  const numberInput = (name, value, max) =>
    h("input", { name, type: "text", inputmode: "numeric", dir: "ltr", maxlength: "2", class: "input input-mono setup-number", value: String(value), "aria-label": t(`setup.${name}`), "data-max": String(max) });
  const shelvesInput = numberInput("shelves", shelf.shelves, MAX_SHELVES);
  const layersInput = numberInput("layers", shelf.layers, MAX_LAYERS);
  const hoursInput = h("input", { name: "opening_hours", type: "text", dir: "auto", maxlength: "60", class: "input", value: shelf.opening_hours || "", placeholder: "8:00-20:00" });
  const names = (shelf.shelf_names || []).slice();
  const namesBox = h("div", { class: "setup-names", "data-shelf-names": "" });
  const namesError = h("p", { class: "field-error", role: "alert", "data-error-for": "shelf_names" });
  const message = h("p", { class: "form-message", role: "alert" });

  const nameInputs = () => Array.prototype.slice.call(namesBox.querySelectorAll("input"));
  const drawNames = () => {
    nameInputs().forEach((input, i) => {
      names[i] = input.value;
    });
    const count = wholeNumber(shelvesInput.value, 1, MAX_SHELVES);
    if (count === null) return;
    clear(namesBox);
    for (let i = 0; i < count; i++) {
      const number = String(i + 1);
      const typed = names[i] !== undefined && names[i] !== number ? names[i] : "";
      namesBox.appendChild(
        h(
          "label",
          { class: "setup-name" },
          h("span", { class: "setup-name-number", dir: "ltr" }, number),
          h("input", { name: `shelf_name_${i}`, type: "text", dir: "auto", maxlength: String(NAME_MAX), class: "input", value: typed, placeholder: number, "aria-label": t("setup.name_n", { n: number }) })
        )
      );
    }
  };
  shelvesInput.addEventListener("input", drawNames);
  drawNames();

  const check = () => {
    let ok = true;
    const shelves = wholeNumber(shelvesInput.value, 1, MAX_SHELVES);
    const layers = wholeNumber(layersInput.value, 1, MAX_LAYERS);
    setFieldError(shelvesInput, shelves === null ? t("setup.range", { min: ltr(1), max: ltr(MAX_SHELVES) }) : "");
    setFieldError(layersInput, layers === null ? t("setup.range", { min: ltr(1), max: ltr(MAX_LAYERS) }) : "");
    if (shelves === null || layers === null) ok = false;
    const seen = {};
    namesError.textContent = "";
    const typedNames = nameInputs().map((input) => {
      const value = input.value.trim();
      let error = "";
      if (value.indexOf(",") >= 0 || value.indexOf("，") >= 0) error = t("setup.name_comma");
      else if (value && seen[value]) error = t("setup.name_repeat");
      if (value) seen[value] = true;
      if (error) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      if (error && !namesError.textContent) namesError.textContent = error;
      if (error) ok = false;
      return value;
    });
    setFieldError(hoursInput, "");
    return ok ? { shelves, layers, shelf_names: typedNames, opening_hours: hoursInput.value.trim() } : null;
  };

  let saving = false;
  const save = async (event) => {
    event.preventDefault();
    if (saving) return;
    message.textContent = "";
    const data = check();
    if (!data) {
      message.textContent = t("setup.fix");
      return;
    }
    saving = true;
    try {
      const answer = await api("PUT", `${base}/shelf`, data);
      await kvSet("shelf", answer);
      toast(t("setup.saved"));
    } catch (error) {
      message.textContent = problemText(error);
      if (error && error.problem && error.problem.field === "shelf_names") nameInputs().forEach((input) => input.setAttribute("aria-invalid", "true"));
    } finally {
      saving = false;
    }
  };

  return h(
    "form",
    { class: "setup-form", "data-form": "shelf", novalidate: true, autocomplete: "off", onsubmit: save },
    sectionTitle(t("setup.shelf")),
    h("div", { class: "setup-pair" }, field(t("setup.shelves"), shelvesInput), field(t("setup.layers"), layersInput)),
    h("div", { class: "field" }, h("div", { class: "field-label" }, t("setup.names")), h("p", { class: "field-hint" }, t("setup.names_hint")), namesBox, namesError),
    field(t("setup.hours"), hoursInput, { hint: t("setup.hours_hint") }),
    message,
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn btn-primary btn-block", "data-action": "save-shelf" }, t("setup.save_shelf")))
  );
}

// The station's own 代发 prices ---------------------------------------------------------------

function pricesForm(base, answer) {
  let own = answer.station || {};
  const baseTable = answer.base || answer.prices || {};
  const message = h("p", { class: "form-message", role: "alert" });
  const CARRIERS = Object.keys(baseTable); // the server's order
  const inputs = {}; // carrier → [input per band of the base table]
  const states = {};

  const showState = (carrier) => {
    states[carrier].textContent = own[carrier] ? t("setup.own_prices") : t("setup.county_prices");
    states[carrier].className = `setup-state${own[carrier] ? " setup-state-own" : ""}`;
  };
  const ownFee = (carrier, grams) => {
    for (const [upTo, fee] of own[carrier] || []) if (upTo === grams) return fee;
    return null;
  };

  const carrierBlock = (carrier) => {
    const bands = baseTable[carrier] || [];
    // The station's own bands when it has some the base does not (set through the API).
    const weights = bands.map((band) => band[0]);
    for (const [grams] of own[carrier] || []) if (weights.indexOf(grams) < 0) weights.push(grams);
    weights.sort((a, b) => a - b);
    inputs[carrier] = weights.map((grams) => {
      const baseBand = bands.filter((band) => band[0] === grams)[0];
      const typed = ownFee(carrier, grams);
      return h("input", {
        name: `fee_${carrier}_${grams}`,
        type: "text",
        inputmode: "decimal",
        dir: "ltr",
        maxlength: "10",
        class: "input input-mono setup-fee",
        value: typed === null ? "" : fenToYuanText(typed),
        placeholder: baseBand ? fenToYuanText(baseBand[1]) : "",
        "data-grams": String(grams),
        "aria-label": t("setup.fee_for", { carrier: t(`carrier.${carrier}`), kg: gramsToKgText(grams) }),
      });
    });
    states[carrier] = h("span", { "data-price-state": carrier });
    showState(carrier);
    return h(
      "details",
      { class: "setup-carrier", "data-carrier": carrier, open: own[carrier] ? true : null },
      h("summary", { class: "setup-carrier-title" }, h("span", null, t(`carrier.${carrier}`)), states[carrier]),
      h(
        "div",
        { class: "setup-bands" },
        weights.map((grams, i) =>
          h(
            "label",
            { class: "setup-band" },
            h("span", { class: "setup-band-weight" }, t("setup.up_to", { kg: gramsToKgText(grams) })),
            h("span", { class: "input-row" }, inputs[carrier][i], h("span", { class: "affix" }, t("setup.yuan"))),
            h("span", { class: "field-error" })
          )
        )
      )
    );
  };

  /** The typed fees as the station's table: a carrier with any fee typed gets its whole band list
   * (untyped bands at the county's fee), a carrier left empty follows the county. */
  const collect = () => {
    const table = {};
    let ok = true;
    for (const carrier of CARRIERS) {
      const bands = [];
      let typedAny = false;
      for (const input of inputs[carrier] || []) {
        const raw = input.value.trim();
        const errorEl = input.parentNode.nextSibling;
        errorEl.textContent = "";
        input.removeAttribute("aria-invalid");
        let fen = null;
        if (raw) {
          const parsed = parseYuan(raw);
          if (parsed.error) {
            errorEl.textContent = t(`error.${parsed.error}`);
            input.setAttribute("aria-invalid", "true");
            input.closest("details").open = true;
            ok = false;
            continue;
          }
          fen = parsed.fen;
          typedAny = true;
        } else if (input.placeholder) {
          fen = parseYuan(input.placeholder).fen;
        }
        if (fen !== null) bands.push([Number(input.dataset.grams), fen]);
      }
      if (typedAny) table[carrier] = bands;
    }
    return ok ? table : null;
  };

  const put = async (table) => {
    message.textContent = "";
    try {
      const saved = await api("PUT", `${base}/prices`, { prices: table });
      own = saved.station || {};
      await kvSet("prices", saved.prices);
      for (const carrier of CARRIERS) {
        showState(carrier);
        for (const input of inputs[carrier] || []) {
          const fee = ownFee(carrier, Number(input.dataset.grams));
          input.value = fee === null ? "" : fenToYuanText(fee);
        }
      }
      toast(t("setup.saved"));
    } catch (error) {
      message.textContent = problemText(error);
    }
  };

  const save = (event) => {
    event.preventDefault();
    const table = collect();
    if (!table) {
      message.textContent = t("setup.fix");
      return;
    }
    put(table);
  };

  return h(
    "form",
    { class: "setup-form", "data-form": "prices", novalidate: true, autocomplete: "off", onsubmit: save },
    sectionTitle(t("setup.prices")),
    h("p", { class: "setup-hint" }, t("setup.prices_hint")),
    h("div", { class: "cells setup-carriers" }, CARRIERS.map(carrierBlock)),
    message,
    h(
      "div",
      { class: "form-actions" },
      h("button", { type: "submit", class: "btn btn-primary btn-block", "data-action": "save-prices" }, t("setup.save_prices")),
      button(t("setup.reset_prices"), "default btn-block setup-reset", () => put({}), { "data-action": "reset-prices" })
    )
  );
}
