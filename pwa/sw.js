/* The keeper app's service worker (scope /app/).
 *
 * - Precaches this version of the shell (every file under /app/v/<version>/, the page, the
 *   manifest and icons) and serves the app from it, offline too.
 * - Never answers /api/ or /county/ (nor anything outside /app/) from a cache.
 * - A new version installs in the background and waits; the page shows "有新版本，点击更新" and
 *   only the keeper's tap makes it take over (never while they are typing).
 * - Shows push notifications with the app icon; a tap opens the app at the notification's route.
 * - Background Sync: pushes the outbox when the page is closed (entries stay in IndexedDB; the
 *   page finishes their bookkeeping). It never deletes user data.
 * Classic script (Chrome 80 has no module workers).
 */
"use strict";

const VERSION = "__SHELL_VERSION__";
// A sync batch's size, as the page's sync.js sends it: at most the server's number of events, and
// under its 1 MiB body (tests/test_shell.py holds the page, the worker and the server together).
const MAX_EVENTS = 500;
const MAX_BYTES = 900 * 1024;
const CACHE = `cunzhan-shell-${VERSION}`;
// app.css is not here: the page carries it inline (backend/shell/assets.py), and the login
// screen's modules as one script (backend/shell/bundle.py); those modules' URLs serve the
// page's bindings to the screens loaded later.
const SHELL = [
  "js/main.js",
  "js/api.js",
  "js/camera.js",
  "js/carriers.js",
  "js/form-fields.js",
  "js/forms.js",
  "js/i18n.js",
  "js/idb.js",
  "js/local-view.js",
  "js/projector.js",
  "js/scan.js",
  "js/store.js",
  "js/sync.js",
  "js/ui.js",
  "js/util.js",
  "js/screens/checkin.js",
  "js/screens/history.js",
  "js/screens/home.js",
  "js/screens/login.js",
  "js/screens/me.js",
  "js/screens/pickup.js",
  "js/screens/record.js",
  "data/rules.json",
  "icons/icon-192.png",
];
// The counter's screens (batch scan-in, hand-over, stale parcels, shelf and prices) and the three
// catalogs (the page carries the keeper's own: the worker's copy of it is offline at once): cached
// once the worker is active, after the first paint, so a first visit stays within its budget;
// offline from then on.
const LATER = [
  "locales/zh-CN.json",
  "locales/ug.json",
  "locales/en.json",
  "counter.css",
  "js/screens/batch.js",
  "js/screens/counter-kit.js",
  "js/screens/handover.js",
  "js/screens/stale.js",
  "js/screens/counter-setup.js",
  "js/screens/training.js",
  "locales/counter/zh-CN.json",
  "locales/counter/ug.json",
  "locales/counter/en.json",
];
// The manifest's icons are fetched by the browser when installing, which needs the network.
const STABLE = ["./", "manifest.webmanifest"];
const ICON = `v/${VERSION}/icons/icon-192.png`;
const PRECACHE = SHELL.map((path) => `v/${VERSION}/${path}`).concat(STABLE);

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(PRECACHE.map((path) => new Request(path, { cache: "reload" })));
      // The page must belong to this version, or its asset URLs would miss the cache.
      const page = await cache.match("./");
      if (!page || (await page.clone().text()).indexOf(VERSION) < 0) {
        await caches.delete(CACHE);
        throw new Error("the server changed version during install; try again later");
      }
    })()
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.indexOf("cunzhan-shell-") === 0 && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
      const cache = await caches.open(CACHE);
      await cache.addAll(LATER.map((path) => new Request(`v/${VERSION}/${path}`, { cache: "reload" }))).catch(() => {
        // offline right now: each is cached when first fetched (below)
      });
    })()
  );
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "skip-waiting") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.indexOf("/app/") !== 0) return;
  if (url.pathname === "/app/sw.js") return;
  if (request.mode === "navigate") {
    event.respondWith(
      caches.match("./", { cacheName: CACHE }).then((cached) => cached || fetch(request))
    );
    return;
  }
  event.respondWith(
    caches.match(request, { cacheName: CACHE }).then(
      (cached) =>
        cached ||
        fetch(request).then((response) => {
          const later = LATER.some((path) => url.pathname.endsWith(`/v/${VERSION}/${path}`));
          if (later && response.ok) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(request, copy));
          }
          return response;
        })
    )
  );
});

