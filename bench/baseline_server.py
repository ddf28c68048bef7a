"""kotha with the naive relay as every call's media plane: the relay benchmark's baseline.

Usage (the relay benchmark starts it; ``kotha bench relay --mode transcode``)::

    .venv/bin/python -m bench.baseline_server [--config FILE] [--host H] [--port P]

It reads its settings as ``kotha serve`` does (the file, then ``KOTHA_*`` variables, then
the flags) and serves the same app through the same listener; only the media plane
differs: :class:`~bench.baseline.TranscodingRelay` instead of the forwarding router. It is
no production server, which is why it lives here and nothing in production imports it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from callcenter.errors import ConfigError
from signaling.app import create_app
from signaling.cli import add_serve_arguments, run_server, serve_config

from .baseline import TranscodingRelay


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline_server", description=__doc__)
    parser.add_argument("--config", type=Path, help="TOML config file (settings as in docs)")
    add_serve_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config = serve_config(args)
    except ConfigError as exc:
        print(f"baseline server: {exc.message}", file=sys.stderr)
        return 2
    run_server(
        config,
        lambda: create_app(config, plane_factory=TranscodingRelay),
        f"kotha's naive transcoding relay (a benchmark baseline) is serving on {config.base_url}",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
