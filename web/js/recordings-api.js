// The reviewers' REST API (docs/protocol.md, "Recordings"): every call sends
// the token as `Authorization: Bearer`, and every failure becomes an
// ApiError with the server's code, so the page can say what went wrong in words.

export class ApiError extends Error {
  constructor({ code = "http_error", message = "", field = null } = {}, status = 0) {
    super(message || code);
    this.name = "ApiError";
    this.code = code;
    this.field = field;
    this.status = status;
  }
}

export class RecordingsApi {
  /** @param {string} token a reviewer's, supervisor's or admin's token */
  constructor(token) {
    this.token = token;
  }

  /** GET /api/recordings: newest first (with `matches` of a words search). `query` holds only the filled-in fields. */
  search(query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
    }
    const qs = params.toString();
    return this._request("GET", `/api/recordings${qs ? `?${qs}` : ""}`);
  }

  /** GET /api/recordings/{id}: {recording, timeline, quality, transcript}. */
  get(callId) {
    return this._request("GET", `/api/recordings/${encodeURIComponent(callId)}`);
  }

  /** POST .../playback: signed URLs for the player (writes an audit record). */
  playback(callId) {
    return this._request("POST", `/api/recordings/${encodeURIComponent(callId)}/playback`);
  }

  /** POST .../downloads/{key}: one signed download URL (writes an audit record). */
  download(callId, key) {
    return this._request(
      "POST",
      `/api/recordings/${encodeURIComponent(callId)}/downloads/${encodeURIComponent(key)}`,
    );
  }

  async _request(method, path) {
    let response;
    try {
      response = await fetch(path, {
        method,
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
    if (data === null) throw new ApiError({ code: "http_error", message: "the reply was not JSON" }, response.status);
    return data;
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
