"""Findings: pure functions from cached observations to findings (FINDINGS.md)."""
