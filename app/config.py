"""config.toml: discovery, validation (pydantic) and the secrets that come from the environment.

Every problem becomes one ConfigError line naming the file, the key and what is wrong, so
the CLI can print it and exit 2 instead of showing a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from app.alerts.settings import AlertingSettings, AlertRule, Destination, WebhookUrl, check
from app.config_path import discover  # noqa: F401  (part of this module's interface)
from app.config_systems import Section, SystemSettings
from app.diagnosis.catalogue import OWNER_ROLES
from app.diagnosis.evidence import Thresholds
from app.errors import ConfigError, read_toml
from app.health.ownership import OwnershipSettings
from app.records import ROLES
from app.sources.registry import (
    MIDDLEWARE_KINDS,
    SUPPLIER_KINDS,
)


def _id_text(value: Any) -> Any:
    # Operators write `erp = 7` as often as `erp = "7"`; a location id is text either way.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


LocationId = Annotated[str, BeforeValidator(_id_text)]




class CacheSettings(Section):
    url: str = "sqlite:///seamdesk.db"
    history_days: int = Field(30, ge=1, le=3650)
    # A PostgreSQL cache's password comes from this variable, never from the file (libpq's
    # own PGPASSWORD and ~/.pgpass work too, with no setting here).
    password_env: str | None = None

    @field_validator("password_env")
    @classmethod
    def _env_name(cls, name: str | None) -> str | None:
        if name is not None and (not name or not name.replace("_", "").isalnum()):
            raise ValueError(f"{name!r} is not an environment variable name")
        return name


class RefreshSettings(Section):
    interval_seconds: int = Field(300, ge=10)
    sync_tolerance_seconds: int = Field(900, ge=0)
    stale_after_seconds: int = Field(3600, ge=60)
    timeout_seconds: float = Field(30.0, gt=0)
    retries: int = Field(4, ge=0, le=20)
    backoff_seconds: float = Field(0.5, ge=0)
    full_every_hours: float = Field(24, gt=0)  # incremental reads can miss rows without times
    bulk_poll_seconds: float = Field(0.5, gt=0)


class DiagnosisSettings(Section):
    """Thresholds of the findings engine (FINDINGS.md); the sync tolerance and stale limit
    live in [refresh]."""

    tolerance_units: int = Field(0, ge=0)  # two counts this close agree ...
    tolerance_percent: float = Field(0.0, ge=0, le=100)  # ... or this close, relatively
    pack_factors: list[int] = [6, 12, 24]  # besides each item's own pack, for uom-mismatch
    throttled_share: float = Field(0.1, gt=0, le=1)  # rate-limited share of a run's requests

    @field_validator("pack_factors")
    @classmethod
    def _factors(cls, factors: list[int]) -> list[int]:
        if any(f < 2 for f in factors):
            raise ValueError("pack factors must be 2 or more")
        return factors


class QueueSettings(Section):
    recurrence_count: int = Field(3, ge=1)  # re-openings of one finding that raise ...
    recurrence_days: int = Field(14, ge=1)  # ... `recurring` within this many days


class SessionSettings(Section):
    """How the terminal app behaves at a shared terminal or over SSH."""

    read_only: bool = False  # as --read-only: no refresh, no queue actions, no sending
    idle_timeout_seconds: int = Field(0, ge=0)  # clear the operator after this long idle
    auto_refresh: bool = True  # refresh in the background every [refresh] interval_seconds
    theme: str = "textual-dark"  # a Textual theme; ansi-dark / ansi-light follow the terminal
    keys: dict[str, str] = {}  # binding id → keys, e.g. queue = "f2,e" (see help)


class HandoffSettings(Section):
    """Where escalation packets go: a folder, and optionally a ticket webhook."""

    packets_dir: str | None = None  # default: the user data dir's packets/ (relative: to
    # this file's folder)
    webhook_url: WebhookUrl = None  # packet.json is POSTed here when the operator sends it
    token_env: str | None = None  # the webhook's bearer token comes from this variable
    timeout_seconds: float = Field(10.0, gt=0, le=120)


class Settings(Section):
    cache: CacheSettings = CacheSettings()
    refresh: RefreshSettings = RefreshSettings()
    diagnosis: DiagnosisSettings = DiagnosisSettings()
    queue: QueueSettings = QueueSettings()
    handoff: HandoffSettings = HandoffSettings()
    session: SessionSettings = SessionSettings()
    systems: dict[str, SystemSettings]
    locations: dict[str, dict[str, LocationId]] = {}
    owners: dict[str, str] = {}
    ownership: OwnershipSettings = OwnershipSettings()  # data element → owning system(s)
    alerts: list[AlertRule] = []  # [[alerts]]: see app.alerts.settings
    alert_destinations: dict[str, Destination] = {}
    alerting: AlertingSettings = AlertingSettings()

    @model_validator(mode="after")
    def _alert_destinations_exist(self) -> Settings:
        check(self.alerts, self.alert_destinations)
        return self

    @field_validator("systems")
    @classmethod
    def _known_roles(cls, systems: dict[str, SystemSettings]) -> dict[str, SystemSettings]:
        if not systems:
            raise ValueError("no systems configured: add at least [systems.wms]")
        for role in systems:
            if role not in ROLES:
                raise ValueError(f"unknown system role {role!r} (roles: {', '.join(ROLES)})")
            middleware = systems[role].kind in MIDDLEWARE_KINDS
            if middleware != (role == "middleware"):
                raise ValueError(f"{role}: kind {systems[role].kind!r} " + (
                    "reads middleware errors: configure it as [systems.middleware]"
                    if middleware else "reads no middleware errors"))
            supplier = systems[role].kind in SUPPLIER_KINDS
            if supplier != (role == "supplier"):
                raise ValueError(f"{role}: kind {systems[role].kind!r} " + (
                    "reads supplier confirmations: configure it as [systems.supplier]"
                    if supplier else "reads no supplier confirmations (supplier kinds: "
                    f"{', '.join(SUPPLIER_KINDS)})"))
        return systems

    @field_validator("owners")
    @classmethod
    def _known_owners(cls, owners: dict[str, str]) -> dict[str, str]:
        for role in owners:
            if role not in OWNER_ROLES:
                raise ValueError(f"unknown owner role {role!r} (roles: {', '.join(OWNER_ROLES)})")
        return owners

    @field_validator("locations")
    @classmethod
    def _plain_codes(cls, locations: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for code in locations:  # "system:id" names a location the mapping lacks
            if not code or ":" in code or code != code.strip():
                raise ValueError(f"location code {code!r}: use letters, digits, - or _")
        return locations

    @model_validator(mode="after")
    def _locations_name_known_systems(self) -> Settings:
        for code, ids in self.locations.items():
            for system in ids:
                if system not in self.systems:
                    raise ValueError(
                        f"locations.{code}: names system {system!r}, which is not configured "
                        f"(configured: {', '.join(self.systems)})"
                    )
        return self


class Config:
    """Validated settings plus what depends on where the file lives and on the environment."""

    def __init__(self, settings: Settings, path: Path, tokens: dict[str, SecretStr]) -> None:
        self.settings = settings
        self.path = path
        self.tokens = tokens

    @property
    def systems(self) -> dict[str, SystemSettings]:
        return self.settings.systems

    @property
    def cache_url(self) -> str:
        """The cache's URL, with the password from [cache] password_env if set (never
        print it: app.cache.engine.redacted hides the password)."""
        url = resolve_cache_url(self.settings.cache.url, self.path.parent)
        password = self.cache_password()
        if password is None:
            return url
        from sqlalchemy.engine import make_url

        return make_url(url).set(password=password).render_as_string(hide_password=False)

    def cache_password(self) -> str | None:
        env = self.settings.cache.password_env
        if env is None:
            return None
        value = os.environ.get(env)
        if not value:
            raise ConfigError(f"{self.path}: cache.password_env: environment variable {env}"
                              " is not set (passwords come from the environment)")
        return value

    def token(self, system: str) -> str:
        """The secret for a system; only connectors call this, at request time."""
        secret = self.tokens.get(system)
        if secret is None:
            env = self.systems[system].token_env
            raise ConfigError(f"{self.path}: systems.{system}.token_env: ${env} is not set")
        return secret.get_secret_value()

    def check_tokens(self) -> None:
        """Every system's token is in the environment (a session that reads the systems
        needs them; one that only reads the cache does not)."""
        for role, system in self.systems.items():
            if system.token_env is not None and role not in self.tokens:
                raise ConfigError(
                    f"{self.path}: systems.{role}.token_env: environment variable "
                    f"{system.token_env} is not set (tokens come from the environment)")

    @property
    def read_only(self) -> bool:
        return self.settings.session.read_only

    def folder(self, system: str) -> Path:
        """A folder kind's `path`, resolved against the config file's folder."""
        return resolve_folder(self.systems[system].path or "", self.path.parent)

    def secrets(self) -> list[str]:
        """Every secret value in play, for redaction of anything that leaves the process."""
        values = [s.get_secret_value() for s in self.tokens.values()]
        cache = os.environ.get(self.settings.cache.password_env or "") or None
        return [v for v in (*values, self.webhook_token(), cache) if v]

    def packets_dir(self) -> Path:
        """[handoff] packets_dir, resolved; default: the user data dir's packets/."""
        configured = self.settings.handoff.packets_dir
        if configured:
            return resolve_folder(configured, self.path.parent)
        from platformdirs import user_data_path

        return user_data_path("seamdesk") / "packets"

    def webhook_token(self) -> str | None:
        """The ticket webhook's token, read from the environment when a packet is sent."""
        env = self.settings.handoff.token_env
        return os.environ.get(env) or None if env else None

    def thresholds(self) -> Thresholds:
        refresh, diagnosis = self.settings.refresh, self.settings.diagnosis
        return Thresholds(refresh.sync_tolerance_seconds, refresh.stale_after_seconds,
                          diagnosis.tolerance_units, diagnosis.tolerance_percent,
                          tuple(diagnosis.pack_factors), diagnosis.throttled_share)

    def location_code(self, system: str) -> dict[str, str]:
        """This system's location id → canonical location code."""
        return {ids[system]: code for code, ids in self.settings.locations.items() if system in ids}

    def __repr__(self) -> str:  # never show tokens, even by accident
        return f"Config(path={str(self.path)!r}, systems={list(self.systems)})"


