// The county hub's scanner page (/county/hub): parcels scanned one after another into the chosen
// station's list, handed over with the page's form ("交接").
//
// - The scanner gun's bursts are read by the keeper app's own module (/app/js/scan.js: a burst ends
//   at Enter/Tab or a long idle, never at a timing gap, so a page stall cannot cut a number), and a
//   number is judged by the app's rules (/app/js/carriers.js reading /app/data/rules.json, the file
//   the server reads too): what cannot be a tracking number is refused, so is a second scan of a
//   parcel already in the list (compared as normalised: upper case, JD packages apart).
// - The list lives in localStorage, one per county and station, so a reload, a crash or a lost
//   connection loses nothing. It is cleared only when the server's answer (the page after the post)
//   names the parcels it took; a refused post keeps it.
// - Each parcel in the list shows its carrier, guessed from the number as the keeper's counter and
//   the server guess it (carriers.js guessCarrier; a JD package by its number), named in the page's
//   language (the form's data-carriers); a number no carrier's format fits is "other".
// - Without this script the page still works: the numbers go into the form's text box by hand.
//   Until this script is ready (a slow line: it and the rules may come seconds after the page)
//   that box has the focus, so a gun's reads land in it one a line; the script then takes each
//   line into the list as a scan (a line still being typed is waited for): no read is lost.
// - A read is taken as NFKC: a gun behind an input method left in full-width mode types ＳＦ１２…
//   and a full-width space, which are the waybill's SF12… (the server reads the box alike).
import { IDLE_MS, captureScans } from "/app/js/scan.js";
import {
  guessCarrier, isPossibleTrackingNo, parseTrackingNo, rulesReady,
} from "/app/js/carriers.js";

const form = document.getElementById("hub-form");
const select = document.getElementById("hub-station");
const scanField = document.getElementById("hub-scan");
const listElement = document.getElementById("hub-list");
const countElement = document.getElementById("hub-count");
const message = document.getElementById("hub-message");
const textarea = document.getElementById("hub-numbers");
const county = form.dataset.county;
const carrierNames = JSON.parse(form.dataset.carriers || "{}");
const STATION_KEY = `cunzhan.hub.${county}.station`;

const listKey = (station) => `cunzhan.hub.${county}.${station}`;
const isolate = (text) => `\u2066${text}\u2069`; // a number keeps its order in right-to-left text
const say = (template, params) =>
  template.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : ""));

/** The carrier a scanned number points to (its code; OTHER when no format fits). */
function carrierOf(text) {
  return guessCarrier(parseTrackingNo(text).tracking_no) || "OTHER";
}

/** How the server tells parcels apart: the normalised number, and a JD package on its own. */
function parcelKey(text) {
  const parsed = parseTrackingNo(text);
  return parsed.package ? `${parsed.tracking_no}#${parsed.package}` : parsed.tracking_no;
}

function load(station) {
  try {
    const stored = JSON.parse(localStorage.getItem(listKey(station)) || "[]");
    return Array.isArray(stored) ? stored.filter((item) => typeof item === "string") : [];
  } catch (error) {
    return [];
  }
}

function save(station, numbers) {
  if (numbers.length) localStorage.setItem(listKey(station), JSON.stringify(numbers));
  else localStorage.removeItem(listKey(station));
}

function show(kind, text) {
  message.textContent = text;
  message.className = `hub-message ${kind}`;
  message.hidden = !text;
  if (kind === "refused") message.setAttribute("role", "alert");
  else message.removeAttribute("role");
}

function render() {
  const numbers = load(select.value);
  listElement.replaceChildren(
    ...numbers.map((number) => {
      const item = document.createElement("li");
      item.dataset.trackingNo = number;
      const text = document.createElement("bdi"); // left to right in a Uyghur page too
      text.dir = "ltr";
      text.textContent = number;
      const carrier = document.createElement("span");
      carrier.className = "carrier";
      carrier.dataset.carrier = carrierOf(number);
      carrier.textContent = carrierNames[carrier.dataset.carrier] || carrier.dataset.carrier;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = form.dataset.msgRemove;
      remove.addEventListener("click", () => {
        save(select.value, load(select.value).filter((other) => other !== number));
        render();
        scanField.focus();
      });
      item.append(text, " ", carrier, remove);
      return item;
    })
  );
  countElement.textContent = say(form.dataset.msgCount, { n: numbers.length });
  textarea.value = numbers.join("\n");
}

