// Start-up, the hash router, the app's frame (nav bar, tab bar, banners) and the service worker.

import { api } from "./api.js";
import { formatTime, guessLanguage, language, loadLanguage, t } from "./i18n.js";
import {
  bus,
  countyTimezone,
  getMeta,
  isStationOpen,
  kvGet,
  openStation,
  outboxCounts,
  setMeta,
} from "./store.js";
import { schedule, startSync, status as syncStatus, stopSync } from "./sync.js";
import { appendAll, clear, h, icon, toast } from "./ui.js";
import { debounce } from "./util.js";

export const app = { user: null, screen: null, installPrompt: null, updating: false };

const SCREENS = ["login", "home", "record", "pickup", "history", "me", "checkin", "edit", "batch", "handover", "stale", "counter-setup", "training"];
const COUNTER = ["pickup", "batch", "handover", "stale"]; // counter screens live under "record"
const TABS = [
  { route: "home", icon: "home", label: "tab.home" },
  { route: "record", icon: "record", label: "tab.record" },
  { route: "history", icon: "history", label: "tab.history" },
  { route: "me", icon: "me", label: "tab.me" },
];

let navTitle;
let navBack;
let navSync;
let tabbar;
let banners;
let main;
let routeToken = 0;
let updateRegistration = null;

// The frame ----------------------------------------------------------------------------------

function buildFrame() {
  const root = document.getElementById("app");
  clear(root);
  navBack = h("a", { class: "nav-back", href: "#/home", "aria-label": t("common.back"), hidden: true }, icon("back"));
  navTitle = h("h1", { class: "nav-title" }, t("app.name"));
  navSync = h("a", { class: "nav-sync", href: "#/me" });
  banners = h("div", { class: "banners", "aria-live": "polite" });
  main = h("main", { id: "screen", class: "screen", tabindex: "-1" });
  tabbar = h(
    "nav",
    { class: "tabbar", "aria-label": t("tab.label") },
    TABS.map((tab) =>
      h("a", { class: "tab", href: `#/${tab.route}`, "data-tab": tab.route }, icon(tab.icon, "tab-icon"), h("span", { class: "tab-label" }, t(tab.label)))
    )
  );
  appendAll(root, [h("header", { class: "navbar" }, navBack, navTitle, navSync), banners, main, tabbar]);
  document.title = t("app.name");
}

/** Screens set the title and where "back" goes (nothing: a top-level screen). */
export function setTitle(title, backHref) {
  navTitle.textContent = title;
  document.title = `${title} · ${t("app.name")}`;
  navBack.hidden = !backHref;
  if (backHref) navBack.setAttribute("href", backHref);
}

async function refreshChrome() {
  if (!navSync) return;
  let text = "";
  let kind = "ok";
  if (app.user && isStationOpen()) {
    const counts = await outboxCounts();
    if (syncStatus.needsLogin) {
      text = t("sync.login_needed");
      kind = "warn";
    } else if (counts.problems) {
      text = t("sync.problems_short", { n: counts.problems });
      kind = "warn";
    } else if (counts.pending) {
      text = t("sync.pending_short", { n: counts.pending });
      kind = "pending";
    } else if (!syncStatus.online) {
      text = t("sync.offline");
      kind = "pending";
    } else {
      text = t("sync.synced_short");
    }
  }
  navSync.textContent = text;
  navSync.className = `nav-sync nav-sync-${kind}`;
  navSync.hidden = !text;
  renderBanners();
}

function renderBanners() {
  clear(banners);
  if (updateRegistration) {
    banners.appendChild(
      h("button", { type: "button", class: "banner banner-update", "data-banner": "update", onclick: applyUpdate }, icon("cloud", "banner-icon"), h("span", null, t("sw.update_ready")))
    );
  }
  if (app.user && syncStatus.needsLogin && !location.hash.startsWith("#/login")) {
    banners.appendChild(
      h("a", { class: "banner banner-warn", href: "#/login", "data-banner": "login" }, icon("warn", "banner-icon"), h("span", null, t("sync.login_again")))
    );
  }
}

// Routing ------------------------------------------------------------------------------------

