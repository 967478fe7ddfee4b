"""The archived builders (``mnist_helpers.models``), the pieces around ``model.fit``
(``mnist_helpers.training``) and the saved-model cache they feed (``mnist_helpers.cache``)."""

import numpy as np
import pytest

from mnist_helpers.config import get_profile
from mnist_helpers.models import build_cnn, build_dense
from mnist_helpers.training import (
    best_epoch,
    check_monitors,
    fit_verbosity,
    history_frame,
    log_learning_rate,
)


def _kinds(model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def _tiny_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, n)


def _compiled_dense(hidden_units=8, learning_rate=1e-3):
    import keras

    keras.utils.set_random_seed(0)
    model = build_dense(hidden_units=hidden_units)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


# --- models -----------------------------------------------------------------------------------

def test_dense_shapes_and_params():
    model = build_dense(hidden_units=32)
    assert model.output_shape == (None, 10)
    assert _kinds(model) == ["Flatten", "Dense", "Dropout", "Dense"]
    assert model.count_params() == 784 * 32 + 32 + 32 * 10 + 10


def test_the_default_cnn_is_chapter_3s():
    """Three blocks of conv, pool, BN, ReLU, dropout; then dense, BN, ReLU, dropout, softmax."""
    model = build_cnn()
    block = ["Conv2D", "MaxPooling2D", "BatchNormalization", "ReLU", "Dropout"]
    assert _kinds(model) == block * 3 + ["Flatten", "Dense", "BatchNormalization", "ReLU", "Dropout", "Dense"]
    assert [layer.filters for layer in model.layers if type(layer).__name__ == "Conv2D"] == [32, 64, 128]
    assert [layer.rate for layer in model.layers if type(layer).__name__ == "Dropout"] == [0.1] * 3 + [0.3]
    assert model.output_shape == (None, 10)
    assert model.layers[-1].get_config()["activation"] == "softmax"
    # conv (no bias) + BN per block; dense (no bias) + BN over the 3 x 3 x 128 pooled maps; softmax layer
    convs = 9 * 32 + 4 * 32 + 9 * 32 * 64 + 4 * 64 + 9 * 64 * 128 + 4 * 128
    assert model.count_params() == convs + 3 * 3 * 128 * 256 + 4 * 256 + 256 * 10 + 10 == 391_850


def test_cnn_shapes_and_params():
    model = build_cnn(filters=(8, 16), dense_units=16)
    assert model.output_shape == (None, 10)
    # conv 3*3*1*8 + BN 4*8; conv 3*3*8*16 + BN 4*16; dense 7*7*16*16 + BN 4*16; out 16*10+10
    assert model.count_params() == 72 + 32 + 1152 + 64 + 12544 + 64 + 170
    pooled = [layer for layer in model.layers if type(layer).__name__ == "BatchNormalization"]
    assert pooled[0].output.shape[1:] == (14, 14, 8)  # normalization sees the pooled maps


def test_cnn_without_batch_norm_has_biases_and_without_dropout_has_zero_rates():
    plain = build_cnn(filters=(8,), dense_units=16, batch_norm=False)
    assert "BatchNormalization" not in _kinds(plain)
    assert all(layer.use_bias for layer in plain.layers if type(layer).__name__ in ("Conv2D", "Dense"))
    assert plain.count_params() == 72 + 8 + 14 * 14 * 8 * 16 + 16 + 170
    no_dropout = build_cnn(filters=(8,), dense_units=16, dropout=0.0, dense_dropout=0.0)
    assert [layer.rate for layer in no_dropout.layers if type(layer).__name__ == "Dropout"] == [0.0, 0.0]


@pytest.mark.parametrize("kwargs, match", [
    ({"dropout": 1.0}, r"dropout rates must be in \[0, 1\), got 1.0"),
    ({"dense_dropout": -0.1}, r"dropout rates must be in \[0, 1\), got -0.1"),
    ({"filters": ()}, "filters must be a non-empty sequence of positive ints"),
    ({"filters": (8, 0)}, "filters must be a non-empty sequence of positive ints"),
    ({"dense_units": 0}, "dense_units must be a positive int, got 0"),
    ({"dense_units": True}, "dense_units must be a positive int, got True"),
])
def test_cnn_rejects_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_cnn(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"hidden_units": 0}, "hidden_units must be at least 1, got 0"),
    ({"dropout": 1.5}, r"dropout rates must be in \[0, 1\), got 1.5"),
])
def test_dense_rejects_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_dense(**kwargs)


# --- training ---------------------------------------------------------------------------------

def test_history_frame_is_tidy():
    frame = history_frame({"accuracy": [0.5, 0.6], "val_accuracy": [0.4, 0.55], "learning_rate": [1e-3, 5e-4]})
    assert list(frame.columns) == ["epoch", "metric", "split", "value"]
    assert len(frame) == 6
    val = frame[(frame.metric == "accuracy") & (frame.split == "validation")]
    assert val["value"].tolist() == [0.4, 0.55] and val["epoch"].tolist() == [1, 2]
    rate = frame[frame.metric == "learning_rate"]
    assert rate["split"].tolist() == ["train", "train"]
    with pytest.raises(ValueError, match="History"):
        history_frame({})


def test_best_epoch():
    assert best_epoch({"val_accuracy": [0.1, 0.9, 0.8]}) == 2
    assert best_epoch({"val_loss": [0.5, 0.2, 0.3]}, "val_loss") == 2
    with pytest.raises(ValueError, match="'val_acc' is not in the history"):
        best_epoch({"accuracy": [1.0]}, "val_acc")


