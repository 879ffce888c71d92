"""The benchmark suite: `python -m bench` (see `python -m bench --help`).

Not timed tests: CI runs it at a smoke size only to keep it working and to check that the
engine, a plain-Python floor and json-rules-engine count the same passes; the full size
(100,000 entities) runs by hand.
"""
