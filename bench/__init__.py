"""Benchmarks: every speed figure the project states comes from one of these, run on this machine."""
