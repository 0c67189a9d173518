// Calls to the server: the session cookie plus the CSRF double-submit header for unsafe methods,
// the UI language for localized problem details, a timeout (3G stalls), never an HTTP cache.

import { language } from "./i18n.js";
import { emit, setMeta } from "./store.js";

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code || null;
  }
}

export class NetworkError extends Error {}

function cookie(name) {
  const match = document.cookie.match(new RegExp(`(?:^|; )${name}=([^;]*)`));
  return match ? decodeURIComponent(match[1]) : null;
}

let lastCsrf = null;

/** Keep the CSRF token where the service worker's background sync can read it (no cookies there). */
function rememberCsrf() {
  const token = cookie("cz_csrf");
  if (token && token !== lastCsrf) {
    lastCsrf = token;
    setMeta("csrf", token).catch(() => {});
  }
  return token;
}

/** The CSRF cookie appears with any GET answer; fetch one if it is not there yet. */
async function csrfToken() {
  if (!cookie("cz_csrf")) await api("GET", "/api/v1/auth/me").catch(() => null);
  return rememberCsrf();
}

export async function api(method, path, body, options = {}) {
  const headers = { accept: "application/json", "accept-language": language() };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && !options.noCsrf) {
    const token = await csrfToken();
    if (token) headers["x-csrf-token"] = token;
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeout || 20000);
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal: controller.signal,
    });
  } catch (error) {
    throw new NetworkError(String(error));
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) {
    let problem = null;
    try {
      problem = await response.json();
    } catch (ignored) {
      problem = null;
    }
    if (response.status === 401 && !options.noAuthEvent) emit("unauthorized");
    throw new ApiError(response.status, problem);
  }
  rememberCsrf();
  if (response.status === 204) return null;
  return response.json();
}
