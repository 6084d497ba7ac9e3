"""Benchmarks and the crash-test harness (run as scripts; see bench/README.md)."""
