"""Helpers for the book *Improving MNIST digit recognition*.

Every chapter imports what it needs from the submodules, one module per concern:

- :mod:`mnist_helpers.config`: the run profile (``full`` or ``smoke``) and the artifacts folder
- :mod:`mnist_helpers.data`: reading and verifying MNIST, ``prepare``, the stratified split
- :mod:`mnist_helpers.models`: the dense baseline and the compact CNN, as chapters 2 and 3 write them
- :mod:`mnist_helpers.augment`: augmentation presets and tf.data pipelines
- :mod:`mnist_helpers.training`: callbacks and tidy histories beside the chapters' ``fit``
- :mod:`mnist_helpers.cache`: saved models, trained once and loaded after
- :mod:`mnist_helpers.results`: the results record that chapters append to
- :mod:`mnist_helpers.plots`: plotting helpers (``ax=None``, return the axes)
- :mod:`mnist_helpers.recipes`: the recipes and chapter 4's training function, for later chapters
- :mod:`mnist_helpers.analysis`, :mod:`mnist_helpers.gallery`, :mod:`mnist_helpers.widgets`: error analysis (chapter 5)
- :mod:`mnist_helpers.stats`: the evaluation of seeds, test-time augmentation and ensembles; Wilson and McNemar from statsmodels (chapter 6)

Importing the package has no side effects: it seeds nothing and changes no style.
"""

__version__ = "0.1.0"
