"""Alerts: config.toml [[alerts]] rules evaluated after every refresh, each state change
posted once to a webhook (Slack-compatible or generic JSON), rate-limited and retried."""
