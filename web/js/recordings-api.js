// The reviewers' REST API (docs/protocol.md, "Recordings"), on BearerApi: the token
// goes as `Authorization: Bearer` and a failure is a KothaError with the server's words.

import { BearerApi, queryString } from "./api.js";

/** Sign in with a reviewer's, supervisor's or admin's token. */
export class RecordingsApi extends BearerApi {
  /** GET /api/recordings: newest first (with `matches` of a words search). `query` holds only the filled-in fields. */
  search(query) {
    return this._request("GET", `/api/recordings${queryString(query)}`);
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
}
