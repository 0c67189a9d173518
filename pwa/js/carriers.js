// Carriers and their tracking-number formats, as the server checks them
// (backend/ledger/carriers.py): a number off its carrier's usual pattern needs the keeper's
// confirmation; what cannot be a tracking number at all is refused.

export const CARRIERS = ["ZTO", "YTO", "STO", "YUNDA", "JT", "SF", "EMS", "JD", "BEST", "OTHER"];

const ANY = /^[A-Z0-9]{8,30}$/;

const PATTERNS = {
  SF: /^SF[0-9]{13}$/,
  ZTO: /^[0-9]{12,15}$/,
  YTO: /^YT[0-9]{13}$/,
  STO: /^[0-9]{12,15}$/,
  YUNDA: /^[0-9]{13,15}$/,
  JD: /^JD[A-Z0-9]{11,18}$/,
  EMS: /^([A-Z]{2}[0-9]{9}[A-Z]{2}|[0-9]{13})$/,
  JT: /^JT[0-9]{13}$/,
  BEST: /^[0-9]{12,14}$/,
  OTHER: ANY,
};

/** What scanners and thumbs add (spaces, dashes, lower case) removed, as the server does. */
export function normalizeTrackingNo(value) {
  return String(value || "")
    .replace(/[\s-]/g, "")
    .toUpperCase();
}

export function isPossibleTrackingNo(value) {
  return ANY.test(value);
}

export function matchesCarrier(carrier, value) {
  return Boolean(PATTERNS[carrier] && PATTERNS[carrier].test(value));
}

/** The carrier a number's prefix gives away (SF…, YT…, JT…, JD…), else null. */
export function carrierFromPrefix(value) {
  if (PATTERNS.SF.test(value)) return "SF";
  if (PATTERNS.YTO.test(value)) return "YTO";
  if (PATTERNS.JT.test(value)) return "JT";
  if (PATTERNS.JD.test(value)) return "JD";
  if (/^[A-Z]{2}[0-9]{9}[A-Z]{2}$/.test(value)) return "EMS";
  return null;
}
