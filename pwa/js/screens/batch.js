// 连续入库 batch scan-in: one screen that stays open through a courier's drop of 30–80 parcels.
// Scan → the carrier is guessed from the number → phone (full, a privacy label 138****5678, or
// the last four digits) → Enter → the pickup code is shown large until the next scan. The fields
// are cleared and the focus is back on the number the moment Enter is pressed, before anything is
// saved, so the next scan can begin at once (saves run one after another behind it, each writing
// the outbox first). The running list, undo of the last parcel (a reversal, offline too) and the
// summary per carrier are kept in the station's kv store: a reload continues the batch.

import { guessCarrier, isPossibleTrackingNo, matchesCarrier, parseTrackingNo, phoneForm, rulesReady, CARRIERS } from "../carriers.js";
import { trackingField } from "../form-fields.js";
import { ltr, t } from "../i18n.js";
import { setTitle } from "../main.js";
import { proposePickupCode } from "../projector.js";
import { localView } from "../local-view.js";
import { kvGet, kvSet, record } from "../store.js";
import { button, cell, cells, clear, h, sectionTitle, sheet, toast } from "../ui.js";
import { asciiDigits, labelPhone } from "../util.js";
import { counterStrings, shelfLabel, stationShelf } from "./counter-kit.js";

const KEY = "batch";

function emptyBatch() {
  return { started_at: new Date().toISOString(), items: [] };
}

