"""Published MNIST results beside this book's models: the published figures as the papers report them, this
book's from the results record of the build (:func:`book_models`), and the sentences that place them
(:func:`standing_markdown`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Published:
    """One published result: who, what, the reported test error in percent, and on which test set and setting."""

    cite: str
    method: str
    error_percent: float
    test_set: str
    setting: str


OFFICIAL = "official MNIST test set (10,000)"
KAGGLE = "Kaggle's Digit Recognizer test split, not the official one"

#: As reported by the authors (see the page's references); errors in percent of the test images.
PUBLISHED: list[Published] = [
    Published("Cireşan et al. 2012", "multi-column deep neural network", 0.23, OFFICIAL,
              "an average of several deep CNN columns, each trained on the digits preprocessed differently"),
    Published("Wan et al. 2013", "DropConnect", 0.21, OFFICIAL, "several DropConnect networks aggregated"),
    Published("An et al. 2020", "two-layer ensemble of simple CNNs", 0.09, OFFICIAL,
              "three ensembles of CNNs without pooling, rotation and translation augmentation; best of their runs"),
    Published("An et al. 2020", "majority vote of three simple CNNs", 0.13, OFFICIAL, "as above; best of their runs"),
    Published("Byerly et al. 2020", "capsule networks, ensemble", 0.13, OFFICIAL,
              "homogeneous vector capsules with several classification branches, no routing"),
    Published("Byerly et al. 2020", "capsule network, single model", 0.17, OFFICIAL, "one model of the above"),
    Published("Deotte 2018", "ensemble of 15 CNNs", 0.255, OFFICIAL,
              "trained on millions of rotated, scaled and shifted digits; mean of 100 runs (best 0.21%)"),
    Published("Deotte 2018", "ensemble of 15 CNNs, Kaggle", 0.243, KAGGLE,
              "the same ensemble, scored on Kaggle's leaderboard (99.757%)"),
]


def book_models(results: pd.DataFrame) -> pd.DataFrame:
    """This book's single model and ensemble from the results record: chapter 4's recipe as chapter 4 predicts (with
    test-time augmentation when it recorded that model, which it does when validation chose it) and chapter 6's
    ensemble. Columns ``method``, ``test_accuracy``; missing records are left out."""
    rows = []
    chapter4 = results[results["chapter"] == 4].set_index("model")["test_accuracy"]
    for model, label in (("CNN + mild augmentation + cosine schedule + TTA",
                          "this book: chapter 4's recipe, one model, with test-time augmentation"),
                         ("CNN + mild augmentation + cosine schedule", "this book: chapter 4's recipe, one model")):
        if model in chapter4.index:
            rows.append({"method": label, "test_accuracy": float(chapter4[model])})
            break
    chapter6 = results[(results["chapter"] == 6) & results["model"].str.startswith("ensemble of")]
    if not chapter6.empty:
        row = chapter6.iloc[-1]
        rows.append({"method": f"this book: {row['model']} (chapter 6)", "test_accuracy": float(row["test_accuracy"])})
    return pd.DataFrame(rows, columns=["method", "test_accuracy"])


def published_markdown(results: pd.DataFrame, n_test: int, test_set: str) -> str:
    """One table of the published results and this book's models, sorted by test error, this book's with 95% Wilson
    intervals on the test error; ``test_set`` describes this build's test images."""
    from mnist_helpers.stats import binomial_interval

    rows = [(p.error_percent, f"{p.cite}: {p.method}", f"{p.error_percent:g}%", "", p.test_set, p.setting)
            for p in PUBLISHED]
    for model in book_models(results).itertuples():
        low, high = binomial_interval(int(round(model.test_accuracy * n_test)), n_test)
        error = (1 - model.test_accuracy) * 100
        rows.append((error, f"**{model.method}**", f"**{error:.2f}%**", f"{(1 - high):.2%} to {(1 - low):.2%}",
                     test_set, "measured in this build"))
    lines = ["| result | test error | 95% interval | setting |", "|---|---:|---|---|"]
    lines += [f"| {method} | {error} | {interval} | {setting if test_set == OFFICIAL else f'*{test_set}*: {setting}'} |"
              for _, method, error, interval, test_set, setting in sorted(rows, key=lambda row: row[0])]
    return "\n".join(lines)


def standing_markdown(results: pd.DataFrame, n_test: int) -> str:
    """Where this book's models stand: for each, the published figures on the official test set below, inside and
    above its 95% Wilson interval for the test error."""
    from mnist_helpers.stats import binomial_interval

    models = book_models(results)
    if models.empty:
        return "*This build recorded neither chapter 4's recipe nor chapter 6's ensemble.*"
    official = [p for p in PUBLISHED if p.test_set == OFFICIAL]
    sentences = []
    for model in models.itertuples():
        low, high = binomial_interval(int(round(model.test_accuracy * n_test)), n_test)
        error_low, error_high = (1 - high) * 100, (1 - low) * 100

        def named(chosen):
            return "; ".join(f"{p.cite}, {p.method} ({p.error_percent:g}%)"
                             for p in sorted(chosen, key=lambda p: p.error_percent)) or "none"

        below = [p for p in official if p.error_percent < error_low]
        inside = [p for p in official if error_low <= p.error_percent <= error_high]
        sentences.append(
            f"- **{model.method}**: test error {(1 - model.test_accuracy):.2%}, 95% interval {error_low:.2f}% to "
            f"{error_high:.2f}%. Published results on the official test set with an error below that interval: "
            f"{named(below)}. "
            f"Inside it: {named(inside)}.")
    return "\n".join(sentences)
