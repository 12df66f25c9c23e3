"""The ECS client over real loopback HTTP against the emulator: both signature versions, every action,
paging and batching, several regions, and every injected fault (retried or reported, within the deadline)."""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
import responses

from emulators.ecs import EcsEmulator
from shared.ecs.client import EcsClient
from shared.ecs.credentials import Credentials, StaticCredentialsProvider
from shared.ecs.query import TaskAction, TaskQuery, TaskStatus
from shared.ecs.retry import RetryPolicy
from shared.ecs.transport import ApiAdapter, ApiTransport
from shared.errors import CODE_CONNECTION, CODE_MALFORMED, CODE_TIMEOUT, EcsApiError
from shared.region_ids import InvalidRegionError
from tests.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET, LISTINGS, fixed_task


class Sleeps:
    """An injected sleep that records and does not wait, so retry tests are fast and exact."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_client(
    ecs: EcsEmulator,
    *,
    version: str = "v3",
    secret: str = ACCESS_KEY_SECRET,
    token: str | None = None,
    sleep: Sleeps | None = None,
    timeout: float | tuple[float, float] = (1.0, 2.0),
    attempts: int = 4,
) -> EcsClient:
    credentials = StaticCredentialsProvider(Credentials(ACCESS_KEY_ID, secret, token))
    transport = ApiTransport(credentials, endpoint=ecs.base_url, signature_version=version)  # type: ignore[arg-type]
    return EcsClient(
        transport,
        retry=RetryPolicy(max_attempts=attempts, base_delay_s=0.01, max_delay_s=0.05),
        timeout=timeout,
        sleep=sleep or Sleeps(),
        rand=lambda: 0.5,
    )


def seed_imports(ecs: EcsEmulator, now: datetime, count: int, *, region: str = "cn-hangzhou") -> list[str]:
    ids = []
    for i in range(count):
        task_id = f"t-{region.replace('-', '')[:6]}{i:04d}"
        created = now - timedelta(minutes=count - i)
        status = "Failed" if i % 3 == 0 else "Finished"
        ecs.add_task(**fixed_task(task_id, region=region, status=status, created=created, finished=created))
        ids.append(task_id)
    return ids


@pytest.mark.parametrize("version", ["v1", "v3"])
def test_describe_tasks_filters_with_either_signature(ecs: EcsEmulator, now: datetime, version: str) -> None:
    # Given failed and finished imports and one export
    seed_imports(ecs, now, 9)
    ecs.add_task(**fixed_task("t-exp1", action="ExportImage", status="Failed", created=now))
    client = make_client(ecs, version=version)
    # When asking for failed imports
    page = client.describe_tasks("cn-hangzhou", status=TaskStatus.FAILED, action=TaskAction.IMPORT_IMAGE)
    # Then only those come back, each tagged with its region, with the emulator's RequestId
    assert page.total_count == 3
    assert {t.task_id for t in page.tasks} == {"t-cnhang0000", "t-cnhang0003", "t-cnhang0006"}
    assert all(t.status is TaskStatus.FAILED and t.region_id == "cn-hangzhou" for t in page.tasks)
    assert page.request_id
    assert ecs.calls[-1].signature_version == version


def test_iter_tasks_walks_every_page(ecs: EcsEmulator, now: datetime) -> None:
    seed_imports(ecs, now, 230)
    client = make_client(ecs)
    tasks = list(client.iter_tasks("cn-hangzhou"))
    assert len(tasks) == 230 and len({t.task_id for t in tasks}) == 230
    assert [c.params.get("PageNumber") for c in ecs.calls] == ["1", "2", "3"]


def test_more_than_100_task_ids_are_batched(ecs: EcsEmulator, now: datetime) -> None:
    ids = seed_imports(ecs, now, 250)
    client = make_client(ecs)
    found = list(client.iter_tasks("cn-hangzhou", task_ids=ids))
    assert {t.task_id for t in found} == set(ids)
    batches = [c.params["TaskIds"].split(",") for c in ecs.calls]
    assert [len(b) for b in batches] == [100, 100, 50]
    with pytest.raises(ValueError, match="at most 100"):
        client.describe_tasks("cn-hangzhou", task_ids=ids)


def test_describe_task_attribute_and_cancel(ecs: EcsEmulator, now: datetime) -> None:
    ecs.add_task(
        TaskId="t-running",
        RegionId="cn-hangzhou",
        TaskAction="ImportImage",
        created_ago_s=60,
        waiting_s=0,
        processing_s=600,
        outcome="Finished",
    )
    client = make_client(ecs)
    attribute = client.describe_task_attribute("cn-hangzhou", "t-running")
    assert attribute.status is TaskStatus.PROCESSING and attribute.support_cancel
    assert attribute.progress_percent is not None and 0 < attribute.progress_percent < 100
    result = client.cancel_task("cn-hangzhou", "t-running")
    assert result.request_id
    after = client.describe_task_attribute("cn-hangzhou", "t-running")
    assert after.support_cancel is False and after.status is not TaskStatus.PROCESSING
    # Cancelling again is a clear, non-retried refusal keyed on Code.
    with pytest.raises(EcsApiError) as refused:
        client.cancel_task("cn-hangzhou", "t-running")
    assert refused.value.code == "InvalidTaskId.IncorrectTaskStatus" and refused.value.request_id


def test_unknown_task_is_not_retried(ecs: EcsEmulator) -> None:
    sleeps = Sleeps()
    client = make_client(ecs, sleep=sleeps)
    with pytest.raises(EcsApiError) as error:
        client.describe_task_attribute("cn-hangzhou", "t-missing")
    assert error.value.code == "InvalidTaskId.NotFound"
    assert len(ecs.calls) == 1 and sleeps.calls == []


def test_wrong_secret_is_a_signature_error_not_retried(ecs: EcsEmulator) -> None:
    client = make_client(ecs, secret="not-the-secret")
    with pytest.raises(EcsApiError) as error:
        client.describe_tasks("cn-hangzhou")
    assert error.value.code == "SignatureDoesNotMatch" and len(ecs.calls) == 1
    assert "not-the-secret" not in str(error.value)


def test_describe_regions_and_all_regions_query(ecs: EcsEmulator, now: datetime) -> None:
    seed_imports(ecs, now, 2, region="cn-shanghai")
    seed_imports(ecs, now, 1, region="ap-southeast-1")
    client = make_client(ecs)
    regions = client.describe_regions()
    assert "cn-hangzhou" in {r.region_id for r in regions.regions}
    result = client.query(TaskQuery(regions=("all",), page_size=50))
    by_region = {r.region_id: r for r in result.regions}
    assert len(by_region) == len(regions.regions)
    assert len(by_region["cn-shanghai"].page.tasks) == 2  # type: ignore[union-attr]
    assert len(result.tasks) == 3 and result.errors == ()


def test_a_failing_region_is_reported_beside_the_others(ecs: EcsEmulator, now: datetime) -> None:
    seed_imports(ecs, now, 2)
    client = make_client(ecs)
    result = client.query(TaskQuery(regions=("cn-hangzhou", "xx-nowhere-9")))
    assert len(result.tasks) == 2
    (failed,) = result.errors
    assert failed.region_id == "xx-nowhere-9" and failed.error is not None
    assert failed.error.code == "InvalidRegionId.NotFound"


@pytest.mark.parametrize("ecs", LISTINGS, indirect=True)
def test_a_status_the_api_cannot_list_is_said_honestly_without_ids(ecs: EcsEmulator, now: datetime) -> None:
    # Given finished and failed imports and one Paused task
    seed_imports(ecs, now, 3)
    ecs.add_task(**fixed_task("t-paused", status="Paused", created=now))
    client = make_client(ecs)
    # When Paused tasks are asked for with no ids
    result = client.query(TaskQuery(regions=("cn-hangzhou",), status=TaskStatus.PAUSED))
    # Then the filter is not sent (ECS ignores it); strict ECS lists none, a lenient one lists the task
    assert "TaskStatus" not in ecs.calls[-1].params
    expected = ["t-paused"] if ecs.service.listing == "lenient" else []
    assert [t.task_id for t in result.tasks] == expected


@pytest.mark.parametrize("ecs", LISTINGS, indirect=True)
@pytest.mark.parametrize("all_pages", [False, True])
def test_tasks_named_by_id_are_found_whatever_their_status(ecs: EcsEmulator, now: datetime, all_pages: bool) -> None:
    # Given a Waiting, a Paused, a Deleted (cancelled) and a Finished task, and an id no task has
    ecs.add_task(TaskId="t-wait", RegionId="cn-hangzhou", TaskAction="ImportImage", created_ago_s=5, waiting_s=600)
    ecs.add_task(**fixed_task("t-pause", status="Paused", created=now - timedelta(minutes=2)))
    ecs.add_task(TaskId="t-gone", RegionId="cn-hangzhou", TaskAction="ExportImage", created_ago_s=60, waiting_s=600)
    ecs.add_task(**fixed_task("t-done", created=now - timedelta(minutes=3), finished=now))
    client = make_client(ecs)
    client.cancel_task("cn-hangzhou", "t-gone")
    ids = ("t-wait", "t-pause", "t-gone", "t-done", "t-nosuch")
    ask = client.query_all_pages if all_pages else client.query

    # When they are asked for by id, with no status and with each status DescribeTasks cannot list
    def found(status: TaskStatus | None) -> list[tuple[str, str]]:
        result = ask(TaskQuery(regions=("cn-hangzhou",), task_ids=ids, status=status))
        assert result.errors == ()
        return [(t.task_id, t.task_status) for t in result.tasks]

    # Then each is found (by DescribeTaskAttribute where DescribeTasks did not list it), newest first
    assert found(None) == [("t-wait", "Waiting"), ("t-gone", "Deleted"), ("t-pause", "Paused"), ("t-done", "Finished")]
    assert found(TaskStatus.WAITING) == [("t-wait", "Waiting")]
    assert found(TaskStatus.PAUSED) == [("t-pause", "Paused")]
    assert found(TaskStatus.DELETED) == [("t-gone", "Deleted")]
    looked_up = {c.params["TaskId"] for c in ecs.calls if c.action == "DescribeTaskAttribute"}
    assert "t-nosuch" in looked_up and "t-done" not in looked_up


def test_a_page_of_tasks_found_by_id_pages_like_describe_tasks(ecs: EcsEmulator, now: datetime) -> None:
    # Given three Waiting tasks, named by id, two to a page
    for n in range(3):
        ecs.add_task(
            TaskId=f"t-w{n}", RegionId="cn-hangzhou", TaskAction="ImportImage", created_ago_s=120 * n, waiting_s=999
        )
    client = make_client(ecs)
    query = TaskQuery(regions=("cn-hangzhou",), task_ids=("t-w0", "t-w1", "t-w2"), page_size=2)
    # When the first and second pages are asked for
    first = client.query(query).regions[0].page
    second = client.query(dataclasses.replace(query, page=2)).regions[0].page
    # Then they split the three tasks, with the paging fields the card reads
    assert first is not None and second is not None
    assert [t.task_id for t in first.tasks] == ["t-w0", "t-w1"]
    assert [t.task_id for t in second.tasks] == ["t-w2"]
    assert (first.total_count, first.page_size, second.page_number) == (3, 2, 2)


# --- faults -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"throttle_rate": 1.0}, "Throttling"),
        ({"error_5xx_rate": 1.0}, "ServiceUnavailable|InternalError"),
        ({"malformed_rate": 1.0}, CODE_MALFORMED),
        ({"drop_rate": 1.0}, CODE_CONNECTION),
    ],
)
def test_persistent_faults_are_retried_a_bounded_number_of_times(
    ecs: EcsEmulator, fault: dict[str, float], code: str
) -> None:
    ecs.faults.update(fault)
    sleeps = Sleeps()
    client = make_client(ecs, sleep=sleeps, attempts=4)
    with pytest.raises(EcsApiError) as error:
        client.describe_tasks("cn-hangzhou")
    assert any(error.value.code.startswith(c) for c in code.split("|")), error.value.code
    assert len(ecs.calls) == 4 and len(sleeps.calls) == 3
    # Backoff grows (full jitter at a fixed random fraction): 0.005, 0.01, 0.02
    assert sleeps.calls == sorted(sleeps.calls) and sleeps.calls[0] < sleeps.calls[-1]


def test_intermittent_faults_are_ridden_out(ecs: EcsEmulator, now: datetime) -> None:
    seed_imports(ecs, now, 5)
    ecs.faults.update({"throttle_rate": 0.2, "error_5xx_rate": 0.2, "drop_rate": 0.1, "seed": 7})
    client = make_client(ecs, attempts=8)
    for _ in range(20):
        assert client.describe_tasks("cn-hangzhou").total_count == 5
    assert any(c.error_code for c in ecs.calls), "the faults were injected"


def test_slow_api_times_out_and_the_deadline_bounds_everything(ecs: EcsEmulator) -> None:
    ecs.faults.update({"latency_s": 1.5})
    client = make_client(ecs, timeout=(0.5, 0.3), attempts=10, sleep=Sleeps())
    started = time.monotonic()
    with pytest.raises(EcsApiError) as error:
        client.describe_tasks("cn-hangzhou", deadline=client.deadline(1.0))
    elapsed = time.monotonic() - started
    assert error.value.code in (CODE_TIMEOUT, "Client.DeadlineExceeded")
    assert elapsed < 1.6, f"the 1 s deadline was overrun: {elapsed:.2f}s"


def test_cancel_is_not_retried_after_a_timeout(ecs: EcsEmulator, now: datetime) -> None:
    ecs.add_task(
        TaskId="t-slow",
        RegionId="cn-hangzhou",
        TaskAction="ExportImage",
        created_ago_s=5,
        waiting_s=0,
        processing_s=3600,
        outcome="Finished",
    )
    ecs.faults.update({"latency_s": 0.6})
    client = make_client(ecs, timeout=(0.5, 0.2))
    with pytest.raises(EcsApiError) as error:
        client.cancel_task("cn-hangzhou", "t-slow")
    assert error.value.code == CODE_TIMEOUT
    assert len([c for c in ecs.calls if c.action == "CancelTask"]) == 1


@pytest.mark.parametrize("version", ["v1", "v3"])
def test_retry_after_is_read_in_milliseconds_and_the_query_succeeds(
    ecs: EcsEmulator, now: datetime, version: str
) -> None:
    # Given a task, and ECS throttling the next request with x-acs-retry-after: 1500 (milliseconds, as the
    # official SDK reads it: get_throttling_time_left, then sleep(ms / 1000))
    ecs.add_task(**fixed_task("t-after1", created=now))
    ecs.faults.update({"throttle_next": 1, "throttle_retry_after_ms": 1500})
    sleeps = Sleeps()
    client = make_client(ecs, version=version, sleep=sleeps)
    # When the tasks are asked for
    page = client.describe_tasks("cn-hangzhou", deadline=client.deadline(10))
    # Then the client waited 1.5 s once (not 1500 s, which would have meant giving up) and the retry succeeded
    assert sleeps.calls == [1.5]
    assert [t.task_id for t in page.tasks] == ["t-after1"]
    assert [(c.error_code, c.signature_version) for c in ecs.calls] == [("Throttling.User", version), (None, version)]


def test_retry_after_in_real_time_waits_about_the_milliseconds_asked(ecs: EcsEmulator, now: datetime) -> None:
    # Given ECS throttling once with x-acs-retry-after: 300, and a client that really sleeps
    ecs.add_task(**fixed_task("t-after2", created=now))
    ecs.faults.update({"throttle_next": 1, "throttle_retry_after_ms": 300})
    credentials = StaticCredentialsProvider(Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET))
    client = EcsClient(ApiTransport(credentials, endpoint=ecs.base_url), rand=lambda: 0.0)
    # When the tasks are asked for
    started = time.monotonic()
    page = client.describe_tasks("cn-hangzhou", deadline=client.deadline(10))
    # Then the second attempt went out no sooner than 0.3 s after the first, and it succeeded
    assert time.monotonic() - started >= 0.3
    first, second = ecs.calls
    assert (second.at - first.at).total_seconds() >= 0.29
    assert [t.task_id for t in page.tasks] == ["t-after2"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [("1500", 1.5), ("200", 0.2), ("600000", 120.0), ("0", None), ("-5", None), ("soon", None), ("1.5", None)],
)
def test_retry_after_header_values_read_as_the_sdk_reads_them(header: str, expected: float | None) -> None:
    # Given the official SDK's reading of the header (milliseconds, positive integers only) capped at 120 s
    from alibabacloud_tea_openapi.utils import Utils

    sdk_ms = Utils.get_throttling_time_left({"x-acs-retry-after": header})
    sdk_seconds = None if sdk_ms is None else min(sdk_ms, 120_000) / 1000
    # When our transport reads the same header from a throttled answer
    with responses.RequestsMock() as mocked:
        mocked.post(
            "http://ecs.test/",
            json={"Code": "Throttling.User", "Message": "denied", "RequestId": "R1"},
            status=400,
            headers={"x-acs-retry-after": header},
        )
        credentials = StaticCredentialsProvider(Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET))
        with pytest.raises(EcsApiError) as raised:
            ApiTransport(credentials, endpoint="http://ecs.test").call("DescribeRegions", "cn-hangzhou", {}, timeout=1)
    # Then both agree, in seconds
    assert raised.value.retry_after_s == sdk_seconds == expected


def test_throttling_with_no_time_left_gives_up_at_once(ecs: EcsEmulator) -> None:
    ecs.faults.update({"throttle_rate": 1.0})
    sleeps = Sleeps()
    client = make_client(ecs, sleep=sleeps, attempts=5)
    client_deadline = client.deadline(0.004)
    with pytest.raises(EcsApiError):
        client.describe_tasks("cn-hangzhou", deadline=client_deadline)
    assert sum(sleeps.calls) < 0.004


def test_sts_credentials_send_the_security_token(now: datetime) -> None:
    with EcsEmulator(
        seed=[], credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}, sts_tokens={ACCESS_KEY_ID: "sts-token-1"}
    ) as ecs:
        for version in ("v1", "v3"):
            assert make_client(ecs, version=version, token="sts-token-1").describe_tasks("cn-hangzhou").request_id
            with pytest.raises(EcsApiError):
                make_client(ecs, version=version, token=None).describe_tasks("cn-hangzhou")


@pytest.mark.parametrize("version", ["v1", "v3"])
def test_a_signature_error_never_carries_the_string_to_sign_or_a_token(version: str) -> None:
    # Given STS credentials with a wrong secret: the service's message quotes its string to sign,
    # which (V1) holds the security token
    token = "sts-token-that-must-stay-secret"
    with EcsEmulator(seed=[], credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}, sts_tokens={ACCESS_KEY_ID: token}) as ecs:
        client = make_client(ecs, version=version, secret="wrong-secret-42", token=token)
        # When the call fails
        with pytest.raises(EcsApiError) as error:
            client.describe_tasks("cn-hangzhou")
    # Then the error keeps its code and RequestId but none of the signed material
    assert error.value.code == "SignatureDoesNotMatch" and error.value.request_id
    text = str(error.value)
    assert token not in text and "wrong-secret-42" not in text and ACCESS_KEY_ID not in text
    assert "withheld" in text


def test_cancel_is_not_retried_when_the_connection_drops_after_sending(ecs: EcsEmulator) -> None:
    # Given an API that closes the connection without answering: the cancel may have happened
    ecs.add_task(
        TaskId="t-drop",
        RegionId="cn-hangzhou",
        TaskAction="ImportImage",
        created_ago_s=5,
        waiting_s=0,
        processing_s=3600,
        outcome="Finished",
    )
    ecs.faults.update({"drop_rate": 1.0})
    client = make_client(ecs, attempts=4)
    with pytest.raises(EcsApiError) as error:
        client.cancel_task("cn-hangzhou", "t-drop")
    # Then the client does not send it again (a second cancel would fail and mislead the user)
    assert error.value.code == CODE_CONNECTION
    assert len([c for c in ecs.calls if c.action == "CancelTask"]) == 1


def test_a_refused_connection_is_known_to_have_sent_nothing() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    credentials = StaticCredentialsProvider(Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET))
    sleeps = Sleeps()
    client = EcsClient(ApiTransport(credentials, endpoint=f"http://127.0.0.1:{port}"), sleep=sleeps, rand=lambda: 0.5)
    with pytest.raises(EcsApiError) as error:
        client.cancel_task("cn-hangzhou", "t-x", deadline=client.deadline(30))
    # Nothing reached the service, so even a cancel is safely retried
    assert error.value.code == "Client.ConnectFailed" and error.value.rejected_before_acting
    assert len(sleeps.calls) == 3


class RawAnswer:
    """A loopback server that reads one request and answers with exactly `head` and `body`, then closes the
    connection, or with `stall` keeps it open, sending nothing more, until the test ends: what a broken proxy
    or a dropped connection does to an answer."""

    def __init__(self, head: bytes, body: bytes, stall: bool = False) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._answer, self._stall = head + b"\r\n" + body, stall
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RawAnswer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(self._answer)
            if self._stall:
                self._done.wait(timeout=10)


def _head(*headers: str) -> bytes:
    return "".join(f"{line}\r\n" for line in ("HTTP/1.1 200 OK", "Content-Type: application/json", *headers)).encode()


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ((_head("Content-Length: 500"), b'{"RequestId": "cut-', False), CODE_CONNECTION),
        ((_head("Content-Length: 500"), b'{"RequestId": "slow-', True), CODE_TIMEOUT),
        ((_head("Content-Length: 10", "Content-Encoding: gzip"), b"not gzip!!", False), CODE_MALFORMED),
    ],
    ids=["cut-off", "stalled", "undecodable"],
)
def test_an_answer_whose_body_breaks_is_an_api_error_naming_how(answer: tuple[bytes, bytes, bool], code: str) -> None:
    # Given a server whose answer's body is cut off, stalls past the read timeout, or does not decompress
    credentials = StaticCredentialsProvider(Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET))
    with RawAnswer(*answer) as server:
        transport = ApiTransport(credentials, endpoint=server.url)
        # When one attempt reads it
        with pytest.raises(EcsApiError) as error:
            transport.call("DescribeTasks", "cn-hangzhou", {"RegionId": "cn-hangzhou"}, timeout=(1.0, 0.3))
    # Then it is the transport's own error, with the code its retry rule reads
    assert error.value.code == code


@pytest.mark.parametrize("region", ["x@127.0.0.1:9/#", "cn-hangzhou.evil.example", "CN-HANGZHOU", "", "cn-hangzhou/"])
def test_the_transport_never_builds_an_endpoint_from_anything_but_a_region_id(region: str) -> None:
    # Given a transport with no fixed endpoint, and a session that records what would be sent
    sent: list[str] = []

    class Recording(requests.adapters.HTTPAdapter):
        def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
            sent.append(str(request.url))
            raise AssertionError("nothing may be sent")

    session = requests.Session()
    session.mount("https://", Recording())
    session.mount("http://", Recording())
    credentials = StaticCredentialsProvider(Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET, "sts-token"))
    transport = ApiTransport(credentials, session=session)
    # When a call names a region that is not in region-id form
    with pytest.raises(InvalidRegionError):
        transport.call("DescribeTasks", region, {"RegionId": region}, timeout=1)
    # Then no URL was built from it and nothing was sent
    assert sent == []
    with pytest.raises(InvalidRegionError):
        transport.base_url(region)


def test_a_fixed_endpoint_is_used_as_is(ecs: EcsEmulator, now: datetime) -> None:
    # Given ECS_ENDPOINT fixed (here the emulator's URL, which is not a regional host name)
    ecs.add_task(**fixed_task("t-fixed1", created=now))
    client = make_client(ecs)
    # Then calls go there, and the regional form is still checked to be a region id
    assert [t.task_id for t in client.describe_tasks("cn-hangzhou").tasks] == ["t-fixed1"]
    credentials = StaticCredentialsProvider(Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET))
    assert ApiTransport(credentials, endpoint=ecs.base_url + "/").base_url("cn-hangzhou") == ecs.base_url
    assert ApiTransport(credentials).base_url("ap-southeast-1") == "https://ecs.ap-southeast-1.aliyuncs.com"


class RecordingAdapter(requests.adapters.HTTPAdapter):
    """A real adapter (the transport sends through its session's) that also keeps each request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        return super().send(request, *args, **kwargs)


@pytest.mark.parametrize(("version", "accept"), [("v3", "application/json"), ("v1", None)])
def test_v3_requests_accept_json_as_the_official_sdk_sends_them(
    ecs: EcsEmulator, version: str, accept: str | None
) -> None:
    # Given a transport over a session with a recording adapter
    recording = RecordingAdapter()
    session = requests.Session()
    session.mount("http://", recording)
    credentials = StaticCredentialsProvider(Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET))
    transport = ApiTransport(credentials, endpoint=ecs.base_url, signature_version=version, session=session)  # type: ignore[arg-type]
    # When one call is made
    EcsClient(transport).describe_regions()
    # Then a V3 request says Accept: application/json (V1 asks with Format=JSON instead), and it verified
    (sent,) = recording.sent
    assert sent.headers.get("Accept") == accept if accept else "Format=JSON" in str(sent.url)
    assert ecs.calls[-1].http_status == 200


