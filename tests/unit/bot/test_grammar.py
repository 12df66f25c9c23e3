"""The `/ecs-tasks` grammar: aliases, errors and their messages, channel commands, and properties."""

from __future__ import annotations

import re
import string
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.language.grammar import (
    AccountsCommand,
    BindCommand,
    BindingsCommand,
    Command,
    DoctorCommand,
    HelpCommand,
    ListCommand,
    QueryCommand,
    SubscribeCommand,
    UnbindCommand,
    UnsubscribeCommand,
    UnwatchCommand,
    UsageError,
    WatchCommand,
    describe_query,
    parse,
    to_words,
    usage_text,
)
from bot.language.regions import KNOWN_REGIONS
from shared.ecs.query import ALL_REGIONS, TaskAction, TaskQuery, TaskStatus

COMMAND_TYPES = (
    QueryCommand,
    HelpCommand,
    WatchCommand,
    UnwatchCommand,
    SubscribeCommand,
    UnsubscribeCommand,
    ListCommand,
    AccountsCommand,
    DoctorCommand,
    BindCommand,
    UnbindCommand,
    BindingsCommand,
    UsageError,
)
NOW = datetime(2026, 11, 5, 12, 30, 45, 123456, tzinfo=timezone.utc)
UTC = timezone.utc
HZ = "cn-hangzhou"


def run(text: str, default_region: str | None = HZ) -> Command:
    return parse(text, default_region=default_region, now=NOW)


def query(text: str, default_region: str | None = HZ) -> TaskQuery:
    command = run(text, default_region)
    assert isinstance(command, QueryCommand), command
    return command.query


def error(text: str, default_region: str | None = HZ) -> UsageError:
    command = run(text, default_region)
    assert isinstance(command, UsageError), command
    assert command.message.endswith((".", "?"))
    return command


# -- aliases ------------------------------------------------------------------------------------

STATUS_CASES = [
    *[(w, TaskStatus.FAILED) for w in ("failed", "fail", "failure", "error", "FAILED", "Error")],
    *[
        (w, TaskStatus.FINISHED)
        for w in ("finished", "done", "success", "succeeded", "complete", "completed", "Finished")
    ],
    *[(w, TaskStatus.PROCESSING) for w in ("processing", "running", "inprogress", "in-progress", "IN_PROGRESS")],
    *[(w, TaskStatus.WAITING) for w in ("waiting", "pending", "queued")],
    *[(w, TaskStatus.DELETED) for w in ("deleted", "cancelled", "canceled")],
    ("paused", TaskStatus.PAUSED),
]


@pytest.mark.parametrize(("word", "status"), STATUS_CASES)
def test_every_status_alias_sets_the_status(word: str, status: TaskStatus) -> None:
    assert query(f"{HZ} {word}").status is status
    assert query(f"{word} {HZ}").status is status  # order does not matter


ACTION_CASES = [
    *[
        (w, TaskAction.IMPORT_IMAGE)
        for w in ("import", "importimage", "import_image", "import-image", "IMPORT_IMAGE", "ImportImage")
    ],
    *[
        (w, TaskAction.EXPORT_IMAGE)
        for w in ("export", "exportimage", "export_image", "export-image", "EXPORT_IMAGE", "ExportImage")
    ],
    *[
        (w, TaskAction.REDEPLOY_INSTANCE)
        for w in ("redeploy", "redeployinstance", "redeploy_instance", "REDEPLOY_INSTANCE", "RedeployInstance")
    ],
    *[
        (w, TaskAction.MODIFY_DISK_SPEC)
        for w in ("modifydiskspec", "modify_disk_spec", "MODIFY_DISK_SPEC", "ModifyDiskSpec", "modify", "diskspec")
    ],
    *[
        (w, TaskAction.ARCHIVE_SNAPSHOT)
        for w in ("archive", "archivesnapshot", "archive_snapshot", "ARCHIVE_SNAPSHOT", "ArchiveSnapshot")
    ],
]


@pytest.mark.parametrize(("word", "action"), ACTION_CASES)
def test_every_action_alias_sets_the_action(word: str, action: TaskAction) -> None:
    assert query(f"{word} {HZ}").action is action


def test_resize_is_not_an_alias_because_modifydiskspec_does_not_resize() -> None:
    assert error(f"{HZ} resize").token == "resize"


