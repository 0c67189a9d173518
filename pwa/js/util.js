// Small pure helpers: ids, local times with offset, money in fen, weights in grams, days.
// Written for Chrome 80: no crypto.randomUUID, no String#replaceAll, no Array#at.

export function uuid4() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.prototype.map.call(bytes, (b) => (b < 16 ? "0" : "") + b.toString(16)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

/** The phone's local time with its offset, e.g. 2026-11-22T09:30:00+08:00 (the server wants one). */
export function localIso(date = new Date()) {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

/** Full-width digits and punctuation (Chinese keyboards) to ASCII. */
export function asciiDigits(text) {
  return String(text).replace(/[\uFF10-\uFF19\uFF0E\uFF0D]/g, (c) =>
    String.fromCharCode(c.charCodeAt(0) - 0xfee0)
  );
}

export const MAX_FEN = 10000000; // ¥100,000: the server's limit for one entry

/**
 * A number as typed, read as the server reads the county's forms (backend/numbers.py; the rules'
 * parity test holds the two together): full-width digits are digits and a comma is a decimal
 * separator ("12,5": a Uyghur keyboard, or a Chinese IME's "，"); what could be a thousands
 * separator is refused, never guessed: "1,250" (¥1,250 or ¥1.25?), "1.250" where two decimals are
 * the most, "1,250,000", "1,250.50".
 * Returns {sign, whole, fraction} (fraction padded to `places` digits) or {error: "ambiguous" | "format"}.
 */
export function readDecimal(text, places, signed = false) {
  let cleaned = asciiDigits(text)
    .replace(/[\uFF0C\u060C\u066B]/g, ",") // full-width comma, Arabic comma and decimal separator
    .replace(/\u3002/g, ".") // the ideographic full stop a Chinese keyboard types for "."
    .replace(/\u2212/g, "-")
    .replace(/\s/g, "");
  const negative = signed && cleaned.charAt(0) === "-";
  if (negative) cleaned = cleaned.slice(1);
  if (cleaned.replace(/\d/g, "").length > 1 && /^[\d.,]+$/.test(cleaned)) {
    return { error: "ambiguous" }; // 1,250,000 or 1,250.50: grouped thousands
  }
  const match = /^(\d*)(?:([.,])(\d*))?$/.exec(cleaned);
  if (!match || !/\d/.test(cleaned)) return { error: "format" };
  const whole = match[1];
  const separator = match[2];
  const fraction = match[3] || "";
  // "1,250" and, where a box takes at most two decimals, "1.250": a thousands separator?
  const grouped = separator && fraction.length === 3 && /^[1-9]\d{0,2}$/.test(whole);
  if (grouped && (separator === "," || places < 3)) return { error: "ambiguous" };
  if (fraction.length > places || whole.length > 12) return { error: "format" };
  const digits = (whole || "0").replace(/^0+(?=\d)/, "");
  const padded = fraction.padEnd(places, "0");
  const zero = /^0*$/.test(digits + padded);
  return { sign: negative && !zero ? "-" : "", whole: digits, fraction: padded };
}

/** 元 as written on a receipt, "¥12.5" or "12.5元", read to the fen (backend/numbers.py read_yuan). */
export function readYuan(text) {
  return readDecimal(String(text).replace(/^\s*[¥￥]|元\s*$/g, ""), 2);
}

/**
 * Yuan as typed to integer fen, exactly (no floats): the one parser of every money field.
 * "12.5", "12,5", "¥3", "0.05" are read; what could be a thousands separator is refused.
 * Returns {fen} or {error: "money_format" | "money_range" | "money_ambiguous"}.
 */
export function parseYuan(text) {
  const read = readYuan(text);
  if (read.error) return { error: `money_${read.error}` };
  if (read.whole.length > 7) return { error: "money_range" }; // written right, too large
  const fen = Number(read.whole) * 100 + Number(read.fraction);
  if (fen > MAX_FEN) return { error: "money_range" };
  return { fen };
}

/** Fen back to the yuan text a form shows ("12.50"); empty for null. */
export function fenToYuanText(fen) {
  if (fen === null || fen === undefined) return "";
  return `${Math.floor(fen / 100)}.${pad(fen % 100)}`;
}

/** Kilograms as typed ("2.5", "2,5") to integer grams (1 g … 200 kg). */
export function parseKg(text) {
  const read = readDecimal(text, 3);
  if (read.error) return { error: `weight_${read.error}` };
  if (read.whole.length > 3) return { error: "weight_range" };
  const grams = Number(read.whole) * 1000 + Number(read.fraction);
  if (grams < 1 || grams > 200000) return { error: "weight_range" };
  return { grams };
}

export function gramsToKgText(grams) {
  if (!grams) return "";
  const kg = Math.floor(grams / 1000);
  const rest = grams % 1000;
  return rest ? `${kg}.${pad(rest, 3).replace(/0+$/, "")}` : String(kg);
}

/** A positive quantity with up to 3 decimals (2.5 斤, "2,5" too). */
export function parseQuantity(text) {
  const read = readDecimal(text, 3);
  if (read.error) return { error: `quantity_${read.error}` };
  const value = Number(`${read.whole}.${read.fraction}`);
  if (!(value > 0) || value > 1000000) return { error: "quantity_range" };
  return { value };
}

/**
 * Text for a one-line box as the server takes it (backend/ledger/text_rules.py): a tab or a line
 * break pasted from a spreadsheet or a chat is a space, as the box itself makes of a pasted line
 * break; control characters and invisible direction marks go. The server refused such an entry
 * only after sync, when the villager had left.
 */
export function oneLine(text) {
  return String(text)
    .replace(/[\t\n\r]+/g, " ")
    .replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufffe\uffff]/g, "");
}

