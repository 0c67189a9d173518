// 村级培训: the keeper records a training session held at the station and who attended (签到),
// offline too — an entry like any other (the outbox, then the sync: `training.attended`). The
// trainees one per line: a name, then the household code when known (the household card's code,
// scanned or typed: a scanner's burst becomes a line of its own); the county counts the session in
// the station's township.

import { t } from "../i18n.js";
import { navigate, setTitle } from "../main.js";
import { record } from "../store.js";
import { field, h, setFieldError, toast } from "../ui.js";
import { oneLine } from "../util.js";

const KINDS = ["ecommerce_basics", "entrepreneurship", "station_keeper", "livestream", "other"];
const MAX_TRAINEES = 200; // the server's limit of one session (ledger/schemas.py)
const HOUSEHOLD_CODE = /^[A-Za-z0-9-]{2,24}$/;

/** The trainees typed, one a line: "name", "name code" or "name,code" (a scanner's Enter ends a line). */
export function traineesOf(text) {
  const trainees = [];
  for (const line of text.split(/\r?\n/)) {
    const parts = line.trim().split(/[\s,，\t]+/).filter(Boolean);
    if (!parts.length) continue;
    const last = parts[parts.length - 1];
    const coded = parts.length > 1 && HOUSEHOLD_CODE.test(last);
    const name = (coded ? parts.slice(0, -1) : parts).join(" ");
    trainees.push(coded ? { name, household_code: last.toUpperCase() } : { name });
  }
  return trainees;
}

/** The first name written twice for one person (the same name and household code): 人次 counts
 * a person once per session, as the county's sign-in sheets (a second line is a slip). */
function repeated(trainees) {
  const seen = new Set();
  for (const p of trainees) {
    const person = `${p.name}\n${p.household_code || ""}`;
    if (seen.has(person)) return p.name;
    seen.add(person);
  }
  return "";
}

/** The trainees' text with a scanned `code` added: to the last line when it is a name without a
 * code yet, else as a line of its own; the caret ends on a new line. */
export function withScan(text, code) {
  const lines = text.replace(/\s+$/, "").split("\n").filter((line, i) => i > 0 || line.trim());
  const last = lines.length ? traineesOf(lines[lines.length - 1])[0] : null;
  if (last && !last.household_code && HOUSEHOLD_CODE.test(code)) lines[lines.length - 1] = `${last.name} ${code}`;
  else lines.push(code);
  return `${lines.join("\n")}\n`;
}

export async function render(root) {
  setTitle(t("training.title"), "#/record");
  const title = h("input", { name: "title", class: "input", maxlength: "80", autocomplete: "off" });
  const kind = h("select", { name: "kind", class: "input" }, KINDS.map((k) => h("option", { value: k }, t(`training.kind.${k}`))));
  const list = h("textarea", { name: "trainees", class: "input textarea", rows: "8", autocomplete: "off" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block", "data-action": "training" }, t("training.submit"));
  const form = h(
    "form",
    { class: "form", "data-form": "training.attended", novalidate: true, autocomplete: "off" },
    h(
      "div",
      { class: "cells form-cells" },
      field(t("training.field.title"), title),
      field(t("training.field.kind"), kind),
      field(t("training.field.trainees"), list, { hint: t("training.hint") })
    ),
    h("div", { class: "form-actions" }, submit)
  );
  title.addEventListener("input", () => setFieldError(title, ""));
  list.addEventListener("input", () => setFieldError(list, ""));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const trainees = traineesOf(list.value);
    const titleText = oneLine(title.value).trim();
    const twice = repeated(trainees);
    const problem = !titleText
      ? [title, t("training.need_title")]
      : !trainees.length || trainees.length > MAX_TRAINEES
        ? [list, t("training.need_trainees", { max: MAX_TRAINEES })]
        : trainees.some((p) => p.name.length > 40)
          ? [list, t("training.name_too_long")]
          : twice
            ? [list, t("training.repeated", { name: twice })]
            : null;
    if (problem) {
      setFieldError(problem[0], problem[1]);
      problem[0].focus();
      return;
    }
    submit.disabled = true;
    await record("training.attended", { title: titleText, kind: kind.value, trainees });
    toast(t("training.done", { n: trainees.length }));
    navigate("#/record");
  });
  root.appendChild(form);
  title.focus();
  // A scanner gun's burst is a trainee's, never a parcel to look up: a household card's code
  // scanned after a name typed completes that line; anything else is a line of its own.
  const onScan = (text) => {
    list.value = withScan(list.value, text);
    setFieldError(list, "");
    list.focus();
  };
  return { onScan };
}
