"""The vocabulary of the `/ecs-tasks` grammar: keywords, aliases and limits, in one place."""

from __future__ import annotations

import re

from shared.ecs.query import ALL_REGIONS, TaskAction, TaskStatus

SLASH_COMMAND = "/ecs-tasks"
DEFAULT_REGION_ENV = "ECS_TASKS_DEFAULT_REGION"

# Real ids are `t-` plus about 20 characters; this bound keeps 100 of them inside one Slack button value.
MAX_TASK_ID_LENGTH = 24
MAX_PAGE = 10_000

HELP_WORDS = frozenset({"help", "?", "-h", "--help", "-help"})  # `-help`: `—help`, after dashes become `-`
WATCH, UNWATCH, SUBSCRIBE, UNSUBSCRIBE, LIST = "watch", "unwatch", "subscribe", "unsubscribe", "list"
CHANNEL_COMMANDS = (WATCH, UNWATCH, SUBSCRIBE, UNSUBSCRIBE, LIST)
ACCOUNTS = "accounts"  # `/ecs-tasks accounts`: the channel's accounts
# Admins' commands (ECS_TASKS_ADMIN_USER_IDS): the deployment's checks, and the channel's bindings.
DOCTOR, BIND, UNBIND, BINDINGS = "doctor", "bind", "unbind", "bindings"
ADMIN_COMMANDS = (DOCTOR, BIND, UNBIND, BINDINGS)
COMMAND_WORDS = (*CHANNEL_COMMANDS, ACCOUNTS, *ADMIN_COMMANDS)  # words that start a command of their own
ALL = ALL_REGIONS
SINCE, FROM, TO, UNTIL, PAGE, PUBLIC = "since", "from", "to", "until", "page", "public"
START_WORDS = frozenset({SINCE, FROM})
END_WORDS = frozenset({TO, UNTIL})

# Keys are lowercase with `-` and `_` removed (see `alias_key`), so `import-image`, `IMPORT_IMAGE` and
# `ImportImage` all find `importimage`. No key may appear in both tables.
STATUS_ALIASES: dict[str, TaskStatus] = {
    **dict.fromkeys(("failed", "fail", "failure", "error"), TaskStatus.FAILED),
    **dict.fromkeys(("finished", "done", "success", "succeeded", "complete", "completed"), TaskStatus.FINISHED),
    **dict.fromkeys(("processing", "running", "inprogress"), TaskStatus.PROCESSING),
    **dict.fromkeys(("waiting", "pending", "queued"), TaskStatus.WAITING),
    **dict.fromkeys(("deleted", "cancelled", "canceled"), TaskStatus.DELETED),
    "paused": TaskStatus.PAUSED,
}
ACTION_ALIASES: dict[str, TaskAction] = {
    **dict.fromkeys(("import", "importimage"), TaskAction.IMPORT_IMAGE),
    **dict.fromkeys(("export", "exportimage"), TaskAction.EXPORT_IMAGE),
    **dict.fromkeys(("redeploy", "redeployinstance"), TaskAction.REDEPLOY_INSTANCE),
    # No `resize`: ModifyDiskSpec changes a disk's performance level, not its size.
    **dict.fromkeys(("modify", "modifydisk", "modifydiskspec", "diskspec"), TaskAction.MODIFY_DISK_SPEC),
    **dict.fromkeys(("archive", "archivesnapshot"), TaskAction.ARCHIVE_SNAPSHOT),
}

TASK_ID_RE = re.compile(rf"t-[a-z0-9]{{1,{MAX_TASK_ID_LENGTH - 2}}}")
TASK_ID_PREFIX = "t-"
# What a region id looks like (`cn-hangzhou`, `ap-southeast-1`, `cn-wuhan-lr`): an unknown one is a typo.
REGION_LIKE_RE = re.compile(r"[a-z]{2}-[a-z]+(?:-[a-z0-9]+)*")
NUMBER_RE = re.compile(r"[0-9]{1,6}")


def alias_key(word: str) -> str:
    return word.lower().replace("-", "").replace("_", "")


def status_word(status: TaskStatus) -> str:
    """The canonical word for a status, as `to_words` writes it."""
    return status.value.lower()


def action_word(action: TaskAction) -> str:
    return action.value.lower()


def grammar_word_in(name: str) -> str | None:
    """What `name` already means in the grammar (a command, keyword, status, action or region-like word),
    or None. An account may not be named so: the grammar would read the word as that, never as the account."""
    low = name.lower()
    if low in HELP_WORDS or low in COMMAND_WORDS:
        return "a command"
    if low in (ALL, SINCE, FROM, TO, UNTIL, PAGE, PUBLIC):
        return "a keyword"
    if alias_key(low) in STATUS_ALIASES:
        return "a task status"
    if alias_key(low) in ACTION_ALIASES:
        return "a task action"
    if REGION_LIKE_RE.fullmatch(low) or TASK_ID_RE.fullmatch(low):
        return "shaped like a region id" if REGION_LIKE_RE.fullmatch(low) else "shaped like a task id"
    return None
