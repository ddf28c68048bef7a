// The admins' audit API (docs/protocol.md, `GET /api/audit`), on BearerApi: the token
// goes as `Authorization: Bearer`, and every failure becomes a KothaError with the
// server's code, message and field, so the page can say what went wrong in words.

import { BearerApi, queryString } from "./api.js";
import { KothaError } from "./errors.js";

/** Sign in with an admin's token (the server refuses every other role). */
export class AuditApi extends BearerApi {
  /**
   * GET /api/audit: `{records, total}`, newest first. `query` may hold call_id, actor,
   * action (exact, a prefix, or a comma-separated list), since, until (YYYY-MM-DD, UTC,
   * both included), limit, offset; empty values are left out.
   */
  async list(query) {
    const data = await this._request("GET", `/api/audit${queryString(query)}`);
    if (!Array.isArray(data.records)) {
      throw new KothaError({ code: "http_error", message: "the reply was not an audit page" });
    }
    return { records: data.records, total: Number(data.total) || 0 };
  }
}
