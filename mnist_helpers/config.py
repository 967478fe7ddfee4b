"""The run profile, read from ``MNIST_PROFILE``, and where the book keeps its artifacts (chapter 1)."""

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
    """How much data and training a run uses: ``full`` (all of MNIST, the real budgets; the rendered book) or
    ``smoke`` (a small stratified subset, one epoch, so CI runs every notebook fast). ``n_train`` / ``n_test``
    of ``None`` mean all there is; the ``n_val`` validation images come from the 60,000 training images;
    ``max_epochs`` caps every fit (``None``: no cap)."""

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
    """The profile called ``name``, else the one named by ``MNIST_PROFILE``, else ``full``; a ValueError lists
    the valid names when the name is unknown."""
    chosen = name if name is not None else os.environ.get(PROFILE_ENV, "").strip() or "full"
    if (key := chosen.strip().lower()) not in PROFILES:
        raise ValueError(f"Unknown MNIST profile {chosen!r}: expected one of {', '.join(sorted(PROFILES))} "
                         f"(set {PROFILE_ENV} to one of them, or unset it for 'full').")
    return PROFILES[key]


def artifacts_dir(profile: Profile | None = None) -> Path:
    """The git-ignored folder of a profile's results and saved models, created if needed.

    ``$MNIST_ARTIFACTS_DIR/<profile>``, else ``<book>/_build/artifacts/<profile>``, where ``<book>`` is the first
    parent of the working folder that holds ``_toc.yml`` (else the working folder itself).
    """
    base = os.environ.get(ARTIFACTS_ENV)
    if not base:
        here = Path.cwd().resolve()
        book = next((folder for folder in (here, *here.parents) if (folder / "_toc.yml").is_file()), here)
        base = book / "_build" / "artifacts"
    folder = Path(base) / (profile or get_profile()).name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def package_versions() -> dict[str, str]:
    """Versions of Python and of :data:`PACKAGES` (``"not installed"`` for a missing one)."""
    import importlib.metadata as md
    import platform

    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
