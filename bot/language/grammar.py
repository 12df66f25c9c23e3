"""The `/ecs-tasks` command grammar, shared by the Slack bot and the CLI.

`parse()` never raises: every problem comes back as a `UsageError` value that names the word, says what
was expected there and suggests the closest valid word. Words may come in any order and any case; commas
separate list items as well as spaces do. Account words are the names `parse` is given: the
channel's accounts may be named, any other configured account is refused, naming the channel's. The
vocabulary is in `bot.language.words`, times in `bot.language.times`, and the way back to words
(`to_words`, `describe_query`, `usage_text`) in `bot.language.text`.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import NamedTuple, NoReturn, TypeAlias

from bot.language.region_names import MAX_NAME_WORDS, REGION_BY_NAME, region_name_key
from bot.language.regions import KNOWN_REGIONS
from bot.language.text import describe_query, to_words, usage_text
from bot.language.times import (
    DURATION_EXAMPLES,
    DURATION_UNITS,
    TIME_EXAMPLES,
    TimeWordError,
    check_in_range,
    is_clock,
    is_date,
    looks_like_duration,
    looks_like_moment,
    parse_moment,
    since,
)
from bot.language.words import (
    ACCOUNTS,
    ACTION_ALIASES,
    ALL,
    BIND,
    BINDINGS,
    COMMAND_WORDS,
    DEFAULT_REGION_ENV,
    DOCTOR,
    END_WORDS,
    FROM,
    HELP_WORDS,
    LIST,
    MAX_PAGE,
    MAX_TASK_ID_LENGTH,
    NUMBER_RE,
    PAGE,
    PUBLIC,
    REGION_LIKE_RE,
    SINCE,
    SLASH_COMMAND,
    START_WORDS,
    STATUS_ALIASES,
    SUBSCRIBE,
    TASK_ID_PREFIX,
    TASK_ID_RE,
    TO,
    UNBIND,
    UNSUBSCRIBE,
    UNTIL,
    UNWATCH,
    WATCH,
    alias_key,
)
from shared.cards.parts import escape
from shared.config import ACCOUNT_NAME_RE
from shared.ecs.query import ALL_REGIONS, MAX_TASK_IDS, TaskAction, TaskQuery, TaskStatus
from shared.region_ids import is_region_id

__all__ = [
    "AccountsCommand",
    "BindCommand",
    "BindingsCommand",
    "Command",
    "DoctorCommand",
    "HelpCommand",
    "ListCommand",
    "QueryCommand",
    "SubscribeCommand",
    "UnbindCommand",
    "UnsubscribeCommand",
    "UnwatchCommand",
    "UsageError",
    "WatchCommand",
    "describe_query",
    "normalise",
    "parse",
    "to_words",
    "usage_text",
]

_SPLIT_RE = re.compile(r"[\s,、]+")  # `、`: the ideographic comma (NFKC leaves it)
# What phones and word processors type for `-`: hyphens, dashes and minus signs (NFKC keeps most of them).
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), "-")
# Invisible characters pasted along with text: zero-width space, non-joiner, joiner, word joiner, BOM.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_QUOTES = "`'\"“”‘’"
_SHOWN_LENGTH = 40
_EXAMPLE_REGION = "cn-hangzhou"


@dataclass(frozen=True)
class QueryCommand:
    query: TaskQuery


@dataclass(frozen=True)
class HelpCommand:
    pass


# `account` of the channel-update commands: the account word, one of the channel's; None when none was said.


@dataclass(frozen=True)
class WatchCommand:
    region: str
    task_ids: tuple[str, ...]
    account: str | None = None


@dataclass(frozen=True)
class UnwatchCommand:
    region: str | None  # None: whichever region the channel watches these tasks in
    task_ids: tuple[str, ...]
    account: str | None = None


@dataclass(frozen=True)
class SubscribeCommand:
    regions: tuple[str, ...]
    status: TaskStatus | None = None
    action: TaskAction | None = None
    account: str | None = None


@dataclass(frozen=True)
class UnsubscribeCommand:
    regions: tuple[str, ...] | None  # None: every subscription of the channel
    account: str | None = None


@dataclass(frozen=True)
class ListCommand:
    pass


@dataclass(frozen=True)
class AccountsCommand:
    """`/ecs-tasks accounts`: which accounts this channel works in, and their regions."""


@dataclass(frozen=True)
class DoctorCommand:
    """`/ecs-tasks doctor`: the deployment's checks, for admins."""


