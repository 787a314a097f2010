"""Benchmarks (`make bench` = `python -m bench`); results go to docs/PERFORMANCE.md. Never pass/fail tests."""
