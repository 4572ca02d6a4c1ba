"""Performance scripts. Each writes its section of bench/RESULTS.md (see results.py)."""
