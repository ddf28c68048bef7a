"""Contact analytics: contact records, agents' time, and the floor's numbers from them."""
