// The REST calls of the pages: most before they have a socket, and the live
// transcript so far for a console that opens mid-call.

import { KothaError } from "./signal.js";

/** GET /api/client-config: whether this server lets the page start a guest call. */
export async function getClientConfig() {
  return request("GET", "/api/client-config");
}

/** POST /api/guest: a short-lived customer token bound to one new call. */
export async function createGuestCall({ name = "", language = "bn" } = {}) {
  return request("POST", "/api/guest", { name, language });
}

/**
 * GET /api/calls/{id}/transcript: what was said so far in a live call, its
 * transcription state and the customer's mood (for a console opened mid-call).
 */
export async function getCallTranscript(callId, token) {
  return request("GET", `/api/calls/${encodeURIComponent(callId)}/transcript`, undefined, token);
}

async function request(method, path, body, token) {
  const headers = body ? { "Content-Type": "application/json" } : {};
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
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
