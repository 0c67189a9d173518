// Carriers, their tracking-number formats and the normalisation of a scanned number, and the
// platforms and services an entry names, read from the rules file the server reads too
// (data/rules.json, precached with this version of the shell; backend/ledger/carriers.py is the
// server's side, tests/browser/test_rules_parity.py checks both agree on generated cases). A number
// off its carrier's usual pattern needs the keeper's confirmation; what cannot be a tracking
// number at all is refused.
//
// The file is fetched when this module is first imported; screens that use the functions below
// await `rulesReady` first (Chrome 80 has no top-level await).

let RULES = null;
let ANY = null;
let DROP = null;
let PACKAGE_SUFFIX = null;
let PATTERNS = {};
let PREFIXES = [];
let PHONE = {};
export let CARRIERS = [];
// What a purchase's platform and a service entry's service may be, in the order the forms offer them.
export let PLATFORMS = [];
export let SERVICES = [];

/** Use a rules object (the fetched file; tests may pass one). */
export function useRules(rules) {
  RULES = rules;
  ANY = new RegExp(rules.tracking.any);
  DROP = new RegExp(rules.tracking.drop, "g");
  PACKAGE_SUFFIX = new RegExp(rules.tracking.package_suffix);
  PATTERNS = {};
  PREFIXES = [];
  CARRIERS = rules.carriers.map((c) => c.code);
  PLATFORMS = rules.platforms;
  SERVICES = rules.services;
  for (const c of rules.carriers) {
    PATTERNS[c.code] = new RegExp(c.pattern);
    if (c.prefix) PREFIXES.push([c.prefix, c.code]);
  }
  PHONE = {
    full: new RegExp(rules.phone.full),
    masked: new RegExp(rules.phone.masked),
    last4: new RegExp(rules.phone.last4),
  };
  return rules;
}

export const rulesReady = fetch(new URL("../data/rules.json", import.meta.url).href)
  .then((response) => {
    if (!response.ok) throw new Error(`rules: ${response.status}`);
    return response.json();
  })
  .then(useRules);

export function rulesVersion() {
  return RULES ? RULES.version : null;
}

/**
 * What a scanner or thumb typed → {tracking_no, package}: trimmed, upper case; a JD package
 * suffix "-n-m-" becomes package "n/m" (each package is its own parcel); spaces and dashes dropped.
 */
export function parseTrackingNo(value) {
  const text = String(value || "").trim().toUpperCase();
  const match = PACKAGE_SUFFIX.exec(text);
  if (match && Number(match[2]) <= Number(match[3])) {
    return { tracking_no: match[1], package: `${Number(match[2])}/${Number(match[3])}` };
  }
  return { tracking_no: text.replace(DROP, ""), package: null };
}

export function normalizeTrackingNo(value) {
  return parseTrackingNo(value).tracking_no;
}

export function isPossibleTrackingNo(value) {
  return ANY.test(value);
}

export function matchesCarrier(carrier, value) {
  return Boolean(PATTERNS[carrier] && PATTERNS[carrier].test(value));
}

/**
 * The carrier a normalised number points to, afresh for every scan: its prefix (SF, YT, JT, JD)
 * first; then the remembered carrier if the number fits it; then the first carrier whose format it
 * fits. Only when the number says nothing (no format but OTHER fits) does the remembered one stay.
 */
export function guessCarrier(number, remembered) {
  for (const [prefix, code] of PREFIXES) {
    if (number.indexOf(prefix) === 0 && PATTERNS[code].test(number)) return code;
  }
  if (remembered && remembered !== "OTHER" && PATTERNS[remembered] && PATTERNS[remembered].test(number)) return remembered;
  for (const code of CARRIERS) {
    if (code !== "OTHER" && PATTERNS[code].test(number)) return code;
  }
  return remembered || null;
}

/** "full" | "masked" (a privacy label such as 138****5678) | "last4" | null. */
export function phoneForm(value) {
  if (PHONE.full.test(value)) return "full";
  if (PHONE.masked.test(value)) return "masked";
  if (PHONE.last4.test(value)) return "last4";
  return null;
}

/**
 * A villager's number as the screens show it (backend/privacy.py's mask_phone): a full number
 * as 139****0001, a privacy label or a tail as it is. The phone keeps what the keeper typed (it
 * offers a known full number, and only a full number gets the pickup SMS), but the server sends
 * every phone its station's parcels masked, so a list that showed the typed number showed two
 * forms for one kind of parcel.
 */
export function maskedPhone(value) {
  const phone = String(value || "");
  if (!phone || phone.indexOf("*") >= 0 || /^[0-9]{4}$/.test(phone)) return phone;
  if (phone.length >= 7) return `${phone.slice(0, 3)}****${phone.slice(-4)}`;
  return phone.replace(/./g, "*");
}

/**
 * A service account (a meter, a broadband line, a card) as the screens show it
 * (backend/privacy.py's mask_account): its last four characters. Like a villager's number, the
 * server sends it masked and the phone that recorded it keeps it as typed.
 */
export function maskedAccount(value) {
  const account = String(value || "");
  if (account.length <= 4) return "*".repeat(account.length);
  return "*".repeat(account.length - 4) + account.slice(-4);
}

/** The last four digits a recipient phone shows, whatever its form. */
export function phoneLast4(value) {
  const match = /([0-9]{4})$/.exec(String(value || ""));
  return match ? match[1] : "";
}