SPEC_REGIONS = [
    "cn-qingdao",
    "cn-beijing",
    "cn-zhangjiakou",
    "cn-huhehaote",
    "cn-wulanchabu",
    "cn-hangzhou",
    "cn-shanghai",
    "cn-nanjing",
    "cn-fuzhou",
    "cn-shenzhen",
    "cn-heyuan",
    "cn-guangzhou",
    "cn-chengdu",
    "cn-hongkong",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "us-east-1",
    "us-west-1",
    "eu-west-1",
    "eu-central-1",
    "me-east-1",
    "me-central-1",
    "na-south-1",
]


@pytest.mark.parametrize("region", SPEC_REGIONS)
def test_every_public_region_is_known_and_parses(region: str) -> None:
    assert region in KNOWN_REGIONS
    assert query(region.upper(), default_region=None).regions == (region,)


@pytest.mark.parametrize(
    ("text", "regions"),
    [
        ("cn-hangzhou,cn-shanghai", ("cn-hangzhou", "cn-shanghai")),
        ("cn-shanghai, cn-hangzhou", ("cn-shanghai", "cn-hangzhou")),
        ("cn-shanghai ,cn-hangzhou failed us-east-1", ("cn-shanghai", "cn-hangzhou", "us-east-1")),
        ("cn-shanghai cn-shanghai", ("cn-shanghai",)),
        ("all", (ALL_REGIONS,)),
        ("ALL failed", (ALL_REGIONS,)),
        ("`cn-beijing`", ("cn-beijing",)),  # pasted from the usage text
        ("failed", (HZ,)),
    ],
)
def test_region_lists_keep_the_order_typed_without_repeats(text: str, regions: tuple[str, ...]) -> None:
    assert query(text).regions == regions


def test_known_regions_can_be_widened_by_the_caller() -> None:
    command = parse("ap-southeast-9", default_region=None, now=NOW, known_regions=frozenset({"ap-southeast-9"}))
    assert command == QueryCommand(TaskQuery(regions=("ap-southeast-9",)))


# -- task ids, times, page, public --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("t-1,t-2", ("t-1", "t-2")),
        ("t-1, t-2 t-3 ,t-4", ("t-1", "t-2", "t-3", "t-4")),
        ("T-BP1ABC t-bp1abc", ("t-bp1abc",)),
        ("t-bp1hvgwromzv32iqab0cd", ("t-bp1hvgwromzv32iqab0cd",)),
    ],
)
def test_task_ids_are_lowercased_deduplicated_and_comma_or_space_separated(text: str, ids: tuple[str, ...]) -> None:
    assert query(text).task_ids == ids


def test_a_hundred_task_ids_are_accepted_and_the_hundred_and_first_is_named() -> None:
    ids = [f"t-{n:04d}" for n in range(101)]
    assert len(query(" ".join(ids[:100] + ids[:5])).task_ids) == 100  # repeats are not counted
    failure = error(",".join(ids))
    assert failure.token == "t-0100"
    assert "100" in failure.message and "100" in failure.expected


@pytest.mark.parametrize("word", ["t-abc!", "t-" + "a" * 23, "t-", "t-ab_c"])
def test_malformed_task_ids_are_usage_errors(word: str) -> None:
    failure = error(f"{HZ} {word}")
    assert failure.token == word
    assert "task id" in failure.expected and word in failure.message


@pytest.mark.parametrize(
    ("words", "ago"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("1w", timedelta(weeks=1)),
        ("2 hours", timedelta(hours=2)),
        ("1 day", timedelta(days=1)),
        ("1h30m", timedelta(minutes=90)),
        ("45MIN", timedelta(minutes=45)),
    ],
)
def test_since_counts_back_from_now_to_the_second(words: str, ago: timedelta) -> None:
    q = query(f"since {words} failed")
    assert q.start_time == (NOW - ago).replace(microsecond=0)
    assert q.end_time is None and q.status is TaskStatus.FAILED


