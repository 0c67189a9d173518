// DOM helpers in the WeUI manner: cells, buttons, toasts, half-screen sheets, form fields.
// Elements are built with the DOM API (never innerHTML with data), so nothing typed can inject.

import { t } from "./i18n.js";

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const key of Object.keys(attrs)) {
      const value = attrs[key];
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key.indexOf("on") === 0) el.addEventListener(key.slice(2), value);
      else if (key === "value") el.value = value;
      else if (key === "checked") el.checked = Boolean(value);
      else if (value === true) el.setAttribute(key, "");
      else el.setAttribute(key, value);
    }
  }
  appendAll(el, children);
  return el;
}

export function appendAll(el, children) {
  for (const child of children.flat(4)) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

const SVG = "http://www.w3.org/2000/svg";
const ICONS = {
  home: "M3 11l9-8 9 8M5 10v10h5v-6h4v6h5V10",
  record: "M4 4h16v16H4zM12 8v8M8 12h8",
  history: "M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0zM12 7v5l3 2",
  me: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4 21a8 8 0 0 1 16 0",
  received: "M3 8l9-5 9 5v8l-9 5-9-5zM3 8l9 5 9-5M12 13v8",
  pickup: "M3 8l9-5 9 5v3M3 8v8l9 5M3 8l9 5 4-2M14 18l2 2 5-5",
  dispatched: "M22 2L11 13M22 2l-7 20-4-9-9-4z",
  ordered: "M3 3h2l2.4 12.2a2 2 0 0 0 2 1.6h8.2a2 2 0 0 0 2-1.6L21 7H6M9 21h.01M18 21h.01",
  delivered: "M1 4h14v12H1zM15 9h4l3 3v4h-7M5.5 21a2 2 0 1 0 0-4 2 2 0 0 0 0 4zM18.5 21a2 2 0 1 0 0-4 2 2 0 0 0 0 4z",
  sale: "M11 20A7 7 0 0 1 4 13c0-5 4-9 16-9 0 12-4 16-9 16zM4 20l8-8",
  service: "M13 2L3 14h9l-1 8 10-12h-9z",
  checkin: "M12 22s7-7 7-12a7 7 0 0 0-14 0c0 5 7 12 7 12zM12 12a2 2 0 1 0 0-4 2 2 0 0 0 0 4z",
  training: "M2 3h20M21 3v11a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V3M7 21l5-5 5 5M8 12l3-3 2 2 3-3",
  camera: "M23 19a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h4l2-3h6l2 3h4a2 2 0 0 1 2 2zM12 17a4 4 0 1 0 0-8 4 4 0 0 0 0 8z",
  back: "M15 18l-6-6 6-6",
  chevron: "M9 18l6-6-6-6",
  search: "M11 19a8 8 0 1 0 0-16 8 8 0 0 0 0 16zM21 21l-4.35-4.35",
  warn: "M12 9v4M12 17h.01M10.3 3.9L1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z",
  ok: "M20 6L9 17l-5-5",
  bell: "M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9M13.7 21a2 2 0 0 1-3.4 0",
  cloud: "M18 10h-1.3A8 8 0 1 0 9 20h9a5 5 0 0 0 0-10z",
  returned: "M9 14L4 9l5-5M4 9h11a5 5 0 0 1 0 10h-4",
  reversed: "M3 12a9 9 0 1 0 3-6.7L3 8M3 3v5h5",
};

export function icon(name, className = "icon") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", ICONS[name] || ICONS.record);
  svg.appendChild(path);
  return svg;
}

// Toasts -------------------------------------------------------------------------------------

let toastTimer = 0;

export function toast(text, kind = "ok", ms = 2200) {
  const el = document.getElementById("toast");
  clear(el);
  el.className = `toast toast-${kind} toast-shown`;
  appendAll(el, [icon(kind === "ok" ? "ok" : "warn", "toast-icon"), h("span", null, text)]);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.className = "toast";
  }, ms);
}

// Half-screen sheets -------------------------------------------------------------------------

let openSheetClose = null;