function add(raw) {
  const text = String(raw || "").normalize("NFKC").trim();
  scanField.value = "";
  if (!text) return;
  const station = select.value;
  if (!isPossibleTrackingNo(parseTrackingNo(text).tracking_no)) {
    show("refused", say(form.dataset.msgInvalid, { number: isolate(text) }));
    return;
  }
  const numbers = load(station);
  const key = parcelKey(text);
  if (numbers.some((other) => parcelKey(other) === key)) {
    show("refused", say(form.dataset.msgDuplicate, { number: isolate(text) }));
    return;
  }
  numbers.push(text);
  save(station, numbers); // stored before it is shown: a reload right now keeps it
  render();
  show("added", say(form.dataset.msgAdded, { number: isolate(text) }));
}

/** The server's answer names what it took: only those leave the station's list. First the
 * lines as they were posted (no rules needed: on a bad line they may never come), then, once the
 * rules are read, any other spelling of a parcel it took. */
function forgetHandedOver(withRules) {
  const result = document.querySelector("[data-result]");
  if (!result) return;
  const station = result.dataset.station;
  if (!withRules) {
    const posted = new Set(JSON.parse(result.dataset.posted || "[]"));
    save(station, load(station).filter((number) => !posted.has(number)));
    // This page answers a post: reloaded (F5, a restored tab) it would post the old list
    // again, and a parcel the station has received since would get a second leg, open for
    // ever. From now on it reloads as the station's page.
    history.replaceState(null, "", `${location.pathname}?station=${encodeURIComponent(station)}`);
    return;
  }
  const handed = new Set(JSON.parse(result.dataset.handed || "[]"));
  save(station, load(station).filter((number) => !handed.has(parcelKey(number))));
}

function chooseStation() {
  const options = Array.from(select.options).map((option) => option.value);
  const wanted = form.dataset.selected || localStorage.getItem(STATION_KEY);
  if (wanted && options.includes(wanted)) select.value = wanted;
  localStorage.setItem(STATION_KEY, select.value);
}

const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** Until the text box's last line is whole: ended with Enter, or left as it is for a while. */
async function typingSettled() {
  let seen = textarea.value;
  while (seen !== textarea.defaultValue && !seen.endsWith("\n")) {
    await pause(IDLE_MS); // a gun's burst has no stall this long (scan.js forgets it then)
    if (textarea.value === seen) return;
    seen = textarea.value;
  }
}

/** What was typed into the text box before the scanner list took over: its whole lines join
 * the station's list as scans (those already in it silently); a line left unfinished by hand
 * goes on in the scan field. */
function takeTypedLines() {
  const lines = textarea.value.split("\n");
  const whole = textarea.value.endsWith("\n") || textarea.value === textarea.defaultValue;
  const unfinished = whole ? "" : lines.pop().trim();
  const listed = new Set(load(select.value).map(parcelKey));
  for (const line of lines) {
    const text = line.normalize("NFKC").trim();
    if (text && !listed.has(parcelKey(text))) {
      add(text);
      listed.add(parcelKey(text));
    }
  }
  if (unfinished && !listed.has(parcelKey(unfinished))) scanField.value = unfinished;
}

async function start() {
  forgetHandedOver(false);
  await rulesReady;
  await typingSettled();
  // From here on nothing waits: no key falls between the text box and the scan field.
  forgetHandedOver(true);
  chooseStation();
  document.querySelectorAll("[data-fallback]").forEach((element) => { element.hidden = true; });
  document.querySelectorAll("[data-scanner]").forEach((element) => { element.hidden = false; });
  takeTypedLines();
  render();
  select.addEventListener("change", () => {
    localStorage.setItem(STATION_KEY, select.value);
    show("", "");
    render();
    scanField.focus();
  });
  captureScans({
    onFieldScan: (input, text) => add(text), // the gun typed into the scan field
    onScan: (text) => { add(text); scanField.focus(); }, // anywhere else on the page
  });
  // A number typed by hand: Enter adds it (the gun's Enter was already taken by captureScans).
  scanField.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.defaultPrevented) return;
    event.preventDefault();
    add(scanField.value);
  });
  form.addEventListener("submit", (event) => {
    const numbers = load(select.value);
    if (!numbers.length) {
      event.preventDefault();
      show("refused", form.dataset.msgEmpty);
      return;
    }
    textarea.value = numbers.join("\n");
  });
  scanField.focus();
  form.dataset.ready = "true";
}

start();
