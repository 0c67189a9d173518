// 取件 pickup: find the parcel by pickup code, the last 4 digits of the phone, or a scan of the
// tracking number; confirming hands it over (a parcel.picked_up entry, with the storage fee if
// one is due). A parcel nobody collects can be returned from here too.

import { maskedPhone, parseTrackingNo, phoneForm, rulesReady } from "../carriers.js";
import { DOT } from "../forms.js";
import { formatDateTime, ltr, money, t } from "../i18n.js";
import { setTitle } from "../main.js";
import { localView } from "../local-view.js";
import { countyTimezone, record } from "../store.js";
import { cell, cells, clear, field, h, icon, sectionTitle, setFieldError, sheet, toast } from "../ui.js";
import { asciiDigits, fenToYuanText, labelPhone, oneLine, parseYuan } from "../util.js";

const RETURN_REASONS = ["return.overdue", "return.refused", "return.wrong_address"];

export function matches(parcel, query) {
  const q = asciiDigits(query).trim().toUpperCase();
  if (!q) return true;
  const code = (parcel.pickup_code || "").toUpperCase();
  if (code === q || code.split("-").pop() === q) return true;
  if (/^\d{4}$/.test(q) && (parcel.recipient_phone || "").slice(-4) === q) return true;
  if (samePhone(parcel.recipient_phone, q)) return true;
  const scanned = parseTrackingNo(q);
  if (scanned.package && (parcel.package || null) !== scanned.package) return false;
  return scanned.tracking_no.length >= 6 && parcel.tracking_no.indexOf(scanned.tracking_no) >= 0;
}

/**
 * The villager's number as they say it (13912345678) or as a label shows it (139****5678) against
 * a parcel's, in whatever form that was recorded (in full, a label, a tail; the server sends
 * them masked): the same last four digits, and the digits shown before them agree.
 */
function samePhone(stored, query) {
  const typed = labelPhone(query);
  const form = phoneForm(typed);
  const phone = String(stored || "");
  if ((form !== "full" && form !== "masked") || !phoneForm(phone)) return false;
  if (phone.slice(-4) !== typed.slice(-4)) return false;
  const head = (value) => (value.indexOf("*") >= 0 ? value.split("*")[0] : value.length === 4 ? "" : value);
  const a = head(phone);
  const b = head(typed);
  return a.indexOf(b) === 0 || b.indexOf(a) === 0;
}

export async function render(root, args) {
  setTitle(t("pickup.title"));
  await rulesReady;
  const search = h("input", {
    type: "search",
    name: "q",
    class: "input search-input",
    inputmode: "text",
    autocomplete: "off",
    autocapitalize: "characters",
    placeholder: t("pickup.placeholder"),
    "aria-label": t("pickup.search_label"),
    value: args[0] || "",
  });
  const list = h("div", { class: "pickup-list" });
  root.appendChild(h("div", { class: "search-bar" }, h("label", { class: "search-box" }, icon("search", "search-icon"), search)));
  root.appendChild(h("p", { class: "search-hint" }, t("pickup.hint")));
  root.appendChild(list);

  let openOnSingle = Boolean(args[0]);
  const draw = async () => {
    const view = await localView();
    const found = view.shelf.filter((p) => matches(p, search.value));
    found.sort((a, b) => Number(b.overdue) - Number(a.overdue) || (a.received_at < b.received_at ? 1 : -1));
    clear(list);
    list.appendChild(sectionTitle(search.value.trim() ? t("pickup.found", { n: found.length }) : t("pickup.on_shelf", { n: found.length })));
    if (!found.length) {
      list.appendChild(h("p", { class: "empty" }, search.value.trim() ? t("pickup.none_found") : t("home.shelf_empty")));
    } else {
      list.appendChild(cells(found.slice(0, 100).map((p) => parcelCell(p))));
    }
    if (openOnSingle && found.length === 1) openParcel(found[0]);
    openOnSingle = false;
  };
  search.addEventListener("input", () => draw());
  await draw();
  if (!args[0]) search.focus();
  return {
    refresh: draw,
    onScan: (code) => {
      search.value = code;
      openOnSingle = true;
      draw();
    },
  };
}

