"""Named Alibaba Cloud accounts and which Slack channels work in which. Pure values, no I/O.

`shared.policy.AccessPolicy.from_settings` builds the directory from settings, once per process, after
checking every configured name; this module only answers questions about it:

- `directory.accounts_for_channel(channel_id) -> tuple[Account, ...]` — the channel's accounts in the order
  configured: its own binding (ECS_TASKS_CHANNEL_ACCOUNTS), else the default binding
  (ECS_TASKS_DEFAULT_ACCOUNTS), else `(HOME,)`: the function's own role.
  Never empty.
- `directory.account_for_channel(channel_id, name) -> Account | None` — the named account if the channel
  is bound to it; None is a refusal (the one check for the command path, buttons and stored watches).
- `directory.named(name) -> Account | None` — any configured account (HOME's name included).
- `Account.is_home` — True for the function's own role: no AssumeRole, the default credentials.
- `Account.covers(region_id)` — whether the account's regions (empty: any) include the region.

Settings (JSON, pydantic-settings):
  ECS_TASKS_ACCOUNTS='{"prod": {"role_arn": "acs:ram::1111111111111111:role/ecs-tasks-read",
                                "regions": ["cn-hangzhou"], "external_id": "..."}, "staging": {...}}'
  ECS_TASKS_CHANNEL_ACCOUNTS='{"C0PROD": ["prod"], "C0OPS": ["prod", "staging"]}'
  ECS_TASKS_DEFAULT_ACCOUNTS="staging"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.config import ROLE_ARN_RE
from shared.errors import ConfigurationError

# The name shown for the function's own role when no accounts are configured for a channel.
HOME_ACCOUNT_NAME = "home"


@dataclass(frozen=True)
class Account:
    """One account the bot may work in. `role_arn` None: the function's own role (no AssumeRole)."""

    name: str
    role_arn: str | None = None
    # The regions this account covers; empty means not restricted here (ECS_TASKS_REGIONS still applies).
    regions: tuple[str, ...] = ()
    external_id: str | None = field(default=None, repr=False)

    @property
    def is_home(self) -> bool:
        return self.role_arn is None

    @property
    def account_id(self) -> str | None:
        """The 16-digit account id from the role ARN (None for the home account)."""
        match = ROLE_ARN_RE.fullmatch(self.role_arn) if self.role_arn else None
        return match.group("account_id") if match else None

    @property
    def role_name(self) -> str | None:
        match = ROLE_ARN_RE.fullmatch(self.role_arn) if self.role_arn else None
        return match.group("role_name") if match else None

    def covers(self, region_id: str) -> bool:
        return not self.regions or region_id in self.regions


HOME = Account(HOME_ACCOUNT_NAME)


@dataclass(frozen=True)
class AccountDirectory:
    """The configured accounts and the channel bindings (shared.policy builds it from settings)."""

    accounts: Mapping[str, Account] = field(default_factory=dict)
    channel_bindings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    default_binding: tuple[str, ...] = ()

    def check(self) -> None:
        """Every bound name is a configured account (load_settings checks it too; this guards hand-built ones)."""
        for where, names in [*self.channel_bindings.items(), ("default", self.default_binding)]:
            unknown = [name for name in names if name not in self.accounts]
            if unknown:
                raise ConfigurationError(f"binding {where} names unknown account(s): {', '.join(unknown)}")

    @property
    def configured(self) -> bool:
        """True when any account is configured (else every channel works under the function's own role)."""
        return bool(self.accounts)

    def accounts_for_channel(self, channel_id: str | None) -> tuple[Account, ...]:
        names = self.channel_bindings.get(channel_id or "") or self.default_binding
        if not names:
            return (HOME,)
        return tuple(self.accounts[name] for name in names)

    def account_for_channel(self, channel_id: str | None, name: str) -> Account | None:
        return next((account for account in self.accounts_for_channel(channel_id) if account.name == name), None)

    def named(self, name: str) -> Account | None:
        if name == HOME_ACCOUNT_NAME and HOME_ACCOUNT_NAME not in self.accounts:
            return HOME
        return self.accounts.get(name)
