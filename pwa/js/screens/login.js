// Login: phone + password. The session cookie lasts weeks; the user is kept on the phone so the
// app opens offline afterwards. A login after the session ended never touches the outbox.

import { api, ApiError } from "../api.js";
import { LANGUAGES, language, t } from "../i18n.js";
import { app, changeLanguage, setTitle, signedIn } from "../main.js";
import { deviceId } from "../store.js";
import { field, h, setFieldError, toast } from "../ui.js";
import { MOBILE, normalizePhone } from "../util.js";

const LANGUAGE_NAMES = { "zh-CN": "中文", ug: "ئۇيغۇرچە", en: "English" };

export function render(root) {
  setTitle(t("login.title"));
  const phone = h("input", {
    name: "phone",
    type: "tel",
    inputmode: "numeric",
    autocomplete: "username",
    maxlength: "13",
    class: "input input-mono",
    value: app.user ? app.user.phone || "" : "",
  });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", class: "input" });
  const message = h("p", { class: "form-message", role: "alert" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, t("login.submit"));
  const form = h(
    "form",
    { class: "form login-form", novalidate: true },
    h("div", { class: "cells form-cells" }, field(t("login.phone"), phone), field(t("login.password"), password)),
    message,
    h("div", { class: "form-actions" }, submit)
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    setFieldError(phone, "");
    setFieldError(password, "");
    const number = normalizePhone(phone.value);
    if (!MOBILE.test(number)) {
      setFieldError(phone, t("error.phone"));
      phone.focus();
      return;
    }
    if (!password.value) {
      setFieldError(password, t("error.required", { field: t("login.password") }));
      password.focus();
      return;
    }
    submit.disabled = true;
    try {
      // The device id lets the server tell this phone from an attacker's (no lock-out from afar).
      const body = { phone: number, password: password.value, device_id: await deviceId() };
      const answer = await api("POST", "/api/v1/auth/login", body, { noCsrf: true, noAuthEvent: true });
      if (answer.user.role !== "keeper" || !answer.user.station_id) {
        message.textContent = t("login.keepers_only");
        message.appendChild(h("a", { href: "/county/", class: "link" }, t("login.county_link")));
        return;
      }
      await signedIn(answer.user);
      // Someone else changed this account since the last login (a password reset by the county):
      // the owner is told, in their language, once.
      const changes = (answer.account_changes || []).map((change) => change.message);
      if (changes.length) toast(changes.join("\n"), "warn", 8000);
    } catch (error) {
      message.textContent = error instanceof ApiError ? error.message : t("login.offline");
    } finally {
      submit.disabled = false;
    }
  });
  const relogin = app.user
    ? h("p", { class: "notice" }, t("login.expired"))
    : null;
  root.appendChild(
    h(
      "div",
      { class: "login" },
      h("div", { class: "login-brand" }, h("img", { src: new URL("../../icons/icon-192.png", import.meta.url).href, alt: "", width: "72", height: "72", class: "login-logo" }), h("p", { class: "login-name" }, t("app.name")), h("p", { class: "login-tagline" }, t("login.tagline"))),
      relogin,
      form,
      h(
        "div",
        { class: "language-links", role: "group", "aria-label": t("me.language") },
        LANGUAGES.map((code) =>
          h(
            "button",
            { type: "button", class: "link-btn", lang: code, "aria-pressed": String(code === language()), onclick: () => changeLanguage(code) },
            LANGUAGE_NAMES[code]
          )
        )
      )
    )
  );
  (phone.value ? password : phone).focus();
}