function parcelCell(p) {
  const tz = countyTimezone();
  return cell({
    title: h("span", null, h("span", { class: "code code-big" }, p.pickup_code || "—"), " ", p.recipient_name || ""),
    detail: h(
      "span",
      null,
      h("span", { class: "nowrap" }, ltr(maskedPhone(p.recipient_phone)), DOT),
      ` ${t(`carrier.${p.carrier}`)} `,
      h("span", { class: "nowrap" }, ltr(p.package ? `${p.tracking_no} ${p.package}` : p.tracking_no), DOT),
      " ",
      h("span", { class: "nowrap" }, formatDateTime(p.received_at, tz))
    ),
    extra: h(
      "span",
      { class: "parcel-extra" },
      p.relabel ? h("span", { class: "tag tag-warn", "data-tag": "relabel" }, t("relabel.tag")) : null,
      p.overdue ? h("span", { class: "tag tag-warn" }, t("parcel.overdue")) : h("span", null, t("parcel.days", { n: p.days })),
      p.fee_fen ? h("small", null, money(p.fee_fen)) : null,
      p.pending ? h("small", { class: "tag tag-pending" }, t("status.pending")) : null
    ),
    onClick: () => openParcel(p),
    attrs: { "data-parcel": p.tracking_no },
  });
}

function openParcel(p) {
  const fee = h("input", {
    name: "fee_fen",
    type: "text",
    inputmode: "decimal",
    class: "input input-money",
    value: p.fee_fen ? fenToYuanText(p.fee_fen) : "",
    placeholder: "0.00",
  });
  const body = h(
    "div",
    { class: "parcel-sheet" },
    h("p", { class: "parcel-code" }, h("span", { class: "code code-huge" }, p.pickup_code || "—")),
    h(
      "dl",
      { class: "facts" },
      fact(t("field.recipient_name"), p.recipient_name || "—"),
      fact(t("field.recipient_phone"), ltr(maskedPhone(p.recipient_phone))),
      fact(t("field.tracking_no"), `${t(`carrier.${p.carrier}`)} ${ltr(p.tracking_no)}`),
      fact(t("parcel.on_shelf_since"), `${formatDateTime(p.received_at, countyTimezone())} · ${t("parcel.days", { n: p.days })}`)
    ),
    field(t("pickup.fee"), fee, {
      hint: p.fee_fen ? t("pickup.fee_due", { fee: money(p.fee_fen) }) : t("pickup.fee_none"),
      wrap: (input) => h("div", { class: "input-row input-affix" }, h("span", { class: "affix", "aria-hidden": "true" }, "¥"), input),
    })
  );
  sheet({
    title: t("pickup.confirm_title"),
    body,
    actions: [
      {
        label: t("pickup.confirm"),
        kind: "primary",
        id: "hand-over",
        onClick: async (close) => {
          const data = { tracking_no: p.tracking_no, pickup_code: p.pickup_code };
          if (p.package) data.package = p.package;
          if (fee.value.trim()) {
            const parsed = parseYuan(fee.value);
            if (parsed.error) {
              setFieldError(fee, t(`error.${parsed.error}`));
              fee.focus();
              return;
            }
            if (parsed.fen) data.fee_fen = parsed.fen;
          }
          close();
          await record("parcel.picked_up", data);
          toast(t("pickup.done", { code: p.pickup_code }));
        },
      },
      { label: t("pickup.return"), id: "return", onClick: (close) => { close(); openReturn(p); } },
    ],
  });
}

function openReturn(p) {
  const reason = h("input", { name: "reason", type: "text", class: "input", maxlength: "200", value: t(RETURN_REASONS[0]) });
  const chips = h(
    "div",
    { class: "chips" },
    RETURN_REASONS.map((key) =>
      h("button", { type: "button", class: "chip chip-btn", onclick: () => { reason.value = t(key); } }, t(key))
    )
  );
  sheet({
    title: t("return.title", { code: p.pickup_code }),
    body: h("div", null, chips, field(t("field.reason"), reason)),
    actions: [
      {
        label: t("return.confirm"),
        kind: "warn",
        id: "return-confirm",
        onClick: async (close) => {
          const text = oneLine(reason.value).trim();
          if (!text) {
            setFieldError(reason, t("error.required", { field: t("field.reason") }));
            return;
          }
          close();
          await record("parcel.returned", Object.assign({ tracking_no: p.tracking_no, reason: text }, p.package ? { package: p.package } : {}));
          toast(t("return.done"));
        },
      },
      { label: t("common.cancel"), onClick: (close) => close() },
    ],
  });
}

function fact(label, value) {
  return h("div", { class: "fact" }, h("dt", null, label), h("dd", null, value));
}
