"""kotha media: server-side peers and forwarding of encoded frames between participants."""
