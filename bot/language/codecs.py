"""Queries in Slack button values (at most 2,000 characters), and back.

A query travels as its `to_words()` text when that is short and reads back to an equal query, so values
stay readable in payload logs. Otherwise it is packed: every field becomes a digit in a mixed-radix big
integer, written in the base64url alphabet after a version prefix. Task ids cost about 5.2 bits a
character that way (zlib manages little better on random ids and base64 of it would not fit), which is
what keeps 100 ids of 24 characters, every known region and both times under the limit.

Format version 1 is frozen: its tables below may only grow into their spare room, never reorder, because
old buttons live on in Slack history. It carries no account: it means the function's own account.

Format version 2 (`q2.`, `r2.`) is version 1's fields followed by the query's account names (and,
in a task button, which of them the task is in), packed like the rest. It is written only for a query that
names accounts, so a deployment without accounts writes exactly what it wrote before. Account names are
short, so they travel as names, never as positions in a table that a configuration change could reorder.
A query whose task ids and regions already fill a button may have no room left for its accounts: encoding
then raises QueryCodecError, and the command path says so before running it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from bot.language.grammar import QueryCommand, UsageError, parse, to_words
from bot.language.regions import KNOWN_REGIONS, REGIONS_IN_ORDER_ADDED
from bot.language.times import EARLIEST_TIME, latest_time
from bot.language.words import MAX_PAGE, TASK_ID_RE
from shared.config import ACCOUNT_NAME_RE, MAX_ACCOUNTS_PER_BINDING
from shared.ecs.query import ALL_REGIONS, MAX_PAGE_SIZE, MAX_TASK_IDS, TaskAction, TaskQuery, TaskStatus
from shared.region_ids import is_region_id

_T = TypeVar("_T")

BUTTON_VALUE_LIMIT = 2000  # Slack: button `value` is at most 2,000 characters
QUERY_PREFIX = "q1."
TASK_REF_PREFIX = "r1."
QUERY_PREFIX_V2 = "q2."
TASK_REF_PREFIX_V2 = "r2."
# A query names at most as many accounts as a channel may be bound to (shared.config checks the bindings).
MAX_QUERY_ACCOUNTS = MAX_ACCOUNTS_PER_BINDING

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_ALPHABET_INDEX = {char: i for i, char in enumerate(_ALPHABET)}

# Version 1 tables: index + 1 is the code, 0 means "spelled out". Radixes leave room to append.
# The regions are `all` and then every known region in the order each was added (append only, there).
_REGIONS_V1 = (ALL_REGIONS, *REGIONS_IN_ORDER_ADDED)
_REGION_RADIX = 128
_STATUSES_V1 = ("Finished", "Processing", "Waiting", "Deleted", "Paused", "Failed")
_ACTIONS_V1 = ("ImportImage", "ExportImage", "RedeployInstance", "ModifyDiskSpec", "ArchiveSnapshot")
_ENUM_RADIX = 16
# A task id `t-` + 1..22 of [a-z0-9] is one number in bijective base 36, so its length costs nothing.
_ID_SUFFIX_MAX = 22
_ID_RE = re.compile(rf"t-[a-z0-9]{{1,{_ID_SUFFIX_MAX}}}")
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_ID_OFFSETS = [sum(36**k for k in range(1, n)) for n in range(1, _ID_SUFFIX_MAX + 2)]  # ids shorter than n
_ID_RADIX = 1 + _ID_OFFSETS[-1]
_EPOCH_NAIVE = datetime(1, 1, 1)
_EPOCH_AWARE = _EPOCH_NAIVE.replace(tzinfo=timezone.utc)
_SECONDS_RADIX = (datetime.max - datetime.min).days * 86400 + 86400
_MICROS_RADIX = 1_000_000
_NO_TIME, _AWARE, _NAIVE = 0, 1, 2
_MAX_ITEMS = 1000  # of any list: bounds the work garbage can cause
# Words that read back differently a year later hold a relative time (`since 2h`): not a button's query.
_LATER = timedelta(days=400)
# ResourceIds: DescribeTasks takes at most 100, each an id such as `m-bp1…` or `i-bp1…`.
_MAX_RESOURCE_IDS = 100
_RESOURCE_ID_RE = re.compile(r"[a-z]{1,8}-[a-z0-9]{1,40}")
# Account names (shared.config.ACCOUNT_NAME_RE): 1-20 of these, about 5.2 bits a character packed.
_ACCOUNT_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-_"
_ACCOUNT_NAME_MAX = 20


class QueryCodecError(ValueError):
    """The only error decoding raises; encoding raises it for a query too large for a button."""


@dataclass(frozen=True)
class TaskRef:
    """What a per-task button carries: the task, and the query of the list it was shown in."""

    region: str
    task_id: str
    query: TaskQuery
    # The account the task is in, one of `query.accounts`; None (with no accounts): the function's own.
    account: str | None = None


@dataclass(frozen=True)
class UnwatchRef:
    """What an Unwatch button carries (`shared.updates.cards.unwatch_value`): a watched task, by account."""

    account: str
    region: str
    task_id: str


def decode_unwatch_ref(value: str) -> UnwatchRef:
    """`region/task` (the function's own account, from before accounts) or `account/region/task`; the
    guard checks each part's form."""
    # Channel updates' cards are loaded by an Unwatch click only (off the query path).
    from shared.ecs.accounts import HOME_ACCOUNT_NAME
    from shared.updates.cards import VALUE_SEPARATOR

    parts = value.split(VALUE_SEPARATOR)
    if len(parts) == 2:
        parts.insert(0, HOME_ACCOUNT_NAME)
    if len(parts) != 3 or not all(parts):
        raise QueryCodecError("not an unwatch button value")
    account, region, task_id = parts
    return UnwatchRef(account, region, task_id)


def encode_query(q: TaskQuery) -> str:
    """A button value for `q`, at most BUTTON_VALUE_LIMIT characters for every query the grammar makes
    without accounts; with accounts, QueryCodecError when they do not fit beside the rest."""
    if q.accounts:
        packer = _Packer()
        _put_query(packer, q)
        _put_accounts(packer, q.accounts)
        return _checked(QUERY_PREFIX_V2 + packer.text())
    try:
        words = to_words(q)
        if len(words) <= BUTTON_VALUE_LIMIT and not words.startswith(QUERY_PREFIX) and _from_words(words) == q:
            return words
    except (QueryCodecError, OverflowError):  # not expressible in words (e.g. a naive or extreme time)
        pass
    packer = _Packer()
    _put_query(packer, q)
    return _checked(QUERY_PREFIX + packer.text())


def decode_query(
    value: str, *, known_regions: frozenset[str] = KNOWN_REGIONS, now: datetime | None = None
) -> TaskQuery:
    """The query `encode_query` wrote; raises QueryCodecError (a ValueError) for anything else.

    Every field gets the bounds a typed command gets (`check_bounds`): regions in region-id form and among
    `known_regions` (pass the allowed regions when ECS_TASKS_REGIONS is set), task ids, page, times.
    """
    if not isinstance(value, str) or len(value) > BUTTON_VALUE_LIMIT:
        raise QueryCodecError("not a button value")
    now = _utc_now() if now is None else now
    if value.startswith(QUERY_PREFIX_V2):
        unpacker = _Unpacker.of(value[len(QUERY_PREFIX_V2) :])
        query = unpacker.finish(_guarded(lambda: _take_accounts(unpacker, _take_query(unpacker))))
        if not query.accounts:  # version 2 is written only for a query with accounts
            raise QueryCodecError("not a canonical value")
        return check_bounds(query, known_regions=known_regions, now=now)
    if not value.startswith(QUERY_PREFIX):
        if not value.isascii():  # `to_words` writes ASCII only; NFKC would read `page ²` as `page 2`
            raise QueryCodecError("not a button value")
        return check_bounds(_from_words(value, known_regions, now), known_regions=known_regions, now=now)
    unpacker = _Unpacker.of(value[len(QUERY_PREFIX) :])
    query = unpacker.finish(_guarded(lambda: _take_query(unpacker)))
    return check_bounds(query, known_regions=known_regions, now=now)


def encode_task_ref(region: str, task_id: str, query: TaskQuery, account: str | None = None) -> str:
    """A per-task button value; `account` (one of `query.accounts`, given exactly when there are any) is
    the account the task is in."""
    if (account is None) != (not query.accounts) or (account is not None and account not in query.accounts):
        raise QueryCodecError("a task's account must be one of its query's accounts")
    packer = _Packer()
    _put_query(packer, query)
    if account is not None:
        _put_accounts(packer, query.accounts)
    _put_region(packer, region)
    # A task listed by id costs its index only: that keeps refs inside the limit for 100-id queries.
    ids = query.task_ids
    packer.put(ids.index(task_id) + 1 if task_id in ids else 0, len(ids) + 1)
    if task_id not in ids:
        _put_task_id(packer, task_id)
    if account is None:
        return _checked(TASK_REF_PREFIX + packer.text())
    packer.put(query.accounts.index(account), len(query.accounts))
    return _checked(TASK_REF_PREFIX_V2 + packer.text())


def decode_task_ref(
    value: str, *, known_regions: frozenset[str] = KNOWN_REGIONS, now: datetime | None = None
) -> TaskRef:
    """The task and query `encode_task_ref` wrote, within the same bounds as `decode_query`."""
    if not isinstance(value, str) or len(value) > BUTTON_VALUE_LIMIT:
        raise QueryCodecError("not a task button value")
    version2 = value.startswith(TASK_REF_PREFIX_V2)
    if not version2 and not value.startswith(TASK_REF_PREFIX):
        raise QueryCodecError("not a task button value")
    unpacker = _Unpacker.of(value[len(TASK_REF_PREFIX_V2 if version2 else TASK_REF_PREFIX) :])

    def take() -> TaskRef:
        query = _take_query(unpacker)
        if version2:
            query = _take_accounts(unpacker, query)
            if not query.accounts:
                raise QueryCodecError("not a canonical value")
        region = _take_region(unpacker)
        index = unpacker.take(len(query.task_ids) + 1)
        task_id = query.task_ids[index - 1] if index else _take_task_id(unpacker)
        account = query.accounts[unpacker.take(len(query.accounts))] if version2 else None
        return TaskRef(region, task_id, query, account)

    ref = unpacker.finish(_guarded(take))
    now = _utc_now() if now is None else now
    check_bounds(ref.query, known_regions=known_regions, now=now)
    if not _region_ok(ref.region, known_regions):
        raise QueryCodecError("not an accepted region")
    if not TASK_ID_RE.fullmatch(ref.task_id):
        raise QueryCodecError("not a task id")
    return ref


def check_bounds(q: TaskQuery, *, known_regions: frozenset[str] = KNOWN_REGIONS, now: datetime) -> TaskQuery:
    """`q` when every field is within what a typed command can ask for; QueryCodecError otherwise.

    The message names the field, never its value: a decoded value may be hostile.
    """
    regions_ok = q.regions == (ALL_REGIONS,) or (
        0 < len(q.regions) <= len(known_regions) and all(_region_ok(region, known_regions) for region in q.regions)
    )
    if not regions_ok:
        raise QueryCodecError("regions out of bounds")
    if len(q.task_ids) > MAX_TASK_IDS or not all(TASK_ID_RE.fullmatch(task_id) for task_id in q.task_ids):
        raise QueryCodecError("task ids out of bounds")
    if not 1 <= q.page <= MAX_PAGE or not 1 <= q.page_size <= MAX_PAGE_SIZE:
        raise QueryCodecError("page out of bounds")
    if len(q.resource_ids) > _MAX_RESOURCE_IDS or not all(_RESOURCE_ID_RE.fullmatch(r) for r in q.resource_ids):
        raise QueryCodecError("resource ids out of bounds")
    accounts_ok = len(q.accounts) <= MAX_QUERY_ACCOUNTS and len(set(q.accounts)) == len(q.accounts)
    if not accounts_ok or not all(ACCOUNT_NAME_RE.fullmatch(name) for name in q.accounts):
        raise QueryCodecError("accounts out of bounds")
    latest = latest_time(now)
    for moment in (q.start_time, q.end_time):
        if moment is not None and (moment.tzinfo is None or not EARLIEST_TIME <= moment <= latest):
            raise QueryCodecError("time out of bounds")
    if q.start_time is not None and q.end_time is not None and q.start_time > q.end_time:
        raise QueryCodecError("start after end")
    return q


def _region_ok(region: str, known_regions: frozenset[str]) -> bool:
    return is_region_id(region) and region in known_regions


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _from_words(words: str, known_regions: frozenset[str] = KNOWN_REGIONS, now: datetime | None = None) -> TaskQuery:
    now = _utc_now() if now is None else now
    clocks = (now, now + _LATER)
    commands = [parse(words, default_region=None, now=clock, known_regions=known_regions) for clock in clocks]
    first = commands[0]
    if isinstance(first, UsageError):
        raise QueryCodecError(first.message)
    if not isinstance(first, QueryCommand) or commands[1] != first:
        raise QueryCodecError("not an absolute query")
    return first.query


def _checked(value: str) -> str:
    if len(value) > BUTTON_VALUE_LIMIT:
        raise QueryCodecError(f"query needs {len(value)} characters; a button value holds {BUTTON_VALUE_LIMIT}")
    return value


def _guarded(take: Callable[[], _T]) -> _T:
    try:
        return take()
    except QueryCodecError:
        raise
    except (ValueError, OverflowError) as error:  # e.g. bytes that are not UTF-8
        raise QueryCodecError(f"malformed value: {error}") from None


# -- fields --------------------------------------------------------------------------------------


def _put_query(packer: _Packer, q: TaskQuery) -> None:
    _check_runnable(q)
    packer.count(len(q.regions))
    for region in q.regions:
        _put_region(packer, region)
    packer.code(q.status.value if q.status else None, _STATUSES_V1, _ENUM_RADIX)
    packer.code(q.action.value if q.action else None, _ACTIONS_V1, _ENUM_RADIX)
    packer.count(len(q.task_ids))
    for task_id in q.task_ids:
        _put_task_id(packer, task_id)
    _put_moment(packer, q.start_time)
    _put_moment(packer, q.end_time)
    packer.integer(q.page)
    packer.integer(q.page_size)
    packer.put(int(q.public), 2)
    packer.count(len(q.resource_ids))
    for resource_id in q.resource_ids:
        packer.string(resource_id)


def _take_query(unpacker: _Unpacker) -> TaskQuery:
    regions = tuple(_take_region(unpacker) for _ in range(unpacker.count()))
    status = unpacker.code(_STATUSES_V1, _ENUM_RADIX)
    action = unpacker.code(_ACTIONS_V1, _ENUM_RADIX)
    task_ids = tuple(_take_task_id(unpacker) for _ in range(unpacker.count()))
    start, end = _take_moment(unpacker), _take_moment(unpacker)
    page, page_size, public = unpacker.integer(), unpacker.integer(), bool(unpacker.take(2))
    resource_ids = tuple(unpacker.string() for _ in range(unpacker.count()))
    return _check_runnable(
        TaskQuery(
            regions=regions,
            status=TaskStatus(status) if status else None,
            action=TaskAction(action) if action else None,
            task_ids=task_ids,
            start_time=start,
            end_time=end,
            page=page,
            page_size=page_size,
            public=public,
            resource_ids=resource_ids,
        )
    )


def _check_runnable(q: TaskQuery) -> TaskQuery:
    """Both ways, so that garbage which happens to unpack still fails, and encode never writes it."""
    if not q.regions or q.page < 1 or not 1 <= q.page_size <= MAX_PAGE_SIZE:
        raise QueryCodecError(f"not a runnable query: {q!r}")
    return q


def _put_accounts(packer: _Packer, accounts: tuple[str, ...]) -> None:
    if not 0 < len(accounts) <= MAX_QUERY_ACCOUNTS:
        raise QueryCodecError(f"a button carries 1 to {MAX_QUERY_ACCOUNTS} accounts")
    packer.put(len(accounts), MAX_QUERY_ACCOUNTS + 1)
    for name in accounts:
        if not ACCOUNT_NAME_RE.fullmatch(name):
            raise QueryCodecError("not an account name")
        packer.put(len(name), _ACCOUNT_NAME_MAX + 1)
        for char in name:
            packer.put(_ACCOUNT_CHARS.index(char), len(_ACCOUNT_CHARS))


def _take_accounts(unpacker: _Unpacker, query: TaskQuery) -> TaskQuery:
    names = []
    for _ in range(unpacker.take(MAX_QUERY_ACCOUNTS + 1)):
        length = unpacker.take(_ACCOUNT_NAME_MAX + 1)
        names.append("".join(_ACCOUNT_CHARS[unpacker.take(len(_ACCOUNT_CHARS))] for _ in range(length)))
    return dataclasses.replace(query, accounts=tuple(names))


def _put_region(packer: _Packer, region: str) -> None:
    packer.code(region, _REGIONS_V1, _REGION_RADIX)
    if region not in _REGIONS_V1:
        packer.string(region)


def _take_region(unpacker: _Unpacker) -> str:
    return unpacker.code(_REGIONS_V1, _REGION_RADIX) or unpacker.string()


def _put_task_id(packer: _Packer, task_id: str) -> None:
    if not _ID_RE.fullmatch(task_id):
        packer.put(0, _ID_RADIX)
        packer.string(task_id)
        return
    suffix = task_id[2:]
    packer.put(1 + _ID_OFFSETS[len(suffix) - 1] + int(suffix, 36), _ID_RADIX)


def _take_task_id(unpacker: _Unpacker) -> str:
    number = unpacker.take(_ID_RADIX)
    if not number:
        return unpacker.string()
    number -= 1
    length = max(n for n in range(1, _ID_SUFFIX_MAX + 1) if _ID_OFFSETS[n - 1] <= number)
    number -= _ID_OFFSETS[length - 1]
    digits = []
    for _ in range(length):
        number, digit = divmod(number, 36)
        digits.append(_BASE36[digit])
    return "t-" + "".join(reversed(digits))


def _put_moment(packer: _Packer, moment: datetime | None) -> None:
    if moment is None:
        packer.put(_NO_TIME, 3)
        return
    aware = moment.tzinfo is not None
    since_epoch = moment - (_EPOCH_AWARE if aware else _EPOCH_NAIVE)
    seconds = since_epoch.days * 86400 + since_epoch.seconds
    if not 0 <= seconds < _SECONDS_RADIX:
        raise QueryCodecError(f"time out of range: {moment!r}")
    packer.put(_AWARE if aware else _NAIVE, 3)
    packer.put(seconds, _SECONDS_RADIX)
    packer.put(since_epoch.microseconds, _MICROS_RADIX)


def _take_moment(unpacker: _Unpacker) -> datetime | None:
    kind = unpacker.take(3)
    if kind == _NO_TIME:
        return None
    offset = timedelta(seconds=unpacker.take(_SECONDS_RADIX), microseconds=unpacker.take(_MICROS_RADIX))
    return (_EPOCH_AWARE if kind == _AWARE else _EPOCH_NAIVE) + offset


# -- the mixed-radix integer -------------------------------------------------------------------


class _Packer:
    def __init__(self) -> None:
        self._digits: list[tuple[int, int]] = []

    def put(self, value: int, radix: int) -> None:
        if not 0 <= value < radix:
            raise QueryCodecError(f"{value} does not fit radix {radix}")
        self._digits.append((value, radix))

    def count(self, n: int) -> None:
        if n > _MAX_ITEMS:
            raise QueryCodecError(f"{n} items are more than a button can hold")
        self.integer(n)

    def integer(self, n: int) -> None:
        """An int of up to 62 bits, zigzagged to a natural, in 7-bit groups with a continuation bit."""
        if not -(2**62) <= n < 2**62:
            raise QueryCodecError(f"{n} is too large")
        n = 2 * n if n >= 0 else -2 * n - 1
        while True:
            n, low = divmod(n, 128)
            self.put(low + (128 if n else 0), 256)
            if not n:
                return

    def string(self, text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        self.count(len(data))
        for byte in data:
            self.put(byte, 256)

    def code(self, value: str | None, table: tuple[str, ...], radix: int) -> None:
        self.put(table.index(value) + 1 if value in table else 0, radix)

    def text(self) -> str:
        number = 0
        for value, radix in reversed(self._digits):  # the first digit put is the least significant
            number = number * radix + value
        chars = (number.bit_length() + 5) // 6
        return "".join(_ALPHABET[(number >> (6 * i)) & 63] for i in reversed(range(chars)))


class _Unpacker:
    def __init__(self, number: int) -> None:
        self._number = number

    @classmethod
    def of(cls, text: str) -> _Unpacker:
        if text[:1] == _ALPHABET[0]:  # a leading zero digit: never written, so not ours
            raise QueryCodecError("not a canonical value")
        number = 0
        for char in text:
            if char not in _ALPHABET_INDEX:
                raise QueryCodecError(f"unexpected character {char!r}")
            number = (number << 6) | _ALPHABET_INDEX[char]
        return cls(number)

    def take(self, radix: int) -> int:
        self._number, value = divmod(self._number, radix)
        return value

    def count(self) -> int:
        n = self.integer()
        if not 0 <= n <= _MAX_ITEMS:
            raise QueryCodecError(f"bad count {n}")
        return n

    def integer(self) -> int:
        n, shift = 0, 0
        while True:
            group = self.take(256)
            n |= (group & 127) << shift
            shift += 7
            if not group & 128:
                return n // 2 if n % 2 == 0 else -(n + 1) // 2
            if shift > 64:
                raise QueryCodecError("number too long")

    def string(self) -> str:
        return bytes(self.take(256) for _ in range(self.count())).decode("utf-8", "surrogatepass")

    def code(self, table: tuple[str, ...], radix: int) -> str | None:
        value = self.take(radix)
        if value > len(table):
            raise QueryCodecError(f"unknown code {value}")
        return table[value - 1] if value else None

    def finish(self, result: _T) -> _T:
        if self._number:
            raise QueryCodecError("trailing data")
        return result
