"""Alibaba Cloud public region ids, as data.

The grammar accepts these without a network call; `all` is expanded at query time from DescribeRegions, so
this list only has to be good enough to catch typos. Add a region as Alibaba Cloud opens it by appending it
to REGIONS_IN_ORDER_ADDED (and its names to `bot.language.region_names`): the button codec
(`bot.language.codecs`) gives it a short code from the same tuple.
"""

from __future__ import annotations

# Every known region, in the order each was added. Append only: a region's position is its code in button
# values already posted in Slack (format version 1 of bot.language.codecs), so none may move or go. A new
# region goes at the end, whatever its area.
REGIONS_IN_ORDER_ADDED: tuple[str, ...] = (
    # Chinese mainland
    "cn-qingdao",
    "cn-beijing",
    "cn-zhangjiakou",
    "cn-huhehaote",
    "cn-wulanchabu",
    "cn-hangzhou",
    "cn-shanghai",
    "cn-nanjing",
    "cn-fuzhou",
    "cn-wuhan-lr",
    "cn-shenzhen",
    "cn-heyuan",
    "cn-guangzhou",
    "cn-chengdu",
    # Finance clouds
    "cn-shanghai-finance-1",
    "cn-shenzhen-finance-1",
    # Hong Kong and Asia Pacific
    "cn-hongkong",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    # Americas, Europe, Middle East
    "us-east-1",
    "us-west-1",
    "na-south-1",
    "eu-west-1",
    "eu-central-1",
    "me-east-1",
    "me-central-1",
)
KNOWN_REGIONS: frozenset[str] = frozenset(REGIONS_IN_ORDER_ADDED)


def accepted_regions(allowed_regions: frozenset[str]) -> frozenset[str]:
    """The regions a command or a button may name: ECS_TASKS_REGIONS when it is set, else the known ones.

    Pass this as `known_regions` to `bot.language.grammar.parse` and
    `bot.language.codecs.decode_query`/`decode_task_ref`.
    """
    return allowed_regions or KNOWN_REGIONS


def recognised_regions(allowed_regions: frozenset[str]) -> frozenset[str]:
    """The regions a command or a button is understood to name: every known region and ECS_TASKS_REGIONS.

    Slack passes this as `known_regions` to the grammar and the codec, so that a known region outside
    ECS_TASKS_REGIONS is read as a region and then refused by the access check, which says which regions
    may be queried (rather than "unknown word" or "an older card").
    """
    return KNOWN_REGIONS | allowed_regions
