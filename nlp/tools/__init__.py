"""Offline tools that generate lexicon data files; not used at run time."""
