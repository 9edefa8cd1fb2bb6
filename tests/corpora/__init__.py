"""Synthetic corpora for the tests and the benchmarks (`benches/`): planted copies, news pages."""
