"""The run profile and where the book keeps its artifacts (chapter 1).

The profile is read from one place, the ``MNIST_PROFILE`` environment variable:

- ``full`` (default): all of MNIST, the real training budgets; the rendered book uses it.
- ``smoke``: a small stratified subset and one epoch, so CI can execute every notebook fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROFILE_ENV = "MNIST_PROFILE"
ARTIFACTS_ENV = "MNIST_ARTIFACTS_DIR"

#: The distributions whose versions open every chapter.
PACKAGES = ("tensorflow", "keras", "numpy", "pandas", "scikit-learn", "seaborn", "matplotlib", "ipywidgets", "mnist_helpers")


@dataclass(frozen=True)
class Profile:
    """How much data and training a run uses.

    Attributes
    ----------
    name : str
        ``"full"`` or ``"smoke"``.
    n_train, n_val, n_test : int or None
        Sizes of the training, validation and test sets; ``None`` means all that is available
        (the validation set is always carved from the 60,000 training images).
    max_epochs : int or None
        Upper bound on epochs for every fit; ``None`` means the chapter's own budget.
    """

    name: str
    n_train: int | None
    n_val: int
    n_test: int | None
    max_epochs: int | None

    @property
    def is_full(self) -> bool:
        """True for the full profile, where the book's claims are asserted."""
        return self.name == "full"

    def epochs(self, wanted: int) -> int:
        """The number of epochs to train: ``wanted``, capped by the profile."""
        if wanted < 1:
            raise ValueError(f"epochs must be at least 1, got {wanted}")
        return wanted if self.max_epochs is None else min(wanted, self.max_epochs)


PROFILES: dict[str, Profile] = {
    "full": Profile(name="full", n_train=None, n_val=5000, n_test=None, max_epochs=None),
    "smoke": Profile(name="smoke", n_train=2000, n_val=500, n_test=1000, max_epochs=1),
}


def get_profile(name: str | None = None) -> Profile:
    """Return the profile called ``name``, else the one named by ``MNIST_PROFILE``, else ``full``.

    Raises
    ------
    ValueError
        If the name is not a known profile; the message lists the valid ones.
    """
    chosen = name if name is not None else os.environ.get(PROFILE_ENV, "").strip() or "full"
    key = chosen.strip().lower()
    if key not in PROFILES:
        valid = ", ".join(sorted(PROFILES))
        raise ValueError(
            f"Unknown MNIST profile {chosen!r}: expected one of {valid} "
            f"(set {PROFILE_ENV} to one of them, or unset it for 'full')."
        )
    return PROFILES[key]


def artifacts_dir(profile: Profile | None = None) -> Path:
    """The git-ignored folder where a profile's results and saved models live, created if needed.

    ``$MNIST_ARTIFACTS_DIR/<profile>`` if that variable is set, else ``<book>/_build/artifacts/<profile>``,
    where ``<book>`` is the first parent of the working folder that holds ``_toc.yml`` (the working
    folder itself if none does). Profiles never share a folder, so smoke numbers never mix with full ones.
    """
    profile = profile or get_profile()
    base = os.environ.get(ARTIFACTS_ENV)
    if base:
        root = Path(base)
    else:
        here = Path.cwd().resolve()
        book = next((folder for folder in (here, *here.parents) if (folder / "_toc.yml").is_file()), here)
        root = book / "_build" / "artifacts"
    folder = root / profile.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def package_versions() -> dict[str, str]:
    """Versions of Python and of :data:`PACKAGES` (``"not installed"`` for a missing one), for the
    collapsed cell that opens every chapter."""
    import importlib.metadata as md
    import platform

    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