@dataclass(frozen=True)
class BindCommand:
    """`/ecs-tasks bind prod staging`: this channel's accounts, as named (checked against the configured ones
    by whoever runs it, which knows them)."""

    accounts: tuple[str, ...]


@dataclass(frozen=True)
class UnbindCommand:
    """`/ecs-tasks unbind prod`: accounts taken off this channel's binding made in Slack."""

    accounts: tuple[str, ...]


@dataclass(frozen=True)
class BindingsCommand:
    """`/ecs-tasks bindings`: the channel's configured binding, the one made in Slack, and which is in force."""


@dataclass(frozen=True)
class UsageError:
    """`message` is the whole answer for a person; the other fields are its parts."""

    message: str
    token: str | None  # the word at fault, as typed; None when something is missing
    expected: str
    suggestion: str | None
    # Every word at fault when there are several (unknown words are all reported); empty for one.
    problems: tuple[UsageError, ...] = ()


Command: TypeAlias = (
    QueryCommand
    | HelpCommand
    | WatchCommand
    | UnwatchCommand
    | SubscribeCommand
    | UnsubscribeCommand
    | ListCommand
    | AccountsCommand
    | DoctorCommand
    | BindCommand
    | UnbindCommand
    | BindingsCommand
    | UsageError
)


class _Kind(Enum):
    """The kinds of word; the value is how a message names what was expected."""

    REGION = "a region such as cn-hangzhou"
    ALL = "`all`"
    STATUS = "a status (failed, finished, processing, waiting, deleted, paused)"
    ACTION = "an action (import, export, redeploy, modifydiskspec, archive)"
    TASK_ID = "task ids (t-…)"
    TIME = "`since DURATION`, `from TIME` or `to TIME`"
    PAGE = "`page N`"
    PUBLIC = "`public`"
    ACCOUNT = "an account of this channel"


_REGION_OR_ALL = f"{_Kind.REGION.value}, or `all`"
_KEYWORDS: dict[_Kind, tuple[str, ...]] = {
    _Kind.ALL: (ALL,),
    _Kind.STATUS: tuple(STATUS_ALIASES),
    _Kind.ACTION: tuple(ACTION_ALIASES),
    _Kind.TIME: (SINCE, FROM, TO, UNTIL),
    _Kind.PAGE: (PAGE,),
    _Kind.PUBLIC: (PUBLIC,),
}


class _Word(NamedTuple):
    raw: str  # as typed, for messages
    low: str


@dataclass(frozen=True)
class _Context:
    command: str  # "" for a query
    kinds: frozenset[_Kind]
    known_regions: frozenset[str]
    now: datetime
    accounts: tuple[str, ...] = ()  # the channel's accounts: the names that may be used
    configured_accounts: frozenset[str] = frozenset()  # every configured name, to refuse the others clearly

    def only(self, command: str, *kinds: _Kind) -> _Context:
        # Account words belong to every command that works in an account, where accounts are configured.
        with_accounts = (_Kind.ACCOUNT,) if self.accounts and command not in (LIST, ACCOUNTS, DOCTOR, BINDINGS) else ()
        return dataclasses.replace(self, command=command, kinds=frozenset((*kinds, *with_accounts)))

    @property
    def expected(self) -> str:
        names = [kind.value for kind in _Kind if kind in self.kinds]
        if not names:
            return f"nothing after `{self.command}`"
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


@dataclass
class _Found:
    regions: list[str] = field(default_factory=list)
    all_regions: bool = False
    task_ids: list[str] = field(default_factory=list)
    status: TaskStatus | None = None
    action: TaskAction | None = None
    start: datetime | None = None
    end: datetime | None = None
    page: int | None = None
    public: bool = False
    accounts: list[str] = field(default_factory=list)
    said: dict[str, str] = field(default_factory=dict)  # field name -> the words that set it
    unknown: list[UsageError] = field(default_factory=list)  # words not understood, reported together


class _Abort(Exception):
    """Carries a UsageError out of the scanner; parse() returns it as a value."""

    def __init__(self, error: UsageError) -> None:
        super().__init__(error.message)
        self.error = error


class _Unknown(_Abort):
    """A word not understood: the scan goes on, so that every such word is reported at once."""


