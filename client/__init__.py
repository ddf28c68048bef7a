"""The Python protocol client: a participant's socket.io session and WebRTC peer, as a page
has them (tests, benchmarks and the soak use it). See docs/protocol.md.
"""
