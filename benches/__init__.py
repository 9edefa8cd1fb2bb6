"""Benchmarks and evaluations of Copydesk, run from the repository (`make eval`, `make bench`);
not part of the wheel."""
