"""config.toml `[systems.<role>]`: one connector's settings, and which keys each kind
needs or refuses (a folder kind reads `path`, an API kind `base_url` with a token, a
session kind logs in with `company` + `username`, ...). Part of app.config's validation:
every problem becomes one line naming the key."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.records import HANDOFFS
from app.sources.registry import (
    KINDS,
    MIDDLEWARE_KINDS,
    PATH_KINDS,
    SESSION_KINDS,
)


class Section(BaseModel):
    """A config.toml table: unknown keys and wrong types are mistakes, values are fixed."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SystemSettings(Section):
    kind: str
    base_url: str | None = None  # every kind but a folder's (required there)
    token_env: str | None = None  # likewise
    path: str | None = None  # x12-folder: the drop folder (relative: to this file's folder)
    client_id: str | None = None  # supplier-portal: the OAuth client (secret: token_env)
    max_concurrency: int = Field(4, ge=1, le=64)
    page_size: int | None = Field(None, ge=1)
    api_version: str | None = None  # Shopify's dated API version, e.g. "2025-10"
    timezone: str = "UTC"  # NetSuite renders times in the account's zone; X12 times
    # without a time code are in the partners' agreed zone
    flows: dict[str, str] = {}  # middleware flow name → the handoff it carries (wms->erp)
    company: str | None = None  # sap-b1: CompanyDB; acumatica: the tenant (login company)
    username: str | None = None  # sap-b1, acumatica: the API user (password: token_env)
    number_prefix: str | None = None  # sap-b1: written before DocNum ("PO-" + 1042)
    columns: dict[str, str] = {}  # csv-export: seamdesk field → the export's column;
    # generic-rest: → the JSON path inside a row
    rest: dict[str, str] = {}  # generic-rest: endpoint, paging, items, next, ... (README)

    @model_validator(mode="after")
    def _vendor_keys(self) -> SystemSettings:
        """Keys only some kinds take, present where they are needed."""
        if self.kind not in KINDS:
            return self
        for key in ("company", "username"):
            if (getattr(self, key) is not None) != (self.kind in SESSION_KINDS):
                raise ValueError(f"{key}: missing (required: kind {self.kind!r} logs in with "
                                 "it)" if getattr(self, key) is None else
                                 f"{key}: only {', '.join(SESSION_KINDS)} log in with it")
        if self.number_prefix is not None and self.kind != "sap-b1":
            raise ValueError("number_prefix: only a sap-b1 kind takes it")
        if self.kind in ("csv-export", "generic-rest"):
            from app.sources.csv_export import check_columns

            try:
                check_columns(self.columns)
            except ValueError as problem:
                raise ValueError(f"columns: {problem}") from None
        elif self.columns:
            raise ValueError("columns: only csv-export and generic-rest kinds map columns")
        if self.kind == "generic-rest":
            from app.sources.generic_rest import check_rest

            try:
                check_rest(self.rest)
            except ValueError as problem:
                raise ValueError(f"rest: {problem}") from None
        elif self.rest:
            raise ValueError("rest: only a generic-rest kind is described by it")
        return self

    @field_validator("timezone")
    @classmethod
    def _zone(cls, zone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r}") from None
        return zone

    @field_validator("flows")
    @classmethod
    def _flow_handoffs(cls, flows: dict[str, str]) -> dict[str, str]:
        for name, handoff in flows.items():
            if handoff not in HANDOFFS:
                raise ValueError(f"flow {name!r}: unknown handoff {handoff!r} "
                                 f"(handoffs: {', '.join(HANDOFFS)})")
        return flows

    @model_validator(mode="after")
    def _flows_only_for_middleware(self) -> SystemSettings:
        if self.flows and self.kind not in MIDDLEWARE_KINDS:
            raise ValueError(f"flows: only a middleware kind ({', '.join(MIDDLEWARE_KINDS)}) "
                             "names flows")
        return self

    @model_validator(mode="after")
    def _where_it_reads(self) -> SystemSettings:
        """A folder kind reads `path`; every other kind an API at `base_url` with the
        token in `token_env`. The portal also needs its OAuth client id."""
        if self.kind not in KINDS:
            return self  # already reported by the kind's own check
        if self.kind in PATH_KINDS:
            if not self.path:
                raise ValueError(f"path: missing (required: kind {self.kind!r} reads a folder)")
            for key in ("base_url", "token_env", "client_id"):
                if getattr(self, key) is not None:
                    raise ValueError(f"{key}: kind {self.kind!r} reads a folder, not an API")
            return self
        if self.path is not None:
            raise ValueError(f"path: only a folder kind ({', '.join(PATH_KINDS)}) reads "
                             "a folder")
        for key in ("base_url", "token_env"):
            if getattr(self, key) is None:
                raise ValueError(f"{key}: missing (required)")
        if (self.kind == "supplier-portal") != (self.client_id is not None):
            raise ValueError("client_id: missing (required: the portal's OAuth client id)"
                             if self.client_id is None else
                             "client_id: only a supplier-portal kind takes an OAuth client id")
        return self

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown connector kind {kind!r} (known: {', '.join(sorted(KINDS))})")
        return kind

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an http:// or https:// URL")
        return url.rstrip("/")

    @field_validator("token_env")
    @classmethod
    def _env_name(cls, name: str | None) -> str | None:
        if name is not None and (not name or not name.replace("_", "").isalnum()):
            raise ValueError(f"{name!r} is not an environment variable name")
        return name

    @field_validator("path")
    @classmethod
    def _folder_text(cls, path: str | None) -> str | None:
        if path is not None and (not path.strip() or "\0" in path):
            raise ValueError(f"{path!r} is not a folder path")
        return path

    @field_validator("client_id")
    @classmethod
    def _client(cls, client_id: str | None) -> str | None:
        if client_id is not None and (not client_id.strip() or client_id != client_id.strip()):
            raise ValueError(f"{client_id!r} is not an OAuth client id")
        return client_id

    @property
    def source(self) -> str:
        """Where the system is read: its API's URL, or its folder as configured."""
        return self.base_url or self.path or ""
