"""Connector kinds by name, and the one function that builds a connector from config."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from app.config import Config
    from app.sources.base import Connector

KINDS = ("shopify", "netsuite", "shiphero", "celigo", "supplier-portal", "x12-folder",
         "sap-b1", "acumatica", "bigcommerce", "csv-export", "generic-rest")
"""What `kind =` may say in config.toml."""
PATH_KINDS = ("x12-folder", "csv-export")
"""The kinds that read files (`path =`: a folder, or for csv-export also one file) rather
than an API (`base_url =`)."""
SESSION_KINDS = ("sap-b1", "acumatica")
"""The kinds that log in with `company` + `username` (the password from `token_env`)."""
MIDDLEWARE_KINDS = ("celigo",)
"""The kinds that read integration middleware (failed messages), not counts."""
SUPPLIER_KINDS = ("supplier-portal", "x12-folder")
"""The kinds that read supplier PO confirmations, not counts."""
FOLDER_KINDS = ("x12-folder",)
"""The kinds that read files from a folder (`path =`) rather than an API (`base_url =`).
A drop folder's files are archived once picked up, so a read of it is never a full
listing: what it no longer holds was delivered, not withdrawn."""


def make_connector(config: Config, system: str, *,
                   transport: httpx.AsyncBaseTransport | None = None,
                   sleep=None) -> Connector:
    """The connector for one configured system, with its token from the environment."""
    import asyncio

    from app.sources.http import HttpSettings

    settings = config.systems[system]
    refresh = config.settings.refresh
    http = HttpSettings(timeout=refresh.timeout_seconds, retries=refresh.retries,
                        backoff=refresh.backoff_seconds, max_concurrency=settings.max_concurrency)
    if settings.kind == "csv-export":
        from app.sources.csv_export import CsvExportConnector

        return CsvExportConnector(system, config.folder(system), settings.columns,
                                  timezone=settings.timezone, page_size=settings.page_size)
    if settings.kind == "x12-folder":
        from zoneinfo import ZoneInfo

        from app.sources.x12_folder import X12FolderConnector

        return X12FolderConnector(system, config.folder(system),
                                  timezone=ZoneInfo(settings.timezone),
                                  page_size=settings.page_size)
    common = dict(page_size=settings.page_size, transport=transport, sleep=sleep or asyncio.sleep)
    token = config.token(system)
    if settings.kind == "shopify":
        from app.sources.shopify import ShopifyConnector

        return ShopifyConnector(system, settings.base_url, token, http,
                                api_version=settings.api_version,
                                poll_seconds=refresh.bulk_poll_seconds, **common)
    if settings.kind == "netsuite":
        from app.sources.netsuite import NetSuiteConnector

        return NetSuiteConnector(system, settings.base_url, token, http,
                                 timezone=settings.timezone, **common)
    if settings.kind == "shiphero":
        from app.sources.shiphero import ShipHeroConnector

        return ShipHeroConnector(system, settings.base_url, token, http, **common)
    if settings.kind == "celigo":
        from app.sources.celigo import CeligoConnector

        return CeligoConnector(system, settings.base_url, token, http, flows=settings.flows,
                               **common)
    if settings.kind == "supplier-portal":
        from app.sources.supplier_portal import SupplierPortalConnector

        return SupplierPortalConnector(system, settings.base_url, settings.client_id or "",
                                       token, http, **common)
    if settings.kind == "sap-b1":
        from app.sources.sap_b1 import SapB1Connector

        return SapB1Connector(system, settings.base_url, token, http,
                              company=settings.company or "", username=settings.username or "",
                              api_version=settings.api_version, timezone=settings.timezone,
                              number_prefix=settings.number_prefix or "", **common)
    if settings.kind == "acumatica":
        from app.sources.acumatica import AcumaticaConnector

        return AcumaticaConnector(system, settings.base_url, token, http,
                                  company=settings.company or "",
                                  username=settings.username or "",
                                  api_version=settings.api_version, **common)
    if settings.kind == "bigcommerce":
        from app.sources.bigcommerce import BigCommerceConnector

        return BigCommerceConnector(system, settings.base_url, token, http, **common)
    if settings.kind == "generic-rest":
        from app.sources.generic_rest import GenericRestConnector

        return GenericRestConnector(system, settings.base_url, token, http, rest=settings.rest,
                                    columns=settings.columns, timezone=settings.timezone,
                                    **common)
    raise ValueError(f"unknown connector kind {settings.kind!r}")
