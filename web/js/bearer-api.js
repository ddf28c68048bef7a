// The pages' REST calls that carry a token (`Authorization: Bearer`): every failure
// becomes an ApiError with the server's code, message and field, so a page can say what
// went wrong in words. RecordingsApi and AuditApi extend it.

export class ApiError extends Error {
  constructor({ code = "http_error", message = "", field = null } = {}, status = 0) {
    super(message || code);
    this.name = "ApiError";
    this.code = code;
    this.field = field;
    this.status = status;
  }
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

export class BearerApi {
  /** @param {string} token */
  constructor(token) {
    this.token = token;
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
