"""The node-local runtime: what one kotha process holds for the calls it serves (sockets,
timers, each call's media), never shared through the registry."""
