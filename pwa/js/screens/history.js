// History (台帐): the station's entries day by day. Nothing is edited or deleted: an entry is
// reversed with a reason (an entry.reversed event). Entries the server refused show its reason
// and can be fixed and sent again, or discarded.

import { describe, detailNode, hasForm, kindLabel } from "../forms.js";
import { formatDay, formatTime, t } from "../i18n.js";
import { navigate, setTitle } from "../main.js";
import { countyTimezone, dayEntries, discard, getEntry, hasPendingReversal, record, today } from "../store.js";
import { cell, cells, clear, confirmSheet, field, h, sectionTitle, setFieldError, sheet, toast } from "../ui.js";
import { addDays } from "../util.js";

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
      list.appendChild(h("p", { class: "empty" }, t("history.empty")));
      return;
    }
    list.appendChild(sectionTitle(t("history.count", { n: rows.length })));
    list.appendChild(cells(rows.map(entryCell)));
  };
  await draw();
  return { refresh: draw };
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
          const text = reason.value.trim();
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
