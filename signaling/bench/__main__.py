"""A client worker process of the relay benchmark (``python -m signaling.bench``).

The parent (:class:`~signaling.bench.mode_run.ModeRun`) spawns it this way.
"""

from .worker import worker_main

if __name__ == "__main__":
    worker_main()
