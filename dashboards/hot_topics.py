"""热点诉求: appeals about one place and one matter, grouped into clusters with a heat index.

Pure code over :class:`Appeal` records (the product's tickets or a CSV file alike):

1. **Places.** Names the gazetteer knows (longest match first), then names read from the words:
   a run of name-like words (jieba's part of speech) ending in a place word — 小区, 花园, 新城, 苑,
   学院, 小学, 村, 路, 街 … — so that 魅力之城小区, 丽发新城, 泉塘小学, 桐梓坡路 come out of a title.
   Anonymised or administrative prefixes (A市, A5区, K3县) are cut off first. A place's key drops
   generic endings (小区, 社区, 一期), and two keys name the same place when one contains the other.
2. **The matter.** TF-IDF over jieba words of the title (counted twice) and the text, with the
   place names taken out, so that two appeals are alike for what they are about, not for where.
3. **Clusters.** Appeals that share a place are linked when their matters are alike (cosine ≥
   ``same_place``); the rest join the most alike cluster (≥ ``attach``) unless it names another
   place; what is left clusters among itself only when very alike (≥ ``no_place``) and not about
   two different places. Different places never meet in one cluster.
4. **Heat** (documented in dashboards/README.md)::

       heat = 10·ln(1 + citizens) + 2·ln(1 + appeals) + 3·ln(1 + support) + 5·ln((1 + this week) / (1 + last week))⁺

   citizens: distinct citizens (a citizen calling five times is one voice); appeals: members;
   support: public support where a channel gives it (likes on the web); the last term rewards a
   matter that grows this week over last week (never negative). A cluster is **rising** when it
   has at least 3 appeals this week and at least twice last week's.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

PLACE_ENDINGS = (
    "小区", "花园", "家园", "公馆", "新城", "新村", "嘉园", "嘉苑", "雅居", "华庭", "华府", "名苑", "名都", "公寓",
    "大厦", "广场", "商场", "市场", "学校", "小学", "中学", "大学", "学院", "幼儿园", "医院", "公园",
    "项目", "社区", "村", "镇", "乡", "街道", "路", "街", "大道", "巷", "城", "苑", "园", "府", "湾", "庭", "郡",
    "阁", "里", "湖", "车站", "地铁站", "火车站", "高铁站", "汽车站", "酒店", "大楼", "港", "洲", "岛", "桥",
)  # fmt: skip
ROAD_ENDINGS = ("路", "街", "大道", "巷")
# A name ending in one of these is complete whatever follows (暮云街道 | 丽发新城, 万家丽南路 | 丽发新城).
BOUNDARY_ENDINGS = (*ROAD_ENDINGS, "街道", "镇", "乡", "村")
GENERIC_ENDINGS = ("小区", "社区", "一期", "二期", "三期", "四期", "项目")
NAME_FLAGS = ("n", "nr", "ns", "nt", "nz", "ng", "eng", "j", "an", "b", "s")
PLACE_FLAGS = ("n", "nr", "ns", "nt", "nz", "ng", "j", "s")
LEAD_FLAGS = frozenset({"n", "nr", "ns", "nt", "nz", "vn", "v", "m"})
STOP_CHARS = frozenset(
    "的了在和与对到把被向从给及或等是有也都就又不很请要将已为于我你他她它这那其该每各个旁边近内外买卖建修开住去来找办交装拆号区县市省"
)
NOT_PLACES = ("政府", "市委", "中心城", "城市", "乡村", "农村", "公司", "银行")
# Administrative and anonymised prefixes that are not the place of an appeal (A市, A5区, K3县, 经开区).
ADMIN = re.compile(r"[A-Z][0-9]*[市区县]|[A-Z][0-9]+|西地省|经开区|高新区|开发区|[\u4e00-\u9fa5]{1,3}新区")
_STOPWORD_TEXT = (
    "的 了 是 我 你 他 她 它 在 和 有 就 也 都 而 及 与 着 或 一个 没有 我们 "
    "你们 他们 什么 这个 那个 这样 那样 问题 反映 希望 请 请问 要求 相关 部门 情况 "
    "进行 已经 现在 目前 因为 所以 但是 可以 能够 已 被 对 为 把 向 从 到 给 等 市 "
    "区 县 领导 政府 您好 你好 谢谢 尽快 处理 解决 关于 咨询 投诉 建议 举报 一下 一些 "
    "这些 那些 如何 怎么 为什么 多次 非常 严重 影响 不 很 还 又 再 让 使 由 于 之 "
    "其 该 此 每 各 及时 有关 一直 至今 如果 只 能 会 要 说 做 得 地 吗 呢 吧 啊 "
    "么 个 里 上 下 中 后 前 年 月 日 号 时 天 人 家 事 "
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True)
class Appeal:
    id: int | str
    day: date
    title: str
    text: str
    likes: int = 0
    citizen: int | str | None = None  # None: every appeal counts as its own citizen
    address: str | None = None
    department_id: int | None = None


@dataclass(frozen=True)
class Settings:
    same_place: float = 0.12
    attach: float = 0.55
    no_place: float = 0.45
    min_size: int = 2


@dataclass
class Topic:
    title: str
    place: str | None
    heat: float
    first: date
    last: date
    size: int
    citizens: int
    support: int
    this_week: int
    last_week: int
    rising: bool
    keywords: list[str]
    ids: list[Any]
    department_ids: list[int] = field(default_factory=list)
    heat_parts: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The CLI's shape (title, place, heat, first, last, size, ids, and what the heat is made of)."""
        return {
            "title": self.title,
            "place": self.place,
            "heat": self.heat,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "size": self.size,
            "citizens": self.citizens,
            "support": self.support,
            "rising": self.rising,
            "keywords": self.keywords,
            "ids": self.ids,
        }


