// 滞留件 stale parcels: everything past the county's free days, longest first, with the days on
// the shelf, the SMS the villager has had (the server's count; "—" offline), and one tap each to
// notify again or return the parcel to the carrier.

import { api } from "../api.js";
import { maskedPhone, phoneForm, rulesReady } from "../carriers.js";
import { ltr, money, t } from "../i18n.js";
import { app, setTitle } from "../main.js";
import { localView } from "../local-view.js";
import { record } from "../store.js";
import { button, clear, h, sectionTitle, toast } from "../ui.js";
import { counterStrings, isStale, serverParcels, shelfLabel, stationShelf } from "./counter-kit.js";

export async function render(root) {
  setTitle(t("stale.title"), "#/home");
  await Promise.all([rulesReady, counterStrings()]);
  const shelf = await stationShelf();
  const list = h("div", { class: "stale-list" });
  root.appendChild(list);
  let server = await serverParcels(app.user.station_id);
  // Bumped by every answer to a tap: a list the server sent before that answer is older than it
  // and must not put back the count the answer just raised.
  let answers = 0;
  const busy = new Set();

  const notify = async (parcel) => {
    if (busy.has(parcel.id)) return;
    busy.add(parcel.id);
    try {
      const answer = await api("POST", `/api/v1/stations/${app.user.station_id}/parcels/${parcel.id}/notify`, {});
      answers += 1;
      if (server && server[parcel.id]) server[parcel.id].notices_sent = answer.notices_sent;
      toast(answer.notice === "sent" ? t("stale.notified") : t("stale.notify_failed"), answer.notice === "sent" ? "ok" : "warn");
    } catch (error) {
      toast((error && error.problem && error.problem.detail) || t("stale.notify_offline"), "warn", 4000);
    } finally {
      busy.delete(parcel.id);
      draw();
    }
  };

  const giveBack = async (parcel) => {
    const data = { tracking_no: parcel.tracking_no, reason: t("return.overdue") };
    if (parcel.package) data.package = parcel.package;
    await record("parcel.returned", data);
    toast(t("stale.returned", { code: ltr(parcel.pickup_code) }));
  };

  const row = (p) => {
    const facts = server && server[p.id];
    const sent = facts ? t("stale.sms", { n: facts.notices_sent }) : t("stale.sms_unknown");
    // The phone's copy of a parcel another phone recorded has the number masked; the server's
    // answer says.
    const canNotify = Boolean(facts) && phoneForm(facts.recipient_phone) === "full";
    return h(
      "div",
      { class: "stale-item cell", "data-stale": p.id, "data-tracking": p.tracking_no },
      h(
        "div",
        { class: "cell-main" },
        h("div", { class: "cell-title" }, h("span", { class: "handover-code", dir: "ltr" }, p.pickup_code), " ", h("span", { class: "stale-days" }, t("stale.days", { n: ltr(p.days) }))),
        h(
          "div",
          { class: "cell-detail" },
          `${shelfLabel(p.pickup_code, shelf)} · ${t(`carrier.${p.carrier}`)} · ${ltr(p.tracking_no)} · ${ltr(maskedPhone(p.recipient_phone))}`
        ),
        h("div", { class: "cell-detail stale-meta", "data-sms": facts ? String(facts.notices_sent) : "" }, sent, p.fee_fen ? ` · ${t("stale.fee", { fee: money(p.fee_fen) })}` : "")
      ),
      h(
        "div",
        { class: "stale-actions" },
        button(t("stale.notify"), "default", () => notify(p), { "data-action": "notify", disabled: !canNotify || busy.has(p.id) }),
        button(t("stale.return"), "warn", () => giveBack(p), { "data-action": "return" })
      )
    );
  };

  const draw = async () => {
    const view = await localView();
    const stale = view.shelf.filter((p) => isStale(p, view.rule)).sort((a, b) => b.days - a.days);
    clear(list);
    list.appendChild(sectionTitle(t("stale.header", { n: stale.length, days: ltr(view.rule.free_days) })));
    if (!stale.length) {
      list.appendChild(h("p", { class: "empty" }, t("stale.none")));
      return;
    }
    list.appendChild(h("div", { class: "cells" }, stale.map(row)));
  };
  await draw();
  return {
    refresh: async () => {
      const asked = answers;
      const fresh = await serverParcels(app.user.station_id);
      if (fresh && asked === answers) server = fresh;
      await draw();
    },
  };
}