@pytest.mark.parametrize(
    ("words", "start", "end"),
    [
        ("from 2026-11-01", datetime(2026, 11, 1, tzinfo=UTC), None),
        ("from 2026-11-01T10:00", datetime(2026, 11, 1, 10, tzinfo=UTC), None),
        ("from 2026-11-01T10:00:00Z", datetime(2026, 11, 1, 10, tzinfo=UTC), None),
        ("from 2026-11-01 10:00", datetime(2026, 11, 1, 10, tzinfo=UTC), None),
        ("from 2026-11-01T18:00+08:00", datetime(2026, 11, 1, 10, tzinfo=UTC), None),
        ("from 2026-11-01T10:00:00.5Z", datetime(2026, 11, 1, 10, 0, 0, 500000, tzinfo=UTC), None),
        (
            "from 2026-11-01 to 2026-11-01",
            datetime(2026, 11, 1, tzinfo=UTC),
            datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC),
        ),
        (
            "to 2026-11-02T08:00 from 2026-11-01",
            datetime(2026, 11, 1, tzinfo=UTC),
            datetime(2026, 11, 2, 8, tzinfo=UTC),
        ),
        ("until 2026-11-02T08:00", None, datetime(2026, 11, 2, 8, tzinfo=UTC)),
    ],
)
def test_from_and_to_take_utc_times(words: str, start: datetime | None, end: datetime | None) -> None:
    q = query(words)
    assert (q.start_time, q.end_time) == (start, end)


@pytest.mark.parametrize(
    ("text", "token", "expected_part"),
    [
        ("since", "since", "duration"),
        ("since soon", "soon", "duration"),
        ("since 0m", "0m", "duration"),
        ("since 9999w", "9999w", "duration"),
        ("since 2", "2", "duration"),
        ("from", "from", "time"),
        ("from yesterday", "yesterday", "time"),
        ("from 2026-02-30", "2026-02-30", "time"),
        ("from 2026-11-01T25:00", "2026-11-01T25:00", "time"),
        ("to 2026-11-01T10:00+25:00", "2026-11-01T10:00+25:00", "time"),
        ("page", "page", "page number"),
        ("page 0", "0", "page number"),
        ("page two", "two", "page number"),
        ("page 10001", "10001", "page number"),
    ],
)
def test_bad_time_and_page_arguments_are_named(text: str, token: str, expected_part: str) -> None:
    failure = error(text)
    assert failure.token == token
    assert expected_part in failure.expected
    assert f"`{token}`" in failure.message and failure.expected in failure.message


def test_a_misspelt_unit_suggests_the_unit() -> None:
    failure = error("since 2hors")
    assert (failure.token, failure.suggestion) == ("2hors", "hours")
    assert "hors" in failure.message and "Did you mean `hours`?" in failure.message


def test_from_after_to_is_a_usage_error_naming_both() -> None:
    failure = error("from 2026-11-02 to 2026-11-01")
    assert "2026-11-02" in failure.message and "2026-11-01" in failure.message
    assert failure.token == "to 2026-11-01"


@pytest.mark.parametrize(
    ("text", "first", "second"),
    [
        ("failed finished", "failed", "finished"),
        ("import export", "import", "export"),
        ("page 2 page 3", "page 2", "page 3"),
        ("since 2h from 2026-11-01", "since 2h", "from 2026-11-01"),
        ("to 2026-11-01 until 2026-11-02", "to 2026-11-01", "until 2026-11-02"),
    ],
)
def test_two_different_values_for_one_field_are_named_both(text: str, first: str, second: str) -> None:
    failure = error(text)
    assert f"`{first}`" in failure.message and f"`{second}`" in failure.message
    assert failure.token == second


def test_saying_the_same_thing_twice_is_fine() -> None:
    assert query("failed fail page 2 page 2 public public") == TaskQuery(
        regions=(HZ,), status=TaskStatus.FAILED, page=2, public=True
    )


def test_a_full_query_in_any_order() -> None:
    q = query("PUBLIC page 3 t-abc since 2h Import cn-shanghai,cn-beijing failed", default_region=None)
    assert q == TaskQuery(
        regions=("cn-shanghai", "cn-beijing"),
        status=TaskStatus.FAILED,
        action=TaskAction.IMPORT_IMAGE,
        task_ids=("t-abc",),
        start_time=datetime(2026, 11, 5, 10, 30, 45, tzinfo=UTC),
        page=3,
        public=True,
    )


# -- errors and suggestions ----------------------------------------------------------------------


