"""Configuration: files, environment, a kept secret, and refusals that say what is wrong."""

from __future__ import annotations

import base64
import hashlib
import hmac
import stat
from pathlib import Path

import pytest

from callcenter.errors import ConfigError
from node.config import Config, load_config
from node.ice import ice_servers_for, turn_credentials


def test_defaults_run_one_node_on_loopback_port_8080() -> None:
    config = load_config(env={})
    assert (config.host, config.port, config.base_url) == (
        "127.0.0.1",
        8080,
        "http://127.0.0.1:8080",
    )
    assert config.guest_mode is False


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "kotha.toml"
    path.write_text('port = 9000\nguest_mode = false\napi_keys = ["key-from-file-0123456789"]\n')
    config = load_config(
        path,
        env={
            "KOTHA_PORT": "9100",
            "KOTHA_GUEST_MODE": "yes",
            "KOTHA_ICE_ADDRESSES": "127.0.0.1, ::1",
        },
    )
    assert config.port == 9100
    assert config.guest_mode is True
    assert config.api_keys == ["key-from-file-0123456789"]
    assert config.ice_addresses == ["127.0.0.1", "::1"]


@pytest.mark.parametrize(
    ("env", "field"),
    [
        pytest.param({"KOTHA_PORT": "eighty"}, "port", id="port-not-a-number"),
        pytest.param({"KOTHA_GUEST_MODE": "maybe"}, "GUEST_MODE", id="bool-not-a-bool"),
        pytest.param({"KOTHA_API_KEYS": "short"}, "api_keys", id="api-key-too-short"),
    ],
)
def test_bad_settings_name_the_setting(env: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        load_config(env=env)


def test_unknown_setting_in_the_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "kotha.toml"
    path.write_text("prot = 80\n")
    with pytest.raises(ConfigError, match="prot"):
        load_config(path, env={})


def test_secret_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path)
    first = config.with_secret()
    second = Config(data_dir=tmp_path).with_secret()
    assert len(first.jwt_secret) >= 32
    assert first.jwt_secret == second.jwt_secret
    mode = stat.S_IMODE((tmp_path / "jwt_secret").stat().st_mode)
    assert mode == 0o600


def test_turn_server_without_a_shared_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="turn_secret"):
        load_config(
            env={"KOTHA_ICE_SERVERS": '[{"urls": ["turn:turn.example.com:3478"], "turn": true}]'}
        )


def test_turn_credentials_follow_the_turn_rest_api() -> None:
    secret = "turn-shared-secret-0123"
    username, credential = turn_credentials(secret, "rahim", ttl_s=600, now=1_000_000)
    assert username == "1000600:rahim"
    expected = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest())
    assert credential == expected.decode()


def test_clients_get_time_limited_turn_credentials_and_plain_stun() -> None:
    config = Config(
        ice_servers=[
            {"urls": ["stun:stun.example.com:3478"]},
            {"urls": ["turn:turn.example.com:3478?transport=udp"], "turn": True},
        ],
        turn_secret="turn-shared-secret-0123",
        turn_ttl_s=900,
    )
    stun, turn = ice_servers_for(config, "karim", now=2_000_000)
    assert stun == {"urls": ["stun:stun.example.com:3478"]}
    assert turn["username"] == "2000900:karim"
    assert turn["credential"] and "password" not in turn
