// The wire event names of the /call namespace, mirroring node/events.py (checked by
// tests/signaling/test_web_events.py). Client events are verbs the page sends and the
// server acknowledges; server events are facts the server tells. Payloads: docs/protocol.md.

export const NAMESPACE = "/call";

/** What a page asks of the server (`signal.request(ClientEvent.JOIN_CALL, ...)`). */
export const ClientEvent = Object.freeze({
  REQUEST_CALL: "request_call",
  CANCEL_CALL: "cancel_call",
  SET_AVAILABILITY: "set_availability",
  ACCEPT_CALL: "accept_call",
  DECLINE_CALL: "decline_call",
  JOIN_CALL: "join_call",
  SEND_ANSWER: "send_answer",
  ADD_ICE_CANDIDATE: "add_ice_candidate",
  START_SCREEN_SHARE: "start_screen_share",
  STOP_SCREEN_SHARE: "stop_screen_share",
  SET_TRACK_STATE: "set_track_state",
  HANG_UP: "hang_up",
  TAG_CALL: "tag_call",
  PAUSE_RECORDING: "pause_recording",
  RESUME_RECORDING: "resume_recording",
  HOLD_CALL: "hold_call",
  RESUME_CALL: "resume_call",
  GET_STATE: "get_state",
  REFRESH_TOKEN: "refresh_token",
  REPORT_QUALITY: "report_quality",
  WATCH_CALL: "watch_call",
  UNWATCH_CALL: "unwatch_call",
  MONITOR_CALL: "monitor_call",
  SET_MONITOR_MODE: "set_monitor_mode",
  STOP_MONITORING: "stop_monitoring",
});

/** What the server tells a page (`signal.on(ServerEvent.CALL_ENDED, ...)`). */
export const ServerEvent = Object.freeze({
  CALL_UPDATED: "call_updated",
  QUEUE_POSITION: "queue_position",
  QUEUE_UPDATED: "queue_updated",
  AGENT_UPDATED: "agent_updated",
  CALL_OFFERED: "call_offered",
  CALL_OFFER_WITHDRAWN: "call_offer_withdrawn",
  MEDIA_OFFER: "media_offer",
  MEDIA_FAILED: "media_failed",
  PARTICIPANT_UPDATED: "participant_updated",
  PARTICIPANT_LEFT: "participant_left",
  CALL_ENDED: "call_ended",
  QUALITY_UPDATED: "quality_updated",
  QUALITY_ALERT: "quality_alert",
  TRANSCRIPT_PARTIAL: "transcript_partial",
  TRANSCRIPT_UTTERANCE: "transcript_utterance",
  TRANSCRIPTION_STATE: "transcription_state",
  TRANSCRIPT_ALERT: "transcript_alert",
  CATEGORY_MATCHED: "category_matched",
  MONITOR_UPDATED: "monitor_updated",
  MONITOR_ENDED: "monitor_ended",
  FLOOR_UPDATED: "floor_updated",
  SESSION_ENDED: "session_ended",
  REFUSED: "refused",
});