# ---------------------------------------------------------------- words and places


@lru_cache(maxsize=1)
def _jieba() -> tuple[Any, Any]:
    import jieba
    import jieba.posseg

    jieba.setLogLevel(60)
    tokenizer = jieba.Tokenizer()
    return tokenizer, jieba.posseg.POSTokenizer(tokenizer)


def words(text: str) -> list[str]:
    tokenizer, _ = _jieba()
    return [
        w
        for w in tokenizer.lcut(text, HMM=False)
        if len(w) > 1 and w not in STOPWORDS and not w.isdigit() and w.strip()
    ]


def place_key(name: str) -> str:
    """What identifies a place: 魅力之城小区 and 魅力之城 are one place (but 金色小区 stays itself: a
    two-character stem names no place, 金色花园 is another)."""
    for ending in GENERIC_ENDINGS:
        if name.endswith(ending) and len(name) - len(ending) >= 3:
            return name[: -len(ending)]
    return name


class PlaceReader:
    """Place names in a text: the gazetteer's first (longest match), then those read from the words."""

    def __init__(self, gazetteer: Iterable[str] = ()) -> None:
        names = sorted({n for n in gazetteer if len(n) >= 2}, key=len, reverse=True)
        self.gazetteer = re.compile("|".join(re.escape(n) for n in names)) if names else None

    def __call__(self, text: str) -> list[str]:
        found: list[str] = []
        rest = text
        if self.gazetteer is not None:
            found.extend(m.group(0) for m in self.gazetteer.finditer(text))
            rest = self.gazetteer.sub("，", text)
        found.extend(self._read(rest))
        return list(dict.fromkeys(found))

    @staticmethod
    def _read(text: str) -> list[str]:
        """Runs of name-like words that end in a place word: 翠湖花园, 丽发新城社区, 劳动东路.

        Without jieba's HMM (too slow at scale) a name jieba does not know falls apart into single
        characters: those count as name-like. A place word followed by another place word or by a lone
        character goes on (翠 湖 花园, 华府 华 庭); followed by a word, or after a road, street or
        town, the name is complete (劳动东路 | 魅力之城, 暮云街道 | 丽发新城); what is kept is the longest
        run that ends in a place word.
        """
        _, pos = _jieba()
        out: list[str] = []
        for part in ADMIN.split(text):
            run: list[tuple[str, str]] = []  # (word, flag)
            complete = 0  # run[:complete] ends in a place word
            previous = ("", "")
            for token in pos.lcut(part, HMM=False):
                w, flag = token.word, token.flag
                if w in GENERIC_ENDINGS:  # 小区, 社区, 一期: ends the name being read, or the one just read
                    if run and complete in (0, len(run)):
                        complete = len(run) + 1
                        run.append((w, flag))
                    elif not run and out and previous[0] and out[-1].endswith(previous[0]):
                        out[-1] += w
                    _flush(run, complete, out)
                    run, complete, previous = [], 0, (w, flag)
                    continue
                ending = w.endswith(PLACE_ENDINGS) and (len(w) == 1 or flag.startswith(PLACE_FLAGS))
                if ending:
                    lead = previous[1] in LEAD_FLAGS and len(previous[0]) == 2 and previous[0] not in GENERIC_ENDINGS
                    if not run and lead and w.endswith(ROAD_ENDINGS):
                        run = [previous]  # 解放路: a road named by a verb or a noun
                    run.append((w, flag))
                    complete = len(run)
                elif _name_like(w, flag) or (w == "之" and run):
                    ended = complete and run[complete - 1][0].endswith(BOUNDARY_ENDINGS)
                    if complete and (len(w) > 1 or ended):  # complete: a word, or anything after a road, starts anew
                        _flush(run, complete, out)
                        run, complete = [], 0
                    run.append((w, flag))
                    if len(run) > 6:  # names are short: keep the last words
                        complete = max(0, complete - (len(run) - 6))
                        run = run[-6:]
                else:
                    _flush(run, complete, out)
                    run, complete = [], 0
                previous = (w, flag)
            _flush(run, complete, out)
        return list(dict.fromkeys(out))


