"""The node-local runtime: what one kotha process holds for the calls it serves (sockets,
timers, each call's media and what is wired into it), never shared through the registry;
and what the layers above it share (settings, the wire's event names, the notifier port)."""
