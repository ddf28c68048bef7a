"""The kotha command: tokens an operator can hand out, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from signaling.auth import Role, TokenAuthority
from signaling.cli import main


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
    from signaling.cli import _banner
    from signaling.config import Config

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
    from signaling.cli import _banner
    from signaling.config import Config

    config = Config(data_dir=tmp_path, jwt_secret="s" * 32)
    banner = _banner(config, demo=True)
    authority = TokenAuthority(config.jwt_secret)
    for page, role in (("/dashboard", Role.SUPERVISOR), ("/audit", Role.ADMIN)):
        assert f"{config.base_url}{page}" in banner
        link = next(line for line in banner.splitlines() if f"{page}#token=" in line)
        assert authority.verify(link.split("#token=", 1)[1]).role is role
