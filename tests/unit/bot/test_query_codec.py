"""Slack button values for queries: readable when short, packed when long, always within 2,000 characters."""

from __future__ import annotations

import contextlib
import dataclasses
import random
import string
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.language.codecs import (
    BUTTON_VALUE_LIMIT,
    QUERY_PREFIX,
    QueryCodecError,
    TaskRef,
    UnwatchRef,
    decode_query,
    decode_task_ref,
    decode_unwatch_ref,
    encode_query,
    encode_task_ref,
)
from bot.language.grammar import to_words
from bot.language.regions import KNOWN_REGIONS
from shared.ecs.query import ALL_REGIONS, TaskAction, TaskQuery, TaskStatus
from tests.unit.bot.test_grammar import grammar_queries

UTC = timezone.utc
ID_CHARS = string.ascii_lowercase + string.digits

# Written by format version 1; must decode the same for as long as old buttons can be clicked. Written by
# the encoder before it had bounds (the format did not change); ap-southeast-9 stands for a region
# that a deployment's ECS_TASKS_REGIONS names before bot/language/regions.py knows it.
GOLDEN_REGIONS = KNOWN_REGIONS | {"ap-southeast-9"}
GOLDEN_QUERY = TaskQuery(
    regions=("cn-hangzhou", "ap-southeast-9"),
    status=TaskStatus.FAILED,
    action=TaskAction.EXPORT_IMAGE,
    task_ids=("t-bp1abc", "t-odd"),
    start_time=datetime(2026, 11, 1, 10, 0, 0, 250000, tzinfo=UTC),
    end_time=datetime(2026, 11, 2, tzinfo=UTC),
    page=3,
    page_size=50,
    public=True,
    resource_ids=("m-1",),
)
GOLDEN_QUERY_VALUE = "q1.DDOlohL89F0Ol58N0gETDEw0xy7ekVjAIAU0Nul4GOMBYgOGKKAGAH-_7XGsBUUl2kNQEJjktdHNhZWh0dW9zLXBhHAAcE"
GOLDEN_REF_VALUE = "r1.hix2ORRKXrK7bWLxnBKn1802GuOq92kBx8Dw6MMEtJYZGBICEl6dPk1-_7XGsBUUl2kNQEJjktdHNhZWh0dW9zLXBhHAAcE"
# The golden value of the first version of this test: a task id `T-Odd` and a naive end time, which no
# typed command can make. It is refused like any value outside the bounds.
OUT_OF_BOUNDS_GOLDEN_VALUE = (
    "q1.DDOlohL89F0Ol58N0gEVdy_aNiI1QOrmYiYJY0yWWiYBfHjwsD82EtsJwBYJz1Qv-g5cYiIQFuqcEJjktdHNhZWh0dW9zLXBhHAAcE"
)
# Every region known when format version 1 was frozen, each by its code, in a task button of a query that
# names them all (as posted in Slack): codes never move, so this decodes for as long as it can be clicked.
GOLDEN_ALL_KNOWN_REGIONS = (
    "cn-qingdao", "cn-beijing", "cn-zhangjiakou", "cn-huhehaote", "cn-wulanchabu", "cn-hangzhou", "cn-shanghai",
    "cn-nanjing", "cn-fuzhou", "cn-wuhan-lr", "cn-shenzhen", "cn-heyuan", "cn-guangzhou", "cn-chengdu",
    "cn-shanghai-finance-1", "cn-shenzhen-finance-1", "cn-hongkong", "ap-northeast-1", "ap-northeast-2",
    "ap-southeast-1", "ap-southeast-3", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "us-east-1",
    "us-west-1", "na-south-1", "eu-west-1", "eu-central-1", "me-east-1", "me-central-1",
)  # fmt: skip
GOLDEN_ALL_REGIONS_REF_VALUE = "r1.BNN4zsxOjvp7692jitvj0yPDoYBAaA-eOnDZoyYLlipQmSIkB44aMFihIgOGChAYI-"
# A clock after every time in these tests: decoding bounds times by it.
DECODE_NOW = datetime(2026, 12, 1, tzinfo=UTC)


def worst_case_query(seed: int) -> TaskQuery:
    """The largest query the grammar can make: every known region, 100 random ids of 24 characters."""
    rng = random.Random(seed)
    ids = tuple("t-" + "".join(rng.choice(ID_CHARS) for _ in range(22)) for _ in range(100))
    regions = sorted(KNOWN_REGIONS)
    rng.shuffle(regions)
    return TaskQuery(
        regions=tuple(regions),
        status=TaskStatus.PAUSED,
        action=TaskAction.MODIFY_DISK_SPEC,
        task_ids=ids,
        start_time=datetime(2026, 11, 29, 23, 59, 59, 999999, tzinfo=UTC),
        end_time=datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC),
        page=10_000,
        public=True,
    )


