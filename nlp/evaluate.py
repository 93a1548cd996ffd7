"""Measure understand() on a labelled set, the way `rasa test nlu` does.

Pure functions over (text, intent, slots) examples; the CLI reads the file.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from nlp.understand import as_json, understand


@dataclass
class Report:
    total: int = 0
    intent_pairs: list[tuple[str, str]] = field(default_factory=list)  # (gold, predicted)
    slot_seen: Counter[str] = field(default_factory=Counter)
    slot_right: Counter[str] = field(default_factory=Counter)
    exact: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def per_intent(self) -> dict[str, tuple[float, float, float, int]]:
        """precision, recall, F1 and support for every gold intent."""
        scores = {}
        for intent in sorted({gold for gold, _ in self.intent_pairs}):
            tp = sum(1 for g, p in self.intent_pairs if g == p == intent)
            predicted = sum(1 for _, p in self.intent_pairs if p == intent)
            support = sum(1 for g, _ in self.intent_pairs if g == intent)
            precision = tp / predicted if predicted else 0.0
            recall = tp / support if support else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            scores[intent] = (precision, recall, f1, support)
        return scores

    @property
    def macro_f1(self) -> float:
        scores = self.per_intent()
        return sum(f1 for _, _, f1, _ in scores.values()) / len(scores) if scores else 0.0

    @property
    def exact_share(self) -> float:
        return self.exact / self.total if self.total else 0.0

    def confusions(self, top: int = 10) -> list[tuple[tuple[str, str], int]]:
        return Counter(pair for pair in self.intent_pairs if pair[0] != pair[1]).most_common(top)


def same_value(gold: Any, predicted: Any) -> bool:
    """Numbers compare as numbers, lists as sets, dicts key by key."""
    if isinstance(gold, dict) and isinstance(predicted, dict):
        return gold.keys() == predicted.keys() and all(
            same_value(gold[k], predicted[k]) for k in gold)
    if isinstance(gold, list) and isinstance(predicted, list):
        return sorted(map(str, gold)) == sorted(map(str, predicted))
    try:
        return Decimal(str(gold)) == Decimal(str(predicted))
    except (InvalidOperation, ValueError):
        return gold == predicted


def evaluate(examples: list[dict[str, Any]]) -> Report:
    report = Report()
    for example in examples:
        got = as_json(understand(example["text"]))
        gold_slots, got_slots = example.get("slots", {}), got["slots"]
        report.total += 1
        report.intent_pairs.append((example["intent"], got["intent"]))
        slots_ok = True
        for key in set(gold_slots) | set(got_slots):
            report.slot_seen[key] += 1
            if key in gold_slots and key in got_slots and same_value(gold_slots[key], got_slots[key]):
                report.slot_right[key] += 1
            else:
                slots_ok = False
        if slots_ok and example["intent"] == got["intent"]:
            report.exact += 1
        else:
            report.errors.append({"text": example["text"], "expected": {
                "intent": example["intent"], "slots": gold_slots}, "got": got})
    return report


def render(report: Report, max_errors: int = 50) -> str:
    lines = [f"{report.total} utterances", "", f"{'intent':<16}{'precision':>10}{'recall':>8}"
             f"{'F1':>8}{'support':>9}"]
    for intent, (p, r, f1, n) in report.per_intent().items():
        lines.append(f"{intent:<16}{p:>10.3f}{r:>8.3f}{f1:>8.3f}{n:>9}")
    lines += [f"{'macro F1':<16}{report.macro_f1:>34.3f}", "", f"{'slot':<16}{'accuracy':>10}{'n':>6}"]
    for slot in sorted(report.slot_seen):
        seen = report.slot_seen[slot]
        lines.append(f"{slot:<16}{report.slot_right[slot] / seen:>10.3f}{seen:>6}")
    lines += ["", f"utterances with every slot exact: {report.exact_share:.3f} "
                  f"({report.exact}/{report.total})", "", "confusions (expected → got):"]
    lines += [f"  {g} → {p}: {n}" for (g, p), n in report.confusions()] or ["  none"]
    lines += ["", f"errors ({len(report.errors)}):"]
    for error in report.errors[:max_errors]:
        lines.append(f"  {error['text']}\n    expected {error['expected']}\n    got      {error['got']}")
    return "\n".join(lines)


# -- sellers: one-shot listing messages -------------------------------------

LISTING_FIELDS = ("title", "price", "unit", "stock", "origin")


@dataclass
class ListingReport:
    total: int = 0
    right: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)

    def accuracy(self, name: str) -> float:
        return self.right[name] / self.total if self.total else 0.0

    @property
    def all_right(self) -> int:
        return self.total - len(self.failures)


def _same_field(name: str, gold: Any, got: Any) -> bool:
    if gold is None or got is None:
        return gold is None and got is None
    if name == "origin":
        return str(gold).replace(" ", "") == str(got).replace(" ", "")
    if name in ("price", "stock"):
        return same_value(gold, got)
    return gold == got


def evaluate_listings(examples: list[dict[str, Any]]) -> ListingReport:
    """Per-field accuracy of parse_listing on {text, title, price, unit, stock, origin};
    a null field means the message does not state it."""
    from nlp.seller import origin_text, parse_listing

    report = ListingReport()
    for example in examples:
        parsed = parse_listing(example["text"])
        got = {"title": parsed.title, "price": parsed.price, "unit": parsed.unit,
               "stock": parsed.stock, "origin": origin_text(parsed.origin) or None}
        report.total += 1
        wrong = {}
        for name in LISTING_FIELDS:
            if _same_field(name, example.get(name), got[name]):
                report.right[name] += 1
            else:
                wrong[name] = (example.get(name), got[name])
        if wrong:
            report.failures.append({"text": example["text"], "wrong": wrong})
    return report


def render_listings(report: ListingReport, max_errors: int = 100) -> str:
    lines = [f"{report.total} listing messages", "", f"{'field':<10}{'accuracy':>10}"]
    lines += [f"{name:<10}{report.accuracy(name):>10.3f}" for name in LISTING_FIELDS]
    lines += ["", f"messages with every field right: {report.all_right}/{report.total}", "",
              f"failures ({len(report.failures)}):"]
    for failure in report.failures[:max_errors]:
        lines.append(f"  {failure['text']}")
        for name, (gold, got) in failure["wrong"].items():
            plain = format(got.normalize(), "f") if isinstance(got, Decimal) else got
            lines.append(f"    {name}: expected {gold!r}, got {plain!r}")
    return "\n".join(lines)