def test_no_region_and_no_default_explains_the_setting_with_an_example() -> None:
    for text in ("failed", "failed since 2h"):
        failure = error(text, default_region=None)
        assert failure.token is None
        assert "No region" in failure.message
        assert "ECS_TASKS_DEFAULT_REGION" in failure.message
        assert "`/ecs-tasks cn-hangzhou" in failure.message


@pytest.mark.parametrize(
    ("word", "suggestion", "expected_part"),
    [
        ("cn-hangzou", "cn-hangzhou", "region"),
        ("ap-southeast-11", "ap-southeast-1", "region"),
        ("faild", "failed", "status"),
        ("imprt", "import", "action"),
        ("finishd", "finished", "status"),
        ("pubic", "public", "public"),
        ("hangzou", "cn-hangzhou", "region"),
        ("2h", "since 2h", "since"),
        ("2026-11-01", "from 2026-11-01", "from"),
        ("3", "page 3", "page"),
    ],
)
def test_unknown_words_are_named_with_what_was_expected_and_the_closest_word(
    word: str, suggestion: str, expected_part: str
) -> None:
    failure = error(f"{HZ} {word}")
    assert failure.token == word
    assert failure.suggestion == suggestion
    assert expected_part in failure.expected
    assert f"`{word}`" in failure.message
    assert failure.expected in failure.message
    assert f"Did you mean `{suggestion}`?" in failure.message


def test_gibberish_gets_no_suggestion_and_long_words_are_shortened_in_the_message() -> None:
    failure = error("qqqqq")
    assert failure.suggestion is None and "Did you mean" not in failure.message
    long_word = "x" * 500 + "`y"
    failure = error(long_word)
    assert failure.token == long_word and len(failure.message) < 700 and long_word not in failure.message


def test_a_misspelt_command_word_first_suggests_the_command() -> None:
    assert error("wach t-1").suggestion == "watch"


@pytest.mark.parametrize("word", ["watch", "unwatch", "subscribe", "unsubscribe", "list"])
def test_channel_command_words_must_come_first(word: str) -> None:
    failure = error(f"failed {word}")
    assert failure.token == word and "first" in failure.message


@pytest.mark.parametrize("text", ["help", "?", "-h", "--help", "—help", "HELP", "failed help", "watch help"])
def test_help_words_ask_for_help_anywhere(text: str) -> None:
    assert run(text) == HelpCommand()


# -- channel commands ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("watch t-1 t-2", WatchCommand(HZ, ("t-1", "t-2"))),
        ("WATCH cn-beijing t-1,t-2", WatchCommand("cn-beijing", ("t-1", "t-2"))),
        ("watch t-1 cn-beijing", WatchCommand("cn-beijing", ("t-1",))),
        ("unwatch t-1", UnwatchCommand(None, ("t-1",))),
        ("unwatch cn-beijing t-1, t-2", UnwatchCommand("cn-beijing", ("t-1", "t-2"))),
        ("subscribe cn-beijing", SubscribeCommand(("cn-beijing",))),
        ("subscribe all failed import", SubscribeCommand((ALL_REGIONS,), TaskStatus.FAILED, TaskAction.IMPORT_IMAGE)),
        ("subscribe cn-beijing,us-east-1 done", SubscribeCommand(("cn-beijing", "us-east-1"), TaskStatus.FINISHED)),
        ("unsubscribe", UnsubscribeCommand(None)),
        ("unsubscribe all", UnsubscribeCommand((ALL_REGIONS,))),
        ("unsubscribe cn-beijing", UnsubscribeCommand(("cn-beijing",))),
        ("list", ListCommand()),
    ],
)
def test_channel_commands(text: str, command: Command) -> None:
    assert run(text) == command


@pytest.mark.parametrize(
    ("text", "default_region", "token", "expected_part"),
    [
        ("watch", HZ, None, "task id"),
        ("watch cn-beijing", HZ, None, "task id"),
        ("watch all t-1", HZ, "all", "task id"),
        ("watch cn-beijing cn-shanghai t-1", HZ, "cn-shanghai", "one region"),
        ("watch failed t-1", HZ, "failed", "region"),
        ("watch t-1", None, None, "region"),
        ("unwatch", HZ, None, "task id"),
        ("subscribe", HZ, None, "region"),
        ("subscribe failed", HZ, None, "region"),
        ("subscribe cn-beijing since 2h", HZ, "since", "status"),
        ("subscribe cn-beijing t-1", HZ, "t-1", "action"),
        ("unsubscribe failed", HZ, "failed", "region"),
        ("list cn-beijing", HZ, "cn-beijing", "nothing"),
        ("subscribe all cn-beijing", HZ, "cn-beijing", "region"),
    ],
)
def test_channel_command_errors(text: str, default_region: str | None, token: str | None, expected_part: str) -> None:
    failure = error(text, default_region)
    assert failure.token == token
    assert expected_part in failure.expected and failure.expected in failure.message


