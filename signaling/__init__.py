"""kotha signalling: the hub that composes media, recording, quality and transcription."""