def test_the_api_adapter_answers_as_requests_own_adapter_does(ecs: EcsEmulator, now: datetime) -> None:
    # Given two transports to the same ECS, one over requests' own adapter, one over the process's (ApiAdapter)
    ecs.add_task(**fixed_task("t-adapter1", created=now))
    credentials = StaticCredentialsProvider(Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET))
    answers = []
    for adapter in (requests.adapters.HTTPAdapter(), ApiAdapter()):
        session = requests.Session()
        session.mount("http://", adapter)
        transport = ApiTransport(credentials, endpoint=ecs.base_url, session=session)
        # When each makes the same call
        answers.append(transport.call("DescribeTasks", "cn-hangzhou", {"RegionId": "cn-hangzhou"}, timeout=5))
    # Then both read the same answer: the status, the RequestId and the tasks
    plain, ours = answers
    assert (ours.http_status, ours.body["TaskSet"]) == (plain.http_status, plain.body["TaskSet"])
    assert ours.request_id and plain.request_id and ours.request_id != plain.request_id
    assert [c.http_status for c in ecs.calls[-2:]] == [200, 200]


def test_the_api_adapter_sends_the_whole_url_to_a_proxy_and_the_path_otherwise() -> None:
    # Given a prepared request to an http endpoint
    request = requests.Request("POST", "http://ecs.example.test:8080/?Action=DescribeTasks&PageSize=10").prepare()
    adapter, parent = ApiAdapter(), requests.adapters.HTTPAdapter()
    for proxies in ({}, None, {"http": "http://proxy.example.test:3128"}, {"https": "http://p.example.test:1"}):
        # When the adapter works out the URL to send
        # Then it is what requests' own adapter sends: the full URL through an http proxy, else the path
        assert adapter.request_url(request, proxies) == parent.request_url(request, proxies)
    assert adapter.request_url(request, {}) == "/?Action=DescribeTasks&PageSize=10"


