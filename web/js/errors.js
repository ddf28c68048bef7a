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

/** Whether the server refused the page's token itself (expired, revoked, the wrong role). */
export function isTokenRefusal(error) {
  const code = error?.code;
  return error?.status === 401 || error?.status === 403 || code === "forbidden" || Boolean(code?.startsWith?.("token_"));
}
