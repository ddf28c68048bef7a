// The REST calls the pages make before they have a socket.

import { KothaError } from "./signal.js";

/** GET /api/client-config: whether this server lets the page start a guest call. */
export async function getClientConfig() {
  return request("GET", "/api/client-config");
}

/** POST /api/guest: a short-lived customer token bound to one new call. */
export async function createGuestCall({ name = "", language = "bn" } = {}) {
  return request("POST", "/api/guest", { name, language });
}

async function request(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
      cache: "no-store",
    });
  } catch (err) {
    throw new KothaError({ code: "network", message: String(err) });
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    // A proxy's HTML error page: reported below by status.
  }
  if (!response.ok) {
    throw new KothaError(data?.error ?? { code: "http_error", message: `HTTP ${response.status}` });
  }
  return data;
}