function parseHash() {
  const parts = location.hash
    .replace(/^#\/?/, "")
    .split("/")
    .filter(Boolean)
    .map(decodeURIComponent);
  return { name: parts[0] || "home", args: parts.slice(1) };
}

async function route() {
  if (!main) return; // a hash changed before the first frame was built: boot routes next
  const token = ++routeToken;
  let { name, args } = parseHash();
  if (SCREENS.indexOf(name) < 0) name = "home";
  if (!app.user && name !== "login") {
    location.replace("#/login");
    return;
  }
  const module = await import(`./screens/${name === "edit" ? "record" : name}.js`);
  // A keeper's screens take scans from the moment they show.
  if (app.user && name !== "login") await loadScanner();
  if (token !== routeToken) return;
  if (app.screen && app.screen.leave) app.screen.leave();
  app.screen = null;
  clear(main);
  window.scrollTo(0, 0);
  const login = name === "login";
  tabbar.hidden = login;
  navSync.hidden = login;
  for (const tab of tabbar.querySelectorAll(".tab")) {
    const active = tab.dataset.tab === name || (COUNTER.indexOf(name) >= 0 && tab.dataset.tab === "record") || (name === "counter-setup" && tab.dataset.tab === "me");
    if (active) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  const screen = (await module.render(main, name === "edit" ? ["edit"].concat(args) : args)) || {};
  // The keeper moved on while this screen was still drawing (home waits for the shelf and the
  // counter's figures): it must not become the current screen again, or its refresh after a sync
  // would take the next screen's title and hide its back button.
  if (token !== routeToken) {
    if (screen.leave) screen.leave();
    return;
  }
  app.screen = screen;
  refreshChrome();
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

const refreshScreen = debounce(() => {
  if (app.screen && app.screen.refresh) app.screen.refresh();
  refreshChrome();
}, 120);

// Signing in and out -------------------------------------------------------------------------

export async function signedIn(user) {
  const previous = app.user;
  app.user = user;
  await setMeta("user", user);
  setHint("cz_user", "1");
  // The language this phone speaks (chosen here, or the phone's own setting) wins over the
  // account's and is saved to it: reminders and messages from the server speak it too.
  const device = (await getMeta("lang")) || language();
  await setMeta("lang", device);
  if (device !== user.language) {
    api("POST", "/api/v1/auth/language", { language: device }).catch(() => {});
    user.language = device;
    await setMeta("user", user);
  }
  await openStation(user.station_id);
  syncStatus.needsLogin = false;
  startSync(user);
  loadScanner();
  if (!previous) buildFrame();
  navigate("#/home");
}

export async function signOut() {
  try {
    await api("POST", "/api/v1/auth/logout", {}, { noAuthEvent: true, timeout: 8000 });
  } catch (error) {
    // offline: the session ends on the server by itself; this phone forgets the user now
  }
  stopSync();
  app.user = null;
  await setMeta("user", null);
  setHint("cz_user", "0");
  navigate("#/login");
}

export async function changeLanguage(code, save = true) {
  await loadLanguage(code);
  await setMeta("lang", code);
  buildFrame();
  if (save && app.user) {
    api("POST", "/api/v1/auth/language", { language: code }).catch(() => {});
  }
  await route();
}

// Service worker: precached shell, "可离线使用" once, "有新版本" when an update waits -----------

function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker
    .register("sw.js")
    .then((registration) => {
      const watch = (worker) => {
        if (!worker) return;
        worker.addEventListener("statechange", () => {
          if (worker.state === "installed" && navigator.serviceWorker.controller) offerUpdate(registration);
        });
      };
      if (registration.waiting && navigator.serviceWorker.controller) offerUpdate(registration);
      watch(registration.installing);
      registration.addEventListener("updatefound", () => watch(registration.installing));
      setInterval(() => registration.update().catch(() => {}), 3600000);
    })
    .catch(() => {});
  navigator.serviceWorker.ready.then(async () => {
    if (!(await getMeta("offline_ready_shown"))) {
      await setMeta("offline_ready_shown", true);
      toast(t("sw.offline_ready"), "ok", 3500);
    }
  });
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    // Only the keeper's tap on "有新版本" swaps the worker; then load the new shell.
    if (app.updating) location.reload();
  });
}

function offerUpdate(registration) {
  updateRegistration = registration;
  renderBanners();
}

function applyUpdate() {
  if (!updateRegistration || !updateRegistration.waiting) return;
  app.updating = true;
  updateRegistration.waiting.postMessage({ type: "skip-waiting" });
}

// Start --------------------------------------------------------------------------------------

async function askPersistence() {
  if (await getMeta("persist_asked")) return;
  await setMeta("persist_asked", true);
  if (navigator.storage && navigator.storage.persist) {
    const granted = await navigator.storage.persist().catch(() => false);
    await setMeta("persisted", granted);
  }
}

