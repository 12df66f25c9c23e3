"""Answering a request: inline within the budget, or deferred and run once, then sent where Slack expects."""
