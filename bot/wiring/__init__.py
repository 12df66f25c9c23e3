"""The one place that builds each process's objects from settings."""
