// Scanner-gun capture (扫码枪, "keyboard wedge"): one module for every screen that takes scans.
//
// A gun types the code like a very fast keyboard and ends it with Enter or Tab. On a cheap phone
// the page can stall for tens or hundreds of milliseconds in the middle of a burst (saving the
// previous parcel, a garbage collection), so a timing gap NEVER ends or restarts a burst: only
// Enter/Tab ends it, and only a long idle (IDLE_MS, far longer than any stall) forgets it. Whether
// a burst came from a gun is judged on the whole burst when it ends (its median gap between keys),
// so a stall cannot cut a number in two, and a person typing slowly and pressing Enter still
// submits the form as usual.
// A tap (pointerdown) forgets the burst so far: no gun taps in the middle of a scan.
//
// API (stable; the batch scan-in screen reuses it):
//
//   import { captureScans } from "./scan.js";
//   const stop = captureScans({
//     onFieldScan(input, text, before) {},  // the burst ended in a field marked data-scan="true":
//                                   // the field already holds exactly `text` (the whole burst;
//                                   // what it held before, `before`, is replaced); "input" and
//                                   // "change" were dispatched. Move the focus on here (nothing
//                                   // submits).
//     onScan(text) {},              // the burst ended anywhere else: the field it landed in (if
//                                   // any) got its earlier text back; the screen decides.
//     isScanField(element) {},      // optional; default: element.dataset.scan === "true"
//     target,                       // optional EventTarget to listen on (default: document)
//   });
//   stop();                         // removes the listener
//
// `text` is the raw burst with surrounding spaces trimmed (no case change, no normalisation): the
// tracking-number rule (upper case, JD package suffix…) belongs to js/carriers.js (parseTrackingNo), applied by whoever
// receives it. Pure helpers `isGunBurst(gaps, length)` and the constants are exported for tests.

export const MIN_LENGTH = 6; // shorter bursts are keys, not codes
export const MAX_MEDIAN_GAP_MS = 60; // guns type ≤ 30 ms (USB) or ≤ 45 ms (Bluetooth) per key
export const IDLE_MS = 1500; // nothing for this long: the burst (if any) is forgotten

/** A burst of `length` keys with these gaps between them (ms) came from a scanner gun. */
export function isGunBurst(gaps, length) {
  if (length < MIN_LENGTH) return false;
  if (!gaps.length) return true;
  const sorted = gaps.slice().sort((a, b) => a - b);
  // The median: a few stalls (however long) in a burst do not make it a person's typing.
  return sorted[Math.floor((sorted.length - 1) / 2)] <= MAX_MEDIAN_GAP_MS;
}

const defaultIsScanField = (element) => Boolean(element && element.dataset && element.dataset.scan === "true");

function isTextField(element) {
  return Boolean(element && (element.tagName === "INPUT" || element.tagName === "TEXTAREA"));
}

function setValue(input, value) {
  input.value = value;
  input.dispatchEvent(new Event("input", { bubbles: true }));
  input.dispatchEvent(new Event("change", { bubbles: true }));
}

export function captureScans(options) {
  const onFieldScan = options.onFieldScan || function () {};
  const onScan = options.onScan || function () {};
  const isScanField = options.isScanField || defaultIsScanField;
  const target = options.target || document;

  let keys = ""; // the burst so far
  let gaps = [];
  let last = 0;
  let field = null; // the text field the burst began in, and its text then
  let valueBefore = null;

  const forget = () => {
    keys = "";
    gaps = [];
    field = null;
    valueBefore = null;
  };

  const listener = (event) => {
    const now = performance.now();
    if (keys && now - last > IDLE_MS) forget();
    if (event.key === "Enter" || event.key === "Tab") {
      const burst = keys;
      const burstGaps = gaps;
      const startField = field;
      const startValue = valueBefore;
      forget();
      if (!isGunBurst(burstGaps, burst.length)) return;
      const text = burst.trim();
      if (text.length < MIN_LENGTH) return;
      event.preventDefault();
      const active = document.activeElement;
      if (isScanField(active)) {
        setValue(active, text);
        onFieldScan(active, text, startField === active ? startValue : null);
        return;
      }
      // The burst landed in some other field: give that field its text back.
      if (startField && startField === active && isTextField(active) && startValue !== null) setValue(active, startValue);
      onScan(text);
      return;
    }
    if (event.key.length !== 1 || event.ctrlKey || event.metaKey || event.altKey) {
      forget();
      return;
    }
    if (!keys) {
      const active = document.activeElement;
      field = isTextField(active) ? active : null;
      valueBefore = field ? field.value : null;
    } else {
      gaps.push(now - last);
    }
    keys += event.key;
    last = now;
  };
  // A gun's burst has no tap inside it: keys typed by hand before the keeper tapped a field
  // (the phone's tail, then the number box, then the gun) are not the start of the next scan.
  const tapped = () => forget();
  target.addEventListener("keydown", listener, true);
  target.addEventListener("pointerdown", tapped, true);
  return () => {
    target.removeEventListener("keydown", listener, true);
    target.removeEventListener("pointerdown", tapped, true);
  };
}
