"""seamdesk: find the broken handoff when the WMS, the ERP and the storefront disagree."""

__version__ = "0.1.0"
