// The floor's numbers over REST (docs/protocol.md, `GET /api/reports*`), on BearerApi:
// supervisors' and admins' tokens only. Every failure is a KothaError with the server's
// code, message and field, so a page can say what went wrong in words.

import { BearerApi, queryString, statusCode } from "./api.js";
import { KothaError, passingTroubleWords } from "./errors.js";

// The report form's fields, as a person knows them.
const FIELD_WORDS = { since: "From", until: "To", by: "Group by" };

export class ReportsApi extends BearerApi {
  /** GET /api/reports/live: today, the last 15 minutes and today's agents. */
  async live() {
    const data = await this._request("GET", "/api/reports/live");
    if (!data.today || !data.last_15_min || !Array.isArray(data.agents)) {
      throw new KothaError({ code: "http_error", message: "the reply was not the floor's figures" });
    }
    return data;
  }

  /**
   * GET /api/reports: `{since, until, by, timezone, service_level_target_s, totals, groups}`.
   * @param {{since: string, until?: string, by: string}} query days (YYYY-MM-DD) in the centre's zone
   */
  async report(query) {
    const data = await this._request("GET", `/api/reports${queryString(query)}`);
    if (!data.totals || !Array.isArray(data.groups)) {
      throw new KothaError({ code: "http_error", message: "the reply was not a report" });
    }
    return data;
  }

  /**
   * GET /api/reports.csv: the same report as a file, `{blob, filename}`. Fetched with the
   * token in a header (a plain link could not send it), then saved by the page.
   */
  async csv(query) {
    let response;
    try {
      response = await fetch(`/api/reports.csv${queryString(query)}`, {
        headers: { Authorization: `Bearer ${this.token}`, Accept: "text/csv" },
        cache: "no-store",
      });
    } catch (err) {
      throw new KothaError({ code: "network", message: String(err) });
    }
    if (!response.ok) {
      let error = null;
      try {
        error = (await response.json())?.error ?? null;
      } catch {
        // Not JSON: said by status below.
      }
      const fallback = { code: statusCode(response.status), message: `HTTP ${response.status}` };
      throw new KothaError(error?.code ? error : fallback, response.status);
    }
    const disposition = response.headers.get("Content-Disposition") || "";
    const named = /filename="?([^";]+)"?/i.exec(disposition);
    return { blob: await response.blob(), filename: named ? named[1] : "kotha-report.csv" };
  }
}

/** A failure of these calls (or of the report form) in words a supervisor can act on. */
export function reportsErrorWords(error) {
  const code = error?.code || "unknown";
  const said = String(error?.message || "").trim().replace(/\.$/, "");
  const server = /^HTTP \d+$/.test(said) ? "" : said;
  switch (code) {
    case "token_missing":
      return "Sign in with a supervisor's or an admin's token to read the numbers.";
    case "token_expired":
      return "Your token has expired. Get a new one (kotha token --role supervisor) and sign in again.";
    case "token_invalid":
    case "token_revoked":
    case "unauthorized":
      return "That token is not valid here (cut short, revoked, or from another server). Check it and sign in again.";
    case "forbidden":
      return "This token may not read the floor's numbers: only supervisors and admins may. Sign in with a supervisor's token.";
    case "invalid_message":
    case "form": {
      const field = FIELD_WORDS[error.field];
      const detail = server.replace(/^[\w.$]+: /, "");
      return field ? `Check “${field}”: ${detail || "the value is not valid"}.` : `The request was not valid${detail ? `: ${detail}` : ""}.`;
    }
    case "timeout":
      return "The server did not answer in time; try again.";
    case "internal_error":
      return "The server failed to count the numbers; please try again.";
    default:
      return passingTroubleWords(code) ?? `Something went wrong${server ? `: ${server}` : ` (${code})`}.`;
  }
}
