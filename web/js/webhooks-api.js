// The admins' webhooks API (docs/webhooks.md, "For the kotha admin: seeing failures"):
// each endpoint's state, and its given-up events sent again. Every failure becomes a
// KothaError with the server's code and message, as on the rest of the audit page.

import { BearerApi, request } from "./api.js";
import { KothaError } from "./errors.js";

/** Sign in with an admin's token (the server refuses every other role). */
export class WebhooksApi extends BearerApi {
  /**
   * GET /api/webhooks: `{endpoints, unreachable}`. Each endpoint (per node that keeps
   * events for it) is `{name, url, node, state, pending, in_flight, held, delivered,
   * failed_count, failed: [...], refused, last_error, last_error_at, last_success_at,
   * next_attempt_at}`; `unreachable` lists `{node, reason}` for nodes that did not answer.
   */
  async list() {
    const data = await this._request("GET", "/api/webhooks");
    if (!Array.isArray(data.endpoints)) {
      throw new KothaError({ code: "http_error", message: "the reply was not a list of webhook endpoints" });
    }
    return { endpoints: data.endpoints, unreachable: Array.isArray(data.unreachable) ? data.unreachable : [] };
  }

  /**
   * POST /api/webhooks/{name}/retry: send one given-up event again (`eventId`), or all of
   * the endpoint's; `node` keeps it to that node's (null: whichever node keeps them). How
   * many were put back.
   */
  async retry(name, { eventId = null, node = null } = {}) {
    const body = {};
    if (eventId) body.event_id = eventId;
    if (node) body.node = node;
    const data = await request("POST", `/api/webhooks/${encodeURIComponent(name)}/retry`, {
      token: this.token,
      body: Object.keys(body).length ? body : undefined,
    });
    return { endpoint: String(data.endpoint ?? name), retried: Number(data.retried) || 0 };
  }
}