def _flush(run: list[tuple[str, str]], complete: int, out: list[str]) -> None:
    """Keep the name read (run[:complete]); a lone common word (搅拌站, 居民区) is no place's name."""
    words_read = run[:complete]
    name = "".join(w for w, _ in words_read)
    if len(words_read) == 1 and words_read[0][1] not in ("ns", "nt", "nz"):
        return
    if len(name) >= 3 and not name.endswith(NOT_PLACES):
        out.append(name[-10:])


def _name_like(word: str, flag: str) -> bool:
    """A word that may be part of a place's name (a lone character: a name jieba does not know)."""
    if len(word) == 1:
        return "\u4e00" <= word <= "\u9fff" and word not in STOP_CHARS
    if word.isdigit() or word.endswith(("区", "县", "市", "省")):  # a house number; a district is no 小区
        return False
    return flag.startswith(NAME_FLAGS) and word not in STOPWORDS


def fineness(name: str) -> int:
    """0 for a 小区, school, park …; 1 a village; 2 a road; 3 a street or town (街道, 镇, 乡)."""
    if name.endswith(("街道", "镇", "乡")):
        return 3
    if name.endswith(ROAD_ENDINGS):
        return 2
    return 1 if name.endswith("村") else 0


def specific(places: Sequence[str]) -> list[str]:
    """The places' keys, finest first (a 小区 before its road before its street)."""
    return list(dict.fromkeys(place_key(p) for p in sorted(places, key=fineness)))


def _same_place(a: str, b: str) -> bool:
    """One name inside the other (丽发新城, 万家丽南路丽发新城), the shorter of three characters at least."""
    short, long = sorted((a, b), key=len)
    return len(short) >= 3 and short in long


