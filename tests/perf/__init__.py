"""Benchmarks: scripts run by `make bench`, not tests (pytest collects nothing here)."""
