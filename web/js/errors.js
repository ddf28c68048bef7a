// The one error class of the pages: what the server answered (over socket.io or REST),
// or a local failure in the same shape (timeout, network, no camera).

/** An error with the server's code, message and field (and the HTTP status, for REST). */
export class KothaError extends Error {
  constructor(error = {}, status = 0) {
    super(error.message || error.code || "error");
    this.name = "KothaError";
    this.code = error.code || "error";
    this.field = error.field ?? null;
    this.status = status;
  }
}

// The staff pages' words (English) for errors no form or token of theirs caused.
const PASSING_TROUBLE_WORDS = {
  rate_limited: "Too many requests; wait a moment and try again.",
  network: "Cannot reach the server; check the connection and try again.",
  internal_error: "The server failed; please try again.",
};

/** Words for a passing trouble (too many requests, no network, the server failed); null for other codes. */
export function passingTroubleWords(code) {
  return PASSING_TROUBLE_WORDS[code] ?? null;
}

/** Whether the server refused the page's token itself (expired, revoked, the wrong role). */
export function isTokenRefusal(error) {
  const code = error?.code;
  return error?.status === 401 || error?.status === 403 || code === "forbidden" || Boolean(code?.startsWith?.("token_"));
}
