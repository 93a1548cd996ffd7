"""Configuration: defaults, overrides, and one-line errors naming the key."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot import config as configuration
from bot.config import ConfigError, from_mapping
from tests.test_import import run_cli


def test_example_file_loads_with_safe_defaults() -> None:
    config = configuration.load(str(Path(__file__).parent.parent / "bot.toml"), env={})
    assert config.wechat.token == "" and config.wechat.encoding_aes_key == ""
    assert config.deadline.seconds == 4.0 and config.server.port == 8080
    assert [b["key"] for b in config.menu.buttons] == ["FIND", "SELL", "ORDERS", "HELP"]


def test_environment_overrides_single_keys() -> None:
    env = {"BOT_WECHAT_TOKEN": "from-env", "BOT_SERVER_PORT": "9001",
           "BOT_WECHAT_CUSTOMER_SERVICE": "true", "BOT_DEADLINE_SECONDS": "2.5"}
    config = from_mapping({"wechat": {"token": "from-file"}}, env=env)
    assert config.wechat.token == "from-env" and config.server.port == 9001
    assert config.wechat.customer_service is True and config.deadline.seconds == 2.5
    assert from_mapping({}, env={**env, "PORT": "7000"}).server.port == 7000


@pytest.mark.parametrize("data, env, key", [
    ({"wechat": {"tokn": "x"}}, {}, "wechat.tokn"),
    ({"wechat": {"customer_service": "yes"}}, {}, "wechat.customer_service"),
    ({"server": {"port": "80"}}, {}, "server.port"),
    ({"wechat": {"encoding_aes_key": "short"}}, {}, "wechat.encoding_aes_key"),
    ({"wechat": {"encoding_aes_key": "!" * 43}}, {}, "wechat.encoding_aes_key"),
    ({"wechat": {"previous_encoding_aes_key": "A" * 42 + "="}}, {},
     "wechat.previous_encoding_aes_key"),
    ({"nosuch": {}}, {}, "nosuch"),
    ({}, {"BOT_SERVER_PORT": "eighty"}, "BOT_SERVER_PORT"),
])
def test_bad_values_name_the_key(data, env, key) -> None:
    with pytest.raises(ConfigError) as caught:
        from_mapping(data, env=env)
    assert str(caught.value).startswith(key)


def test_cli_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[wechat]\nencoding_aes_key = "not-a-key"\n', encoding="utf-8")
    done = run_cli("logs", "--config", str(path))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "wechat.encoding_aes_key" in done.stderr


def test_demo_credentials_are_generated_once_and_reused(tmp_path: Path) -> None:
    first = configuration.load_demo(env={}, data_dir=tmp_path)
    second = configuration.load_demo(env={}, data_dir=tmp_path)
    assert first.wechat.token and len(first.wechat.encoding_aes_key) == 43
    assert (first.wechat, first.server.link_secret) == (second.wechat, second.server.link_secret)
    assert first.demo and first.db.path == str(tmp_path / "demo.db")


def test_empty_link_secret_is_generated_beside_the_database(tmp_path: Path) -> None:
    config = from_mapping({"db": {"path": str(tmp_path / "x" / "bot.db")}}, env={})
    secret = configuration.with_link_secret(config).server.link_secret
    assert len(secret) == 64
    assert configuration.with_link_secret(config).server.link_secret == secret
    assert (tmp_path / "x" / "link_secret").read_text().strip() == secret