export const MOBILE = /^1[3-9]\d{9}$/;

/** A number as typed or pasted, read as the server reads it (backend/phones.py): full-width
 * digits, spaces, dashes and brackets, and a +86 / 0086 / 86 prefix off a mobile number. */
export function normalizePhone(text) {
  const cleaned = asciiDigits(text).replace(/\uFF0B/g, "+").replace(/[\s\-()（）]/g, "");
  const prefixed = /^(?:\+86|0086|86)(1[3-9]\d{9})$/.exec(cleaned);
  return prefixed ? prefixed[1] : cleaned;
}

/** A recipient's number as the label shows it (138****5678), its stars typed full-width or as × too. */
export function labelPhone(text) {
  return normalizePhone(text).replace(/[\uFF0A\u00D7xX]/g, "*");
}

/** YYYY-MM-DD of a moment in a time zone (the county's). */
export function dayInZone(moment, timeZone) {
  const date = moment instanceof Date ? moment : new Date(moment);
  let parts;
  try {
    parts = new Intl.DateTimeFormat("en-US", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    }).formatToParts(date);
  } catch (error) {
    parts = new Intl.DateTimeFormat("en-US", {
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    }).formatToParts(date);
  }
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get("year")}-${get("month")}-${get("day")}`;
}

function dayToUtc(day) {
  const [y, m, d] = day.split("-").map(Number);
  return Date.UTC(y, m - 1, d);
}

export function addDays(day, n) {
  const moment = new Date(dayToUtc(day) + n * 86400000);
  return `${moment.getUTCFullYear()}-${pad(moment.getUTCMonth() + 1)}-${pad(moment.getUTCDate())}`;
}

export function daysBetween(from, to) {
  return Math.round((dayToUtc(to) - dayToUtc(from)) / 86400000);
}

/** Monday of the county's check-in week. */
export function weekStart(day) {
  const weekday = new Date(dayToUtc(day)).getUTCDay(); // 0 = Sunday
  return addDays(day, -((weekday + 6) % 7));
}

export function debounce(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
