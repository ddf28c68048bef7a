"""Live transcription: speech to words with Vosk, per speaking participant."""
