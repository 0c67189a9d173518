// Home: things to do (check-in due, entries to fix, overdue parcels), the sync state, today's
// takings by kind and the parcels on the shelf — all from local state, the same offline.

import { api } from "../api.js";
import { maskedPhone } from "../carriers.js";
import { describe, detailNode } from "../forms.js";
import { formatDateTime, ltr, money, t } from "../i18n.js";
import { app, lastSyncText, schedule, setTitle, syncStatus } from "../main.js";
import { confirmRelabel, localView } from "../local-view.js";
import { countyTimezone, kvGet, kvSet } from "../store.js";
import { button, cell, cells, clear, confirmSheet, h, icon, sectionTitle } from "../ui.js";
import { counterCard } from "./counter-kit.js";
import { openEntrySheet } from "./history.js";

const QUICK = [
  { href: "#/record/received", icon: "received", label: "type.parcel.received" },
  { href: "#/pickup", icon: "pickup", label: "type.parcel.picked_up" },
  { href: "#/record/dispatched", icon: "dispatched", label: "type.parcel.dispatched" },
  { href: "#/record", icon: "record", label: "record.more" },
];

export async function render(root) {
  const body = h("div", { class: "home" });
  root.appendChild(body);
  const draw = async () => {
    const view = await localView();
    // A check-in reminder is done once the station has checked in (here or on another phone).
    const all = (await kvGet("inbox")) || [];
    if (view.checked_in) await retireCheckinReminders(all);
    const inbox = ((await kvGet("inbox")) || []).filter((item) => !item.read_at);
    if (!body.isConnected) return; // the keeper has moved on to another screen meanwhile
    setTitle((view.summary && view.summary.station_name) || t("app.name"));
    clear(body);
    body.appendChild(inboxBanners(inbox));
    body.appendChild(todo(view));
    body.appendChild(syncCell(view));
    body.appendChild(takings(view));
    body.appendChild(
      h(
        "div",
        { class: "quick" },
        QUICK.map((q) => h("a", { class: "quick-item", href: q.href }, h("span", { class: "quick-icon" }, icon(q.icon)), h("span", { class: "quick-label" }, t(q.label))))
      )
    );
    body.appendChild(await counterCard(view)); // issue 12: today per carrier, batch, stale
    body.appendChild(shelf(view));
  };
  await draw();
  return { refresh: draw };
}

function inboxBanners(items) {
  return h(
    "div",
    { class: "inbox" },
    items.map((item) =>
      h(
        "button",
        {
          type: "button",
          class: `notice-banner notice-${item.kind === "reminder" ? "reminder" : "notice"}`,
          "data-inbox": item.id,
          onclick: () => openInboxItem(item),
        },
        icon("bell", "banner-icon"),
        h("span", { class: "notice-text" }, h("strong", null, item.title), item.body ? h("span", null, item.body) : null)
      )
    )
  );
}

function isCheckinReminder(item) {
  return item.kind === "reminder" && Boolean(item.url) && item.url.indexOf("#/checkin") >= 0;
}

async function retireCheckinReminders(items) {
  const done = items.filter((item) => !item.read_at && isCheckinReminder(item));
  if (!done.length) return;
  const now = new Date().toISOString();
  await kvSet(
    "inbox",
    items.map((i) => (done.indexOf(i) >= 0 ? Object.assign({}, i, { read_at: now }) : i))
  );
  for (const item of done) api("POST", `/api/v1/inbox/${item.id}/read`, {}).catch(() => {});
}

async function openInboxItem(item) {
  const items = (await kvGet("inbox")) || [];
  await kvSet(
    "inbox",
    items.map((i) => (i.id === item.id ? Object.assign({}, i, { read_at: new Date().toISOString() }) : i))
  );
  api("POST", `/api/v1/inbox/${item.id}/read`, {}).catch(() => {});
  const hash = item.url && item.url.indexOf("/app/") === 0 ? item.url.indexOf("#") : -1;
  if (hash >= 0) {
    location.hash = item.url.slice(hash);
  } else if (app.screen && app.screen.refresh) {
    app.screen.refresh();
  }
}

function todo(view) {
  const rows = [];
  if (!view.checked_in) {
    rows.push(
      h(
        "a",
        { class: "checkin-cta", href: "#/checkin", "data-todo": "checkin" },
        icon("checkin", "checkin-cta-icon"),
        h("span", { class: "checkin-cta-text" }, h("strong", null, t("checkin.cta")), h("span", null, t("checkin.due")))
      )
    );
  }
  for (const p of view.relabel) rows.push(relabelCell(p));
  for (const entry of view.problems) {
    const described = describe(entry);
    const reason = entry.status === "conflict" ? t("problem.conflict_detail") : (entry.error && entry.error.detail) || t("problem.rejected_generic");
    rows.push(
      cell({
        title: t(entry.status === "conflict" ? "problem.conflict_title" : "problem.rejected_title", { kind: described.title }),
        // Which entry it is (its number, amount…), then the server's reason.
        detail: h("span", { class: "problem-detail" }, detailNode(described.amount ? described.parts.concat({ code: described.amount }) : described.parts), h("span", { class: "problem-reason" }, reason)),
        iconName: "warn",
        className: "cell-warn",
        onClick: () => openEntrySheet(entry.id),
        attrs: { "data-problem": entry.id },
      })
    );
  }
  if (view.overdue.length) {
    rows.push(
      cell({
        title: t("home.overdue", { n: view.overdue.length }),
        detail: t("home.overdue_detail", { days: view.rule.return_days }),
        iconName: "warn",
        className: "cell-warn",
        href: "#/pickup",
      })
    );
  }
  if (!rows.length) return h("div", { class: "todo-empty" });
  const checkin = rows[0].classList.contains("checkin-cta") ? rows.shift() : null;
  return h("div", { class: "todo" }, checkin, rows.length ? h("div", null, sectionTitle(t("home.todo")), cells(rows)) : null);
}