def test_a_short_query_travels_as_its_readable_words() -> None:
    q = TaskQuery(regions=("cn-hangzhou",), status=TaskStatus.FAILED, start_time=datetime(2026, 11, 1, tzinfo=UTC))
    value = encode_query(q)
    assert value == to_words(q) == "cn-hangzhou failed from 2026-11-01T00:00:00Z"
    assert decode_query(value, now=DECODE_NOW) == q


@pytest.mark.parametrize("seed", range(5))
def test_the_worst_case_query_fits_a_button_and_round_trips(seed: int) -> None:
    q = worst_case_query(seed)
    value = encode_query(q)
    assert value.startswith(QUERY_PREFIX)
    assert len(value) <= BUTTON_VALUE_LIMIT
    assert decode_query(value, now=DECODE_NOW) == q


@pytest.mark.parametrize("seed", range(5))
def test_task_refs_fit_a_button_for_the_worst_case_query(seed: int) -> None:
    q = worst_case_query(seed)
    # A listed task costs its index; a region missing from the codec's table is spelled out.
    for region, task_id in (
        ("cn-hangzhou", q.task_ids[57]),
        ("ap-southeast-9", q.task_ids[0]),
        ("cn-hangzhou", "t-" + "z" * 22),
    ):
        value = encode_task_ref(region, task_id, q)
        assert len(value) <= BUTTON_VALUE_LIMIT
        assert decode_task_ref(value, known_regions=GOLDEN_REGIONS, now=DECODE_NOW) == TaskRef(region, task_id, q)


def test_golden_values_of_format_version_1_still_decode() -> None:
    assert decode_query(GOLDEN_QUERY_VALUE, known_regions=GOLDEN_REGIONS, now=DECODE_NOW) == GOLDEN_QUERY
    ref = decode_task_ref(GOLDEN_REF_VALUE, known_regions=GOLDEN_REGIONS, now=DECODE_NOW)
    assert ref == TaskRef("cn-hangzhou", "t-bp1abc", GOLDEN_QUERY)
    assert encode_query(GOLDEN_QUERY) == GOLDEN_QUERY_VALUE


def test_the_region_codes_posted_so_far_still_decode_to_their_regions() -> None:
    # Given a task button whose query named every region known then, each by its code
    ref = decode_task_ref(GOLDEN_ALL_REGIONS_REF_VALUE, now=DECODE_NOW)
    # Then each code still means the region it meant (a region moved or removed would change them)
    assert ref == TaskRef(
        "me-central-1",
        "t-golden1",
        TaskQuery(regions=GOLDEN_ALL_KNOWN_REGIONS, status=TaskStatus.WAITING, task_ids=("t-golden1",)),
    )


@pytest.mark.parametrize("region", sorted(KNOWN_REGIONS))
def test_every_known_region_travels_as_a_code_not_spelled_out(region: str) -> None:
    # Given a task button for a known region, and one for the shortest region id no table holds
    query = TaskQuery(regions=(ALL_REGIONS,), task_ids=("t-a",))
    coded = encode_task_ref(region, "t-a", query)
    spelled_out = encode_task_ref("a-b", "t-a", query)
    # Then the known region costs a code, shorter than any name spelled out, and reads back
    assert len(coded) < len(spelled_out)
    assert decode_task_ref(coded, now=DECODE_NOW) == TaskRef(region, "t-a", query)


def test_a_region_outside_the_accepted_set_is_refused_even_in_region_id_form() -> None:
    # Given a value naming ap-southeast-9, when decoded with the default (known) regions only
    with pytest.raises(QueryCodecError):
        decode_query(GOLDEN_QUERY_VALUE, now=DECODE_NOW)
    # And when ECS_TASKS_REGIONS narrows the accepted regions to others
    with pytest.raises(QueryCodecError):
        decode_query("cn-hangzhou failed", known_regions=frozenset({"cn-shanghai"}), now=DECODE_NOW)
    assert decode_query("cn-shanghai failed", known_regions=frozenset({"cn-shanghai"}), now=DECODE_NOW)


