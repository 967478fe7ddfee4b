"""Helpers for the book *Improving MNIST digit recognition*, one module per concern: ``config``
(profiles, artifacts folder), ``data`` (verified MNIST, ``prepare``, the split), ``models``,
``augment`` and ``recipes`` (archives of what chapters 2-4 show), ``training`` (callbacks, tidy
histories), ``cache`` (saved models), ``results`` (the results record), ``plots``, ``analysis``,
``gallery`` and ``widgets`` (chapter 5), ``stats`` (seeds, test-time augmentation, ensembles).
Importing it has no side effects: it seeds nothing and changes no style."""

__version__ = "0.1.0"
