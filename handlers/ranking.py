"""Ranking the candidates a search returns: bm25 plus boosts, seller diversity, and a
fair, deterministic rotation among near-ties."""
from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from db.listings import Candidate

PAGE = 5
MAX_PER_SELLER = 2
TIE_SHARE = 0.05  # scores within 5 % of each other take turns
FRESH_DAYS = 30.0


@dataclass(frozen=True)
class Weights:
    """The [ranking] section of bot.toml: bot/config.py loads it as this very class."""
    boost_assisted: float = 0.0
    boost_product_match: float = 2.0
    boost_attribute: float = 0.5
    boost_freshness: float = 0.5
    boost_reliability: float = 1.0


def score(candidate: Candidate, product: str | None, attributes: Sequence[str],
          reliability: float | None, now: float, weights: Weights) -> float:
    """Higher is better. bm25 from FTS5 is negative-is-better, so it is negated."""
    value = -candidate.bm25
    if product and candidate.product == product:
        value += weights.boost_product_match
    if attributes:
        text = _attribute_text(candidate.title, candidate.tags)
        value += weights.boost_attribute * sum(1 for a in attributes if a in text)
    age_days = max(now - candidate.updated_at, 0) / 86400
    value += weights.boost_freshness * math.exp(-age_days / FRESH_DAYS)
    if reliability is not None:  # neutral until the seller has closed orders
        value += weights.boost_reliability * (reliability - 0.5) * 2
    if candidate.assisted:
        value += weights.boost_assisted
    return value


@lru_cache(maxsize=65_536)
def _attribute_text(title: str, tags: str | None) -> str:
    """Where an attribute may show: the title and the tags (decoded once per listing text)."""
    return title + json.loads(tags or "[]").__str__()


def rank(candidates: Sequence[Candidate], product: str | None, attributes: Sequence[str],
         reliability: dict[int, float], now: float, weights: Weights, openid: str,
         day: str) -> list[Candidate]:
    """Score every candidate, then order best first with near-ties rotated per buyer and
    per day. The tiers of near-equal scores are kept for the minute per candidate list
    (a cached search's list is shared): only the rotation is worked out per buyer."""
    seed = _seed(openid, day)
    ordered: list[Candidate] = []
    for tier in _tiers(candidates, product, tuple(attributes), reliability, now, weights):
        ordered += tier if len(tier) == 1 else sorted(tier, key=lambda c: _mix(seed ^ c.id))
    return ordered


TIERS_KEPT = 2048
_kept_tiers: OrderedDict[tuple[Any, ...], tuple[list[list[Candidate]], Sequence[Candidate],
                                                 dict[int, float]]] = OrderedDict()
_kept_lock = threading.Lock()  # search-eval ranks on database threads


def _tiers(candidates: Sequence[Candidate], product: str | None, attributes: tuple[str, ...],
           reliability: dict[int, float], now: float, weights: Weights) -> list[list[Candidate]]:
    # An entry holds its candidate list and reliability, so their ids stay theirs.
    key = (id(candidates), product, attributes, id(reliability), int(now // 60), weights)
    with _kept_lock:
        kept = _kept_tiers.get(key)
    if kept is not None and kept[1] is candidates and kept[2] is reliability:
        return kept[0]
    scored = [(score(c, product, attributes, reliability.get(c.seller_id), now, weights), c)
              for c in candidates]
    tiers = tiers_of(scored)
    with _kept_lock:
        _kept_tiers[key] = (tiers, candidates, reliability)
        if len(_kept_tiers) > TIERS_KEPT:
            _kept_tiers.popitem(last=False)
    return tiers


def tiers_of(scored: list[tuple[float, Candidate]]) -> list[list[Candidate]]:
    """Best first, in runs of near-equal scores (within TIE_SHARE of the run's best)."""
    tiers: list[list[Candidate]] = []
    best = 0.0
    for value, candidate in sorted(scored, key=lambda pair: -pair[0]):
        if tiers and abs(best - value) <= TIE_SHARE * max(abs(best), 1e-9):
            tiers[-1].append(candidate)
        else:
            tiers.append([candidate])
            best = value
    return tiers


@lru_cache(maxsize=4096)
def _seed(openid: str, day: str) -> int:
    """A buyer's order of the day, the same in every worker and after restarts."""
    return int.from_bytes(hashlib.sha256(f"{openid}|{day}".encode()).digest()[:8], "big")


def _mix(value: int) -> int:
    """A 64-bit finaliser (splitmix64's): every bit of the seed moves every bit of the key,
    at a fraction of a hash's cost per candidate."""
    value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9 & _MASK
    value = (value ^ (value >> 27)) * 0x94D049BB133111EB & _MASK
    return value ^ (value >> 31)


_MASK = (1 << 64) - 1


def diverse_page(ranked: Sequence[Candidate], size: int = PAGE) -> list[Candidate]:
    """At most two offers per seller when other sellers match; one seller may fill it alone."""
    if len({c.seller_id for c in ranked}) <= 1:
        return list(ranked[:size])
    page: list[Candidate] = []
    per_seller: dict[int, int] = {}
    for candidate in ranked:
        if per_seller.get(candidate.seller_id, 0) < MAX_PER_SELLER:
            page.append(candidate)
            per_seller[candidate.seller_id] = per_seller.get(candidate.seller_id, 0) + 1
        if len(page) == size:
            break
    return page