async function routeScan(text) {
  // Screens get the whole scan as typed (a JD package suffix included) and parse it themselves.
  if (app.screen && app.screen.onScan) {
    app.screen.onScan(text);
    return;
  }
  if (!app.user) return;
  const { normalizeTrackingNo, rulesReady } = await import("./carriers.js");
  await rulesReady;
  const code = normalizeTrackingNo(text);
  const { localView } = await import("./local-view.js"); // not needed before a keeper signs in
  const view = await localView();
  const onShelf = view.shelf.some((p) => p.tracking_no === code);
  navigate(onShelf ? `#/pickup/${encodeURIComponent(code)}` : `#/record/received/${encodeURIComponent(text)}`);
}

// Only a signed-in keeper scans; the login screen (all a first visit sees) does without it.
let scannerLoading = null;

function loadScanner() {
  if (!scannerLoading) {
    scannerLoading = Promise.all([import("./scan.js"), import("./forms.js")]).then(([scan, forms]) =>
      scan.captureScans({
        onFieldScan: (input, text, before) => {
          if (app.screen && app.screen.onFieldScan) app.screen.onFieldScan(input, text);
          else forms.scannedInto(input, text, before);
        },
        onScan: routeScan,
      })
    );
  }
  return scannerLoading;
}

/** Resolves once the page's first frame (the splash) is on screen, or after 100 ms in a hidden tab. */
function firstFrame() {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 100);
    requestAnimationFrame(() => {
      clearTimeout(timer);
      setTimeout(resolve, 0);
    });
  });
}

// Hints in localStorage (read without waiting, unlike IndexedDB): whether a keeper is signed in on
// this phone ("1"/"0"). IndexedDB stays the truth; a hint only decides what to draw first.
function hint(key) {
  try {
    return localStorage.getItem(key);
  } catch (error) {
    return null;
  }
}

function setHint(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch (error) {
    // storage refused: the next start reads IndexedDB before drawing
  }
}

async function storedState() {
  const [user, lang] = await Promise.all([getMeta("user"), getMeta("lang")]);
  setHint("cz_user", user ? "1" : "0");
  return { user: user || null, lang };
}

async function showStoredState(state, hash) {
  await loadLanguage(state.lang || (state.user && state.user.language) || guessLanguage());
  app.user = state.user;
  if (app.user) await openStation(app.user.station_id);
  buildFrame();
  // Straight to the login screen (no second route through a hashchange).
  if (!app.user && !hash.startsWith("#/login")) hash = "#/login";
  if (hash !== location.hash) history.replaceState(null, "", hash || location.pathname);
  if (app.user) loadScanner();
  await route();
}

async function boot() {
  // The splash paints before the start-up work (IndexedDB, catalog, screen) takes the main thread.
  await firstFrame();
  const hash = location.hash;
  window.addEventListener("hashchange", route);
  bus.addEventListener("change", refreshScreen);
  bus.addEventListener("sync-status", refreshScreen);
  bus.addEventListener("recorded", () => askPersistence());
  bus.addEventListener("pickup-code-changed", (event) =>
    toast(t("received.code_changed", { tracking: event.detail.tracking_no, code: event.detail.pickup_code }), "warn", 5000)
  );
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();
    app.installPrompt = event;
    refreshScreen();
  });
  if (hint("cz_user") === "1") {
    await showStoredState(await storedState(), hash);
  } else {
    // Nobody signed in (or a first visit): the login screen, in the language shown last; then,
    // once it is on screen, IndexedDB opens (creating it costs a slow phone a good part of a
    // second), and the service worker registers below.
    await showStoredState({ user: null, lang: hint("cz_lang") }, hash);
    await firstFrame();
    const state = await storedState();
    const untouched = !app.user; // not signed in meanwhile
    if (untouched && (state.user || (state.lang && state.lang !== language()))) {
      // This phone knew more than its hints said (they came with a later version): go by it.
      await showStoredState(state, hash);
    }
  }
  if (app.user) startSync(app.user);
  registerServiceWorker();
}

export function lastSyncText() {
  if (!syncStatus.lastSyncAt) return t("sync.never");
  return t("sync.last", { time: formatTime(syncStatus.lastSyncAt, countyTimezone()) });
}

export { kvGet, schedule, syncStatus };

boot().catch((error) => {
  const root = document.getElementById("app");
  clear(root);
  root.appendChild(h("p", { class: "fatal" }, String(error && error.message ? error.message : error)));
});
