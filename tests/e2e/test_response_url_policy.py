"""Every post to a response_url goes out under the one Slack client policy (bot.wiring.build's
SlackClientPolicy): its timeout, and no hidden re-send when Slack's answer is lost. Over real HTTP through
`functions.http.handler` (the FC stand-in) to a response_url target on loopback that takes the post and
then answers nothing; slack_sdk's own WebhookClient does the posting."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from bot.wiring import build
from emulators.fc_server import FcServer
from emulators.slack import SlackSender
from functions import http
from shared.cards.task_cards import ACTION_CANCEL

CHANNEL, USER = "C0OPS", "U0ALICE"


class SilentTarget:
    """A response_url that reads each post whole, holds the connection `hold_s`, then closes it unanswered
    (Slack took the message, its answer was lost)."""

    def __init__(self, hold_s: float) -> None:
        self.hold_s = hold_s
        self.posts: list[bytes] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.getsockname()[1]}/actions/T0/1/silent"

    def __enter__(self) -> SilentTarget:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._server.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._take, args=(conn,), daemon=True).start()

    def _take(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            while len(body) < length:
                body += conn.recv(65536)
            self.posts.append(body)
            self._stop.wait(self.hold_s)


@pytest.fixture
def short_policy(monkeypatch: pytest.MonkeyPatch) -> build.SlackClientPolicy:
    # A one-second policy keeps the test short; the product's is five seconds.
    policy = build.SlackClientPolicy(timeout_s=1)
    monkeypatch.setattr(build, "SLACK_CLIENT_POLICY", policy)
    http.reset_app()
    return policy


def refused_click(sender: SlackSender, response_url: str) -> None:
    # USER may not cancel (ECS_TASKS_CANCEL_USER_IDS is unset): the refusal goes to the response_url at once
    response = sender.block_action(
        action_id=f"{ACTION_CANCEL}:0",
        value="cn-hangzhou/t-bp1policy01",
        channel_id=CHANNEL,
        user_id=USER,
        response_url=response_url,
        is_ephemeral=True,
    )
    assert response.status_code == 200


@pytest.mark.usefixtures("short_policy")
def test_a_response_url_post_whose_answer_is_lost_is_sent_once(fc: FcServer, sender: SlackSender) -> None:
    # Given a response_url that takes the post and drops the connection without answering
    with SilentTarget(hold_s=0) as target:
        # When a click is refused (its answer goes to the response_url)
        refused_click(sender, target.url)
        time.sleep(0.3)  # a re-send, if any, reaches the target at once
        # Then the refusal was posted exactly once: nothing re-sent it behind our back
        assert len(target.posts) == 1 and b"cancel" in target.posts[0].lower()


def test_a_response_url_post_waits_no_longer_than_the_policys_timeout(
    fc: FcServer, sender: SlackSender, short_policy: build.SlackClientPolicy
) -> None:
    # Given a response_url that takes the post and then answers nothing for three seconds
    with SilentTarget(hold_s=3) as target:
        started = time.monotonic()
        # When a click is refused
        refused_click(sender, target.url)
        # Then the click was answered within the policy's timeout (and a little), not slack_sdk's 30 s default,
        # and the post was not sent again
        assert time.monotonic() - started < short_policy.timeout_s + 1.0
        assert len(target.posts) == 1


@pytest.mark.usefixtures("short_policy")
def test_the_misconfiguration_reply_is_posted_once_too(
    fc: FcServer, sender: SlackSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a malformed setting, and a response_url whose answer is lost
    monkeypatch.setenv("ECS_ENDPOINT", "ftp://ecs.example")
    http.reset_app()
    with SilentTarget(hold_s=0) as target:
        # When a click comes in
        refused_click(sender, target.url)
        time.sleep(0.3)
        # Then the misconfiguration reply was posted exactly once
        assert len(target.posts) == 1 and b"misconfigured" in target.posts[0]
