"""The product-wide access policy: which team, channel, region and account ecs-tasks may work for, and who may
cancel. Built once per process from settings (bot.wiring does it), then only read.

The same checks decide a command (`bot.usecases.access` words the refusal) and every stored watch and subscription
on every poller tick (`shared.updates.poller` suspends what they refuse), so narrowing an allow-list stops
old rows as surely as new commands. Empty allow-lists mean "no restriction". A stored row's account must
be one its channel is bound to today (ECS_TASKS_CHANNEL_ACCOUNTS / ECS_TASKS_DEFAULT_ACCOUNTS; with no
accounts configured, every channel works in "home" only), so unbinding a channel stops its old rows too.

Configured account names are checked here and nowhere else (`AccessPolicy.from_settings`): their form, the
name reserved for the function's own role, and the words the caller reserves (the bot's grammar words, which
shared cannot know). `PolicyHolder` keeps the policy in force and asks its source again at most once per
stated staleness, so a query never waits on the source.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from shared.config import ACCOUNT_NAME_RE, ENV_ACCOUNTS, MAX_ACCOUNTS_PER_BINDING, Settings
from shared.ecs.accounts import HOME_ACCOUNT_NAME, Account, AccountDirectory
from shared.ecs.query import ALL_REGIONS
from shared.errors import ConfigurationError
from shared.region_ids import InvalidRegionError, checked_region_id, is_region_id

# Why a stored row is suspended (logged, and kept in its `suspended` column).
TEAM_NOT_ALLOWED = "team_not_allowed"
CHANNEL_NOT_ALLOWED = "channel_not_allowed"
REGION_NOT_ALLOWED = "region_not_allowed"
REGION_INVALID = "region_invalid"
ACCOUNT_INVALID = "account_invalid"  # the stored account is not in account-name form
ACCOUNT_NOT_BOUND = "account_not_bound"  # the row's account is not among the channel's bound, configured ones

# What a name already means to whoever reads account names typed by people, or None (see `from_settings`).
ReservedWord = Callable[[str], "str | None"]


def no_reserved_words(name: str) -> str | None:
    return None


@dataclass(frozen=True)
class AccessPolicy:
    team_ids: frozenset[str] = frozenset()
    channel_ids: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    # The configured accounts and channel bindings; the empty directory binds every channel to "home" only.
    accounts: AccountDirectory = field(default_factory=AccountDirectory)
    # Who may cancel; empty means nobody (unlike the allow-lists above).
    cancel_user_ids: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings, *, reserved_word: ReservedWord = no_reserved_words) -> AccessPolicy:
        """The policy the settings state. ConfigurationError naming the setting for an account name that is
        not a short lower-case word, is `home`, or is a word `reserved_word` gives a meaning to; and for a
        malformed region id of an account."""
        for name in settings.accounts:
            check_account_name(name, reserved_word)
        return cls(
            settings.allowed_team_ids,
            settings.allowed_channel_ids,
            settings.allowed_regions,
            _account_directory(settings),
            settings.cancel_user_ids,
        )

    def with_slack_bindings(self, bindings: Mapping[str, tuple[str, ...]]) -> AccessPolicy:
        """This policy with the channel bindings made in Slack in force: each replaces its channel's configured
        binding. Read back from the store, each is checked again: only configured names are kept (at most
        MAX_ACCOUNTS_PER_BINDING), and a binding left with none is ignored (the configured one stays)."""
        directory = self.accounts
        kept = {}
        for channel, names in bindings.items():
            known = tuple(dict.fromkeys(name for name in names if name in directory.accounts))
            if known:
                kept[channel] = known[:MAX_ACCOUNTS_PER_BINDING]
        if not kept:
            return self
        merged = AccountDirectory(directory.accounts, {**directory.channel_bindings, **kept}, directory.default_binding)
        return replace(self, accounts=merged)


def check_account_name(name: str, reserved_word: ReservedWord) -> None:
    """The one check of a configured account's name (ConfigurationError naming ECS_TASKS_ACCOUNTS)."""
    if not ACCOUNT_NAME_RE.fullmatch(name):
        problem = (
            f"account name {name[:24]!r} is not a short lower-case word (expected 1-20 of a-z, 0-9, '-', '_', "
            "starting with a letter, such as prod or staging)"
        )
    elif name == HOME_ACCOUNT_NAME:
        problem = (
            f"the name {HOME_ACCOUNT_NAME!r} is reserved for the function's own role; name the account after what "
            "it is (prod, staging, ...)"
        )
    elif (meaning := reserved_word(name)) is not None:
        problem = (
            f"the account name {name!r} is {meaning} in /ecs-tasks, so it could not be typed as an account; name "
            "it otherwise, such as prod or staging-eu"
        )
    else:
        return
    raise ConfigurationError(f"invalid settings: {ENV_ACCOUNTS}: {problem}", setting=ENV_ACCOUNTS)