// Push ---------------------------------------------------------------------------------------

self.addEventListener("push", (event) => {
  let payload = {};
  try {
    payload = event.data ? event.data.json() : {};
  } catch (error) {
    payload = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(
    self.registration.showNotification(payload.title || "村站通", {
      body: payload.body || "",
      icon: ICON,
      badge: ICON,
      tag: payload.tag || undefined,
      data: { url: payload.url || "./#/home" },
    })
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "./", self.registration.scope);
  if (target.origin !== self.location.origin || target.pathname.indexOf("/app/") !== 0) return;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const client of windows) {
        if (new URL(client.url).pathname.indexOf("/app/") === 0 && "focus" in client) {
          await client.focus();
          if ("navigate" in client) await client.navigate(target.href).catch(() => null);
          return;
        }
      }
      await self.clients.openWindow(target.href);
    })()
  );
});

// Background Sync: push the outbox while no page is open ----------------------------------------

self.addEventListener("sync", (event) => {
  if (event.tag === "cunzhan-outbox") event.waitUntil(backgroundPush());
});

function idbRequest(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Open an existing database without ever creating or upgrading one (the page owns the schema). */
function openExisting(name) {
  return new Promise((resolve) => {
    const req = indexedDB.open(name);
    req.onupgradeneeded = () => req.transaction.abort();
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => resolve(null);
  });
}

function writeTx(db, store) {
  return db.transaction([store], "readwrite", { durability: "strict" });
}

/** The oldest pending entries as events, within the batch's size (the page's store.pendingBatch). */
function pendingBatch(outbox) {
  const batch = [];
  let bytes = 200;
  for (const entry of outbox) {
    if (entry.status !== "pending") continue;
    const event = { id: entry.id, type: entry.type, occurred_at: entry.occurred_at, data: entry.data };
    const size = JSON.stringify(event).length * 3 + 2; // UTF-8 worst case, never over the limit
    if (batch.length >= MAX_EVENTS || (batch.length && bytes + size > MAX_BYTES)) break;
    batch.push(event);
    bytes += size;
  }
  return batch;
}

async function backgroundPush() {
  const windows = await self.clients.matchAll({ type: "window" });
  if (windows.length) {
    // A page is open: it syncs (and does the bookkeeping) itself.
    windows.forEach((client) => client.postMessage({ type: "sync" }));
    return;
  }
  const metaDb = await openExisting("cunzhan");
  if (!metaDb) return;
  const read = (key) => idbRequest(metaDb.transaction(["meta"]).objectStore("meta").get(key));
  const [user, device, csrf, lang] = await Promise.all([read("user"), read("device_id"), read("csrf"), read("lang")]);
  metaDb.close();
  if (!user || !device || !csrf) return;
  const db = await openExisting(`cunzhan-station-${user.station_id}`);
  if (!db) return;
  try {
    const all = await idbRequest(db.transaction(["outbox"]).objectStore("outbox").index("n").getAll());
    const batch = pendingBatch(all);
    if (!batch.length) return;
    const response = await fetch("/api/v1/sync", {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: {
        "content-type": "application/json",
        accept: "application/json",
        "accept-language": lang || "zh-CN",
        "x-csrf-token": csrf,
      },
      body: JSON.stringify({
        device_id: device,
        events: batch,
      }),
    });
    if (response.status >= 500) throw new Error(`server ${response.status}`); // retried later
    if (!response.ok) return; // logged out, CSRF…: the page deals with it when opened
    const answer = await response.json();
    const tx = writeTx(db, "outbox");
    const store = tx.objectStore("outbox");
    for (const result of answer.results) {
      const entry = await idbRequest(store.get(result.id));
      if (!entry || entry.status !== "pending") continue;
      if (result.status === "accepted" || result.status === "duplicate") {
        entry.status = "acked"; // the page moves it into its ledger copy
        entry.result = { seq: result.seq, pickup_code: result.pickup_code };
      } else {
        entry.status = result.status;
        entry.error = result.error || null;
      }
      await idbRequest(store.put(entry));
    }
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
    // A page opened while this push was on the way has already looked for acked entries and
    // found none: tell it to look again, or the entries wait there until its next sync.
    const opened = await self.clients.matchAll({ type: "window" });
    opened.forEach((client) => client.postMessage({ type: "sync" }));
  } finally {
    db.close();
  }
}