def parse(
    text: str,
    *,
    default_region: str | None,
    now: datetime,
    known_regions: frozenset[str] = KNOWN_REGIONS,
    accounts: Collection[str] = (),
    configured_accounts: Collection[str] = (),
) -> Command:
    """The command in `text` (what follows `/ecs-tasks`), or a UsageError. Never raises.

    A bare command (no words) asks for help, as `help` does. `accounts` are the names of the channel's
    accounts (empty where it works in the function's own): a query without an account word covers them all.
    `configured_accounts` are every configured name: one the channel is not bound to is refused.
    """
    words = _words(text)
    if not words or any(word.low in HELP_WORDS for word in words):
        return HelpCommand()
    now = now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)
    channel = tuple(dict.fromkeys(accounts))
    kinds = frozenset(_Kind) if channel else frozenset(_Kind) - {_Kind.ACCOUNT}
    ctx = _Context("", kinds, known_regions, now, channel, frozenset(configured_accounts) | frozenset(channel))
    try:
        return _command(words, default_region, ctx)
    except _Abort as abort:
        return abort.error


def normalise(text: str) -> str:
    """What people type, in the grammar's terms: full-width forms as ASCII (NFKC), every dash as `-`, and no
    invisible characters."""
    return unicodedata.normalize("NFKC", text).translate(_DASHES).translate(_INVISIBLE)


def _words(text: str) -> list[_Word]:
    pieces = (piece.strip(_QUOTES) for piece in _SPLIT_RE.split(normalise(text)))  # quotes: pasted from usage
    return _join_region_names([_Word(piece, piece.lower()) for piece in pieces if piece])


def _join_region_names(words: list[_Word]) -> list[_Word]:
    """`Silicon Valley`, `Hong Kong`, `China East 1`: region names of several words become one word."""
    joined: list[_Word] = []
    i = 0
    while i < len(words):
        for n in range(min(MAX_NAME_WORDS, len(words) - i), 1, -1):
            raw = " ".join(word.raw for word in words[i : i + n])
            if region_name_key(raw) in REGION_BY_NAME:
                joined.append(_Word(raw, raw.lower()))
                i += n
                break
        else:
            joined.append(words[i])
            i += 1
    return joined


def _region_of(low: str, known_regions: frozenset[str]) -> str | None:
    """The region id a word names: the id itself, or a console name such as `华东1（杭州）` or `Singapore`."""
    region = low if low in known_regions else REGION_BY_NAME.get(region_name_key(low))
    return region if region in known_regions else None


def _command(words: list[_Word], default_region: str | None, ctx: _Context) -> Command:
    first, rest = (words[0].low, words[1:]) if words else ("", [])
    if first == WATCH:
        found = _scan(rest, ctx.only(WATCH, _Kind.REGION, _Kind.TASK_ID))
        ids = _task_ids_for(WATCH, found)
        example = f"{WATCH} {_EXAMPLE_REGION} t-…"
        region = found.regions[0] if found.regions else _default(default_region, example, ctx)
        return WatchCommand(region, ids, _one_account(WATCH, found))
    if first == UNWATCH:
        found = _scan(rest, ctx.only(UNWATCH, _Kind.REGION, _Kind.TASK_ID))
        unwatched = found.regions[0] if found.regions else None
        return UnwatchCommand(unwatched, _task_ids_for(UNWATCH, found), _one_account(UNWATCH, found))
    if first == SUBSCRIBE:
        found = _scan(rest, ctx.only(SUBSCRIBE, _Kind.REGION, _Kind.ALL, _Kind.STATUS, _Kind.ACTION))
        if not (found.regions or found.all_regions):
            example = f"{SLASH_COMMAND} {SUBSCRIBE} {_EXAMPLE_REGION} failed"
            _fail(f"`{SUBSCRIBE}` needs a region or `all`, e.g. `{example}`.", None, _REGION_OR_ALL)
        return SubscribeCommand(_regions(found), found.status, found.action, _one_account(SUBSCRIBE, found))
    if first == UNSUBSCRIBE:
        found = _scan(rest, ctx.only(UNSUBSCRIBE, _Kind.REGION, _Kind.ALL))
        regions = _regions(found) if found.regions or found.all_regions else None
        return UnsubscribeCommand(regions, _one_account(UNSUBSCRIBE, found))
    if first == LIST:
        _scan(rest, ctx.only(LIST))
        return ListCommand()
    if first == ACCOUNTS:
        _scan(rest, ctx.only(ACCOUNTS))
        return AccountsCommand()
    if first == DOCTOR:
        _scan(rest, ctx.only(DOCTOR))
        return DoctorCommand()
    if first == BINDINGS:
        _scan(rest, ctx.only(BINDINGS))
        return BindingsCommand()
    if first in (BIND, UNBIND):
        # Any configured account may be named, not only the channel's: the use case checks the names.
        for word in rest:
            if not ACCOUNT_NAME_RE.fullmatch(word.low):
                _fail(f"`{_show(word.raw)}` is not an account name.", word.raw, "an account name such as prod")
        names = tuple(dict.fromkeys(word.low for word in rest))
        if not names:
            _fail(f"`{first}` needs one or more account names, e.g. `{SLASH_COMMAND} {first} prod`.", None,
                  "an account name")  # fmt: skip
        return BindCommand(names) if first == BIND else UnbindCommand(names)
    found = _scan(words, ctx)
    if found.start is not None and found.end is not None and found.start > found.end:
        start, end = found.said["start"], found.said["end"]
        _fail(f"The start `{_show(start)}` is after the end `{_show(end)}`.", end, "a `to` time after the start")
    regions = _regions(found) or (_default(default_region, f"{_EXAMPLE_REGION} failed", ctx),)
    return QueryCommand(
        TaskQuery(
            regions=regions,
            status=found.status,
            action=found.action,
            task_ids=tuple(found.task_ids),
            start_time=found.start,
            end_time=found.end,
            page=found.page or 1,
            public=found.public,
            accounts=tuple(found.accounts) or ctx.accounts,
        )
    )


