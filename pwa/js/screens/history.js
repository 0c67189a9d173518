// History (台帐): the station's entries day by day. Nothing is edited or deleted: an entry is
// reversed with a reason (an entry.reversed event). Entries the server refused show its reason
// and can be fixed and sent again, or discarded.

import { describe, detailNode, kindLabel } from "../forms.js";
import { hasForm } from "../form-fields.js";
import { formatDay, formatTime, ltr, money, t } from "../i18n.js";
import { navigate, setTitle } from "../main.js";
import { dayTotals } from "../projector.js";
import { dayEntries, getEntry } from "../local-view.js";
import { countyTimezone, discard, hasPendingReversal, record, today } from "../store.js";
import { cell, cells, clear, confirmSheet, field, h, sectionTitle, setFieldError, sheet, toast } from "../ui.js";
import { addDays, asciiDigits, oneLine, parseYuan } from "../util.js";

const STATUS_TAG = { pending: "tag-pending", rejected: "tag-warn", conflict: "tag-warn" };

export async function render(root, args) {
  const now = today();
  const day = /^\d{4}-\d{2}-\d{2}$/.test(args[0] || "") ? args[0] : now;
  setTitle(t("history.title"));
  const picker = h("input", { type: "date", class: "date-input", value: day, max: now, "aria-label": t("history.pick_day") });
  picker.addEventListener("change", () => {
    if (picker.value) navigate(`#/history/${picker.value}`);
  });
  root.appendChild(
    h(
      "div",
      { class: "day-bar" },
      h("a", { class: "day-step", href: `#/history/${addDays(day, -1)}`, "aria-label": t("history.previous_day") }, "‹"),
      h("div", { class: "day-label" }, h("strong", null, day === now ? t("history.today") : formatDay(day)), picker),
      day < now
        ? h("a", { class: "day-step", href: `#/history/${addDays(day, 1)}`, "aria-label": t("history.next_day") }, "›")
        : h("span", { class: "day-step day-step-off", "aria-hidden": "true" }, "›")
    )
  );
  const list = h("div", { class: "history-list" });
  root.appendChild(list);
  const draw = async () => {
    const rows = await dayEntries(day);
    clear(list);
    if (!rows.length) {
      if (day === now) list.appendChild(dayCard(day, true, dayTotals([])));
      list.appendChild(h("p", { class: "empty" }, t("history.empty")));
      return;
    }
    list.appendChild(dayCard(day, day === now, dayTotals(rows)));
    list.appendChild(sectionTitle(t("history.count", { n: rows.length })));
    list.appendChild(cells(rows.map(entryCell)));
  };
  await draw();
  return { refresh: draw };
}

/**
 * The day's totals (takings and money handled) and its till: what the entries say it should
 * hold, the keeper's count (日结) and the difference. Today has the button to count.
 */
function dayCard(day, isToday, totals) {
  const cash = totals.cash;
  const row = (label, value, attrs) => h("div", Object.assign({ class: "cash-row" }, attrs), h("span", null, label), h("strong", null, value));
  const diffClass = cash.difference_fen === null ? "" : cash.difference_fen === 0 ? "cash-even" : "cash-off";
  return h(
    "section",
    { class: "card day-card", "data-day-totals": day },
    h("h2", { class: "card-title" }, t("history.day_totals")),
    row(t("home.income"), money(totals.total_fee_fen), { "data-day-total": "fee" }),
    row(t("home.turnover"), money(totals.total_amount_fen), { "data-day-total": "amount" }),
    row(t("cash.expected"), money(cash.expected_fen), { "data-cash": "expected" }),
    row(t("cash.counted"), cash.counted_fen === null ? t("cash.not_counted") : money(cash.counted_fen), { "data-cash": "counted" }),
    cash.difference_fen === null ? null : row(t("cash.difference"), signedMoney(cash.difference_fen), { "data-cash": "difference", class: `cash-row ${diffClass}` }),
    isToday ? h("button", { type: "button", class: "btn btn-primary btn-block", "data-action": "count-cash", onclick: () => countCash(cash) }, t(cash.counted_fen === null ? "cash.count" : "cash.count_again")) : null
  );
}

function signedMoney(fen) {
  return fen > 0 ? ltr(`+${money(fen).replace(/[\u2066\u2069]/g, "")}`) : money(fen);
}