def test_all_and_a_region_together_are_refused() -> None:
    failure = error("all cn-beijing")
    assert failure.token == "cn-beijing" and "`all`" in failure.message


# -- describing and writing queries back --------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "header"),
    [
        (
            TaskQuery(regions=(HZ,), status=TaskStatus.FAILED, action=TaskAction.IMPORT_IMAGE),
            "Failed ImportImage tasks in cn-hangzhou (page 1)",
        ),
        (TaskQuery(regions=(ALL_REGIONS,), page=2), "Tasks in all regions (page 2)"),
        (TaskQuery(regions=("a-1", "b-1", "c-1", "d-1")), "Tasks in 4 regions (page 1)"),
        (TaskQuery(regions=(HZ,), task_ids=("t-1",)), "Task t-1 in cn-hangzhou (page 1)"),
        (
            TaskQuery(regions=(HZ,), task_ids=tuple(f"t-{n}" for n in range(5))),
            "5 tasks by id in cn-hangzhou (page 1)",
        ),
        (
            TaskQuery(
                regions=(HZ, "cn-beijing"),
                status=TaskStatus.FINISHED,
                start_time=datetime(2026, 11, 1, 10, tzinfo=UTC),
                end_time=datetime(2026, 11, 2, 23, 59, 59, tzinfo=UTC),
            ),
            "Finished tasks in cn-hangzhou, cn-beijing from 2026-11-01 10:00 to 2026-11-02 23:59:59 UTC (page 1)",
        ),
        (
            TaskQuery(regions=(HZ,), start_time=datetime(2026, 11, 1, tzinfo=UTC)),
            "Tasks in cn-hangzhou since 2026-11-01 00:00 UTC (page 1)",
        ),
    ],
)
def test_describe_query_is_a_short_header(q: TaskQuery, header: str) -> None:
    assert describe_query(q) == header


def test_describe_query_stays_within_a_slack_header_for_the_largest_query() -> None:
    q = TaskQuery(
        regions=tuple(sorted(KNOWN_REGIONS)),
        status=TaskStatus.PROCESSING,
        action=TaskAction.REDEPLOY_INSTANCE,
        task_ids=tuple(f"t-{n:022d}" for n in range(100)),
        start_time=datetime(2026, 11, 1, 10, 0, 1, tzinfo=UTC),
        end_time=datetime(2026, 11, 2, 10, 0, 1, tzinfo=UTC),
        page=9999,
    )
    assert len(describe_query(q)) <= 150


def test_to_words_writes_absolute_canonical_words() -> None:
    q = query("since 2h failed import t-b,t-a cn-shanghai,cn-beijing page 2 public")
    assert to_words(q) == ("cn-shanghai,cn-beijing failed importimage t-b,t-a from 2026-11-05T10:30:45Z page 2 public")
    assert to_words(TaskQuery(regions=(HZ,))) == HZ


def test_usage_text_examples_all_parse_and_name_every_command() -> None:
    text = usage_text()
    examples = re.findall(r"^• `(/ecs-tasks [^`\[]*)`", text, flags=re.MULTILINE)
    assert len(examples) >= 5
    for example in examples:
        command = parse(example.removeprefix("/ecs-tasks "), default_region=HZ, now=NOW)
        assert not isinstance(command, UsageError), (example, command)
    for word in ("watch", "unwatch", "subscribe", "unsubscribe", "list", "since", "from", "page", "public"):
        assert word in text
    assert "ECS_TASKS_DEFAULT_REGION" in text
    cli = usage_text("ecs-tasks query", channel_commands=False)
    assert "`ecs-tasks query cn-hangzhou failed import since 2h`" in cli and "subscribe" not in cli


# -- properties ----------------------------------------------------------------------------------

