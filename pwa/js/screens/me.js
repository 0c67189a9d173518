// Me: who is logged in, the language, installing the app, reminders (push, asked only after an
// explanation), the sync and storage state, logout (which never drops unsent entries).

import { digitDate, formatMonth, LANGUAGES, language, ltr, t } from "../i18n.js";
import { monthDays } from "../local-view.js";
import { app, changeLanguage, lastSyncText, schedule, setTitle, signOut } from "../main.js";
import { countyTimezone, deviceId, getMeta, kvGet, kvSet, outboxCounts } from "../store.js";
import { button, cell, cells, clear, confirmSheet, h, sectionTitle, sheet, toast } from "../ui.js";
import { addDays, dayInZone } from "../util.js";

const LANGUAGE_NAMES = { "zh-CN": "中文", ug: "ئۇيغۇرچە", en: "English" };

export async function render(root) {
  setTitle(t("me.title"));
  const body = h("div", { class: "me" });
  root.appendChild(body);
  const draw = async () => {
    const summary = (await kvGet("summary")) || {};
    const counts = await outboxCounts();
    const persisted = await getMeta("persisted");
    const monthRows = await monthCells(draw);
    const device = (await deviceId()).slice(0, 8);
    // Nothing awaited from here on: two draws at once (a refresh while the month's state comes
    // back) must not both append to the screen.
    clear(body);
    body.appendChild(
      cells(
        cell({
          title: app.user.name || app.user.phone,
          detail: [summary.station_name, summary.county_name, app.user.phone].filter(Boolean).join(" · "),
          iconName: "me",
        })
      )
    );
    // The shelf, opening hours and 代发 prices: a screen of its own, loaded when opened.
    body.appendChild(cells(cell({ title: t("me.setup"), detail: t("me.setup_detail"), href: "#/counter-setup", iconName: "received", attrs: { "data-link": "counter-setup" } })));
    body.appendChild(sectionTitle(t("month.section")));
    body.appendChild(cells(...monthRows));
    body.appendChild(sectionTitle(t("me.language")));
    body.appendChild(
      h(
        "div",
        { class: "cells", role: "radiogroup", "aria-label": t("me.language") },
        LANGUAGES.map((code) =>
          h(
            "label",
            { class: "cell cell-radio" },
            h("span", { class: "cell-main", lang: code }, LANGUAGE_NAMES[code]),
            h("input", {
              type: "radio",
              name: "language",
              value: code,
              checked: code === language(),
              onchange: () => changeLanguage(code),
            })
          )
        )
      )
    );
    body.appendChild(sectionTitle(t("me.app")));
    body.appendChild(cells(installCell(), pushCell(draw)));
    body.appendChild(sectionTitle(t("me.sync")));
    body.appendChild(
      cells(
        cell({
          title: counts.pending ? t("sync.pending", { n: counts.pending }) : t("sync.all_synced"),
          detail: lastSyncText(),
          extra: button(t("sync.now"), "mini", () => schedule(0)),
        }),
        cell({
          title: t("me.storage"),
          detail: persisted ? t("me.storage_persisted") : t("me.storage_normal"),
        }),
        cell({ title: t("me.device"), detail: device })
      )
    );
    body.appendChild(h("div", { class: "form-actions" }, button(t("me.logout"), "warn-outline btn-block", () => logout(counts.pending + counts.problems), { "data-action": "logout" })));
  };
  await draw();
  return { refresh: draw };
}

/** The month just finished (county-local): the one the keeper submits to the county. */
function lastMonth() {
  const today = dayInZone(new Date(), countyTimezone());
  return addDays(`${today.slice(0, 7)}-01`, -1).slice(0, 7);
}

const HISTORY = 6; // finished months the screen lists, last month first

function finishedMonths() {
  const months = [lastMonth()];
  while (months.length < HISTORY) months.push(addDays(`${months[months.length - 1]}-01`, -1).slice(0, 7));
  return months;
}

/** The finished months' 台帐, last month first: each one's state at the county (the last one
 * seen, so the screen never waits on the network; fetched afresh behind it) and, while a month
 * is open, the keeper's "submit" once every entry of it has been sent; for last month also its
 * days with business and their 日结. */
async function monthCells(redraw) {
  const [month, ...earlier] = finishedMonths();
  refreshMonths(redraw);
  const days = await monthDays(month);
  const daysCell = cell({
    title: t("month.days", { days: ltr(days.days), counted: ltr(days.counted) }),
    detail: days.uncounted.length ? t("month.uncounted", { days: uncountedList(days.uncounted) }) : null,
    className: days.uncounted.length ? "cell-warn" : null,
    attrs: { "data-month-days": days.days, "data-month-counted": days.counted },
  });
  const rows = [await stateCell(month, async () => daysLine(days), redraw), daysCell];
  // An earlier month's days are read only if the keeper submits it (each read walks the outbox).
  for (const older of earlier) rows.push(await stateCell(older, async () => daysLine(await monthDays(older)), redraw));
  return rows;
}

