"""Every channel into one queue: citizens' web pages, channel clients, Open311 GeoReport v2, webhooks."""
