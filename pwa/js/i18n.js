// Strings from pwa/locales/<lang>.json; dates, times, money and numbers through Intl.
// Uyghur is right-to-left: the whole layout mirrors through dir="rtl" and logical CSS.

export const LANGUAGES = ["zh-CN", "ug", "en"];
const RTL = ["ug"];

let current = "zh-CN";
let catalog = {};
let formats = {};

export function language() {
  return current;
}

export function guessLanguage() {
  const wanted = (navigator.languages || [navigator.language || ""]).map((l) => l.toLowerCase());
  for (const tag of wanted) {
    if (tag.indexOf("ug") === 0) return "ug";
    if (tag.indexOf("zh") === 0) return "zh-CN";
    if (tag.indexOf("en") === 0) return "en";
  }
  return "zh-CN";
}

// The page carries the catalog of the language its server expected (the cz_lang cookie, else the
// browser's languages): the login screen draws without fetching one.
function carriedCatalog(lang) {
  const carried = document.getElementById("cz-catalog");
  return carried && carried.getAttribute("data-lang") === lang ? JSON.parse(carried.textContent) : null;
}

export async function loadLanguage(code) {
  const lang = LANGUAGES.indexOf(code) >= 0 ? code : "zh-CN";
  let next = carriedCatalog(lang);
  if (!next) {
    const response = await fetch(new URL(`../locales/${lang}.json`, import.meta.url).href);
    next = await response.json();
  }
  catalog = next;
  current = lang;
  try {
    localStorage.setItem("cz_lang", lang); // what the next start draws in first
  } catch (error) {
    // storage refused (private mode): the next start guesses from the browser's languages
  }
  // The server reads it too: the next page it sends (the service worker's copy too) carries this
  // language's catalog.
  document.cookie = `cz_lang=${lang}; path=/; max-age=31536000; samesite=lax`;
  formats = {};
  const root = document.documentElement;
  root.lang = lang;
  root.dir = RTL.indexOf(lang) >= 0 ? "rtl" : "ltr";
}

/** Strings a screen loads when it opens (the counter's screens: pwa/locales/counter/), kept until
 * the language changes. */
export function addStrings(strings) {
  Object.assign(catalog, strings);
}

/** The string for `key`, with {name} placeholders filled from `params`. */
export function t(key, params) {
  let text = catalog[key];
  if (text === undefined) return key;
  if (params) {
    const rtl = isRtl();
    text = text.replace(/\{(\w+)\}/g, (whole, name) => {
      if (params[name] === undefined || params[name] === null) return whole;
      const value = String(params[name]);
      // Inside right-to-left text every code, number, phone tail, amount and date is isolated
      // left-to-right, else the bidi algorithm shows 2-4-3303 as 3303-4-2.
      return rtl && NEEDS_ISOLATE.test(value) && !RTL_LETTERS.test(value) && value.charAt(0) !== "\u2066" ? `\u2066${value}\u2069` : value;
    });
  }
  return text;
}

const NEEDS_ISOLATE = /[0-9]/;
const RTL_LETTERS = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]/;

function formatter(name, make) {
  if (!formats[name]) {
    try {
      formats[name] = make(current);
    } catch (error) {
      formats[name] = make("zh-CN");
    }
  }
  return formats[name];
}

function isRtl() {
  return RTL.indexOf(current) >= 0;
}

/**
 * Numbers, codes, phones and dates kept left-to-right inside right-to-left text: next to Arabic
 * letters "1-3-0003" would otherwise show as "0003-3-1" (digits become Arabic numbers in bidi).
 */
export function ltr(text) {
  return isRtl() ? `\u2066${text}\u2069` : String(text);
}

/** Chromium ships no Uyghur date data; there dates are written out by hand, digits only. */
function hasDateData() {
  if (formats.hasDates === undefined) {
    try {
      formats.hasDates = Intl.DateTimeFormat.supportedLocalesOf([current]).length > 0;
    } catch (error) {
      formats.hasDates = false;
    }
  }
  return formats.hasDates;
}

/** ¥12.50 in every language. */
export function money(fen) {
  const f = formatter(
    "money",
    (lang) =>
      new Intl.NumberFormat(lang, {
        style: "currency",
        currency: "CNY",
        currencyDisplay: "narrowSymbol",
        minimumFractionDigits: 2,
      })
  );
  return ltr(f.format((fen || 0) / 100));
}

export function number(value) {
  return formatter("number", (lang) => new Intl.NumberFormat(lang, { maximumFractionDigits: 3 })).format(value);
}

function zoned(moment, timeZone) {
  const parts = formatter(
    `parts:${timeZone}`,
    () =>
      new Intl.DateTimeFormat("en-US", {
        timeZone,
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23",
      })
  ).formatToParts(new Date(moment));
  const get = (type) => parts.find((p) => p.type === type).value;
  return { month: get("month"), day: get("day"), time: `${get("hour")}:${get("minute")}` };
}

/** A YYYY-MM-DD day as "11月22日 周六". */
export function formatDay(day) {
  const [y, m, d] = day.split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  if (!hasDateData()) return `${t(`weekday.${date.getUTCDay()}`)} ${digitDate(day)}`;
  const f = formatter(
    "day",
    (lang) =>
      new Intl.DateTimeFormat(lang, { month: "long", day: "numeric", weekday: "short", timeZone: "UTC" })
  );
  return f.format(date);
}

/** A month (YYYY-MM) as the language writes it: "2026年11月", "November 2026". */
export function formatMonth(month) {
  const [y, m] = month.split("-").map(Number);
  if (!hasDateData()) return t("month.name", { year: String(y), month: String(m) });
  const f = formatter("month", (lang) => new Intl.DateTimeFormat(lang, { year: "numeric", month: "long", timeZone: "UTC" }));
  return f.format(new Date(Date.UTC(y, m - 1, 1)));
}

/**
 * A date written with digits ("11-04") kept whole on one line: the line may otherwise break after
 * its hyphen ("11-" / "04"). Word joiners (U+2060) glue the hyphen to both sides; left-to-right
 * in Uyghur as ltr() does.
 */
export function digitDate(text) {
  return ltr(String(text).replace(/-/g, "\u2060-\u2060"));
}

/** A moment's time of day in the county's zone. */
export function formatTime(moment, timeZone) {
  return ltr(zoned(moment, timeZone).time);
}

export function formatDateTime(moment, timeZone) {
  const z = zoned(moment, timeZone);
  if (!hasDateData()) return digitDate(`${z.month}-${z.day} ${z.time}`);
  const key = `datetime:${timeZone}`;
  const f = formatter(
    key,
    (lang) =>
      new Intl.DateTimeFormat(lang, {
        month: "numeric",
        day: "numeric",
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23",
        timeZone,
      })
  );
  return f.format(new Date(moment));
}
