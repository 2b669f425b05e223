"""Exception detectors, their lifecycle and the audit trail."""