export async function render(root) {
  setTitle(t("batch.title"), "#/record");
  await Promise.all([rulesReady, counterStrings()]);
  let batch = (await kvGet(KEY)) || emptyBatch();
  const shelf = await stationShelf();
  let pending = { tracking_no: "", package: null, carrier: null };
  let saving = Promise.resolve();

  // The code shown large, and what it belongs to.
  const bigCode = h("div", { class: "batch-code", dir: "ltr", "data-batch-code": "" });
  const bigWhere = h("div", { class: "batch-where" });
  const bigWhat = h("div", { class: "batch-what" });
  const stage = h("section", { class: "batch-stage", "aria-live": "polite" }, bigCode, bigWhere, bigWhat);

  const trackingInput = trackingField({
    placeholder: t("batch.scan_placeholder"),
    "aria-label": t("field.tracking_no"),
  });
  const carrierSelect = h(
    "select",
    { name: "carrier", class: "input batch-carrier", "aria-label": t("field.carrier") },
    CARRIERS.map((c) => h("option", { value: c }, t(`carrier.${c}`)))
  );
  const phoneInput = h("input", {
    name: "recipient_phone",
    type: "tel",
    inputmode: "tel",
    autocomplete: "off",
    maxlength: "13",
    "data-scan": "true", // a burst here is judged by its shape: a phone saves, a number is refused
    class: "input input-mono",
    placeholder: t("batch.phone_placeholder"),
    "aria-label": t("field.recipient_phone"),
  });
  const problem = h("p", { class: "batch-problem", role: "alert", hidden: true });
  const packageNote = h("p", { class: "package-note", hidden: true, "data-package-note": "" });
  const formEl = h(
    "form",
    { class: "batch-form", "data-form": "batch", novalidate: true, autocomplete: "off" },
    h("div", { class: "batch-row" }, trackingInput, carrierSelect),
    packageNote,
    h("div", { class: "batch-row" }, phoneInput, h("button", { type: "submit", class: "btn btn-primary batch-enter" }, t("batch.enter"))),
    problem
  );
  const counter = h("div", { class: "batch-count", "data-batch-count": "" });
  const actions = h(
    "div",
    { class: "batch-actions" },
    button(t("batch.undo"), "default", () => undoLast(), { "data-action": "undo" }),
    button(t("batch.finish"), "primary", () => showSummary(), { "data-action": "finish" })
  );
  const list = h("div", { class: "batch-list" });
  const summary = h("div", { class: "batch-summary" });
  root.appendChild(h("div", { class: "batch" }, stage, formEl, counter, actions, summary, list));

  const live = () => batch.items.filter((item) => !item.undone);

  const showProblem = (text) => {
    problem.textContent = text;
    problem.hidden = !text;
    if (text) {
      formEl.classList.remove("batch-shake");
      void formEl.offsetWidth; // restart the animation
      formEl.classList.add("batch-shake");
      if (navigator.vibrate) navigator.vibrate([120, 60, 120]);
    }
  };

  const showStage = (item) => {
    if (!item) {
      bigCode.textContent = "";
      bigWhere.textContent = t("batch.ready");
      bigWhat.textContent = "";
      stage.classList.add("batch-stage-idle");
      return;
    }
    stage.classList.remove("batch-stage-idle");
    bigCode.textContent = item.code;
    bigWhere.textContent = shelfLabel(item.code, shelf);
    bigWhat.textContent = `${t(`carrier.${item.carrier}`)} · ${item.tracking_no}${item.package ? ` (${item.package})` : ""}`;
    bigWhat.setAttribute("dir", "auto");
  };

  const takeNumber = (text) => {
    const parsed = parseTrackingNo(text);
    if (!isPossibleTrackingNo(parsed.tracking_no)) {
      showProblem(t("batch.not_a_number", { text: ltr(text) }));
      trackingInput.value = "";
      trackingInput.focus();
      return;
    }
    showProblem("");
    // Guessed afresh from every number; a number that fits no carrier's format is OTHER.
    const carrier = guessCarrier(parsed.tracking_no, null) || "OTHER";
    pending = { tracking_no: parsed.tracking_no, package: parsed.package, carrier };
    trackingInput.value = parsed.tracking_no;
    packageNote.textContent = parsed.package ? t("tracking.package", { package: parsed.package }) : "";
    packageNote.hidden = !parsed.package;
    carrierSelect.value = matchesCarrier(carrier, parsed.tracking_no) ? carrier : "OTHER";
    phoneInput.focus();
  };

  const enter = () => {
    if (!pending.tracking_no) {
      if (trackingInput.value.trim()) takeNumber(trackingInput.value);
      else trackingInput.focus();
      return;
    }
    const phone = labelPhone(phoneInput.value);
    if (!phoneForm(phone)) {
      showProblem(t("batch.phone_invalid"));
      phoneInput.focus();
      return;
    }
    const data = { tracking_no: pending.tracking_no, carrier: carrierSelect.value, recipient_phone: phone };
    if (pending.package) data.package = pending.package;
    if (!matchesCarrier(data.carrier, data.tracking_no)) data.tracking_confirmed = true; // the keeper chose it
    // Ready for the next scan now; the save runs behind it.
    pending = { tracking_no: "", package: null, carrier: data.carrier };
    trackingInput.value = "";
    packageNote.hidden = true;
    phoneInput.value = "";
    showProblem("");
    trackingInput.focus();
    saving = saving.then(() => save(data)).catch((error) => showProblem(String((error && error.message) || error)));
  };

  const save = async (data) => {
    const view = await localView();
    const already = view.shelf.find((p) => p.tracking_no === data.tracking_no && (p.package || null) === (data.package || null));
    if (already) {
      showProblem(t("batch.already_on_shelf", { tracking: ltr(data.tracking_no), code: ltr(already.pickup_code) }));
      return;
    }
    data.pickup_code = proposePickupCode(data.tracking_no, view.shelf, await kvGet("station"));
    const entry = await record("parcel.received", data);
    const item = {
      id: entry.id,
      tracking_no: data.tracking_no,
      package: data.package || null,
      carrier: data.carrier,
      phone: data.recipient_phone,
      code: data.pickup_code,
      at: entry.occurred_at,
    };
    batch.items.unshift(item);
    await kvSet(KEY, batch);
    showStage(item);
    draw();
  };

  const undoLast = async () => {
    await saving;
    const last = live()[0];
    if (!last) return;
    await record("entry.reversed", { target_id: last.id, reason: t("batch.undo_reason") });
    last.undone = true;
    await kvSet(KEY, batch);
    toast(t("batch.undone", { code: ltr(last.code) }), "warn");
    showStage(live()[0]);
    draw();
    trackingInput.focus();
  };

  // The parcel does not fit the suggested slot: the keeper gives it another code (parcel.moved).
  const moveItem = (item) => {
    const input = h("input", {
      name: "new_code",
      type: "text",
      inputmode: "text",
      autocapitalize: "characters",
      autocomplete: "off",
      dir: "ltr",
      class: "input input-mono",
      value: item.code,
      "aria-label": t("batch.move_code"),
    });
    const error = h("p", { class: "field-error", role: "alert" });
    sheet({
      title: t("batch.move_title"),
      body: h("div", { class: "field" }, h("label", { class: "field-label" }, t("batch.move_code")), input, error),
      actions: [
        {
          label: t("batch.move_save"),
          kind: "primary",
          id: "move",
          onClick: async (close) => {
            const code = asciiDigits(input.value).trim().toUpperCase();
            if (!/^[0-9A-Z]+(-[0-9A-Z]+){0,3}$/.test(code) || code.length > 16) {
              error.textContent = t("batch.code_invalid");
              return;
            }
            if (code === item.code) return close();
            const view = await localView();
            if (view.shelf.some((p) => p.pickup_code === code && p.id !== item.id)) {
              error.textContent = t("batch.code_taken", { code: ltr(code) });
              return;
            }
            await record("parcel.moved", { parcel_id: item.id, pickup_code: code });
            item.code = code;
            item.relabel = false;
            await kvSet(KEY, batch);
            close();
            toast(t("batch.moved", { code: ltr(code) }));
            if (live()[0] === item) showStage(item);
            draw();
            trackingInput.focus();
          },
        },
        { label: t("common.cancel"), id: "cancel", onClick: (close) => close() },
      ],
    });
    input.focus();
    input.select();
  };

  const showSummary = async () => {
    await saving;
    clear(summary);
    const items = live();
    const perCarrier = {};
    for (const item of items) perCarrier[item.carrier] = (perCarrier[item.carrier] || 0) + 1;
    summary.appendChild(sectionTitle(t("batch.summary", { n: items.length })));
    summary.appendChild(
      cells(
        Object.keys(perCarrier)
          .sort((a, b) => perCarrier[b] - perCarrier[a])
          .map((c) => cell({ title: t(`carrier.${c}`), extra: t("batch.pieces", { n: perCarrier[c] }), attrs: { "data-summary-carrier": c } }))
      )
    );
    summary.appendChild(
      h(
        "div",
        { class: "form-actions" },
        button(t("batch.new"), "primary", async () => {
          batch = emptyBatch();
          await kvSet(KEY, batch);
          clear(summary);
          showStage(null);
          draw();
          trackingInput.focus();
        }, { "data-action": "new-batch" })
      )
    );
  };

  const draw = async () => {
    // A code the server changed (another phone took the slot offline) replaces the one shown.
    const view = await localView();
    const byId = new Map(view.shelf.map((p) => [p.id, p]));
    let changed = false;
    for (const item of batch.items) {
      const now = byId.get(item.id);
      if (now && now.pickup_code && now.pickup_code !== item.code) {
        item.code = now.pickup_code;
        item.relabel = true;
        changed = true;
      }
    }
    if (changed) await kvSet(KEY, batch);
    const items = live();
    counter.textContent = t("batch.count", { n: items.length });
    clear(list);
    if (!batch.items.length) return;
    list.appendChild(
      cells(
        batch.items.slice(0, 80).map((item) =>
          cell({
            title: h("span", { class: "batch-item-code", dir: "ltr" }, item.code),
            detail: `${t(`carrier.${item.carrier}`)} · ${ltr(item.tracking_no)}${item.package ? ` ${ltr(item.package)}` : ""} · ${ltr(item.phone)}`,
            extra: item.undone ? t("batch.undone_short") : item.relabel ? t("batch.relabel") : "",
            className: item.undone ? "batch-item-undone" : item.relabel ? "cell-warn" : "",
            attrs: { "data-batch-item": item.id, "data-tracking": item.tracking_no },
            onClick: item.undone ? undefined : () => moveItem(item),
          })
        )
      )
    );
  };

  formEl.addEventListener("submit", (event) => {
    event.preventDefault();
    enter();
  });
  trackingInput.addEventListener("keydown", (event) => {
    // A gun's Enter was taken by the scan capture already (it called takeNumber).
    if (event.key === "Enter" && !event.defaultPrevented) {
      event.preventDefault();
      if (trackingInput.value.trim()) takeNumber(trackingInput.value);
    }
  });
  trackingInput.addEventListener("input", () => {
    if (trackingInput.value !== pending.tracking_no) {
      pending = { tracking_no: "", package: null, carrier: pending.carrier };
      packageNote.hidden = true;
    }
  });
  showStage(live()[0]);
  await draw();
  trackingInput.focus();

  return {
    onFieldScan(input, text) {
      if (input === phoneInput) {
        // A phone number typed fast (or a gun on a phone barcode) is the phone; a tracking number
        // landing here means the last parcel has no phone yet: refused loudly, nothing replaced.
        if (phoneForm(asciiDigits(text).replace(/[\s-]/g, ""))) {
          enter();
          return;
        }
        phoneInput.value = "";
        showProblem(t("batch.phone_first", { tracking: ltr(pending.tracking_no) }));
        phoneInput.focus();
        return;
      }
      takeNumber(text);
    },
    onScan(text) {
      if (pending.tracking_no && document.activeElement === phoneInput) {
        showProblem(t("batch.phone_first", { tracking: ltr(pending.tracking_no) }));
        return;
      }
      takeNumber(text);
    },
    refresh: draw, // the app calls it after every change (a sync answered, another save)
  };
}