def _one_account(command: str, found: _Found) -> str | None:
    if len(found.accounts) > 1:
        _fail(f"`{command}` takes one account.", found.accounts[1], "one account of this channel")
    return found.accounts[0] if found.accounts else None


def _task_ids_for(command: str, found: _Found) -> tuple[str, ...]:
    if len(found.regions) > 1:
        _fail(f"`{command}` takes one region.", found.regions[1], "one region, then task ids")
    if not found.task_ids:
        example = f"{SLASH_COMMAND} {command} {_EXAMPLE_REGION} t-…"
        _fail(f"`{command}` needs at least one task id, e.g. `{example}`.", None, _Kind.TASK_ID.value)
    return tuple(found.task_ids)


def _regions(found: _Found) -> tuple[str, ...]:
    return (ALL_REGIONS,) if found.all_regions else tuple(found.regions)


def _default(default_region: str | None, example: str, ctx: _Context) -> str:
    if default_region and default_region.strip():
        region = default_region.strip().lower()
        # A setting, but it becomes part of a host name as a typed region does: the same check.
        if is_region_id(region) and region in ctx.known_regions:
            return region
        _fail(
            f"The default region set by {DEFAULT_REGION_ENV} is not a known region id. Name a region, e.g. "
            f"`{SLASH_COMMAND} {example}`, or ask an admin to correct {DEFAULT_REGION_ENV}.",
            None,
            _REGION_OR_ALL,
        )
    _fail(
        f"No region given, and no default region is set. Name one, e.g. `{SLASH_COMMAND} {example}`, "
        f"or set {DEFAULT_REGION_ENV} (e.g. {DEFAULT_REGION_ENV}={_EXAMPLE_REGION}).",
        None,
        _REGION_OR_ALL,
    )


def _scan(words: list[_Word], ctx: _Context) -> _Found:
    found = _Found()
    i = 0
    try:
        while i < len(words):
            try:
                i = _take(words, i, found, ctx)
            except _Unknown as unknown:
                found.unknown.append(unknown.error)
                i += 1
    except _Abort as abort:
        if not found.unknown:
            raise
        found.unknown.append(abort.error)
    if found.unknown:
        raise _Abort(_together(found.unknown, ctx))
    return found


def _together(problems: list[UsageError], ctx: _Context) -> UsageError:
    """One answer for several words at fault: each with its own reason and suggestion, in the order typed."""
    if len(problems) == 1:
        return problems[0]
    lines = [f"{len(problems)} words were not understood:"]
    for problem in problems:
        line = f"• {problem.message.partition(' Expected ')[0]}"
        if problem.suggestion is not None:
            line += f" Did you mean `{_show(problem.suggestion)}`?"
        lines.append(line)
    lines.append(f"Expected {ctx.expected}.")
    first = problems[0]
    return UsageError("\n".join(lines), first.token, ctx.expected, first.suggestion, tuple(problems))


