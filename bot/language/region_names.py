"""The names the Alibaba Cloud console and documentation give each region in `bot.language.regions`, as data.

`华东1（杭州）` is the console's name for cn-hangzhou: its number name (`华东1`), its city (`杭州`) and the
English city and country names (`Hangzhou`, `Singapore`) all mean the region. Taken from Alibaba Cloud's
public region list (help.aliyun.com document 72379, and its English page). `华东2` is cn-shanghai, not the
finance cloud that shares the number.

Lookups go through `region_name_key`: NFKC form (full-width `（）` become `()`), lower case, no spaces,
hyphens or underscores, so `Silicon Valley`, `silicon-valley` and `SILICONVALLEY` are one key.
"""

from __future__ import annotations

import unicodedata

# region id -> (console number name or "", Chinese city, English names...)
REGION_NAMES: dict[str, tuple[str, ...]] = {
    "cn-qingdao": ("华北1", "青岛", "Qingdao", "China North 1"),
    "cn-beijing": ("华北2", "北京", "Beijing", "China North 2"),
    "cn-zhangjiakou": ("华北3", "张家口", "Zhangjiakou", "China North 3"),
    "cn-huhehaote": ("华北5", "呼和浩特", "Hohhot", "Huhehaote", "China North 5"),
    "cn-wulanchabu": ("华北6", "乌兰察布", "Ulanqab", "Wulanchabu", "China North 6"),
    "cn-hangzhou": ("华东1", "杭州", "Hangzhou", "China East 1"),
    "cn-shanghai": ("华东2", "上海", "Shanghai", "China East 2"),
    "cn-nanjing": ("华东5", "南京", "Nanjing", "China East 5"),
    "cn-fuzhou": ("华东6", "福州", "Fuzhou", "China East 6"),
    "cn-wuhan-lr": ("华中1", "武汉", "Wuhan", "China Central 1"),
    "cn-shenzhen": ("华南1", "深圳", "Shenzhen", "China South 1"),
    "cn-heyuan": ("华南2", "河源", "Heyuan", "China South 2"),
    "cn-guangzhou": ("华南3", "广州", "Guangzhou", "China South 3"),
    "cn-chengdu": ("西南1", "成都", "Chengdu", "China Southwest 1"),
    "cn-shanghai-finance-1": ("", "上海金融云", "Shanghai Finance", "China East 2 Finance"),
    "cn-shenzhen-finance-1": ("", "深圳金融云", "Shenzhen Finance", "China South 1 Finance"),
    "cn-hongkong": ("", "中国香港", "香港", "Hong Kong", "HongKong"),
    "ap-northeast-1": ("亚太东北1", "东京", "日本", "Tokyo", "Japan"),
    "ap-northeast-2": ("", "首尔", "韩国", "Seoul", "Korea", "South Korea"),
    "ap-southeast-1": ("亚太东南1", "新加坡", "Singapore"),
    "ap-southeast-3": ("亚太东南3", "吉隆坡", "马来西亚", "Kuala Lumpur", "Malaysia"),
    "ap-southeast-5": ("亚太东南5", "雅加达", "印度尼西亚", "Jakarta", "Indonesia"),
    "ap-southeast-6": ("", "马尼拉", "菲律宾", "Manila", "Philippines"),
    "ap-southeast-7": ("", "曼谷", "泰国", "Bangkok", "Thailand"),
    "us-east-1": ("美国东部1", "弗吉尼亚", "Virginia", "US East 1"),
    "us-west-1": ("美国西部1", "硅谷", "Silicon Valley", "US West 1"),
    "na-south-1": ("", "墨西哥", "Mexico"),
    "eu-west-1": ("", "伦敦", "英国", "London", "UK", "United Kingdom"),
    "eu-central-1": ("欧洲中部1", "法兰克福", "德国", "Frankfurt", "Germany"),
    "me-east-1": ("中东东部1", "迪拜", "阿联酋", "Dubai", "UAE"),
    "me-central-1": ("", "利雅得", "沙特", "Riyadh", "Saudi Arabia"),
}
# The most words a name has (`china south 1 finance`): how far the grammar looks to join words.
MAX_NAME_WORDS = 4


def region_name_key(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(char for char in folded if not char.isspace() and char not in "-_")


def _keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for region, (number, city, *english) in REGION_NAMES.items():
        names = [name for name in (number, city, *english) if name]
        if number and city:
            names.append(f"{number}({city})")  # the console's full name, `华东1（杭州）`
        if region.startswith("cn-"):
            names += [f"china({name})" for name in english[:1]]  # `China (Hangzhou)`, the English console name
        for name in names:
            keys[region_name_key(name)] = region
    return keys


REGION_BY_NAME: dict[str, str] = _keys()
