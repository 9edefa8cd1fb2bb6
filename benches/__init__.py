"""Benchmarks and evaluations of Copydesk: run from the repository (`make eval`, `make bench`), never shipped."""
