"""seamdesk: find the broken handoff when the WMS, the ERP and the storefront disagree."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("seamdesk")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