def test_check_monitors_passes_a_logged_monitor():
    x, y = _tiny_data()
    history = _compiled_dense().fit(x, y, validation_data=(x[:16], y[:16]), epochs=2,
                                    callbacks=[check_monitors("val_accuracy", "val_loss")], verbose=0)
    assert len(history.history["val_accuracy"]) == 2


def test_misspelt_monitor_fails_loudly():
    """EarlyStopping only warns about a monitor Keras does not log; check_monitors stops the fit."""
    import keras

    x, y = _tiny_data()
    callbacks = [check_monitors("val_acc"), keras.callbacks.EarlyStopping(monitor="val_acc", patience=1)]
    with pytest.raises(ValueError, match=r"callbacks monitor \['val_acc'\], but Keras logged only .*'val_accuracy'"):
        _compiled_dense().fit(x, y, validation_data=(x[:16], y[:16]), epochs=2, callbacks=callbacks, verbose=0)


def test_a_validation_monitor_without_validation_data_fails_loudly():
    x, y = _tiny_data()
    with pytest.raises(ValueError, match="validation metrics need validation data"):
        _compiled_dense().fit(x, y, epochs=1, callbacks=[check_monitors("val_loss")], verbose=0)


def test_log_learning_rate_logs_a_cosine_rate():
    """After epoch 1 of 2 a cosine decay is halfway down, after epoch 2 at zero; both are logged."""
    import keras

    x, y = _tiny_data(64)
    steps = 4
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=2 * steps)
    model = _compiled_dense(learning_rate=schedule)
    history = model.fit(x, y, batch_size=16, epochs=2, callbacks=[log_learning_rate()], verbose=0)
    assert history.history["learning_rate"] == [pytest.approx(5e-4), pytest.approx(0.0, abs=1e-9)]


def test_log_learning_rate_logs_a_constant_rate():
    x, y = _tiny_data(32)
    history = _compiled_dense(learning_rate=2e-3).fit(x, y, epochs=2, callbacks=[log_learning_rate()], verbose=0)
    assert history.history["learning_rate"] == [pytest.approx(2e-3)] * 2


@pytest.mark.parametrize("value, expected", [(None, "auto"), ("", "auto"), ("0", 0), ("2", 2), (" 1 ", 1), ("auto", "auto")])
def test_fit_verbosity_reads_mnist_verbose(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("MNIST_VERBOSE", raising=False)
    else:
        monkeypatch.setenv("MNIST_VERBOSE", value)
    assert fit_verbosity() == expected


@pytest.mark.parametrize("value", ["3", "loud", "-1"])
def test_fit_verbosity_refuses_what_keras_would_not_take(monkeypatch, value):
    monkeypatch.setenv("MNIST_VERBOSE", value)
    with pytest.raises(ValueError, match=f"MNIST_VERBOSE must be 0, 1, 2 or auto, got '{value}'"):
        fit_verbosity()


# --- cache ------------------------------------------------------------------------------------

def _train_tiny(calls: list, hidden_units: int = 4):
    """A train_fn for train_or_load: returns (model, History), as a chapter's own function does."""
    def train():
        calls.append(1)
        x, y = _tiny_data()
        model = _compiled_dense(hidden_units=hidden_units)
        return model, model.fit(x, y, validation_data=(x, y), epochs=1, verbose=0)

    return train


def test_train_or_load_retrains_on_other_config(artifacts):
    from mnist_helpers.cache import FitResult, train_or_load

    calls: list = []
    smoke = get_profile("smoke")
    _, first, loaded = train_or_load("tiny", {"width": 4}, _train_tiny(calls), smoke)
    assert not loaded and isinstance(first, FitResult) and first.epochs == 1 and first.seconds > 0
    model, again, loaded = train_or_load("tiny", {"width": 4}, _train_tiny(calls), smoke)
    assert loaded and again.history == first.history and model.count_params() == 4 * 784 + 4 + 50
    _, _, loaded = train_or_load("tiny", {"width": 5}, _train_tiny(calls), smoke)
    assert not loaded
    _, _, loaded = train_or_load("tiny", {"width": 5}, _train_tiny(calls), get_profile("full"))
    assert not loaded and len(calls) == 3


def test_train_or_load_retrains_a_model_augmented_by_an_older_version(artifacts):
    import json

    from mnist_helpers.augment import AUGMENT_VERSION
    from mnist_helpers.cache import saved_model_path, train_or_load

    calls: list = []
    smoke = get_profile("smoke")
    augmented, plain = {"width": 4, "augment": "mild"}, {"width": 4, "augment": "none"}
    for name, config in (("augmented", augmented), ("plain", plain)):
        train_or_load(name, config, _train_tiny(calls), smoke)
    meta_path = saved_model_path("augmented", smoke).with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    assert meta["augment_version"] == AUGMENT_VERSION
    assert "augment_version" not in json.loads(saved_model_path("plain", smoke).with_suffix(".json").read_text())
    assert train_or_load("augmented", augmented, _train_tiny(calls), smoke)[2]  # loaded
    meta_path.write_text(json.dumps({**meta, "augment_version": AUGMENT_VERSION - 1}))
    assert not train_or_load("augmented", augmented, _train_tiny(calls), smoke)[2]  # trained again
    assert train_or_load("plain", plain, _train_tiny(calls), smoke)[2]
