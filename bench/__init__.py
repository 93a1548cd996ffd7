"""Benchmarks: `python -m bot bench NAME ...` prints figures; they are not tests."""
