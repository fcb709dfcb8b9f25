"""Comity's benchmarks: `make bench` (``python -m bench``). Not tests: nothing here gates CI."""
