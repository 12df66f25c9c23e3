"""The Slack app: the one dispatcher, the buttons with their guard, and the path that answers a request."""
