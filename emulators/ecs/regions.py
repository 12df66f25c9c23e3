"""The regions the emulated service knows: what DescribeRegions lists and what RegionId may name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ACCEPT_LANGUAGE_EN = "en-US"


@dataclass(frozen=True)
class Region:
    region_id: str
    local_name_zh: str
    local_name_en: str
    # The two or three characters after `t-`, `i-`, ... in resource ids made in this region.
    id_prefix: str

    @property
    def endpoint(self) -> str:
        # The regional endpoint works in every region (ECS API reference, "Endpoints").
        return f"ecs.{self.region_id}.aliyuncs.com"

    def local_name(self, accept_language: str | None) -> str:
        # The service answers in Chinese unless asked otherwise (AcceptLanguage defaults to zh-CN).
        return self.local_name_en if accept_language == ACCEPT_LANGUAGE_EN else self.local_name_zh


KNOWN_REGIONS: tuple[Region, ...] = (
    Region("cn-qingdao", "华北1（青岛）", "China (Qingdao)", "m5"),
    Region("cn-beijing", "华北2（北京）", "China (Beijing)", "2z"),
    Region("cn-zhangjiakou", "华北3（张家口）", "China (Zhangjiakou)", "8v"),
    Region("cn-huhehaote", "华北5（呼和浩特）", "China (Hohhot)", "hp"),
    Region("cn-wulanchabu", "华北6（乌兰察布）", "China (Ulanqab)", "0jl"),
    Region("cn-hangzhou", "华东1（杭州）", "China (Hangzhou)", "bp"),
    Region("cn-shanghai", "华东2（上海）", "China (Shanghai)", "uf"),
    Region("cn-shenzhen", "华南1（深圳）", "China (Shenzhen)", "wz"),
    Region("cn-heyuan", "华南2（河源）", "China (Heyuan)", "f8z"),
    Region("cn-guangzhou", "华南3（广州）", "China (Guangzhou)", "7xv"),
    Region("cn-chengdu", "西南1（成都）", "China (Chengdu)", "2vc"),
    Region("cn-hongkong", "中国香港", "China (Hong Kong)", "j6"),
    Region("ap-northeast-1", "日本（东京）", "Japan (Tokyo)", "6we"),
    Region("ap-northeast-2", "韩国（首尔）", "South Korea (Seoul)", "mj7"),
    Region("ap-southeast-1", "新加坡", "Singapore", "t4"),
    Region("ap-southeast-3", "马来西亚（吉隆坡）", "Malaysia (Kuala Lumpur)", "8ps"),
    Region("ap-southeast-5", "印度尼西亚（雅加达）", "Indonesia (Jakarta)", "k1a"),
    Region("ap-southeast-7", "泰国（曼谷）", "Thailand (Bangkok)", "0jo"),
    Region("us-east-1", "美国（弗吉尼亚）", "US (Virginia)", "0xi"),
    Region("us-west-1", "美国（硅谷）", "US (Silicon Valley)", "rj9"),
    Region("eu-west-1", "英国（伦敦）", "UK (London)", "d7o"),
    Region("eu-central-1", "德国（法兰克福）", "Germany (Frankfurt)", "gw8"),
    Region("me-east-1", "阿联酋（迪拜）", "UAE (Dubai)", "eb3"),
)

_BY_ID = {region.region_id: region for region in KNOWN_REGIONS}


def resolve_regions(region_ids: Sequence[str] | None) -> tuple[Region, ...]:
    """The configured regions; an id outside the table gets its id as name and a generic prefix."""
    if region_ids is None:
        return KNOWN_REGIONS
    return tuple(_BY_ID.get(rid) or Region(rid, rid, rid, "xx") for rid in region_ids)