VALID_WORDS = [
    *(w for w, _ in STATUS_CASES),
    *(w for w, _ in ACTION_CASES),
    *SPEC_REGIONS,
    *(
        [
            "all",
            "since",
            "from",
            "to",
            "until",
            "page",
            "public",
            "help",
            "?",
            "watch",
            "unwatch",
            "subscribe",
            "unsubscribe",
            "list",
        ]
    ),
    *(
        [
            "2h",
            "90s",
            "1w",
            "2",
            "hours",
            "2026-11-01",
            "2026-11-01T10:00",
            "10:00",
            "2026-11-01T10:00:00Z",
            "1",
            "100",
            "t-1",
            "t-bp1x",
        ]
    ),
]


@st.composite
def near_valid_words(draw: st.DrawFn) -> str:
    """A valid word, or a one-character typo of it (dropped or inserted)."""
    word = draw(st.sampled_from(VALID_WORDS))
    at = draw(st.integers(0, len(word)))
    edit = draw(st.sampled_from(("keep", "drop", "insert")))
    if edit == "drop":
        return word[:at] + word[at + 1 :]
    if edit == "insert":
        return word[:at] + draw(st.sampled_from("-_,x1`T ")) + word[at:]
    return word


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from([None, HZ]))
def test_parse_never_raises_on_any_text(text: str, default_region: str | None) -> None:
    assert isinstance(run(text, default_region), COMMAND_TYPES)


@settings(max_examples=250, deadline=None)
@given(st.lists(near_valid_words(), max_size=12), st.sampled_from([None, HZ]))
def test_parse_never_raises_on_valid_and_near_valid_words(words: list[str], default_region: str | None) -> None:
    command = run(" ".join(words), default_region)
    assert isinstance(command, COMMAND_TYPES)
    if isinstance(command, UsageError):
        assert command.message and command.expected


_ID_CHARS = string.ascii_lowercase + string.digits
# Within the range a query may name (2010-01-01 to a day after now), whatever the zone's offset.
_MOMENTS = st.datetimes(
    min_value=datetime(2010, 1, 2), max_value=NOW.replace(tzinfo=None), timezones=st.just(UTC)
) | st.datetimes(
    min_value=datetime(2010, 1, 2),
    max_value=NOW.replace(tzinfo=None),
    timezones=st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m))),
)


@st.composite
def grammar_queries(draw: st.DrawFn, max_ids: int = 100) -> TaskQuery:
    """Queries that parse() can produce."""
    regions = draw(
        st.just((ALL_REGIONS,))
        | st.lists(st.sampled_from(sorted(KNOWN_REGIONS)), min_size=1, max_size=len(KNOWN_REGIONS), unique=True).map(
            tuple
        )
    )
    ids = draw(st.lists(st.text(_ID_CHARS, min_size=1, max_size=22).map("t-".__add__), max_size=max_ids, unique=True))
    start, end = draw(st.none() | _MOMENTS), draw(st.none() | _MOMENTS)
    if start is not None and end is not None and start > end:
        start, end = end, start
    return TaskQuery(
        regions=regions,
        status=draw(st.none() | st.sampled_from(TaskStatus)),
        action=draw(st.none() | st.sampled_from(TaskAction)),
        task_ids=tuple(ids),
        start_time=start,
        end_time=end,
        page=draw(st.integers(1, 10_000)),
        public=draw(st.booleans()),
    )


@settings(max_examples=200, deadline=None)
@given(grammar_queries(max_ids=30))
def test_to_words_parses_back_to_an_equal_query(q: TaskQuery) -> None:
    assert parse(to_words(q), default_region=None, now=NOW) == QueryCommand(q)


def test_a_naive_now_is_taken_as_utc() -> None:
    naive = parse("since 1h", default_region=HZ, now=NOW.replace(tzinfo=None))
    assert naive == run("since 1h")


