"""Attack tests: the real server in its own process, attacked over real sockets from other
loopback addresses (127.0.0.2 and up), with a real call beside the heavy attacks measuring its
audio and the health check (the hardening issue's acceptance rule).

Run them with ``.venv/bin/pytest tests/attack`` (``-s`` prints each test's figures as an
``ATTACK-FIGURES`` line). ``ATTACK_SERVER_ROOT=<source tree>`` runs the server from another
checkout (``git archive <commit> | tar -x -C /tmp/old``) to see how an older one fares.
"""
