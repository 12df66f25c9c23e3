"""The use cases: tasks (query, refresh, details, cancel) and channel updates (watch, subscribe, list).
They return results and card models; the Slack layer sends them."""
