"""The error names Slack documents for each method the product calls, as data.

Sources (names only; the descriptions stay on Slack's pages):
  - Slack's OpenAPI spec, slackapi/slack-api-specs `web-api/slack_web_openapi_v2.json`, at
    `paths./<method>.<verb>.responses.default.schema.properties.error.enum`;
  - the errors table of each method's page, https://docs.slack.dev/reference/methods/<method>, which lists
    errors the spec predates (`ratelimited`, `restricted_action_*`, `is_inactive` ...), as mirrored in
    slack-ruby/slack-api-ref `methods/<group>/<method>.json` (`errors` keys, at f4837c0).
The lists below are the union of both. `response_url` is no Web API method: Slack publishes no error list for
it, so its names are the ones Slack is seen to answer (see the README's table).
"""

from __future__ import annotations

from collections.abc import Mapping

METHOD_AUTH_TEST = "auth.test"
METHOD_POST_MESSAGE = "chat.postMessage"
METHOD_POST_EPHEMERAL = "chat.postEphemeral"
METHOD_UPDATE = "chat.update"
METHOD_RESPONSE_URL = "response_url"  # the `method` recorded for posts to a response_url

# Errors the pages list for every Web API method (Slack's common errors); `internal_error` and
# `team_access_not_granted` appear in some versions of the pages only.
COMMON_ERRORS: frozenset[str] = frozenset(
    {
        "access_denied",
        "accesslimited",
        "account_inactive",
        "deprecated_endpoint",
        "ekm_access_denied",
        "enterprise_is_restricted",
        "fatal_error",
        "internal_error",
        "invalid_arg_name",
        "invalid_array_arg",
        "invalid_auth",
        "invalid_charset",
        "invalid_form_data",
        "invalid_post_type",
        "is_bot",
        "method_deprecated",
        "missing_post_type",
        "missing_scope",
        "no_permission",
        "not_allowed_token_type",
        "not_authed",
        "org_login_required",
        "ratelimited",
        "request_timeout",
        "service_unavailable",
        "team_access_not_granted",
        "team_added_to_org",
        "token_expired",
        "token_revoked",
        "two_factor_setup_required",
        "unknown_method",
    }
)

_POST_MESSAGE = frozenset(
    {
        "app_access_restricted",
        "as_user_not_supported",
        "attachment_payload_limit_exceeded",
        "cannot_reply_to_message",
        "channel_not_found",
        "draft_already_deleted",
        "draft_already_sent",
        "draft_has_conflict",
        "draft_not_found",
        "duplicate_channel_not_found",
        "duplicate_message_not_found",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "is_archived",
        "markdown_text_conflict",
        "message_limit_exceeded",
        "messages_tab_disabled",
        "metadata_must_be_sent_from_app",
        "metadata_too_large",
        "missing_file_data",
        "msg_blocks_too_long",
        "msg_too_long",
        "no_text",
        "not_in_channel",
        "rate_limited",  # the spec's older name for too many messages; HTTP 429 answers `ratelimited`
        "restricted_action",
        "restricted_action_non_threadable_channel",
        "restricted_action_read_only_channel",
        "restricted_action_thread_locked",
        "restricted_action_thread_only_channel",
        "send_on_behalf_not_allowed",
        "slack_connect_canvas_sharing_blocked",
        "slack_connect_file_link_sharing_blocked",
        "slack_connect_lists_sharing_blocked",
        "team_not_found",
        "too_many_attachments",
        "too_many_contact_cards",
    }
)

_UPDATE = frozenset(
    {
        "as_user_not_supported",
        "block_mismatch",
        "blocked_file_type",
        "cant_broadcast_message",
        "cant_update_message",
        "channel_not_found",
        "edit_window_closed",
        "external_channel_migrating",
        "file_deleted",
        "file_is_deleted",
        "file_not_found",
        "file_share_limit_reached",
        "invalid_attachments",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_json",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "is_inactive",
        "json_not_object",
        "markdown_text_conflict",
        "max_file_sharing_exceeded",
        "message_limit_exceeded",
        "message_not_found",
        "metadata_must_be_sent_from_app",
        "metadata_too_large",
        "msg_too_long",
        "no_dual_broadcast_content_update",
        "no_text",
        "posting_to_channel_denied",
        "rate_limited",
        "slack_connect_blocked_file_type",
        "slack_connect_canvas_sharing_blocked",
        "slack_connect_clip_sharing_blocked",
        "slack_connect_file_link_sharing_blocked",
        "slack_connect_file_upload_sharing_blocked",
        "streaming_state_conflict",
        "team_not_found",
        "too_many_attachments",
        "unable_to_share_files",
        "update_failed",
        "upgrade_required",
    }
)

_POST_EPHEMERAL = frozenset(
    {
        "cannot_reply_to_message",
        "channel_not_found",
        "invalid_attachments",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_json",
        "is_archived",
        "json_not_object",
        "markdown_text_conflict",
        "message_limit_exceeded",
        "messages_tab_disabled",
        "msg_too_long",
        "no_text",
        "not_in_channel",
        "restricted_action",
        "too_many_attachments",
        "upgrade_required",
        "user_not_in_channel",
    }
)

_AUTH_TEST = frozenset({"invalid_json", "json_not_object", "upgrade_required"})

# Seen from response_url posts; undocumented (see the module docstring).
_RESPONSE_URL = frozenset({"expired_url", "invalid_blocks", "invalid_payload", "no_text", "used_url"})

DOCUMENTED_ERRORS: Mapping[str, frozenset[str]] = {
    METHOD_AUTH_TEST: COMMON_ERRORS | _AUTH_TEST,
    METHOD_POST_MESSAGE: COMMON_ERRORS | _POST_MESSAGE,
    METHOD_POST_EPHEMERAL: COMMON_ERRORS | _POST_EPHEMERAL,
    METHOD_UPDATE: COMMON_ERRORS | _UPDATE,
    METHOD_RESPONSE_URL: _RESPONSE_URL,
}


def documented_errors(method: str) -> frozenset[str]:
    """The error names `method` may answer; ValueError for a method the emulator has no list for."""
    try:
        return DOCUMENTED_ERRORS[method]
    except KeyError:
        raise ValueError(f"no error list for {method!r}; known: {sorted(DOCUMENTED_ERRORS)}") from None
