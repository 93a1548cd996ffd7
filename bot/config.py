"""Configuration: bot.toml, BOT_<SECTION>_<KEY> overrides, and the embedded demo."""
from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import secrets
import string
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from db.outbox import KINDS as OUTBOX_KINDS
from handlers.context import OrderSettings as OrdersConfig
from handlers.ranking import Weights as RankingConfig

DEMO_DIR = Path("data")
DEMO_SECRETS = DEMO_DIR / "demo.toml"
DEMO_DB = DEMO_DIR / "demo.db"
AES_KEY_RE = re.compile(r"^[A-Za-z0-9+/]{43}$")


class ConfigError(Exception):
    """A configuration problem, reported as one line naming the key."""


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    link_secret: str = ""
    # Addresses (or networks) of reverse proxies whose X-Forwarded-For is believed.
    trusted_proxies: tuple[str, ...] = ()


@dataclass(frozen=True)
class WechatConfig:
    token: str = ""
    app_id: str = ""
    app_secret: str = ""
    encoding_aes_key: str = ""
    previous_encoding_aes_key: str = ""
    api_base: str = "https://api.weixin.qq.com"
    customer_service: bool = False


@dataclass(frozen=True)
class DbConfig:
    path: str = "data/nonghuo.db"
    # Log lines and view counts wait at most this long to be written, in one batch. Short
    # batches keep replies from queueing behind one (open loop at 400 req/s: p99 32 ms
    # with 0.2 s, 17 ms with 0.05 s) and still amortise the log's index writes.
    log_flush_seconds: float = 0.05


@dataclass(frozen=True)
class ListingsConfig:
    require_review: bool = False
    banned_words_file: str = ""  # empty: the bundled nlp/data/banned_words.txt


@dataclass(frozen=True)
class DeadlineConfig:
    seconds: float = 4.0


@dataclass(frozen=True)
class LimitsConfig:
    messages: int = 30              # per user per window; 0: no limit
    window_seconds: float = 60.0
    idle_seconds: float = 15.0      # a connection with no complete request is closed after this
    body_seconds: float = 10.0      # a request body must arrive within this
    max_connections: int = 1000     # open connections per process; past it: 503


@dataclass(frozen=True)
class SimulatorConfig:
    enabled: bool = False
    allow_remote: bool = False


DEFAULT_MENU: tuple[dict[str, str], ...] = (
    {"name": "找好货", "key": "FIND"},
    {"name": "我要卖", "key": "SELL"},
    {"name": "我的订单", "key": "ORDERS"},
    {"name": "帮助", "key": "HELP"},
)


@dataclass(frozen=True)
class MenuConfig:
    buttons: tuple[dict[str, str], ...] = DEFAULT_MENU


@dataclass(frozen=True)
class TemplateConfig:
    """[notify.templates.KIND]: a template message for one outbox kind."""
    kind: str
    template_id: str
    fields: tuple[tuple[str, str], ...]  # (template key, "{field}" format over the message)
    url: str = ""


@dataclass(frozen=True)
class NotifyConfig:
    templates: tuple[TemplateConfig, ...] = ()

    def template(self, kind: str) -> TemplateConfig | None:
        return next((t for t in self.templates if t.kind == kind), None)


