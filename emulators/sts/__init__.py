"""An STS endpoint on loopback (dev tooling): AssumeRole, verified with the official signing utilities."""
