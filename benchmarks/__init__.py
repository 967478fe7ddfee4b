"""Command-line benchmarks that back the book's claims (run with ``python -m benchmarks.<name>``).

- :mod:`benchmarks.best_recipe`: the best single-model recipe over several seeds, and their
  softmax-average ensemble (chapter 6).
"""
