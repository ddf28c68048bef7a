"""The call centre's domain: calls, participants, monitors, agents and the queue as plain
values, and the registry they live in (in memory, or in Redis shared by many nodes).

Imports no web framework, socket library or aiortc: the edges (signalling, the REST API)
and the node's media use it, never the other way round.
"""
