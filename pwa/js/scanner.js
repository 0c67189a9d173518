// Scanner guns (扫码枪) type like a very fast keyboard: ≤ 30 ms between characters, at least
// 6 of them, then Enter or Tab. Such a burst fills the focused tracking-number field and moves on
// to the next field; anywhere else it goes to the screen (the pickup search, a new 代收…).

import { normalizeTrackingNo } from "./carriers.js";

const MAX_GAP_MS = 30;
const MAX_END_GAP_MS = 100;
const MIN_LENGTH = 6;

export function installScanner({ onFieldScan, onScan }) {
  let buffer = "";
  let last = 0;
  let valueBefore = null; // the focused field's text when the burst began

  document.addEventListener(
    "keydown",
    (event) => {
      const now = performance.now();
      if (event.key === "Enter" || event.key === "Tab") {
        const burst = buffer;
        const gap = now - last;
        buffer = "";
        if (burst.length < MIN_LENGTH || gap > MAX_END_GAP_MS) return;
        event.preventDefault();
        const code = normalizeTrackingNo(burst);
        const target = document.activeElement;
        if (target && target.dataset && target.dataset.scan) {
          target.value = code;
          target.dispatchEvent(new Event("input", { bubbles: true }));
          target.dispatchEvent(new Event("change", { bubbles: true }));
          onFieldScan(target, code);
          return;
        }
        if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA") && valueBefore !== null) {
          // The burst landed in some other field: give that field its text back.
          target.value = valueBefore;
          target.dispatchEvent(new Event("input", { bubbles: true }));
        }
        onScan(code);
        return;
      }
      if (event.key.length !== 1 || event.ctrlKey || event.metaKey || event.altKey) {
        buffer = "";
        return;
      }
      if (buffer && now - last > MAX_GAP_MS) buffer = "";
      if (!buffer) {
        const target = document.activeElement;
        valueBefore = target && "value" in target ? target.value : null;
      }
      buffer += event.key;
      last = now;
    },
    true
  );
}