/** A half-screen dialog; returns its close function. `actions`: [{label, kind, onClick}]. */
export function sheet({ title, body, actions = [], onClose }) {
  if (openSheetClose) openSheetClose();
  const root = document.getElementById("sheet-root");
  const previous = document.activeElement;
  const titleId = `sheet-title-${Date.now()}`;
  const close = () => {
    if (openSheetClose !== close) return;
    openSheetClose = null;
    clear(root);
    root.className = "";
    document.removeEventListener("keydown", onKey);
    if (previous && previous.focus) previous.focus();
    if (onClose) onClose();
  };
  const onKey = (event) => {
    if (event.key === "Escape") close();
  };
  const buttons = actions.map((action) =>
    h(
      "button",
      {
        type: "button",
        class: `btn btn-${action.kind || "default"}`,
        onclick: () => action.onClick(close),
        "data-action": action.id || null,
      },
      action.label
    )
  );
  const dialog = h(
    "div",
    { class: "sheet", role: "dialog", "aria-modal": "true", "aria-labelledby": titleId },
    h(
      "div",
      { class: "sheet-head" },
      h("h2", { id: titleId, class: "sheet-title" }, title),
      h("button", { type: "button", class: "sheet-close", "aria-label": t("common.close"), onclick: close }, "×")
    ),
    h("div", { class: "sheet-body" }, body),
    buttons.length ? h("div", { class: "sheet-actions" }, buttons) : null
  );
  clear(root);
  root.className = "sheet-open";
  appendAll(root, [h("div", { class: "sheet-backdrop", onclick: close }), dialog]);
  document.addEventListener("keydown", onKey);
  openSheetClose = close;
  const first = dialog.querySelector("input, textarea, select, .sheet-actions button");
  if (first) first.focus();
  return close;
}

export function closeSheet() {
  if (openSheetClose) openSheetClose();
}

/** Ask a yes/no question in a sheet; resolves true when confirmed. */
export function confirmSheet(title, text, okLabel, kind = "primary") {
  return new Promise((resolve) => {
    let answered = false;
    sheet({
      title,
      body: h("p", { class: "sheet-text" }, text),
      actions: [
        { label: okLabel, kind, id: "confirm", onClick: (close) => { answered = true; close(); resolve(true); } },
        { label: t("common.cancel"), id: "cancel", onClick: (close) => close() },
      ],
      onClose: () => {
        if (!answered) resolve(false);
      },
    });
  });
}

// Cells and fields ---------------------------------------------------------------------------

export function cells(...rows) {
  return h("div", { class: "cells" }, rows);
}

export function cell({ title, detail, extra, href, onClick, iconName, className, attrs }) {
  const inner = [
    iconName ? icon(iconName, "cell-icon") : null,
    h("div", { class: "cell-main" }, h("div", { class: "cell-title" }, title), detail ? h("div", { class: "cell-detail" }, detail) : null),
    extra !== undefined && extra !== null ? h("div", { class: "cell-extra" }, extra) : null,
    href || onClick ? icon("chevron", "cell-arrow") : null,
  ];
  const base = Object.assign({ class: `cell${href || onClick ? " cell-link" : ""}${className ? ` ${className}` : ""}` }, attrs || {});
  if (href) return h("a", Object.assign(base, { href }), inner);
  if (onClick) return h("button", Object.assign(base, { type: "button", onclick: onClick }), inner);
  return h("div", base, inner);
}

export function sectionTitle(text) {
  return h("h2", { class: "section-title" }, text);
}

let fieldCounter = 0;

/** A labelled form field with a place for its validation message. */
export function field(label, control, options = {}) {
  const id = control.id || `f${++fieldCounter}`;
  control.id = id;
  const errorId = `${id}-error`;
  const hintId = options.hint ? `${id}-hint` : null;
  control.setAttribute("aria-describedby", [hintId, errorId].filter(Boolean).join(" "));
  return h(
    "div",
    { class: `field${options.className ? ` ${options.className}` : ""}`, "data-field": control.name || null },
    h("label", { for: id, class: "field-label" }, label, options.optional ? h("span", { class: "optional" }, t("common.optional")) : null),
    options.wrap ? options.wrap(control) : control,
    options.hint ? h("p", { class: "field-hint", id: hintId }, options.hint) : null,
    h("p", { class: "field-error", id: errorId, role: "alert" })
  );
}

export function setFieldError(control, message) {
  const error = document.getElementById(`${control.id}-error`);
  if (error) error.textContent = message || "";
  if (message) control.setAttribute("aria-invalid", "true");
  else control.removeAttribute("aria-invalid");
}

export function button(label, kind, onClick, attrs = {}) {
  return h("button", Object.assign({ type: "button", class: `btn btn-${kind}`, onclick: onClick }, attrs), label);
}
