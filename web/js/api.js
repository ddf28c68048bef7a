// The pages' REST calls (docs/protocol.md): one request function for all of them.
// A token, when there is one, goes as `Authorization: Bearer`; every failure becomes a
// KothaError with the server's code, message and field (and the HTTP status), so a page
// can say what went wrong in words. RecordingsApi and AuditApi extend BearerApi.

import { KothaError } from "./errors.js";

/**
 * One REST call: the reply's JSON, or a KothaError.
 * @param {string} method
 * @param {string} path
 * @param {{body?: object, token?: string}} options
 */
export async function request(method, path, { body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body) headers["Content-Type"] = "application/json";
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
    const fallback = { code: statusCode(response.status), message: `HTTP ${response.status}` };
    throw new KothaError(data?.error?.code ? data.error : fallback, response.status);
  }
  if (data === null) {
    throw new KothaError({ code: "http_error", message: "the reply was not JSON" }, response.status);
  }
  return data;
}

/** `?a=1&b=2` of the filled-in fields of `query` ("" when none are). */
export function queryString(query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `?${qs}` : "";
}

/** GET /api/client-config: whether this server lets the page start a guest call. */
export async function getClientConfig() {
  return request("GET", "/api/client-config");
}

/** POST /api/guest: a short-lived customer token bound to one new call. */
export async function createGuestCall({ name = "", language = "bn" } = {}) {
  return request("POST", "/api/guest", { body: { name, language } });
}

/**
 * GET /api/calls/{id}/transcript: what was said so far in a live call, its
 * transcription state and the customer's mood (for a console opened mid-call).
 */
export async function getCallTranscript(callId, token) {
  return request("GET", `/api/calls/${encodeURIComponent(callId)}/transcript`, { token });
}

/** The REST calls of one signed-in token (the reviewers' and the admins' pages). */
export class BearerApi {
  /** @param {string} token */
  constructor(token) {
    this.token = token;
  }

  _request(method, path) {
    return request(method, path, { token: this.token });
  }
}

/** The code of a failure that came without the server's JSON error (a proxy's page), by status. */
export function statusCode(status) {
  if (status === 401) return "token_invalid";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 429) return "rate_limited";
  if (status >= 500) return "internal_error";
  return "http_error";
}
