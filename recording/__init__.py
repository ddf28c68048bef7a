"""kotha recording: each call's media written to disk as it arrives, crash-safe, on one clock."""