def _take(words: list[_Word], i: int, found: _Found, ctx: _Context) -> int:
    """Applies the word at `i`, and its arguments, to `found`; returns the index of the next word."""
    word = words[i]
    kind = _kind_of(word, ctx, first=i == 0)
    if kind not in ctx.kinds:
        _fail(f"`{_show(word.raw)}` can't be used with `{ctx.command}`.", word.raw, ctx.expected)
    if kind is _Kind.REGION or kind is _Kind.ALL:
        conflict = found.regions if kind is _Kind.ALL else found.all_regions
        if conflict:
            _fail("`all` already means every region: give `all` or regions, not both.", word.raw, _REGION_OR_ALL)
        found.all_regions = kind is _Kind.ALL
        region = _region_of(word.low, ctx.known_regions)
        if region is not None and region not in found.regions:
            found.regions.append(region)
    elif kind is _Kind.TASK_ID and word.low not in found.task_ids:
        if len(found.task_ids) >= MAX_TASK_IDS:
            _fail(f"Too many task ids: at most {MAX_TASK_IDS}.", word.raw, f"at most {MAX_TASK_IDS} task ids")
        found.task_ids.append(word.low)
    elif kind is _Kind.STATUS:
        _set_once(found, "status", STATUS_ALIASES[alias_key(word.low)], word.raw, "status")
    elif kind is _Kind.ACTION:
        _set_once(found, "action", ACTION_ALIASES[alias_key(word.low)], word.raw, "action")
    elif kind is _Kind.PUBLIC:
        found.public = True
    elif kind is _Kind.ACCOUNT and word.low not in found.accounts:
        found.accounts.append(word.low)
    elif kind is _Kind.PAGE:
        _set_once(found, "page", _page(words, i + 1, word), _said(words, i, 1), "page number")
        return i + 2
    elif kind is _Kind.TIME:
        moment, used = _time(words, i, ctx.now)
        name = "start" if word.low in START_WORDS else "end"
        _set_once(found, name, moment, _said(words, i, used), f"{name} time")
        return i + 1 + used
    return i + 1


def _kind_of(word: _Word, ctx: _Context, *, first: bool) -> _Kind:
    low, key = word.low, alias_key(word.low)
    if _region_of(low, ctx.known_regions) is not None:
        return _Kind.REGION
    if key in STATUS_ALIASES:
        return _Kind.STATUS
    if key in ACTION_ALIASES:
        return _Kind.ACTION
    if TASK_ID_RE.fullmatch(low):
        return _Kind.TASK_ID
    for kind, keywords in _KEYWORDS.items():
        if low in keywords:
            return kind
    shown = _show(word.raw)
    if low in ctx.accounts:
        return _Kind.ACCOUNT
    if low in ctx.configured_accounts:
        mine = ", ".join(f"`{name}`" for name in ctx.accounts) or "none: it works in the function's own account"
        _fail(
            f"Account `{shown}` is not available in this channel. This channel's accounts: {mine}.",
            word.raw,
            _Kind.ACCOUNT.value if ctx.accounts else "no account word here",
        )
    if low in COMMAND_WORDS:
        example = f"{SLASH_COMMAND} {low} …"
        _fail(f"`{shown}` is a command of its own and must come first, e.g. `{example}`.", word.raw, ctx.expected)
    if REGION_LIKE_RE.fullmatch(low):
        _fail(f"Unknown region `{shown}`.", word.raw, _Kind.REGION.value, _closest(low, ctx.known_regions), _Unknown)
    if low.startswith(TASK_ID_PREFIX):
        expected = f"a task id: `t-` and up to {MAX_TASK_ID_LENGTH - 2} letters and digits"
        _fail(f"`{shown}` is not a task id.", word.raw, expected, None, _Unknown)
    _fail(f"Unknown word `{shown}`.", word.raw, ctx.expected, _hint(low, ctx, first), _Unknown)


