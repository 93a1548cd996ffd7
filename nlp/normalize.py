"""Normalisation of chat and voice-recognition text, before anything else looks at it."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import zhconv

MAX_CHARS = 2000
# Voice-recognition fillers; longest first so 就是说 goes before 就是.
FILLERS = ("就是说", "我想想", "那个", "这个", "嗯嗯", "嗯", "呃", "额", "啊", "哎", "唉")
# A filler right after one of these verbs is its object: 要那个, 买这个.
_OBJECT_VERBS = "要买拿来选看就是"
_WHOLE_MESSAGE_KEEP = {"嗯", "好", "嗯嗯", "好的", "啊"}
_FILLER_RE = re.compile("|".join(FILLERS))
_RUN = re.compile(r"([^\da-z])\1{2,}")
# Latin runs collapse only from four letters, so an order code such as JJJXW3 stays whole
# while aaaa… (which latin look-ups would read letter by letter) does not.
_LATIN_RUN = re.compile(r"([a-z])\1{3,}")
_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"(?:[，。！？、；：,!?;:…~～·「」『』“”‘’\"'()（）【】\[\]<>《》]|(?<!\d)\.|\.(?!\d))+")


def _is_symbol(char: str) -> bool:
    """Emoji and pictographs: symbols outside the scripts people write in."""
    category = unicodedata.category(char)
    return category in ("So", "Sk", "Cs", "Co", "Cn") or char in "\u200d\ufe0f"


def strip_fillers(text: str) -> str:
    if text.strip() in _WHOLE_MESSAGE_KEEP:
        return text.strip()

    def drop(match: re.Match[str]) -> str:
        before = text[match.start() - 1] if match.start() else ""
        keep = match.group(0) in ("那个", "这个") and before and before in _OBJECT_VERBS
        return match.group(0) if keep else " "

    return _FILLER_RE.sub(drop, text)


def simplified(text: str) -> str:
    """Simplified characters, variants included (蒜薹 → 蒜苔): buyers' text and sellers'
    titles are read in one writing."""
    return zhconv.convert(text, "zh-cn")


@lru_cache(maxsize=32_768)
def normalise(text: str) -> str:
    """Simplified Chinese, half-width, lower case, no emoji or fillers, runs collapsed.
    Remembered per text: several routers' checks read the same message through it.

    Punctuation becomes a single comma so clause boundaries survive; digits are never
    collapsed (100斤 stays 100斤), nor latin runs of three (an order code JJJXW3).
    """
    text = text[:MAX_CHARS]
    text = unicodedata.normalize("NFKC", text)
    text = simplified(text).lower()
    text = "".join(" " if _is_symbol(char) else char for char in text)
    text = _LATIN_RUN.sub(r"\1", _RUN.sub(r"\1", text))
    text = strip_fillers(text)
    text = _PUNCT.sub(",", text)
    text = _SPACES.sub(" ", text)
    return text.strip(" ,")
