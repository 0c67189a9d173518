// A little help for the county pages; every page works without it.
// - filter forms marked data-autosubmit submit when a choice changes (their button is then hidden);
// - buttons marked data-confirm ask before submitting (closing a station, resetting a password);
// - on a phone the menu is one row that scrolls sideways: the page's own item is brought into it;
// - a refused form comes back with the page at its top: its first error is brought into view;
// - a form being sent is not sent again by a second tap (a training session saved twice counted
//   its 人次 twice).
document.querySelectorAll("form[data-autosubmit]").forEach((form) => {
  form.querySelectorAll("select").forEach((select) => {
    select.addEventListener("change", () => form.requestSubmit());
  });
  const button = form.querySelector("button[type=submit]");
  if (button) button.hidden = true;
});
document.querySelectorAll("[data-confirm]").forEach((element) => {
  element.addEventListener("click", (event) => {
    if (!window.confirm(element.getAttribute("data-confirm"))) event.preventDefault();
  });
});
// The notice form: the township or station choice shows only for the scope that needs it.
document.querySelectorAll("form[data-form=notice]").forEach((form) => {
  const scope = form.querySelector("[name=scope]");
  const targets = { township: "township_id", station: "station_id" };
  const show = () => {
    Object.entries(targets).forEach(([name, field]) => {
      const input = form.querySelector(`[name=${field}]`);
      const label = form.querySelector(`label[for=f-${field}]`);
      const hidden = scope.value !== name;
      input.parentElement.hidden = hidden;
      if (label) label.hidden = hidden;
    });
  };
  scope.addEventListener("change", show);
  show();
});
// The scorecard's print button (the browser's own print works without it).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
const current = document.querySelector(".mainnav [aria-current=page]");
if (current && current.parentElement.scrollWidth > current.parentElement.clientWidth) {
  current.scrollIntoView({ block: "nearest", inline: "center" });
}
// The first refusal on the page (a field marked invalid, its message, or a form's own message):
// in view, a folded section around it opened, the cursor in its field. Forms far down a page (the
// registry's, the settings' price table) answered a refusal with the page's top and nothing on it.
const refused = document.querySelector('[aria-invalid="true"], .field-error, p.error[role="alert"]');
if (refused && !window.location.hash) {
  for (let folded = refused.closest("details"); folded; folded = folded.parentElement.closest("details")) {
    folded.open = true;
  }
  refused.scrollIntoView({ block: "center" });
  if (refused.matches("input, select, textarea")) refused.focus({ preventScroll: true });
}
// One send per form: a double tap on 保存 on a slow line posted twice, and the server made two of
// what was meant once. The button is not disabled (its name and value, e.g. close_all, go with
// the form); a page brought back by the back button can send again.
// Listened for on the window, after the form's own listeners (the hub's refuses an empty list).
window.addEventListener("submit", (event) => {
  const form = event.target;
  if (event.defaultPrevented || form.getAttribute("method") !== "post") return;
  if (form.dataset.sending) event.preventDefault();
  else form.dataset.sending = "1";
});
window.addEventListener("pageshow", () => {
  document.querySelectorAll("form[data-sending]").forEach((form) => delete form.dataset.sending);
});
