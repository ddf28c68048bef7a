"""Call quality: what each participant's connection does to their voice and picture."""
