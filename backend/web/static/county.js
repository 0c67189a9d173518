// A little help for the county pages; every page works without it.
// - filter forms marked data-autosubmit submit when a choice changes (their button is then hidden);
// - buttons marked data-confirm ask before submitting (closing a station, resetting a password);
// - on a phone the menu is one row that scrolls sideways: the page's own item is brought into it.
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
