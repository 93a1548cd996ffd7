"""Documentation stays true: every bot.toml key and every CLI verb is in the README."""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from bot.cli import build_parser
from bot.config import Config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = (ROOT / "bot.toml").read_text(encoding="utf-8")


def config_keys() -> list[tuple[str, str]]:
    defaults = Config()
    return [(section.name, key.name) for section in fields(Config) if section.name != "demo"
            for key in fields(getattr(defaults, section.name))]


def test_every_config_key_is_in_the_readme_and_the_example() -> None:
    for section, key in config_keys():
        assert f"`{section}.{key}`" in README, f"{section}.{key} missing from README"
        in_example = f"\n{key} = " in EXAMPLE or f"[{section}.{key}." in EXAMPLE  # or as tables
        assert f"[{section}]" in EXAMPLE and in_example, f"{key} not in bot.toml"


def test_every_cli_verb_is_in_the_readme() -> None:
    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices  # argparse keeps them here
    for verb in verbs:
        assert f"python -m bot {verb}" in README, verb
    assert "make run" in README and "make test" in README
