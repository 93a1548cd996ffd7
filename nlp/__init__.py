"""Understanding of colloquial Chinese: pure functions over text and lexicon files."""
from nlp.segment import load
from nlp.understand import Understanding, understand

__all__ = ["Understanding", "load", "understand"]
