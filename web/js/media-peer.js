// One RTCPeerConnection with the server, answering the server's offers.
//
// The server is always the offerer and says, per m-line, what it is for
// (a "slot"): `publish` m-lines carry one of our local sources
// (microphone, camera, screen), `subscribe` m-lines carry another
// participant's source. A new server peer (new peer_id) gets a new MediaPeer.

/**
 * Events:
 * - `track` {slot, track}: a remote track, labelled by slot.participant_id and slot.source.
 * - `statechange` {state}: the RTCPeerConnection's connectionState.
 * - `candidate` {candidate}: a local ICE candidate to trickle (null: no more).
 */
export class MediaPeer extends EventTarget {
  /**
   * @param {string} peerId the server's peer id, echoed in every answer and candidate.
   * @param {RTCIceServer[]} iceServers from the join_call ack.
   * @param {Map<string, MediaStreamTrack>} localTracks the page's local tracks by source.
   */
  constructor(peerId, iceServers, localTracks) {
    super();
    this.peerId = peerId;
    this.localTracks = localTracks;
    this.slots = new Map(); // mid -> slot
    this._announced = new Set(); // mids whose remote track was reported
    this._closed = false;
    // max-bundle matches the server (one transport for every m-line).
    this.pc = new RTCPeerConnection({ iceServers: iceServers || [], bundlePolicy: "max-bundle" });
    this.pc.addEventListener("icecandidate", (event) => {
      // toJSON() is {candidate, sdpMid, sdpMLineIndex, usernameFragment}, the wire shape.
      const candidate = event.candidate && event.candidate.candidate ? event.candidate.toJSON() : null;
      this._emit("candidate", { candidate });
    });
    this.pc.addEventListener("connectionstatechange", () => {
      this._emit("statechange", { state: this.pc.connectionState });
    });
  }

  get connectionState() {
    return this._closed ? "closed" : this.pc.connectionState;
  }

  /** Apply one offer ({description, slots}) and return our answer ({type, sdp}). */
  async answer(offer) {
    for (const slot of offer.slots || []) this.slots.set(slot.mid, slot);
    await this.pc.setRemoteDescription(offer.description);
    for (const transceiver of this.pc.getTransceivers()) await this._bind(transceiver);
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    const local = this.pc.localDescription;
    return { type: local.type, sdp: local.sdp };
  }

  /** Send `track` (or nothing, with null) on every publish m-line of `source`. */
  async setSource(source, track) {
    for (const transceiver of this.pc.getTransceivers()) {
      const slot = this.slots.get(transceiver.mid);
      if (slot && slot.direction === "publish" && slot.source === source) {
        await transceiver.sender.replaceTrack(track);
      }
    }
  }

  close() {
    if (this._closed) return;
    this._closed = true;
    this.pc.close();
  }

  async _bind(transceiver) {
    const slot = this.slots.get(transceiver.mid);
    if (!slot || transceiver.stopped || transceiver.currentDirection === "stopped") return;
    if (slot.direction === "publish") {
      transceiver.direction = "sendonly";
      const track = this.localTracks.get(slot.source) ?? null;
      if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
      return;
    }
    transceiver.direction = "recvonly";
    if (this._announced.has(transceiver.mid)) return;
    this._announced.add(transceiver.mid);
    this._emit("track", { slot, track: transceiver.receiver.track });
  }

  _emit(name, detail) {
    if (!this._closed) this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}
