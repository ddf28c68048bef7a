"""The installed server runs from anywhere, not only from the repository.

Guards: pyproject.toml once left ``node/`` out of the packages it installs; every test
passed (pytest runs from the repository root, which puts every folder on ``sys.path``),
while ``make run`` on a fresh clone failed with ``No module named 'node'``. Here each
package is imported, and the ``kotha`` command run, from an empty folder with nothing of
the repository on the path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(
    path.parent.name
    for path in ROOT.glob("*/__init__.py")
    if path.parent.name not in {"tests", "web", "docs"}
)


def _outside(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_every_package_of_the_server_is_installed(tmp_path: Path) -> None:
    assert {"signaling", "node", "callcenter", "media", "api"} <= set(PACKAGES)
    # the app factory imports every module the server runs
    imports = "; ".join(f"import {name}" for name in [*PACKAGES, "signaling.app"])
    code = f"import sys; assert {str(ROOT)!r} not in sys.path; {imports}"
    done = _outside(tmp_path, sys.executable, "-c", code)
    assert done.returncode == 0, done.stderr


def test_the_kotha_command_starts_from_another_folder(tmp_path: Path) -> None:
    kotha = Path(sys.executable).parent / "kotha"
    assert kotha.exists(), f"{kotha} is not installed: run make setup"
    # `serve --help` loads the CLI and the settings, and serves nothing.
    done = _outside(tmp_path, str(kotha), "serve", "--help")
    assert done.returncode == 0, done.stderr
    assert "usage: kotha serve" in done.stdout
