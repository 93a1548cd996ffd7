"""Order commands in chat: the labelled set, and what must never read as a command."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp import understand
from nlp.evaluate import evaluate

DATA = Path(__file__).parent / "data"


def test_labelled_order_commands_are_understood() -> None:
    examples = [json.loads(line) for line in (DATA / "order_commands.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    assert len(examples) >= 70
    report = evaluate(examples)
    assert report.exact_share >= 0.97, [e["text"] for e in report.errors]


@pytest.mark.parametrize("text", [
    "收到了你的消息", "取消", "确认", "发货了吗", "我的订单发货了吗", "取消订单 因为3个坏了",
    "我2号不在家", "要第2个", "sf1234567890", "买2号 三斤", "我要卖脐橙，三块五一斤，有300斤"])
def test_no_command_without_its_cue_and_reference(text: str) -> None:
    slots = understand(text).slots
    assert "index" not in slots or understand(text).intent == "choose", slots
    assert slots.get("action") in (None, "cancel"), slots


def test_a_reason_never_supplies_the_order() -> None:
    assert understand("取消订单 因为3个坏了").slots == {"action": "cancel", "reason": "3个坏了"}