# -- what people really type -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ｃｎ－ｈａｎｇｚｈｏｕ　ＦＡＩＬＥＤ", TaskQuery(regions=(HZ,), status=TaskStatus.FAILED)),  # full-width
        ("cn‐hangzhou failed", TaskQuery(regions=(HZ,), status=TaskStatus.FAILED)),  # U+2010 hyphen
        ("cn‑hangzhou t‑abc", TaskQuery(regions=(HZ,), task_ids=("t-abc",))),  # U+2011 non-breaking hyphen
        ("cn–hangzhou import‒image", TaskQuery(regions=(HZ,), action=TaskAction.IMPORT_IMAGE)),  # en, figure dash
        ("cn—hangzhou", TaskQuery(regions=(HZ,))),  # em dash
        ("cn−shanghai", TaskQuery(regions=("cn-shanghai",))),  # minus sign
        ("cn-hang\u200bzhou fai\u200cled\u200d", TaskQuery(regions=(HZ,), status=TaskStatus.FAILED)),  # zero-width
        ("\ufeffcn-hangzhou\u2060", TaskQuery(regions=(HZ,))),
        ("cn-hangzhou，cn-shanghai、us-east-1", TaskQuery(regions=(HZ, "cn-shanghai", "us-east-1"))),
        ("ｐａｇｅ　２", TaskQuery(regions=(HZ,), page=2)),
        ("from ２０２６－１１－０１", TaskQuery(regions=(HZ,), start_time=datetime(2026, 11, 1, tzinfo=UTC))),
    ],
)
def test_full_width_forms_dashes_and_invisible_characters_are_normalised(text: str, expected: TaskQuery) -> None:
    assert query(text) == expected


@pytest.mark.parametrize(
    ("name", "region"),
    [
        ("杭州", "cn-hangzhou"),
        ("华东1", "cn-hangzhou"),
        ("华东1（杭州）", "cn-hangzhou"),
        ("华东1(杭州)", "cn-hangzhou"),
        ("华东１（杭州）", "cn-hangzhou"),
        ("Hangzhou", "cn-hangzhou"),
        ("HANGZHOU", "cn-hangzhou"),
        ("China (Hangzhou)", "cn-hangzhou"),
        ("华东2", "cn-shanghai"),
        ("上海", "cn-shanghai"),
        ("华北2（北京）", "cn-beijing"),
        ("新加坡", "ap-southeast-1"),
        ("Singapore", "ap-southeast-1"),
        ("Silicon Valley", "us-west-1"),
        ("硅谷", "us-west-1"),
        ("Hong Kong", "cn-hongkong"),
        ("中国香港", "cn-hongkong"),
        ("Kuala Lumpur", "ap-southeast-3"),
        ("东京", "ap-northeast-1"),
        ("Frankfurt", "eu-central-1"),
        ("迪拜", "me-east-1"),
        ("上海金融云", "cn-shanghai-finance-1"),
    ],
)
def test_console_region_names_are_aliases_of_the_region_id(name: str, region: str) -> None:
    # Given a region as the console names it, anywhere among other words
    assert query(f"failed {name} since 2h", default_region=None).regions == (region,)
    assert query(f"{name},me-central-1", default_region=None).regions == (region, "me-central-1")


def test_every_known_region_has_console_names_and_every_name_is_a_known_region() -> None:
    from bot.language.region_names import REGION_BY_NAME, REGION_NAMES

    assert set(REGION_NAMES) == KNOWN_REGIONS
    assert set(REGION_BY_NAME.values()) == KNOWN_REGIONS
    for region, names in REGION_NAMES.items():
        for name in filter(None, names):
            assert query(name, default_region=None).regions == (region,), name


def test_a_console_name_and_its_region_id_together_are_one_region() -> None:
    assert query("杭州 cn-hangzhou hangzhou", default_region=None).regions == (HZ,)


def test_a_console_name_of_a_region_outside_the_known_set_is_refused() -> None:
    command = parse("杭州", default_region=None, now=NOW, known_regions=frozenset({"cn-shanghai"}))
    assert isinstance(command, UsageError) and command.token == "杭州"


def test_a_misspelt_english_region_name_suggests_the_region_id() -> None:
    assert error("singapor").suggestion == "ap-southeast-1"


