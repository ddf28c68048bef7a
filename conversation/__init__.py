"""Conversation characteristics: who talked when, over whom, how loud and how fast."""