def _account_directory(settings: Settings) -> AccountDirectory:
    accounts: dict[str, Account] = {}
    for name, spec in settings.accounts.items():
        for index, region in enumerate(spec.regions):
            if not is_region_id(region):
                raise ConfigurationError(
                    f"invalid settings: {ENV_ACCOUNTS}.{name}.regions[{index}] is not a region id "
                    "(expected lower-case letters, digits and hyphens, such as cn-hangzhou)"
                )
        accounts[name] = Account(
            name=name,
            role_arn=spec.role_arn,
            regions=tuple(dict.fromkeys(spec.regions)),
            external_id=spec.external_id.get_secret_value() if spec.external_id else None,
        )
    directory = AccountDirectory(accounts, dict(settings.channel_accounts), settings.default_accounts)
    directory.check()
    return directory


# --- the policy in force -----------------------------------------------------------------------------

# How old the held policy may grow before `current()` asks its source again.
DEFAULT_STALENESS_S = 30.0


class PolicyHolder:
    """The policy in force: `current()` answers from memory, and asks `source` again only once the policy it
    holds is `staleness_s` old (on the injected `monotonic` clock), so at most one query per `staleness_s`
    waits on the source. The first policy is taken at construction, so a misconfiguration fails the build.

    Only one caller refreshes at a time; the others keep the held policy meanwhile. A source that raises
    leaves the held policy in force, and is asked again once another `staleness_s` has passed.
    """

    def __init__(
        self,
        source: Callable[[], AccessPolicy],
        *,
        staleness_s: float = DEFAULT_STALENESS_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._staleness_s = staleness_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._policy = source()
        self._asked_at = monotonic()
        self._answered = True  # False: `refreshing` until its source first answers
        self._first = threading.Lock()

    @classmethod
    def refreshing(
        cls,
        base: AccessPolicy,
        source: Callable[[], AccessPolicy],
        *,
        staleness_s: float = DEFAULT_STALENESS_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> PolicyHolder:
        """A holder that starts from `base` (built from settings, so a misconfiguration fails the build) and asks
        `source` at the first `current()`, then once per `staleness_s`. Until `source` has answered once, a
        failure of it is raised to every caller (never `base` in its place: a binding made in Slack may be
        narrower than the configured one)."""
        holder = cls(lambda: base, staleness_s=staleness_s, monotonic=monotonic)
        holder._source = source
        holder._answered = False
        return holder

    @classmethod
    def fixed(cls, policy: AccessPolicy, *, monotonic: Callable[[], float] = time.monotonic) -> PolicyHolder:
        """A holder whose source is the one policy given (settings: nothing changes while the process runs)."""
        return cls(lambda: policy, monotonic=monotonic)

    def current(self) -> AccessPolicy:
        if not self._answered:
            with self._first:  # callers meanwhile wait for the first answer; a failure reaches each of them
                if not self._answered:
                    policy = self._source()
                    with self._lock:
                        self._policy, self._asked_at, self._answered = policy, self._monotonic(), True
                    return policy
        now = self._monotonic()
        with self._lock:
            if now - self._asked_at < self._staleness_s:
                return self._policy
            self._asked_at = now  # before asking: callers meanwhile, and after a failure, keep the held one
        policy = self._source()
        with self._lock:
            self._policy = policy
        return policy


# --- the checks -----------------------------------------------------------------------------------------


def workspace_refusal(policy: AccessPolicy, *, team_id: str | None, channel_id: str | None) -> str | None:
    """TEAM_NOT_ALLOWED or CHANNEL_NOT_ALLOWED, or None when both are allowed."""
    if policy.team_ids and team_id not in policy.team_ids:
        return TEAM_NOT_ALLOWED
    if policy.channel_ids and channel_id not in policy.channel_ids:
        return CHANNEL_NOT_ALLOWED
    return None


def refused_regions(policy: AccessPolicy, regions: Iterable[str]) -> list[str]:
    """The named regions ECS_TASKS_REGIONS leaves out (`all` is narrowed to the allowed ones elsewhere)."""
    if not policy.regions:
        return []
    return [r for r in regions if r != ALL_REGIONS and r not in policy.regions]


def may_cancel(policy: AccessPolicy, user_id: str | None) -> bool:
    return bool(user_id) and user_id in policy.cancel_user_ids


def stored_refusal(
    policy: AccessPolicy,
    *,
    team_id: str | None,
    channel_id: str,
    region_id: str,
    account: str = HOME_ACCOUNT_NAME,
) -> str | None:
    """Why a stored watch or subscription may no longer run, or None. A region read back from the store is
    checked like any value from outside: one not in region-id form is never used to build an endpoint. So is
    its account: a name not in account-name form, or one the channel is not bound to today, is never used
    to pick credentials."""
    refusal = workspace_refusal(policy, team_id=team_id, channel_id=channel_id)
    if refusal is not None:
        return refusal
    if region_id != ALL_REGIONS:
        try:
            checked_region_id(region_id)
        except InvalidRegionError:
            return REGION_INVALID
    if refused_regions(policy, [region_id]):
        return REGION_NOT_ALLOWED
    return account_refusal(policy, channel_id=channel_id, account=account)


def account_refusal(policy: AccessPolicy, *, channel_id: str, account: str) -> str | None:
    """ACCOUNT_INVALID or ACCOUNT_NOT_BOUND for a stored account name, or None when the channel works in it."""
    if not ACCOUNT_NAME_RE.fullmatch(account):
        return ACCOUNT_INVALID
    if policy.accounts.account_for_channel(channel_id, account) is None:
        return ACCOUNT_NOT_BOUND
    return None
