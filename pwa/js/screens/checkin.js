// 打卡签到, the weekly check-in: one big button, an optional note, and a location only if the
// keeper asks to add one (the browser's permission prompt comes then, never before).

import { formatDateTime, t } from "../i18n.js";
import { navigate, setTitle } from "../main.js";
import { localView } from "../local-view.js";
import { countyTimezone, record } from "../store.js";
import { field, h, icon, toast } from "../ui.js";

export async function render(root) {
  setTitle(t("checkin.title"), "#/home");
  const view = await localView();
  let location = null;
  const note = h("textarea", { name: "note", class: "input textarea", maxlength: "200", rows: "3" });
  const where = h("p", { class: "location-state", "aria-live": "polite" }, t("checkin.no_location"));
  const locate = h("button", { type: "button", class: "btn btn-default", "data-action": "locate" }, icon("checkin", "btn-icon"), t("checkin.add_location"));
  locate.addEventListener("click", () => {
    if (!navigator.geolocation) {
      where.textContent = t("checkin.location_unavailable");
      return;
    }
    where.textContent = t("checkin.locating");
    navigator.geolocation.getCurrentPosition(
      (position) => {
        location = {
          lat: Math.round(position.coords.latitude * 1e6) / 1e6,
          lng: Math.round(position.coords.longitude * 1e6) / 1e6,
        };
        where.textContent = t("checkin.location_added", { lat: location.lat, lng: location.lng });
      },
      () => {
        where.textContent = t("checkin.location_unavailable");
      },
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 }
    );
  });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block btn-huge", "data-action": "checkin" }, t("checkin.submit"));
  const form = h(
    "form",
    { class: "form checkin-form", novalidate: true },
    h(
      "p",
      { class: `checkin-status${view.checked_in ? " checkin-done" : ""}` },
      view.checked_in ? t("checkin.already") : t("checkin.due"),
      view.last_checkin ? h("small", null, t("checkin.last", { time: formatDateTime(view.last_checkin, countyTimezone()) })) : null
    ),
    h("div", { class: "cells form-cells" }, field(t("field.note"), note, { optional: true }), h("div", { class: "field" }, locate, where)),
    h("div", { class: "form-actions" }, submit)
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    const data = {};
    if (location) Object.assign(data, location);
    if (note.value.trim()) data.note = note.value.trim();
    await record("checkin.recorded", data);
    toast(t("checkin.done"));
    navigate("#/home");
  });
  root.appendChild(form);
  return {};
}
