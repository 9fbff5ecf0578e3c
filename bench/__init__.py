"""Benchmark of abcore on 1M- and 10M-row experiment files: ``python -m bench.run``.

See ``bench/README.md`` for what is measured and how to read the results.
"""