# ---------------------------------------------------------------- clustering


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _link_alike(uf: _UnionFind, members: list[int], matrix: Any, threshold: float, ok: Any = None) -> None:
    """Union every pair of ``members`` whose rows are at least ``threshold`` alike (in row chunks)."""
    if len(members) < 2:
        return
    sub = matrix[members]
    for start in range(0, len(members), 1000):
        block = (sub[start : start + 1000] @ sub.T).toarray()
        rows, cols = np.nonzero(block >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            i, j = members[start + r], members[c]
            if i < j and (ok is None or ok(i, j)):
                uf.union(i, j)


def cluster(
    appeals: Sequence[Appeal], *, gazetteer: Iterable[str] = (), settings: Settings | None = None
) -> list[Topic]:
    """The hot topics among ``appeals``, hottest first (clusters of fewer than ``min_size`` dropped)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    settings = settings or Settings()
    if not appeals:
        return []
    read = PlaceReader(gazetteer)
    places: list[list[str]] = []
    docs: list[list[str]] = []
    for a in appeals:
        found = read(f"{a.address or ''}，{a.title}")
        if not found:
            found = read(a.text[:120])
        places.append(found)
        title, body = a.title, a.text[:300]
        for name in sorted(found, key=len, reverse=True):
            title, body = title.replace(name, "，"), body.replace(name, "，")
        docs.append(words(title) * 3 + words(body))  # the title says what it is about: it weighs more
    vectorizer = TfidfVectorizer(analyzer=lambda ws: ws, sublinear_tf=True, min_df=1)
    matrix = vectorizer.fit_transform(docs).tocsr()
    keys = [specific(p) for p in places]
    uf = _UnionFind(len(appeals))

    # 1. Appeals about one place (an appeal's finest place named first; a longer name containing a
    # shorter one is the same place): each joins the most alike matter already found there, or
    # starts one (centroids, not chains: two matters at one 小区 do not run into each other).
    by_key: dict[str, list[int]] = defaultdict(list)
    for i in range(len(appeals)):
        if keys[i]:
            by_key[keys[i][0]].append(i)
    merged_keys = _merge_keys(list(by_key))
    blocks: dict[str, list[int]] = defaultdict(list)
    for key, members in by_key.items():
        blocks[merged_keys[key]].extend(members)
    for members in blocks.values():
        _gather(uf, sorted(members, key=lambda i: appeals[i].day), matrix, settings.same_place)

    def elsewhere(own: Sequence[str], others: Iterable[str]) -> bool:
        """Both name places, and none of them is the same place."""
        others = list(others)
        return bool(own) and bool(others) and not any(_same_place(a, b) for a in own for b in others)

    # 2. Those left alone join the most alike cluster that names no other place.
    groups = _groups(uf, len(appeals))
    alone = [g[0] for g in groups if len(g) == 1]
    clusters = [g for g in groups if len(g) > 1]
    if clusters and alone:
        centroids = _centroids(matrix, clusters)
        cluster_places = [{k for j in c for k in keys[j]} for c in clusters]
        for start in range(0, len(alone), 1000):
            chunk = alone[start : start + 1000]
            sims = (matrix[chunk] @ centroids.T).toarray()
            for row, i in enumerate(chunk):
                for c in np.argsort(-sims[row])[:3].tolist():
                    if sims[row, c] < settings.attach:
                        break
                    if not elsewhere(keys[i], cluster_places[c]):
                        uf.union(i, clusters[c][0])
                        break
    # 3. Appeals that name no place and are still alone cluster among themselves when very alike (an
    # appeal that names a place never links two places through itself).
    groups = _groups(uf, len(appeals))
    _link_alike(uf, [g[0] for g in groups if len(g) == 1 and not keys[g[0]]], matrix, settings.no_place)

    terms = np.array(vectorizer.get_feature_names_out())
    reference = max(a.day for a in appeals)
    topics = [
        _topic(appeals, g, matrix, places, terms, reference)
        for g in _groups(uf, len(appeals))
        if len(g) >= settings.min_size
    ]
    return sorted(topics, key=lambda t: (-t.heat, -t.size, t.title))


def _gather(uf: _UnionFind, members: list[int], matrix: Any, threshold: float) -> None:
    """Leader clustering of one place's appeals: each joins the matter whose centroid it is most
    alike (≥ ``threshold``), or starts a new one."""
    if len(members) < 2:
        return
    block = matrix[members]
    rows = block[:, np.unique(block.indices)].toarray()  # only the words this place's appeals use
    sums = np.zeros((len(members), rows.shape[1]))  # one row per matter found, the first ``found`` used
    norms = np.zeros(len(members))
    leaders: list[int] = []
    for k, i in enumerate(members):
        found = len(leaders)
        if found:
            sims = (sums[:found] @ rows[k]) / np.where(norms[:found] > 0, norms[:found], 1.0)
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                sums[best] += rows[k]
                norms[best] = float(np.linalg.norm(sums[best]))
                uf.union(leaders[best], i)
                continue
        sums[found] = rows[k]
        norms[found] = float(np.linalg.norm(rows[k]))
        leaders.append(i)


def _merge_keys(keys: list[str]) -> dict[str, str]:
    """Each place key → the shortest key (of 3 characters or more) inside it, or itself:
    丽发新城 and 万家丽南路丽发新城 are one place."""
    known = set(keys)
    out: dict[str, str] = {}
    for key in sorted(keys, key=len):
        inner = (key[i : i + n] for n in range(3, len(key)) for i in range(len(key) - n + 1) if key[i : i + n] in known)
        shortest = next(inner, None)
        out[key] = out[shortest] if shortest is not None else key
    return out


def _groups(uf: _UnionFind, n: int) -> list[list[int]]:
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[uf.find(i)].append(i)
    return list(groups.values())


def _centroids(matrix: Any, clusters: list[list[int]]) -> Any:
    from scipy.sparse import csr_matrix, vstack
    from sklearn.preprocessing import normalize

    rows = [csr_matrix(matrix[c].mean(axis=0)) for c in clusters]
    return normalize(vstack(rows).tocsr())


def heat_of(citizens: int, appeals: int, support: int, this_week: int, last_week: int) -> dict[str, float]:
    """The heat and its parts (see the module's doc)."""
    parts = {
        "citizens": 10 * math.log1p(citizens),
        "appeals": 2 * math.log1p(appeals),
        "support": 3 * math.log1p(max(0, support)),
        "rise": max(0.0, 5 * math.log((1 + this_week) / (1 + last_week))),
    }
    return {**{k: round(v, 2) for k, v in parts.items()}, "heat": round(sum(parts.values()), 1)}


def _topic(
    appeals: Sequence[Appeal],
    members: list[int],
    matrix: Any,
    places: list[list[str]],
    terms: Any,
    reference: date,
) -> Topic:
    centroid = np.asarray(matrix[members].mean(axis=0)).ravel()
    closeness = matrix[members] @ centroid
    chosen = [appeals[i] for i in members]
    best = max(range(len(members)), key=lambda k: (closeness[k], chosen[k].likes, -len(chosen[k].title)))
    keys = {place_key(x) for i in members for x in places[i]}
    same = _merge_keys(sorted(keys))  # 凉塘路 and 星沙四区凉塘路旧城 are one place
    named = Counter(p for i in members for p in {same[place_key(x)] for x in places[i]})
    full = Counter(p for i in members for p in places[i])
    place = None
    key = max(named, key=lambda k: (named[k], not k.endswith(ROAD_ENDINGS), len(k)), default=None)
    # A matter raised all over the city (咨询社保转移) has no place: the commonest one must be named
    # by at least 40% of the members to stand for the topic.
    if key is not None and named[key] >= 0.4 * len(members):
        place = max((p for p in full if same[place_key(p)] == key), key=lambda p: (full[p], -len(p)), default=key)
    citizens = len({a.citizen if a.citizen is not None else ("appeal", a.id) for a in chosen})
    week_start = reference - timedelta(days=6)
    this_week = sum(1 for a in chosen if a.day >= week_start)
    last_week = sum(1 for a in chosen if week_start - timedelta(days=7) <= a.day < week_start)
    support = sum(a.likes for a in chosen)
    parts = heat_of(citizens, len(chosen), support, this_week, last_week)
    top = [str(terms[j]) for j in np.argsort(-centroid)[:5] if centroid[j] > 0]
    order = sorted(chosen, key=lambda a: (a.day, str(a.id)))
    return Topic(
        title=chosen[best].title,
        place=place,
        heat=parts.pop("heat"),
        first=order[0].day,
        last=order[-1].day,
        size=len(chosen),
        citizens=citizens,
        support=support,
        this_week=this_week,
        last_week=last_week,
        rising=this_week >= 3 and this_week >= 2 * last_week,
        keywords=top,
        ids=[a.id for a in order],
        department_ids=sorted({a.department_id for a in chosen if a.department_id is not None}),
        heat_parts=parts,
    )
