"""What measures kotha and is never part of it: benchmarks, the soak, profiling.

The ``kotha bench`` subcommands (each prints one JSON object as its last line):

- ``relay`` (:mod:`bench.relay`): server CPU per forwarded audio stream against the
  naive relay (:mod:`bench.baseline`, served by :mod:`bench.baseline_server`), with
  recording (``--record``) or listening supervisors (``--monitor``);
- ``quality`` (:mod:`bench.quality`): what sampling every connection once a second
  costs, and what each second's sample counts;
- ``transcribe`` (:mod:`bench.transcribe`): live transcription's real time factor and
  latency;
- ``join`` (:mod:`bench.join`): how soon an agent who joins a video call late sees it.

The harness they share: the server under test as its own process (:mod:`bench.server`),
client worker processes (:mod:`bench.worker`, ``python -m bench.worker``) sending a
pre-encoded Opus loop (:mod:`bench.opus_loop`, :mod:`bench.streams`), one mode's run
(:mod:`bench.mode_run`), /proc readings (:mod:`bench.measure`).

Run from the repository root as modules: ``python -m bench.soak`` (calls coming and going
for minutes), ``bench.impairment_relay`` (the tests' impairment relay's own delay),
``bench.finish_recording``, ``bench.profile_relay`` and ``bench.pyspy_summary``.

Production code never imports this package; the CLI's ``kotha bench`` subcommands import
it inside their functions (``tests/test_layers.py``).
"""
