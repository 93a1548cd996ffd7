"""Relevance of buyer search on a labelled set: hit@1, hit@3, MRR, correct-none, violations.

It runs the same understanding, retrieval and ranking the buyer conversation uses.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from db import listings
from handlers import ranking
from handlers.request import Request, retrieve
from nlp import understand

SEARCHING = ("search", "refine")


@dataclass
class Result:
    text: str
    skus: list[str]
    expected: list[str]
    expect_none: bool
    violations: list[str] = field(default_factory=list)
    kind: str = ""

    @property
    def rank(self) -> int | None:
        return next((n for n, sku in enumerate(self.skus, 1) if sku in self.expected), None)


def offers(conn: sqlite3.Connection, text: str, weights: ranking.Weights,
           now: float) -> tuple[Request | None, list[listings.Candidate]]:
    understood = understand(text)
    if "noun" in understood.flags:  # a noun alone: goods only where titles have it
        request = Request.noun(understood.words[0], understood.said, understood.described)
    elif understood.intent not in SEARCHING or understood.slots.get("nonfood"):
        return None, []
    else:
        request = Request.from_understanding(understood)
    if not request.browsable or "cheaper" in understood.flags:
        return request, []
    found = retrieve(conn, request)
    if "noun" in understood.flags and found.request.written:
        return request, []
    reliability = listings.reliability(conn, sorted({c.seller_id for c in found.candidates}))
    ranked = ranking.rank(found.candidates, found.request.product, found.request.attributes,
                          reliability, now, weights, "search-eval",
                          time.strftime("%Y-%m-%d", time.localtime(now)))
    return found.request, ranking.diverse_page(ranked)


def _violations(conn: sqlite3.Connection, case: dict[str, Any], request: Request | None,
                shown: list[listings.Candidate]) -> list[str]:
    problems = []
    spec = request.spec() if request else None
    for offer in shown:
        row = conn.execute("SELECT status, stock, price_fen, weight_factor, origin FROM listings"
                           " WHERE id = ?", (offer.id,)).fetchone()
        if row["status"] != "live" or row["stock"] <= 0:
            problems.append(f"{offer.sku} not live or out of stock")
        if case.get("max_price") is not None and row["price_fen"] > case["max_price"] * 100:
            problems.append(f"{offer.sku} costs more than {case['max_price']}")
        if case.get("origin_contains") and case["origin_contains"] not in row["origin"]:
            problems.append(f"{offer.sku} is not from {case['origin_contains']}")
        if offer.sku in case.get("must_not", []):
            problems.append(f"{offer.sku} must not be shown")
        if spec and spec.origin and not any(place in row["origin"] for place in spec.origin):
            problems.append(f"{offer.sku} breaks the origin the buyer stated")
    return problems


def evaluate(conn: sqlite3.Connection, cases: list[dict[str, Any]],
             weights: ranking.Weights | None = None) -> list[Result]:
    weights = weights or ranking.Weights()
    now = time.time()
    results = []
    for case in cases:
        request, shown = offers(conn, case["text"], weights, now)
        results.append(Result(case["text"], [o.sku for o in shown], case.get("expect_any", []),
                              bool(case.get("expect_none")),
                              _violations(conn, case, request, shown), case.get("kind", "")))
    return results


def summary(results: list[Result]) -> dict[str, float]:
    positive = [r for r in results if not r.expect_none]
    negative = [r for r in results if r.expect_none]
    ranks = [r.rank for r in positive]
    return {
        "queries": len(results),
        "negatives": len(negative),
        "hit@1": sum(1 for k in ranks if k == 1) / len(positive) if positive else 0.0,
        "hit@3": sum(1 for k in ranks if k and k <= 3) / len(positive) if positive else 0.0,
        "mrr": sum(1 / k for k in ranks if k) / len(positive) if positive else 0.0,
        "correct_none": sum(1 for r in negative if not r.skus) / len(negative) if negative else 1.0,
        "violating_queries": sum(1 for r in results if r.violations),
    }


def by_kind(results: list[Result]) -> dict[str, dict[str, float]]:
    """The summary of each labelled kind of query, in order of first appearance."""
    kinds = dict.fromkeys(r.kind for r in results if r.kind)
    return {kind: summary([r for r in results if r.kind == kind]) for kind in kinds}


def _kind_table(results: list[Result]) -> list[str]:
    kinds = by_kind(results)
    if not kinds:
        return []
    lines = ["", f"{'kind':<16}{'n':>5}{'hit@1':>8}{'hit@3':>8}{'none':>8}{'viol':>6}"]
    for kind, figures in kinds.items():
        positive = figures["queries"] - figures["negatives"]
        lines.append(f"{kind:<16}{figures['queries']:>5}"
                     f"{_cell(figures['hit@1'], positive)}{_cell(figures['hit@3'], positive)}"
                     f"{_cell(figures['correct_none'], figures['negatives'])}"
                     f"{figures['violating_queries']:>6}")
    return lines


def _cell(value: float, count: float) -> str:
    """A share, or a dash when the kind has no query it applies to."""
    return f"{value:>8.3f}" if count else f"{'-':>8}"


def render(results: list[Result]) -> str:
    figures = summary(results)
    lines = [f"{figures['queries']} queries",
             f"hit@1 {figures['hit@1']:.3f}  hit@3 {figures['hit@3']:.3f}  MRR {figures['mrr']:.3f}",
             f"correct-none {figures['correct_none']:.3f}",
             f"queries with any violation: {figures['violating_queries']}",
             *_kind_table(results), "", "failures:"]
    for r in results:
        missed = (r.expect_none and r.skus) or (not r.expect_none and (r.rank or 99) > 3)
        if missed or r.violations:
            lines.append(f"  [{r.kind or '-'}] {r.text}: got {r.skus or 'none'}; expected "
                         f"{'none' if r.expect_none else r.expected[:5]} {'; '.join(r.violations)}")
    return "\n".join(lines)
