"""Benchmarks: each bench_*.py module measures a path against a baseline run in the same process."""