@pytest.mark.parametrize(
    "q",
    [
        TaskQuery(regions=("cn-hangzhou",), page_size=100),
        TaskQuery(regions=("cn-hangzhou",), resource_ids=("i-bp1", "m-bp2")),
        TaskQuery(regions=("cn-hangzhou",), page=10_000),
        TaskQuery(regions=("cn-hangzhou",), start_time=datetime(2026, 11, 1, 18, tzinfo=timezone(timedelta(hours=8)))),
        TaskQuery(regions=(ALL_REGIONS,), start_time=datetime(2010, 1, 1, tzinfo=UTC)),
        TaskQuery(regions=(ALL_REGIONS,), end_time=DECODE_NOW + timedelta(days=1)),
    ],
)
def test_queries_beyond_the_grammar_words_within_its_bounds_round_trip_too(q: TaskQuery) -> None:
    assert decode_query(encode_query(q), now=DECODE_NOW) == q


HOSTILE_REGION = "x@127.0.0.1:9/#"


@pytest.mark.parametrize(
    "q",
    [
        TaskQuery(regions=(HOSTILE_REGION,)),
        TaskQuery(regions=("cn-hangzhou", HOSTILE_REGION)),
        TaskQuery(regions=("cn-hangzhou.evil.example",)),
        TaskQuery(regions=("xx-unknown-1",)),
        TaskQuery(regions=("CN-HANGZHOU",)),
        TaskQuery(regions=(ALL_REGIONS, "cn-hangzhou")),
        TaskQuery(regions=("cn-hangzhou",), task_ids=("t-UPPER",)),
        TaskQuery(regions=("cn-hangzhou",), task_ids=("t-***",)),
        TaskQuery(regions=("cn-hangzhou",), task_ids=("",)),
        TaskQuery(regions=("cn-hangzhou",), task_ids=tuple(f"t-{n}" for n in range(101))),
        TaskQuery(regions=("cn-hangzhou",), page=10_001),
        TaskQuery(regions=("cn-hangzhou",), page=123_456_789),
        TaskQuery(regions=("cn-hangzhou",), resource_ids=("m-β",)),
        TaskQuery(regions=("cn-hangzhou",), resource_ids=("x" * 200,)),
        TaskQuery(regions=("cn-hangzhou",), resource_ids=tuple(f"m-{n}" for n in range(101))),
        TaskQuery(regions=("cn-hangzhou",), start_time=datetime(2026, 11, 1, 10)),  # naive
        TaskQuery(regions=(ALL_REGIONS,), start_time=datetime(1, 1, 1, tzinfo=UTC)),
        TaskQuery(regions=(ALL_REGIONS,), end_time=datetime(9999, 12, 31, tzinfo=UTC)),
        TaskQuery(regions=(ALL_REGIONS,), end_time=DECODE_NOW + timedelta(days=1, seconds=1)),
        TaskQuery(
            regions=(ALL_REGIONS,),
            start_time=datetime(2026, 11, 2, tzinfo=UTC),
            end_time=datetime(2026, 11, 1, tzinfo=UTC),
        ),
    ],
)
def test_a_decoded_field_outside_what_a_typed_command_can_ask_is_refused(q: TaskQuery) -> None:
    # Given a button value that an edited payload could carry (the encoder writes any runnable query)
    value = encode_query(q)
    # When it is decoded, alone or inside a task button, then it is refused
    with pytest.raises(QueryCodecError):
        decode_query(value, now=DECODE_NOW)
    with pytest.raises(QueryCodecError):
        decode_task_ref(encode_task_ref("cn-hangzhou", "t-1", q), now=DECODE_NOW)


@pytest.mark.parametrize(
    ("region", "task_id"),
    [(HOSTILE_REGION, "t-1"), ("ecs.evil.example", "t-1"), ("all", "t-1"), ("cn-hangzhou", "T-1"), ("cn-hangzhou", "")],
)
def test_a_task_button_whose_task_or_region_is_out_of_bounds_is_refused(region: str, task_id: str) -> None:
    value = encode_task_ref(region, task_id, TaskQuery(regions=("cn-hangzhou",)))
    with pytest.raises(QueryCodecError):
        decode_task_ref(value, now=DECODE_NOW)


def test_the_first_golden_value_is_now_out_of_bounds() -> None:
    with pytest.raises(QueryCodecError):
        decode_query(OUT_OF_BOUNDS_GOLDEN_VALUE, known_regions=GOLDEN_REGIONS, now=DECODE_NOW)


@pytest.mark.parametrize(
    "value",
    [
        "cn-hangzhou page 10001",
        "cn-hangzhou page ²",
        "cn-hangzhou page ①",
        "cn-hangzhou from 0001-01-01",
        "cn-hangzhou to 2030-01-01",
        "x@127.0.0.1:9/#",
    ],
)
def test_words_in_a_button_get_the_typed_bounds(value: str) -> None:
    with pytest.raises(QueryCodecError):
        decode_query(value, now=DECODE_NOW)