def _pool_key(pool: object) -> tuple[object, ...]:
    names = ("scheme", "host", "port", "cert_reqs", "ca_certs", "ca_cert_dir")
    return tuple(getattr(pool, name, None) for name in names)


@pytest.mark.parametrize(
    "url",
    [
        "http://ecs.example.test:8080/?Action=DescribeTasks",
        "https://ecs.cn-hangzhou.aliyuncs.com/?Action=DescribeTasks&PageSize=10",
        "https://fc.example.test/2023-03-30/functions/f/invocations",
        "http://[::1]:9000/",
    ],
)
@pytest.mark.parametrize("verify", [True, False, "/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs"])
def test_the_api_adapter_picks_the_pool_requests_own_adapter_picks(
    url: str, verify: bool | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a prepared request, and a count of the file-system checks of the CA setting
    request = requests.Request("POST", url).prepare()
    adapter, parent = ApiAdapter(), requests.adapters.HTTPAdapter()
    checks: list[str] = []
    real_isdir = os.path.isdir

    def counted_isdir(path: str) -> bool:
        checks.append(path)
        return real_isdir(path)

    monkeypatch.setattr(os.path, "isdir", counted_isdir)
    # When each adapter picks a connection pool for it, ours three times
    theirs = parent.get_connection_with_tls_context(request, verify)
    checks.clear()
    ours = [adapter.get_connection_with_tls_context(request, verify) for _ in range(3)]
    # Then ours is keyed as requests' own (origin and TLS settings), is the same pool each time, and looked at
    # the CA setting at most once
    assert [_pool_key(pool) for pool in ours] == [_pool_key(theirs)] * 3
    assert ours[0] is ours[1] is ours[2]
    assert len(checks) <= 1


def test_the_api_adapter_leaves_a_proxied_request_to_requests() -> None:
    # Given a request to an http endpoint and an http proxy
    request = requests.Request("POST", "http://ecs.example.test:8080/?Action=DescribeTasks").prepare()
    proxies = {"http": "http://proxy.example.test:3128"}
    # When ours and requests' own adapter pick a pool for it
    ours = ApiAdapter().get_connection_with_tls_context(request, True, proxies)
    theirs = requests.adapters.HTTPAdapter().get_connection_with_tls_context(request, True, proxies)
    # Then both go through the proxy
    ours_proxy, their_proxy = getattr(ours, "proxy", None), getattr(theirs, "proxy", None)
    assert ours_proxy is not None and their_proxy is not None
    assert (ours.host, ours.port, ours_proxy.host) == (theirs.host, theirs.port, their_proxy.host)
    assert ours_proxy.host == "proxy.example.test"


def test_paging_follows_the_answers_page_size_and_total_count(now: datetime) -> None:
    # Given an ECS whose answers hold at most 7 tasks whatever PageSize asks, and 20 matching tasks
    capped = EcsEmulator(seed=[], credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}, page_size_cap=7, listing="strict")
    with capped:
        ids = seed_imports(capped, now, 20)
        # When every task is asked for (iter_tasks asks for pages of 100)
        found = [t.task_id for t in make_client(capped).iter_tasks("cn-hangzhou")]
        pages = [c.params["PageNumber"] for c in capped.calls]
    # Then it walked the three pages the answers describe, and found every task once
    assert sorted(found) == sorted(ids) and len(found) == 20
    assert pages == ["1", "2", "3"]