def test_every_unknown_word_is_reported_with_its_own_suggestion() -> None:
    # Given three words that are not understood, among good ones
    failure = error("cn-hangzou faild since 2h qqqqq imprt")
    # Then each is named in the order typed, with its own suggestion, in one readable message
    assert [p.token for p in failure.problems] == ["cn-hangzou", "faild", "qqqqq", "imprt"]
    assert [p.suggestion for p in failure.problems] == ["cn-hangzhou", "failed", None, "import"]
    lines = failure.message.splitlines()
    assert lines[0] == "4 words were not understood:"
    assert lines[1] == "• Unknown region `cn-hangzou`. Did you mean `cn-hangzhou`?"
    assert lines[2] == "• Unknown word `faild`. Did you mean `failed`?"
    assert lines[3] == "• Unknown word `qqqqq`."
    assert lines[4] == "• Unknown word `imprt`. Did you mean `import`?"
    assert lines[5].startswith("Expected ")
    assert (failure.token, failure.suggestion) == ("cn-hangzou", "cn-hangzhou")


def test_five_unknown_words_stay_readable() -> None:
    failure = error("aaaa1 bbbb2 cccc3 dddd4 eeee5")
    assert len(failure.problems) == 5 and len(failure.message.splitlines()) == 7
    assert len(failure.message) < 1000


def test_one_unknown_word_reads_as_before() -> None:
    failure = error("cn-hangzhou faild")
    assert failure.problems == ()
    assert failure.message.startswith("Unknown word `faild`.") and "\n" not in failure.message


def test_unknown_words_are_reported_beside_another_mistake() -> None:
    failure = error("faild page two")
    assert [p.token for p in failure.problems] == ["faild", "two"]


@pytest.mark.parametrize("text", ["", "   ", "\u200b", "　"])
def test_a_bare_command_asks_for_help(text: str) -> None:
    assert run(text) == HelpCommand()
    assert run(text, default_region=None) == HelpCommand()


@pytest.mark.parametrize(
    "text",
    ["from 0001-01-01", "from 2009-12-31T23:59:59Z", "to 9999-12-31", "from 2026-11-07", "since 2h to 2030-01-01"],
)
def test_a_time_ecs_cannot_take_is_refused_with_the_valid_range(text: str) -> None:
    failure = error(text)
    assert "2010-01-01" in failure.message and "2026-11-06" in failure.message
    assert "outside" in failure.message


def test_the_edges_of_the_time_range_are_accepted() -> None:
    assert query("from 2010-01-01").start_time == datetime(2010, 1, 1, tzinfo=UTC)
    assert query("to 2026-11-06T12:30:45Z").end_time == datetime(2026, 11, 6, 12, 30, 45, tzinfo=UTC)


# -- echoed text is escaped --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<@U123>", "&lt;@U123&gt;"),
        ("<https://evil.example|click>", "&lt;https://evil.example|click&gt;"),
        ("a&b", "a&amp;b"),
        ("t-<!here>", "t-&lt;!here&gt;"),
        ("cn-<!here>", "cn-&lt;!here&gt;"),
        ("page <!everyone>", "&lt;!everyone&gt;"),
        ("since <@U1>", "&lt;@U1&gt;"),
        ("watch <!channel>", "&lt;!channel&gt;"),
    ],
)
def test_typed_text_echoed_in_a_usage_error_is_escaped_for_mrkdwn(text: str, shown: str) -> None:
    failure = error(text)
    assert shown in failure.message
    assert "<" not in failure.message and ">" not in failure.message


def test_a_long_hostile_word_is_clipped_before_escaping() -> None:
    failure = error("x" * 38 + "<!channel>")
    assert "<" not in failure.message and "&lt" not in failure.message.replace("&lt;", "")


# -- regions from settings ---------------------------------------------------------------------------


@pytest.mark.parametrize("default_region", ["x@127.0.0.1:9/#", "evil.example.com", "ap-southeast-9", "cn hangzhou"])
def test_a_default_region_that_is_not_a_known_region_id_is_refused(default_region: str) -> None:
    for text in ("failed", "watch t-1"):
        failure = error(text, default_region=default_region)
        assert "ECS_TASKS_DEFAULT_REGION" in failure.message and default_region not in failure.message


def test_a_typed_word_that_is_a_host_never_becomes_a_region() -> None:
    for word in ("x@127.0.0.1:9/#", "cn-hangzhou.evil.example", "127.0.0.1", "cn-hangzhou@evil"):
        command = run(word)
        assert isinstance(command, UsageError), word


def test_the_console_names_the_usage_text_shows_parse() -> None:
    text = usage_text()
    assert "华东1（杭州）" in text
    for name in ("杭州", "华东1（杭州）", "Singapore"):
        assert name in text and not isinstance(run(name), UsageError)