@pytest.mark.parametrize(
    "q",
    [
        TaskQuery(regions=()),
        TaskQuery(regions=("cn-hangzhou",), page=0),
        TaskQuery(regions=("cn-hangzhou",), page_size=101),
        TaskQuery(regions=("cn-hangzhou",), resource_ids=tuple(f"d-{n:020d}" for n in range(100))),
        TaskQuery(regions=("cn-hangzhou",), page=2**70),
    ],
)
def test_encoding_refuses_unrunnable_or_oversized_queries(q: TaskQuery) -> None:
    with pytest.raises(QueryCodecError):
        encode_query(q)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "help",
        "failed",  # no region: words must be a whole query
        "cn-hangzhou since 2h",  # relative: would mean something else on every click
        "cn-hangzhuo",
        "watch cn-hangzhou t-1",
        "q1.",
        "q1.A",
        "q1.AB",  # a leading zero digit is never written
        "q1.!!",
        "q1.zzzz",
        "q1." + "z" * 1997,
        "x" * (BUTTON_VALUE_LIMIT + 1),
        GOLDEN_REF_VALUE,
        GOLDEN_QUERY_VALUE[:-1],
        GOLDEN_QUERY_VALUE + "B",
    ],
)
def test_garbage_raises_the_codec_error(value: str) -> None:
    with pytest.raises(QueryCodecError):
        decode_query(value)


@pytest.mark.parametrize("value", ["", "r1.", "r1.!", GOLDEN_QUERY_VALUE, "cn-hangzhou", GOLDEN_REF_VALUE + "B"])
def test_task_ref_garbage_raises_the_codec_error(value: str) -> None:
    with pytest.raises(QueryCodecError):
        decode_task_ref(value)


def test_the_codec_error_is_a_value_error() -> None:
    assert issubclass(QueryCodecError, ValueError)


@settings(max_examples=200, deadline=None)
@given(grammar_queries())
def test_every_grammar_query_round_trips_within_the_limit(q: TaskQuery) -> None:
    value = encode_query(q)
    assert len(value) <= BUTTON_VALUE_LIMIT
    assert decode_query(value, now=DECODE_NOW) == q
    if q.task_ids:
        ref = encode_task_ref("cn-hangzhou", q.task_ids[-1], q)
        assert len(ref) <= BUTTON_VALUE_LIMIT
        assert decode_task_ref(ref, now=DECODE_NOW) == TaskRef("cn-hangzhou", q.task_ids[-1], q)


_PACKED_CHARS = string.ascii_letters + string.digits + "-_"


@settings(max_examples=300, deadline=None)
@given(st.text() | st.text(_PACKED_CHARS).map("q1.".__add__) | st.text(_PACKED_CHARS).map("r1.".__add__))
def test_decoding_any_text_gives_a_query_or_the_codec_error(value: str) -> None:
    for decode in (decode_query, decode_task_ref):
        try:
            decoded = decode(value)
        except QueryCodecError:
            continue
        assert isinstance(decoded, TaskQuery | TaskRef)


@settings(max_examples=150, deadline=None)
@given(grammar_queries(max_ids=5), st.data())
def test_a_changed_character_never_escapes_as_another_exception(q: TaskQuery, data: st.DataObject) -> None:
    value = encode_query(q)
    at = data.draw(st.integers(0, len(value) - 1))
    tampered = value[:at] + data.draw(st.sampled_from(_PACKED_CHARS + " ,")) + value[at + 1 :]
    with contextlib.suppress(QueryCodecError):
        decode_query(tampered)


def test_accepted_regions_are_ecs_tasks_regions_when_set_else_the_known_ones() -> None:
    from bot.language.regions import accepted_regions

    narrowed = accepted_regions(frozenset({"ap-southeast-9"}))
    assert decode_query(encode_query(TaskQuery(regions=("ap-southeast-9",))), known_regions=narrowed)
    with pytest.raises(QueryCodecError):
        decode_query("cn-hangzhou", known_regions=narrowed)
    assert accepted_regions(frozenset()) == KNOWN_REGIONS


def test_an_unwatch_value_decodes_to_the_watch_it_names() -> None:
    from shared.updates.cards import unwatch_value
    from tests.unit.shared.test_update_cards import watch

    home = watch(1)
    staging = dataclasses.replace(home, account="staging")
    # A value from before accounts names the function's own account
    assert decode_unwatch_ref(unwatch_value(home)) == UnwatchRef("home", "cn-hangzhou", home.task_id)
    assert decode_unwatch_ref(unwatch_value(staging)) == UnwatchRef("staging", "cn-hangzhou", staging.task_id)
    for value in ("a/b/c/d", "/cn-hangzhou/t-1", "cn-hangzhou", ""):
        with pytest.raises(QueryCodecError):
            decode_unwatch_ref(value)
