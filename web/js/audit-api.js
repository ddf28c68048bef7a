// The admins' audit API (docs/protocol.md, `GET /api/audit`): the token goes as
// `Authorization: Bearer`, and every failure becomes an ApiError with the
// server's code, message and field, so the page can say what went wrong in words.

import { ApiError } from "./recordings-api.js";

export { ApiError };

export class AuditApi {
  /** @param {string} token an admin's token (the server refuses every other role) */
  constructor(token) {
    this.token = token;
  }

  /**
   * GET /api/audit: `{records, total}`, newest first. `query` may hold call_id, actor,
   * action (exact or a prefix), since, until (YYYY-MM-DD, UTC, both included), limit, offset;
   * empty values are left out.
   */
  async list(query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
    }
    const qs = params.toString();
    let response;
    try {
      response = await fetch(`/api/audit${qs ? `?${qs}` : ""}`, {
        headers: { Authorization: `Bearer ${this.token}`, Accept: "application/json" },
        cache: "no-store",
      });
    } catch (err) {
      throw new ApiError({ code: "network", message: String(err) });
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      // A proxy's HTML error page: reported below by status.
    }
    if (!response.ok) {
      const fallback = { code: statusCode(response.status), message: `HTTP ${response.status}` };
      throw new ApiError(data?.error?.code ? data.error : fallback, response.status);
    }
    if (!data || !Array.isArray(data.records)) {
      throw new ApiError({ code: "http_error", message: "the reply was not an audit page" }, response.status);
    }
    return { records: data.records, total: Number(data.total) || 0 };
  }
}

function statusCode(status) {
  if (status === 401) return "token_invalid";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 429) return "rate_limited";
  if (status >= 500) return "internal_error";
  return "http_error";
}