/** 日结: the keeper types what the till holds; a later count of the day replaces this one. */
function countCash(cash) {
  const input = h("input", { name: "counted_fen", type: "text", inputmode: "decimal", autocomplete: "off", class: "input input-money", placeholder: "0.00" });
  const form = h(
    "form",
    { class: "form cash-form", novalidate: true },
    h("p", { class: "sheet-text" }, t("cash.explain", { expected: money(cash.expected_fen) })),
    field(t("cash.counted"), input, { wrap: (control) => h("div", { class: "input-row input-affix" }, h("span", { class: "affix", "aria-hidden": "true" }, "¥"), control) }),
    h("button", { type: "submit", class: "btn btn-primary btn-block", "data-action": "count-save" }, t("common.save"))
  );
  const close = sheet({ title: t("cash.title"), body: form });
  setTimeout(() => input.focus(), 50);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const parsed = parseYuan(asciiDigits(input.value).trim());
    if (parsed.error) {
      setFieldError(input, t(`error.${parsed.error}`));
      input.focus();
      return;
    }
    await record("cash.counted", { counted_fen: parsed.fen });
    if (typeof close === "function") close();
    toast(t("cash.saved", { difference: signedMoney(parsed.fen - cash.expected_fen) }));
  });
}

function entryCell(entry) {
  const d = describe(entry);
  const tags = [];
  if (entry.status !== "synced") tags.push(h("span", { class: `tag ${STATUS_TAG[entry.status] || ""}` }, t(`status.${entry.status}`)));
  if (entry.reversed) tags.push(h("span", { class: "tag" }, t("status.reversed")));
  else if (entry.reversal_pending) tags.push(h("span", { class: "tag tag-pending" }, t("status.reversal_pending")));
  return cell({
    title: h("span", { class: entry.reversed ? "struck" : null }, d.title),
    detail: h(
      "span",
      null,
      entry.status === "rejected" && entry.error ? h("span", { class: "error-text" }, entry.error.detail) : null,
      detailNode(d.parts)
    ),
    extra: h("span", { class: "entry-extra" }, h("span", null, formatTime(entry.occurred_at, countyTimezone())), d.amount ? h("strong", null, d.amount) : null, tags),
    onClick: () => openEntrySheet(entry.id),
    attrs: { "data-entry": entry.id, "data-type": entry.type, "data-status": entry.status },
  });
}

/** The details of one entry and what can be done with it. */
export async function openEntrySheet(id) {
  const entry = await getEntry(id);
  if (!entry) return;
  const d = describe(entry);
  const body = h(
    "div",
    null,
    h("p", { class: "sheet-text" }, detailNode(d.parts)),
    d.amount ? h("p", { class: "sheet-amount" }, d.amount) : null,
    h("p", { class: "sheet-meta" }, `${formatDay(entry.business_date || entry.local_date || today())} ${formatTime(entry.occurred_at, countyTimezone())}`),
    entry.status === "rejected" ? h("p", { class: "notice notice-warn", "data-error": (entry.error && entry.error.code) || "" }, (entry.error && entry.error.detail) || t("problem.rejected_generic")) : null,
    entry.status === "conflict" ? h("p", { class: "notice notice-warn" }, t("problem.conflict_detail")) : null,
    entry.reversed_by ? h("p", { class: "notice" }, t("history.reversed_note")) : null
  );
  const actions = [];
  if (entry.status === "rejected" && hasForm(entry.type)) {
    actions.push({ label: t("problem.fix"), kind: "primary", id: "fix", onClick: (close) => { close(); navigate(`#/edit/${entry.id}`); } });
  }
  if (entry.status === "rejected" || entry.status === "conflict") {
    actions.push({
      label: t("problem.discard"),
      kind: "warn",
      id: "discard",
      onClick: async (close) => {
        close();
        if (await confirmSheet(t("problem.discard_title"), t("problem.discard_text"), t("problem.discard"), "warn")) {
          await discard(entry.id);
          toast(t("problem.discarded"));
        }
      },
    });
  }
  const reversible =
    (entry.status === "synced" || entry.status === "pending") &&
    !entry.reversed_by &&
    entry.type !== "entry.reversed" &&
    !(await hasPendingReversal(entry.id));
  if (reversible) {
    actions.push({ label: t("reverse.action"), kind: "warn", id: "reverse", onClick: (close) => { close(); openReverse(entry); } });
  }
  actions.push({ label: t("common.close"), onClick: (close) => close() });
  sheet({ title: d.title, body, actions });
}

function openReverse(entry) {
  const reason = h("input", { name: "reason", type: "text", class: "input", maxlength: "200" });
  sheet({
    title: t("reverse.title", { kind: kindLabel(entry.type, entry.data) }),
    body: h("div", null, h("p", { class: "sheet-text" }, t("reverse.explain")), field(t("field.reason"), reason)),
    actions: [
      {
        label: t("reverse.confirm"),
        kind: "warn",
        id: "reverse-confirm",
        onClick: async (close) => {
          const text = oneLine(reason.value).trim();
          if (!text) {
            setFieldError(reason, t("error.required", { field: t("field.reason") }));
            reason.focus();
            return;
          }
          close();
          await record("entry.reversed", { target_id: entry.id, reason: text });
          toast(t("reverse.done"));
        },
      },
      { label: t("common.cancel"), onClick: (close) => close() },
    ],
  });
}
