"""Understanding of colloquial Chinese: pure functions over text and lexicon files."""
from nlp.understand import Understanding, understand

__all__ = ["Understanding", "understand"]