def _hint(low: str, ctx: _Context, first: bool) -> str | None:
    """The closest valid word; for a bare duration, time or number, the keyword it lacks."""
    if _Kind.TIME in ctx.kinds and looks_like_duration(low):
        return f"{SINCE} {low}"
    if _Kind.TIME in ctx.kinds and looks_like_moment(low):
        return f"{FROM} {low}"
    if _Kind.PAGE in ctx.kinds and NUMBER_RE.fullmatch(low):
        return f"{PAGE} {low}"
    vocabulary = [keyword for kind in ctx.kinds for keyword in _KEYWORDS.get(kind, ())]
    if _Kind.REGION in ctx.kinds:
        vocabulary += ctx.known_regions
        # A misspelt English region name (`singapor`) suggests the region's id.
        names = {key: region for key, region in REGION_BY_NAME.items() if key.isascii() and region in ctx.known_regions}
        close = _closest(region_name_key(low), names)
        if close is not None and _closest(low, vocabulary) is None:
            return names[close]
    if _Kind.ACCOUNT in ctx.kinds:
        vocabulary += ctx.accounts
    if first and not ctx.command:
        vocabulary += [*COMMAND_WORDS, "help"]
    return _closest(low, vocabulary)


def _closest(low: str, vocabulary: Iterable[str]) -> str | None:
    if len(low) > _SHOWN_LENGTH:  # nothing that long is close to a keyword; spare difflib the work
        return None
    matches = difflib.get_close_matches(low, sorted(vocabulary), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _set_once(found: _Found, name: str, value: object, said: str, what: str) -> None:
    current = getattr(found, name)
    if current is not None and current != value:
        first = found.said[name]
        _fail(f"More than one {what}: `{_show(first)}` and `{_show(said)}`.", said, f"one {what}")
    setattr(found, name, value)
    found.said.setdefault(name, said)


def _said(words: list[_Word], i: int, used: int) -> str:
    return " ".join(word.raw for word in words[i : i + 1 + used])


def _page(words: list[_Word], i: int, keyword: _Word) -> int:
    expected = f"a page number from 1 to {MAX_PAGE}"
    if i >= len(words):
        _fail(f"`{_show(keyword.raw)}` needs a number.", keyword.raw, expected)
    word = words[i]
    if not NUMBER_RE.fullmatch(word.low) or not 1 <= int(word.low) <= MAX_PAGE:
        _fail(f"`{_show(word.raw)}` is not a page number.", word.raw, expected)
    return int(word.low)


def _time(words: list[_Word], i: int, now: datetime) -> tuple[datetime, int]:
    """The moment set by `since`/`from`/`to` at `i`, and how many argument words it used (1 or 2)."""
    keyword = words[i]
    is_since = keyword.low == SINCE
    expected = DURATION_EXAMPLES if is_since else TIME_EXAMPLES
    if i + 1 >= len(words):
        _fail(f"`{_show(keyword.raw)}` needs {'a duration' if is_since else 'a time'}.", keyword.raw, expected)
    text, used = words[i + 1].low, 1
    after = words[i + 2].low if i + 2 < len(words) else ""
    if is_since and NUMBER_RE.fullmatch(text) and after in DURATION_UNITS:
        text, used = text + after, 2  # `since 2 hours`
    elif not is_since and is_date(text) and is_clock(after):
        text, used = f"{text}t{after}", 2  # `from 2026-11-01 10:00`
    try:
        moment = since(now, text) if is_since else parse_moment(text, end_of_day=keyword.low in END_WORDS)
        return check_in_range(moment, now), used
    except TimeWordError as error:
        shown = _show(_said(words, i + 1, used - 1))
        _fail(f"`{shown}` {error.reason}.", words[i + 1].raw, expected, error.suggestion)


def _show(raw: str) -> str:
    """A word as quoted in a message: short, unable to close the surrounding code span, and escaped for mrkdwn
    so that a typed `<!channel>` or `<@U123>` never becomes a mention or a link (replies are mrkdwn)."""
    shown = " ".join(raw.replace("`", "'").split())
    shown = shown if len(shown) <= _SHOWN_LENGTH else shown[: _SHOWN_LENGTH - 1] + "…"
    return escape(shown)


def _fail(
    head: str,
    token: str | None,
    expected: str,
    suggestion: str | None = None,
    abort: type[_Abort] = _Abort,
) -> NoReturn:
    message = f"{head} Expected {expected}."
    if suggestion is not None:
        message += f" Did you mean `{_show(suggestion)}`?"
    raise abort(UsageError(message, token, expected, suggestion))