function uncountedList(days) {
  const shown = days.slice(0, 5).map((d) => digitDate(d.slice(5)));
  return days.length > 5 ? `${shown.join(t("month.day_separator"))}${t("month.and_more", { n: ltr(days.length - 5) })}` : shown.join(t("month.day_separator"));
}

function daysLine(days) {
  const line = t("month.days", { days: ltr(days.days), counted: ltr(days.counted) });
  return days.uncounted.length ? `${line}${t("month.separator")}${t("month.uncounted", { days: uncountedList(days.uncounted) })}` : line;
}

async function stateCell(month, daysText, redraw) {
  // daysText: the month's days with business and 日结, for the confirmation (read when asked)
  const path = `/api/v1/stations/${app.user.station_id}/months/${month}`;
  const known = await kvGet(`month-${month}`);
  const { pendingInMonth } = await outboxCounts(month);
  const state = known ? known.state : "unknown";
  const title = t("month.title", { month: formatMonth(month) });
  const attrs = { "data-month": month, "data-month-state": state };
  if (state !== "open") return cell({ title, detail: t(`month.state_${state}`), attrs });
  if (pendingInMonth) return cell({ title, detail: t("month.unsent", { n: pendingInMonth }), className: "cell-warn", attrs });
  const submit = async () => {
    if (!(await confirmSheet(t("month.submit_title", { month: formatMonth(month) }), `${await daysText()}${t("month.separator")}${t("month.submit_text")}`, t("month.submit")))) return;
    const { api } = await import("../api.js");
    try {
      await kvSet(`month-${month}`, await api("POST", `${path}/submit`));
      toast(t("month.submitted"));
    } catch (error) {
      toast(error && error.problem && error.problem.detail ? error.problem.detail : t("month.submit_failed"), "warn", 4000);
    }
    redraw();
  };
  return cell({ title, detail: t("month.state_open"), attrs, extra: button(t("month.submit"), "mini", submit, { "data-action": "month-submit" }) });
}

async function refreshMonths(redraw) {
  const { api } = await import("../api.js");
  try {
    const fresh = await api("GET", `/api/v1/stations/${app.user.station_id}/months?count=${HISTORY}`);
    let changed = false;
    for (const month of fresh) {
      const known = await kvGet(`month-${month.month}`);
      if (!known || known.state !== month.state) changed = true;
      await kvSet(`month-${month.month}`, month);
    }
    if (changed) redraw();
  } catch (error) {
    // offline or the server away: the states last seen stay on screen
  }
}

function installCell() {
  const standalone = window.matchMedia && window.matchMedia("(display-mode: standalone)").matches;
  if (standalone) return cell({ title: t("me.install"), detail: t("me.installed") });
  if (app.installPrompt) {
    return cell({
      title: t("me.install"),
      detail: t("me.install_detail"),
      onClick: async () => {
        const prompt = app.installPrompt;
        app.installPrompt = null;
        prompt.prompt();
        await prompt.userChoice.catch(() => null);
      },
    });
  }
  return cell({ title: t("me.install"), detail: t("me.install_manual") });
}

function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

function pushCell(redraw) {
  if (!pushSupported()) return cell({ title: t("push.title"), detail: t("push.unsupported") });
  const permission = Notification.permission;
  if (permission === "denied") return cell({ title: t("push.title"), detail: t("push.blocked") });
  if (permission === "granted") {
    return cell({
      title: t("push.title"),
      detail: t("push.on"),
      extra: button(t("push.resubscribe"), "mini", () => subscribe(redraw)),
    });
  }
  return cell({ title: t("push.title"), detail: t("push.off"), onClick: () => explainPush(redraw), attrs: { "data-action": "push" } });
}

/** Explain first; the browser's permission prompt comes only after the keeper says yes. */
function explainPush(redraw) {
  sheet({
    title: t("push.explain_title"),
    body: h("div", null, h("p", { class: "sheet-text" }, t("push.explain")), h("p", { class: "sheet-text" }, t("push.explain_next"))),
    actions: [
      { label: t("push.enable"), kind: "primary", id: "push-enable", onClick: (close) => { close(); subscribe(redraw); } },
      { label: t("push.later"), onClick: (close) => close() },
    ],
  });
}

function urlBase64ToBytes(text) {
  const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(padded);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

async function subscribe(redraw) {
  const { api } = await import("../api.js");
  try {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      toast(t("push.blocked"), "warn");
      return;
    }
    const { public_key: publicKey } = await api("GET", "/api/v1/push/key");
    const registration = await navigator.serviceWorker.ready;
    let subscription = await registration.pushManager.getSubscription();
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: urlBase64ToBytes(publicKey),
      });
    }
    await api("POST", "/api/v1/push/subscriptions", Object.assign(subscription.toJSON(), { device_id: await deviceId() }));
    toast(t("push.enabled"));
  } catch (error) {
    toast(error && error.status === 404 ? t("push.server_missing") : t("push.failed"), "warn", 4000);
  }
  redraw();
}

async function logout(unsent) {
  const text = unsent ? t("me.logout_unsent", { n: unsent }) : t("me.logout_text");
  if (await confirmSheet(t("me.logout"), text, t("me.logout"), "warn")) await signOut();
}
