"""The symptom catalogue, the first-response checklist and escalation packets."""