/** A parcel whose pickup code the server changed: on the to-do list until the label is rewritten. */
export function relabelCell(p) {
  return cell({
    title: h("span", null, t("relabel.title"), " ", h("span", { class: "code code-old" }, p.relabel), " ", h("span", { class: "arrow", "aria-hidden": "true" }, "→"), " ", h("span", { class: "code" }, p.pickup_code)),
    detail: h("span", null, h("span", { class: "nowrap" }, ltr(p.package ? `${p.tracking_no} ${p.package}` : p.tracking_no)), " · ", p.recipient_name || ltr(maskedPhone(p.recipient_phone))),
    iconName: "warn",
    className: "cell-warn",
    attrs: { "data-relabel": p.id },
    onClick: async () => {
      const ok = await confirmSheet(t("relabel.sheet_title"), t("relabel.sheet_text", { old: p.relabel, code: p.pickup_code }), t("relabel.done"));
      if (ok) await confirmRelabel(p.id);
    },
  });
}

function syncCell(view) {
  let title;
  let kind = "ok";
  if (syncStatus.needsLogin) {
    title = t("sync.login_needed");
    kind = "warn";
  } else if (view.pending) {
    title = t("sync.pending", { n: view.pending });
    kind = "pending";
  } else {
    title = t("sync.all_synced");
  }
  const detail = !syncStatus.online ? t("sync.offline_detail") : lastSyncText();
  return h(
    "div",
    { class: `sync-state sync-${kind}`, "data-sync": kind },
    icon(kind === "ok" ? "ok" : "cloud", "sync-icon"),
    h("div", { class: "sync-text" }, h("strong", { class: "sync-title" }, title), h("span", { class: "sync-detail" }, detail)),
    button(t("sync.now"), "mini", () => schedule(0), { "data-action": "sync-now" })
  );
}

function takings(view) {
  const lines = view.kinds.filter((line) => line.kind !== "checkin_recorded");
  return h(
    "section",
    { class: "card takings", "aria-labelledby": "takings-title" },
    h("h2", { class: "card-title", id: "takings-title" }, t("home.today")),
    h(
      "div",
      { class: "takings-totals" },
      h("div", { class: "total" }, h("span", { class: "total-label" }, t("home.income")), h("strong", { class: "total-value", "data-total": "fee" }, money(view.total_fee_fen))),
      h("div", { class: "total" }, h("span", { class: "total-label" }, t("home.turnover")), h("strong", { class: "total-value", "data-total": "amount" }, money(view.total_amount_fen)))
    ),
    lines.length
      ? h(
          "ul",
          { class: "kind-lines" },
          lines.map((line) =>
            h(
              "li",
              { class: "kind-line", "data-kind": line.kind },
              h("span", { class: "kind-name" }, t(`kind.${line.kind}`)),
              h("span", { class: "kind-count" }, t("home.count", { n: line.count })),
              h("span", { class: "kind-money" }, line.amount_fen ? money(line.amount_fen) : "", line.fee_fen ? h("small", null, t("home.fee", { fee: money(line.fee_fen) })) : null)
            )
          )
        )
      : h("p", { class: "empty" }, t("home.nothing_today"))
  );
}

function shelf(view) {
  const tz = countyTimezone();
  return h(
    "section",
    { class: "shelf" },
    sectionTitle(t("home.shelf", { n: view.shelf.length })),
    view.shelf.length
      ? cells(
          view.shelf.slice(0, 5).map((p) =>
            cell({
              title: h("span", null, h("span", { class: "code" }, p.pickup_code || "—"), " ", p.recipient_name || ltr(maskedPhone(p.recipient_phone))),
              detail: h(
                "span",
                null,
                `${t(`carrier.${p.carrier}`)} `,
                h("span", { class: "nowrap" }, ltr(p.tracking_no)),
                " · ",
                h("span", { class: "nowrap" }, formatDateTime(p.received_at, tz))
              ),
              extra: p.relabel ? h("span", { class: "tag tag-warn", "data-tag": "relabel" }, t("relabel.tag")) : p.overdue ? h("span", { class: "tag tag-warn" }, t("parcel.overdue")) : t("parcel.days", { n: p.days }),
              href: `#/pickup/${encodeURIComponent(p.tracking_no)}`,
            })
          ),
          view.shelf.length > 5 ? cell({ title: t("home.shelf_all"), href: "#/pickup" }) : null
        )
      : h("p", { class: "empty" }, t("home.shelf_empty"))
  );
}