@dataclass(frozen=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    wechat: WechatConfig = field(default_factory=WechatConfig)
    db: DbConfig = field(default_factory=DbConfig)
    listings: ListingsConfig = field(default_factory=ListingsConfig)
    deadline: DeadlineConfig = field(default_factory=DeadlineConfig)
    menu: MenuConfig = field(default_factory=MenuConfig)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    ranking: RankingConfig = field(default_factory=RankingConfig)  # defined with the ranking
    orders: OrdersConfig = field(default_factory=OrdersConfig)  # defined with the services
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    demo: bool = False

    @property
    def safe_mode(self) -> bool:
        return bool(self.wechat.encoding_aes_key)

    @property
    def simulator_on(self) -> bool:
        """The demo always has the simulator; elsewhere it is opt-in."""
        return self.demo or self.simulator.enabled


_SECTION_TYPES = {
    "server": ServerConfig, "wechat": WechatConfig, "db": DbConfig,
    "listings": ListingsConfig, "deadline": DeadlineConfig, "menu": MenuConfig,
    "simulator": SimulatorConfig, "notify": NotifyConfig, "ranking": RankingConfig,
    "orders": OrdersConfig, "limits": LimitsConfig,
}


def _key_types(section_cls: type) -> dict[str, type]:
    defaults = section_cls()
    return {f.name: type(getattr(defaults, f.name)) for f in fields(section_cls)}


def _coerce(name: str, value: Any, expected: type) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if name == "server.trusted_proxies":
        return _coerce_networks(name, value)
    if expected is tuple:
        return _coerce_templates(name, value) if name == "notify.templates" else (
            _coerce_menu(name, value))
    if type(value) is not expected:
        raise ConfigError(f"{name}: expected {expected.__name__}, got {type(value).__name__}")
    return value


def _coerce_menu(name: str, value: Any) -> tuple[dict[str, str], ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{name}: expected a non-empty list of {{name, key}} tables")
    buttons = []
    for i, item in enumerate(value, 1):
        if not isinstance(item, dict) or set(item) != {"name", "key"}:
            raise ConfigError(f"{name}[{i}]: each button needs exactly name and key")
        if not all(isinstance(v, str) and v for v in item.values()):
            raise ConfigError(f"{name}[{i}]: name and key must be non-empty strings")
        buttons.append(dict(item))
    return tuple(buttons)


def _coerce_networks(name: str, value: Any) -> tuple[str, ...]:
    """A list of addresses or networks (10.0.0.1, 10.0.0.0/8, ::1), each checked."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{name}: expected a list of addresses like [\"127.0.0.1\"]")
    for item in value:
        try:
            ipaddress.ip_network(item.strip(), strict=False)
        except ValueError:
            raise ConfigError(f"{name}: {item!r} is not an IP address or network") from None
    return tuple(item.strip() for item in value)


_TEMPLATE_KEYS = {"template_id", "fields", "url"}


def _coerce_templates(name: str, value: Any) -> tuple[TemplateConfig, ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{name}: expected tables [notify.templates.KIND]")
    return tuple(_template(f"{name}.{kind}", kind, table) for kind, table in value.items())


def _template(name: str, kind: str, table: Any) -> TemplateConfig:
    if kind not in OUTBOX_KINDS:
        raise ConfigError(f"{name}: unknown kind; one of {', '.join(OUTBOX_KINDS)}")
    if not isinstance(table, dict):
        raise ConfigError(f"{name}: expected a table")
    unknown = sorted(set(table) - _TEMPLATE_KEYS)
    if unknown:
        raise ConfigError(f"{name}.{unknown[0]}: unknown key")
    template_id, fields_, url = table.get("template_id"), table.get("fields"), table.get("url", "")
    if not isinstance(template_id, str) or not template_id:
        raise ConfigError(f"{name}.template_id: expected a non-empty string")
    if not isinstance(fields_, dict) or not fields_ or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in fields_.items()):
        raise ConfigError(f"{name}.fields: expected a table of template key = \"{{field}}\"")
    if not isinstance(url, str):
        raise ConfigError(f"{name}.url: expected a string")
    return TemplateConfig(kind, template_id, tuple(fields_.items()), url)


def _parse_env(name: str, raw: str, expected: type) -> Any:
    if expected is bool:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{name}: expected true or false, got {raw!r}")
    if expected in (int, float):
        try:
            return expected(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected {expected.__name__}, got {raw!r}") from None
    if name == "BOT_SERVER_TRUSTED_PROXIES":
        return _coerce_networks(name, [item for item in raw.split(",") if item.strip()])
    if expected is tuple:
        raise ConfigError(f"{name}: cannot be set from the environment")
    return raw


def _build_section(section: str, values: dict[str, Any], env: dict[str, str]) -> Any:
    cls = _SECTION_TYPES[section]
    types = _key_types(cls)
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in types:
            raise ConfigError(f"{section}.{key}: unknown key")
        kwargs[key] = _coerce(f"{section}.{key}", value, types[key])
    for key, expected in types.items():
        env_name = f"BOT_{section.upper()}_{key.upper()}"
        if env_name in env:
            kwargs[key] = _parse_env(env_name, env[env_name], expected)
    if section == "server" and env.get("PORT"):
        kwargs["port"] = _parse_env("PORT", env["PORT"], int)
    return cls(**kwargs)


def validate_aes_key(name: str, key: str) -> None:
    """Reject anything that is not 43 base64 characters decoding to 32 bytes."""
    if not key:
        return
    if not AES_KEY_RE.match(key):
        raise ConfigError(f"{name}: must be exactly 43 base64 characters (A-Z a-z 0-9 + /)")
    try:
        raw = base64.b64decode(key + "=", validate=True)
    except binascii.Error:
        raise ConfigError(f"{name}: is not valid base64") from None
    if len(raw) != 32:
        raise ConfigError(f"{name}: does not decode to a 32-byte key")


def from_mapping(data: dict[str, Any], env: dict[str, str] | None = None, demo: bool = False) -> Config:
    env = dict(os.environ) if env is None else env
    for section, values in data.items():
        if section not in _SECTION_TYPES:
            raise ConfigError(f"{section}: unknown section")
        if not isinstance(values, dict):
            raise ConfigError(f"{section}: expected a table")
    sections = {name: _build_section(name, data.get(name, {}), env) for name in _SECTION_TYPES}
    config = Config(**sections, demo=demo)
    validate_aes_key("wechat.encoding_aes_key", config.wechat.encoding_aes_key)
    validate_aes_key("wechat.previous_encoding_aes_key", config.wechat.previous_encoding_aes_key)
    banned = config.listings.banned_words_file
    if banned and not Path(banned).is_file():
        raise ConfigError(f"listings.banned_words_file: {banned} is not a readable file")
    if not 0 < config.db.log_flush_seconds <= 60:
        raise ConfigError("db.log_flush_seconds: must be above 0 and at most 60")
    if config.deadline.seconds <= 0:
        raise ConfigError("deadline.seconds: must be positive")
    for key in ("link_days", "confirm_hours", "complete_days"):
        if getattr(config.orders, key) <= 0:
            raise ConfigError(f"orders.{key}: must be a positive whole number")
    limits = config.limits
    if limits.messages < 0 or min(limits.window_seconds, limits.idle_seconds,
                                  limits.body_seconds) <= 0:
        raise ConfigError("limits: messages must be 0 or more and the seconds positive")
    if limits.max_connections < 1:
        raise ConfigError("limits.max_connections: must be at least 1")
    if not 0 < config.server.port < 65536:
        raise ConfigError("server.port: must be between 1 and 65535")
    return config


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None


def config_path(explicit: str | None, env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    return Path(explicit or env.get("BOT_CONFIG") or "bot.toml")


def load(explicit: str | None = None, env: dict[str, str] | None = None) -> Config:
    path = config_path(explicit, env)
    return from_mapping(read_toml(path), env)


def new_aes_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()[:43]


def _random_app_id() -> str:
    return "wx" + "".join(secrets.choice(string.hexdigits.lower()[:16]) for _ in range(16))


def _new_demo_secrets() -> dict[str, str]:
    return {
        "token": secrets.token_urlsafe(16),
        "encoding_aes_key": new_aes_key(),
        "app_id": _random_app_id(),
        "link_secret": secrets.token_hex(32),
        "admin_password": secrets.token_urlsafe(9),  # the console's demo operator `admin`
    }


def demo_secrets(data_dir: Path = DEMO_DIR) -> dict[str, str]:
    """Generate the demo's credentials once and reuse them on every later start;
    a file from an older version gains the values it lacks."""
    path = data_dir / "demo.toml"
    saved = read_toml(path).get("demo", {}) if path.exists() else {}
    values = {**_new_demo_secrets(), **saved}
    if values == saved:
        return saved
    data_dir.mkdir(parents=True, exist_ok=True)
    body = "# Generated by `python -m bot serve --demo`; delete to regenerate.\n[demo]\n"
    body += "".join(f'{key} = "{value}"\n' for key, value in values.items())
    tmp = path.with_suffix(".tmp")
    tmp.write_text(body, encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return values


def load_demo(env: dict[str, str] | None = None, data_dir: Path = DEMO_DIR) -> Config:
    """The embedded default: no config file, credentials kept under data/."""
    saved = demo_secrets(data_dir)
    data = {
        "wechat": {"token": saved["token"], "encoding_aes_key": saved["encoding_aes_key"],
                   "app_id": saved["app_id"]},
        "server": {"link_secret": saved["link_secret"]},
        "db": {"path": str(data_dir / "demo.db")},
    }
    config = from_mapping(data, env, demo=True)
    port = config.server.port
    if config.server.public_url == ServerConfig.public_url:
        config = replace(config, server=replace(config.server, public_url=f"http://127.0.0.1:{port}"))
    return config


def with_link_secret(config: Config) -> Config:
    """An empty link_secret is generated once and kept beside the database."""
    if config.server.link_secret:
        return config
    path = Path(config.db.path).parent / "link_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_hex(32), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(path)
    secret = path.read_text(encoding="utf-8").strip()
    return replace(config, server=replace(config.server, link_secret=secret))


BUNDLED_BANNED_WORDS = Path(__file__).resolve().parent.parent / "nlp" / "data" / "banned_words.txt"


def banned_words(config: Config) -> frozenset[str]:
    """Words listings may not contain: one per line, '#' comments; read once at start-up."""
    path = Path(config.listings.banned_words_file or BUNDLED_BANNED_WORDS)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"listings.banned_words_file: cannot read {path} ({exc})") from None
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))
