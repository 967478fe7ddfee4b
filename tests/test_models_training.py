import numpy as np
import pandas as pd
import pytest

from mnist_helpers.config import get_profile
from mnist_helpers.models import build_cnn, build_dense, compile_model
from mnist_helpers.training import best_epoch, fit, history_frame, make_callbacks, train_or_load


def test_dense_shapes_and_params():
    model = build_dense(hidden_units=32)
    assert model.output_shape == (None, 10)
    assert model.count_params() == 784 * 32 + 32 + 32 * 10 + 10


def test_cnn_shapes_and_params():
    model = build_cnn(filters=(8, 16), convs_per_block=1, dense_units=16)
    assert model.output_shape == (None, 10)
    # conv 3*3*1*8 + BN 4*8; conv 3*3*8*16 + BN 4*16; dense 7*7*16*16 + BN 4*16; out 16*10+10
    expected = 72 + 32 + 1152 + 64 + 12544 + 64 + 170
    assert model.count_params() == expected


def test_cnn_without_batch_norm_has_biases_and_no_dropout():
    model = build_cnn(filters=(8,), convs_per_block=2, dense_units=16, batch_norm=False, dropout=0.0, dense_dropout=0.0)
    names = [layer.__class__.__name__ for layer in model.layers]
    assert "BatchNormalization" not in names and "Dropout" not in names
    assert names.count("Conv2D") == 2


def test_cnn_pool_first_normalizes_pooled_maps_with_the_same_parameters():
    kwargs = dict(filters=(8, 16), convs_per_block=2, dense_units=16)
    plain, pooled = build_cnn(**kwargs), build_cnn(**kwargs, pool_first=True)
    assert pooled.count_params() == plain.count_params()
    assert pooled.output_shape == (None, 10)
    kinds = [layer.__class__.__name__ for layer in pooled.layers]
    # the first conv of a block keeps BN + ReLU at full size; the last one is pooled first
    assert kinds[1:9] == ["Conv2D", "BatchNormalization", "ReLU", "Conv2D", "MaxPooling2D", "BatchNormalization", "ReLU", "Dropout"]
    norms = [layer for layer in pooled.layers if layer.__class__.__name__ == "BatchNormalization"]
    assert norms[1].output.shape[1:3] == (14, 14)


@pytest.mark.parametrize("kwargs, match", [({"dropout": 1.0}, "dropout"), ({"filters": ()}, "filters"), ({"convs_per_block": 0}, "convs_per_block"),
                                           ({"dense_units": 0}, "dense_units must be a positive int, got 0")])
def test_cnn_rejects_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_cnn(**kwargs)


def test_history_frame_is_tidy():
    frame = history_frame({"accuracy": [0.5, 0.6], "val_accuracy": [0.4, 0.55], "learning_rate": [1e-3, 5e-4]})
    assert list(frame.columns) == ["epoch", "metric", "split", "value"]
    assert len(frame) == 6
    val = frame[(frame.metric == "accuracy") & (frame.split == "validation")]
    assert val["value"].tolist() == [0.4, 0.55] and val["epoch"].tolist() == [1, 2]
    with pytest.raises(ValueError, match="History"):
        history_frame({})


def test_best_epoch():
    assert best_epoch({"val_accuracy": [0.1, 0.9, 0.8]}) == 2
    assert best_epoch({"val_loss": [0.5, 0.2, 0.3]}, "val_loss") == 2
    with pytest.raises(ValueError, match="val_acc"):
        best_epoch({"accuracy": [1.0]}, "val_acc")


def _tiny_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, n)


@pytest.mark.parametrize("monitor", ["val_accuracy", "val_loss"])
def test_callbacks_see_their_monitored_metric(monitor):
    """Each callback's monitor is a name Keras 3 logs; the fit runs without the check firing."""
    from mnist_helpers.seeding import seed_everything

    seed_everything(0)
    x, y = _tiny_data()
    model = compile_model(build_dense(hidden_units=8))
    callbacks = make_callbacks(monitor=monitor, early_stopping_patience=1, reduce_lr_patience=1)
    result = fit(model, (x, y), (x[:16], y[:16]), epochs=2, callbacks=callbacks, profile=get_profile("full"), verbose=0)
    assert monitor in result.history and "learning_rate" in result.history
    for callback in callbacks[1:]:
        assert callback.monitor in result.history


