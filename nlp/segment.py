"""Chinese segmentation with jieba; the dictionary loads once, at start-up."""
from __future__ import annotations

import gc
import logging
import re
import threading
import unicodedata

import jieba
import zhconv

from nlp import lexicon

_LEXICON_FREQ = 50_000
_loaded = False
_loading = False  # load() is running: words() it calls must not start it again
# How often jieba's corpus saw each lexicon word, before we raised them all alike.
_corpus_frequency: dict[str, int] = {}
_lock = threading.RLock()
_SEPARATOR = re.compile(r"[\W_]+", re.UNICODE)


def load() -> None:
    """Load jieba's dictionary; call at start-up, never on the request path. Segmenting
    before it loads it first: a word read without the lexicon in jieba would be read
    otherwise than after (冰糖橙 cut into 冰糖 / 橙)."""
    global _loaded, _loading
    with _lock:
        if _loaded or _loading:
            return
        _loading = True
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        # Lexicon words segment whole (赣南脐橙, 五常大米, 土鸡蛋); search mode still
        # yields their dictionary parts for the index.
        for word in lexicon.lexicon().jieba_words():
            _corpus_frequency[word] = jieba.dt.FREQ.get(word, 0)
            jieba.add_word(word, freq=_LEXICON_FREQ)
        zhconv.convert("載入", "zh-cn")  # its dictionary loads on first use: do it now
        from nlp import shapes  # after the lexicon; it indexes product names
        shapes.load()
        from nlp import goods  # its table of elided names, for indexing titles
        goods.load()
        # Dictionaries are hundreds of thousands of long-lived objects: keep them out of
        # the cyclic collector, whose full passes would otherwise stall a request ~100 ms.
        gc.collect()
        gc.freeze()
        _loaded = True
        _loading = False


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, collapsed whitespace (for indexing)."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def words(text: str) -> list[str]:
    """Precise-mode words of the text, without punctuation or spaces."""
    if not _loaded:
        load()
    return [w for w in jieba.lcut(normalise(text)) if not _SEPARATOR.fullmatch(w)]


def search_terms(text: str) -> list[str]:
    """Search-mode terms: whole words plus their dictionary parts (赣南脐橙 → 赣南, 脐橙, 赣南脐橙)."""
    if not _loaded:
        load()
    return [w for w in jieba.lcut_for_search(normalise(text)) if not _SEPARATOR.fullmatch(w)]


def index_text(text: str) -> str:
    """Space-joined search-mode terms, the form stored in the FTS table."""
    return " ".join(search_terms(text))


def frequency(word: str) -> int:
    """How often jieba's corpus has seen the word (0 when it has not)."""
    return _corpus_frequency.get(word, jieba.dt.FREQ.get(word, 0))
