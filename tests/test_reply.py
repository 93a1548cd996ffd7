"""Replies fit the platform's byte limit without cutting an offer or a character."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from handlers.types import MAX_REPLY_BYTES, Reply, utf8_len

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)


def _join(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part)


@given(head=st.text(max_size=100), items=st.lists(texts, max_size=12), tail=st.text(max_size=60))
def test_render_keeps_a_maximal_prefix_of_whole_items(head, items, tail) -> None:
    text = Reply(head, items=items, tail=tail).render()
    kept = max(k for k in range(len(items) + 1) if _join(head, *items[:k], tail) == text)
    assert utf8_len(text) <= MAX_REPLY_BYTES
    if kept < len(items):
        assert utf8_len(_join(head, *items[: kept + 1], tail)) > MAX_REPLY_BYTES


def test_items_are_dropped_from_the_end_whole() -> None:
    items = [f"{n}. " + "脐" * 150 for n in range(1, 6)]  # ~453 bytes each
    text = Reply("为您找到：", items=items, tail="点下单").render()
    assert utf8_len(text) <= MAX_REPLY_BYTES
    assert text.count("脐" * 150) == 4 and "5. " not in text and text.endswith("点下单")
