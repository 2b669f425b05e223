"""Vendor connectors: one per API, speaking the vendor's own wire format over httpx."""