def resolve_cache_url(url: str, base: Path) -> str:
    """Relative SQLite paths resolve against the config file's folder."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.startswith(prefix + "/") or url == "sqlite:///:memory:":
        return url
    path = Path(os.path.expanduser(url[len(prefix):]))
    if not path.is_absolute():
        path = base / path
    return prefix + str(path.resolve())


def resolve_folder(path: str, base: Path) -> Path:
    folder = Path(os.path.expanduser(path))
    return (folder if folder.is_absolute() else base / folder).resolve()


def load(path: Path, *, require_tokens: bool = True) -> Config:
    """Read and validate a config file; tokens are read from the environment, never the file."""
    raw = read_toml(path, ConfigError, "config")
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_first_problem(exc)}") from None
    tokens: dict[str, SecretStr] = {}
    for role, system in settings.systems.items():
        if system.path is not None:
            folder = resolve_folder(system.path, path.resolve().parent)
            # A csv-export may name one file, which need not exist before the first export.
            csv_file = system.kind == "csv-export" and (
                folder.is_file() or (not folder.exists() and folder.parent.is_dir()))
            if not folder.is_dir() and not csv_file:
                raise ConfigError(f"{path}: systems.{role}.path: {folder} is not a folder")
        if system.token_env is None:
            continue  # a folder kind: nothing secret to read
        value = os.environ.get(system.token_env)
        if value:
            tokens[role] = SecretStr(value)
    config = Config(settings, path.resolve(), tokens)
    if require_tokens:
        config.check_tokens()
    return config


def _first_problem(exc: ValidationError) -> str:
    """Pydantic's first error as 'key.path: problem' on one line."""
    error = exc.errors(include_url=False, include_input=False)[0]
    key = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "missing (required)"
    extra = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{key}: {message}{extra}" if key else message + extra
