"""Delivery of alerts: channels (email, webhook, Apprise), message templates, the outbox worker."""