def test_callbacks_without_reduce_lr():
    callbacks = make_callbacks(monitor="val_loss", reduce_lr_patience=None)
    assert [type(c).__name__ for c in callbacks[1:]] == ["EarlyStopping", "_LearningRateLogger"]


def test_misspelt_monitor_fails_loudly():
    x, y = _tiny_data()
    model = compile_model(build_dense(hidden_units=8))
    with pytest.raises(ValueError, match="val_acc"):
        fit(model, (x, y), (x[:16], y[:16]), epochs=2, callbacks=make_callbacks(monitor="val_acc"),
            profile=get_profile("full"), verbose=0)


def test_fit_caps_epochs_by_profile():
    x, y = _tiny_data()
    result = fit(compile_model(build_dense(hidden_units=8)), (x, y), (x, y), epochs=5, profile=get_profile("smoke"), verbose=0)
    assert result.epochs == 1 and result.seconds > 0


def test_fit_on_a_dataset_sees_every_batch_once_per_epoch():
    """fit repeats a finite dataset behind one iterator; each epoch still has exactly its batches,
    reshuffled, and no batch is shared between two epochs."""
    import keras
    import tensorflow as tf

    x, y = _tiny_data(48)
    ids = np.arange(48, dtype=np.float32)
    x = x.copy()
    x[:, 0, 0, 0] = ids  # tag each image with its index
    train = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(48, seed=0, reshuffle_each_iteration=True).batch(16)
    seen: list[list[int]] = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append([])

    model = compile_model(build_dense(hidden_units=4))
    original = model.train_step

    def train_step(data):
        tf.py_function(lambda v: seen[-1].extend(int(i) for i in v.numpy()), [data[0][:, 0, 0, 0]], [])
        return original(data)

    model.train_step = train_step
    model.run_eagerly = True
    result = fit(model, train, (x[:16], y[:16]), epochs=3, callbacks=[Record()], profile=get_profile("full"), verbose=0)
    assert result.epochs == 3
    assert [sorted(ids) for ids in seen] == [list(range(48))] * 3
    assert seen[0] != seen[1]


def test_train_or_load_retrains_on_other_config(artifacts):
    from mnist_helpers.training import FitResult

    calls = []
    x, y = _tiny_data()

    def train():
        calls.append(1)
        model = compile_model(build_dense(hidden_units=4))
        return model, fit(model, (x, y), (x, y), epochs=1, profile=get_profile("smoke"), verbose=0)

    smoke = get_profile("smoke")
    _, first, loaded = train_or_load("tiny", {"width": 4}, train, smoke)
    assert not loaded and isinstance(first, FitResult)
    model, again, loaded = train_or_load("tiny", {"width": 4}, train, smoke)
    assert loaded and again.history == first.history and model.count_params() == 4 * 784 + 4 + 50
    _, _, loaded = train_or_load("tiny", {"width": 5}, train, smoke)
    assert not loaded
    _, _, loaded = train_or_load("tiny", {"width": 5}, train, get_profile("full"))
    assert not loaded and len(calls) == 3


def test_train_or_load_retrains_a_model_augmented_by_an_older_version(artifacts):
    import json

    from mnist_helpers.augment import AUGMENT_VERSION
    from mnist_helpers.training import saved_model_path

    x, y = _tiny_data()
    smoke = get_profile("smoke")

    def train():
        model = compile_model(build_dense(hidden_units=4))
        return model, fit(model, (x, y), (x, y), epochs=1, profile=smoke, verbose=0)

    augmented, plain = {"width": 4, "augment": "mild"}, {"width": 4, "augment": "none"}
    for name, config in (("augmented", augmented), ("plain", plain)):
        train_or_load(name, config, train, smoke)
    meta_path = saved_model_path("augmented", smoke).with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    assert meta["augment_version"] == AUGMENT_VERSION
    assert "augment_version" not in json.loads(saved_model_path("plain", smoke).with_suffix(".json").read_text())
    assert train_or_load("augmented", augmented, train, smoke)[2]  # loaded
    meta_path.write_text(json.dumps({**meta, "augment_version": AUGMENT_VERSION - 1}))
    assert not train_or_load("augmented", augmented, train, smoke)[2]  # trained again
    assert train_or_load("plain", plain, train, smoke)[2]
