// A little help for the county pages; every page works without it.
// - filter forms marked data-autosubmit submit when a choice changes (their button is then hidden);
// - buttons marked data-confirm ask before submitting (closing a station, resetting a password).
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
