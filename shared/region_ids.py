"""What a region id may be: the one check every region passes wherever it comes from (typed text, a button
value, a stored row, a setting) before it may become part of an endpoint's host name. At the root of
`shared`, below `shared.config`, so that settings are checked by it too."""

from __future__ import annotations

import re

# Alibaba Cloud region ids: lower-case letters and digits in hyphen-separated parts (`cn-hangzhou`,
# `ap-southeast-1`, `cn-shanghai-finance-1`). Nothing else can form a host name we would sign for.
REGION_ID_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+){1,4}")
MAX_REGION_ID_CHARS = 40
# The form, as messages describe it; they quote nothing of the value (it may be hostile or secret).
REGION_ID_FORM = "lower-case letters, digits and hyphens, such as cn-hangzhou"


class InvalidRegionError(ValueError):
    """A value that is not in region-id form; the message quotes none of it (it may be hostile)."""


def is_region_id(value: object) -> bool:
    return isinstance(value, str) and len(value) <= MAX_REGION_ID_CHARS and REGION_ID_RE.fullmatch(value) is not None


def checked_region_id(value: object) -> str:
    """The value itself when it is a region id; InvalidRegionError otherwise."""
    if not is_region_id(value):
        raise InvalidRegionError(f"not a region id (expected {REGION_ID_FORM})")
    return str(value)
