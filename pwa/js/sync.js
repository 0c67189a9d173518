// The sync loop: push the outbox, then pull the station's events so two phones agree.
// Runs on start, when the network comes back, when the app becomes visible, after each save,
// on a timer with back-off, and through Background Sync where the browser has it (the replay
// here is the main path: WeChat's browser has no Background Sync).

import { api, ApiError, NetworkError } from "./api.js";
import {
  applyPulled,
  applyPushResults,
  bus,
  deviceId,
  emit,
  finalizeAcked,
  kvGet,
  kvSet,
  pendingBatch,
} from "./store.js";

const MAX_EVENTS = 500;
const MAX_BYTES = 900 * 1024; // under the server's 1 MiB
const IDLE_MS = 120000;
const MAX_BACKOFF_MS = 300000;

export const status = {
  running: false,
  online: navigator.onLine,
  needsLogin: false,
  lastSyncAt: null,
  lastError: null,
  failures: 0,
};

let user = null;
let timer = 0;
let again = false;
let started = false;

function publish() {
  emit("sync-status", status);
}

export function schedule(delay = 300) {
  clearTimeout(timer);
  timer = setTimeout(syncNow, delay);
}

export async function startSync(currentUser) {
  user = currentUser;
  await deviceId(); // created now: the service worker's background sync needs it too
  status.needsLogin = false;
  status.lastSyncAt = (await kvGet("last_sync_at")) || null;
  if (!started) {
    started = true;
    window.addEventListener("online", () => {
      status.online = true;
      publish();
      schedule(0);
    });
    window.addEventListener("offline", () => {
      status.online = false;
      publish();
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") schedule(0);
    });
    bus.addEventListener("recorded", () => {
      schedule(300);
      requestBackgroundSync();
    });
    bus.addEventListener("unauthorized", () => {
      status.needsLogin = true;
      publish();
    });
    if (navigator.serviceWorker) {
      navigator.serviceWorker.addEventListener("message", (event) => {
        if (event.data && event.data.type === "sync") schedule(0);
      });
    }
  }
  publish();
  schedule(0);
}

export function stopSync() {
  user = null;
  clearTimeout(timer);
}

async function requestBackgroundSync() {
  try {
    const registration = await navigator.serviceWorker.ready;
    if (registration.sync) await registration.sync.register("cunzhan-outbox");
  } catch (error) {
    // No Background Sync here: the loop on start/online/timer does the work.
  }
}

export async function syncNow() {
  if (!user) return;
  if (status.running) {
    again = true;
    return;
  }
  status.running = true;
  publish();
  let next = IDLE_MS;
  try {
    if (navigator.locks) {
      await navigator.locks.request("cunzhan-sync", () => syncOnce());
    } else {
      await syncOnce();
    }
    status.failures = 0;
    status.lastError = null;
    status.online = true;
    status.lastSyncAt = new Date().toISOString();
    await kvSet("last_sync_at", status.lastSyncAt);
    refreshSideData();
  } catch (error) {
    status.failures += 1;
    status.lastError = error instanceof ApiError ? error.message : "network";
    if (error instanceof NetworkError) status.online = navigator.onLine && status.failures < 2;
    if (error instanceof ApiError && error.status === 401) {
      status.needsLogin = true;
      next = 0;
    } else {
      next = Math.min(MAX_BACKOFF_MS, 5000 * Math.pow(2, status.failures - 1));
    }
  } finally {
    status.running = false;
    publish();
  }
  if (again) {
    again = false;
    schedule(0);
  } else if (next && !status.needsLogin) {
    schedule(next);
  }
}

async function syncOnce() {
  await checkSessionIsTheKeepers();
  await finalizeAcked();
  await push();
  await pull();
}

/** Another site may have logged this browser into someone else's account (login CSRF): never
 * send this station's entries, nor take another station's, under a session that is not the
 * keeper's own. Log that session out and ask for the keeper's login; the outbox stays. */
async function checkSessionIsTheKeepers() {
  const me = await api("GET", "/api/v1/auth/me");
  if (me.id === user.id && me.station_id === user.station_id) return;
  await api("POST", "/api/v1/auth/logout", {}, { noAuthEvent: true }).catch(() => {});
  emit("session-mismatch", { expected: user.id });
  throw new ApiError(401, { code: "session_mismatch" }); // handled as an ended session
}

async function push() {
  const device = await deviceId();
  let limit = MAX_EVENTS;
  for (let round = 0; round < 1000; round++) {
    const events = await pendingBatch(limit, MAX_BYTES);
    if (!events.length) return;
    let answer;
    try {
      answer = await api("POST", "/api/v1/sync", { device_id: device, events }, { timeout: 60000 });
    } catch (error) {
      if (error instanceof ApiError && error.status === 413 && limit > 1) {
        limit = Math.max(1, Math.floor(events.length / 2));
        continue;
      }
      throw error;
    }
    const outcome = await applyPushResults(answer.results);
    for (const changed of outcome.changedCodes) emit("pickup-code-changed", changed);
    if (!answer.results.length) return;
  }
}

async function pull() {
  let cursor = (await kvGet("cursor")) || "";
  for (let page = 0; page < 200; page++) {
    const answer = await api("GET", `/api/v1/sync?since=${encodeURIComponent(cursor)}`);
    await applyPulled(answer.events, answer.cursor);
    cursor = answer.cursor;
    if (!answer.more) return;
  }
}

/** The home summary, the station's shelf layout and the inbox; failures are fine (offline). */
const CATALOGUE_MAX_AGE_MS = 60 * 60 * 1000;

async function refreshSideData() {
  if (!user || !user.station_id) return;
  const base = `/api/v1/stations/${user.station_id}`;
  try {
    await kvSet("summary", await api("GET", `${base}/summary`));
    if (!(await kvGet("station"))) await kvSet("station", await api("GET", base));
  } catch (error) {
    // shown from the last copy
  }
  // The 代销 form's catalogue changes seldom: asked at most once an hour, not after every sync.
  const fetched = await kvGet("products_at");
  if (!fetched || Date.now() - fetched > CATALOGUE_MAX_AGE_MS) {
    try {
      await kvSet("products", await api("GET", `${base}/products`));
      await kvSet("products_at", Date.now());
    } catch (error) {
      // the last copy stays (offline, or a server without a catalogue yet)
    }
  }
  try {
    const inbox = await api("GET", "/api/v1/inbox");
    await kvSet("inbox", inbox.items || []);
  } catch (error) {
    // the inbox may not exist on this server yet
  }
  emit("change");
}
