import numpy as np
import pytest

from mnist_helpers.augment import PRESETS, augment_images, build_augmenter, make_train_dataset


def _images(n=16):
    x = np.zeros((n, 28, 28, 1), np.float32)
    x[:, 10:18, 12:16, 0] = 1.0
    return x, np.arange(n) % 10


def test_train_dataset_without_augmentation_only_shuffles():
    x, _ = _images()
    y = np.arange(16)
    x = (x * (y[:, None, None, None] + 1) / 16).astype(np.float32)
    batches = list(make_train_dataset(x, y, batch_size=5, augment="none", seed=0).as_numpy_iterator())
    assert [len(b[1]) for b in batches] == [5, 5, 5, 1]
    images, labels = np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
    assert labels.tolist() != y.tolist()  # shuffled
    np.testing.assert_array_equal(images, x[labels])  # unchanged, each with its label


def test_train_dataset_augments_and_keeps_labels_with_images():
    x, _ = _images()
    y = np.arange(16)
    x = (x * (y[:, None, None, None] + 1) / 16).astype(np.float32)  # image k has ink (k + 1) / 16: its label
    (xb, yb), = make_train_dataset(x, y, batch_size=16, augment="mild", seed=1).take(1).as_numpy_iterator()
    assert xb.shape == x.shape and not np.allclose(np.sort(xb.ravel()), np.sort(x.ravel()))
    assert sorted(yb.tolist()) == y.tolist() and yb.tolist() != y.tolist()  # shuffled
    # A mild transform keeps the inside of the bar at its ink level, so each image still carries its label.
    np.testing.assert_allclose(xb.reshape(16, -1).max(axis=1), (yb + 1) / 16, atol=1e-5)


def test_augmenter_layers_draw_independent_transforms():
    """Each random layer has its own seed, so a batch's rotations, shifts and zooms are uncorrelated."""
    import tensorflow as tf

    from mnist_helpers.augment import layer_seeds

    seeds = layer_seeds(4)
    assert len(set(seeds)) == 3 and layer_seeds(4) == seeds and not set(seeds) & set(layer_seeds(5))
    assert layer_seeds(None) == [None, None, None]
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="non-negative int or None"):
            layer_seeds(bad)
    rotation, translation, zoom = build_augmenter("mild", seed=4).layers
    batch = tf.zeros((512, 28, 28, 1))
    draws = [
        np.asarray(rotation.get_random_transformation(batch, training=True)["angle"]).ravel(),
        *np.asarray(translation.get_random_transformation(batch, training=True)["translations"]).T,
        np.asarray(zoom.get_random_transformation(batch, training=True)["height_zoom"]).ravel(),
    ]
    correlation = np.corrcoef(draws)
    assert np.abs(correlation[np.triu_indices(4, k=1)]).max() < 0.2, correlation.round(2)


def test_same_seed_same_augmented_batches_and_same_model():
    """The augmentation draws its random numbers in order, so a seed reproduces the batches and the
    trained weights."""
    import keras

    from mnist_helpers.models import build_cnn

    rng = np.random.default_rng(0)
    x = rng.random((96, 28, 28, 1), dtype=np.float32)
    y = np.arange(96) % 10

    def batches(seed):
        return [b[0] for b in make_train_dataset(x, y, batch_size=16, augment="mild", seed=seed).as_numpy_iterator()]

    first, again, other = batches(3), batches(3), batches(4)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])

    def weights(seed):
        keras.utils.set_random_seed(seed)
        model = build_cnn(filters=[4, 8], dense_units=8)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(make_train_dataset(x, y, batch_size=16, augment="mild", seed=seed), epochs=2, verbose=0)
        return model.get_weights()

    for a, b in zip(weights(5), weights(5)):
        np.testing.assert_array_equal(a, b)


def test_none_preset_has_no_augmenter_and_augmenters_fill_with_zeros():
    assert build_augmenter("none") is None
    x = np.ones((8, 28, 28, 1), np.float32)  # ink everywhere: only the fill can bring zeros in
    out = augment_images(x, "strong", seed=0)
    assert out.shape == x.shape and out.min() >= 0.0
    # Zeros come in at the edges ("reflect" or "nearest" would keep every pixel at 1.0 here).
    assert (out.reshape(8, -1).min(axis=1) < 0.01).all()


def test_a_range_at_zero_leaves_that_transform_out():
    """The widget's presets set rotation and shift only: a layer whose range is zero is the identity,
    so the augmenter does exactly what its other layers do."""
    from keras import layers

    from mnist_helpers.augment import AugmentPreset, layer_seeds

    x, _ = _images(4)
    np.testing.assert_array_equal(augment_images(x, AugmentPreset(), seed=0), x)
    shifted = augment_images(x, AugmentPreset(translation=0.2), seed=7)
    alone = layers.RandomTranslation(0.2, 0.2, fill_mode="constant", fill_value=0.0, seed=layer_seeds(7)[1])
    expected = np.asarray(alone(x, training=True))
    assert not np.allclose(expected, x)
    np.testing.assert_allclose(shifted, expected, atol=1e-6)


def test_unknown_preset_and_unprepared_input_are_refused():
    with pytest.raises(ValueError, match="none, mild, strong"):
        build_augmenter("wild")
    with pytest.raises(ValueError, match="prepared"):
        make_train_dataset(np.zeros((2, 28, 28), np.uint8), np.zeros(2))
    with pytest.raises(ValueError, match="same length"):
        make_train_dataset(_images(4)[0], np.zeros(3))


def test_presets_are_ordered_mild_below_strong():
    assert PRESETS["mild"].rotation_degrees < PRESETS["strong"].rotation_degrees
    assert PRESETS["mild"].translation < PRESETS["strong"].translation


def test_plots_return_axes():
    import matplotlib

    matplotlib.use("Agg")
    from mnist_helpers.plots import plot_learning_curves, show_digits
    from mnist_helpers.training import history_frame

    frame = history_frame({"accuracy": [0.5, 0.6], "val_accuracy": [0.4, 0.5], "loss": [1, 0.5], "val_loss": [1, 0.6]})
    axes = plot_learning_curves(frame)
    assert len(axes) == 2 and [ax.get_ylabel() for ax in axes] == ["accuracy", "loss"]
    assert show_digits(np.zeros((3, 28, 28)), ncols=3).shape == (3,)
    with pytest.raises(ValueError, match="metric"):
        plot_learning_curves(frame, ["f1"])


def test_plot_runs_and_a_learning_rate_that_reaches_zero():
    import matplotlib

    matplotlib.use("Agg")
    from mnist_helpers.plots import plot_learning_curves, plot_runs
    from mnist_helpers.training import history_frame

    cosine = history_frame({"val_accuracy": [0.9, 0.95], "learning_rate": [5e-4, 0.0]})
    plateau = history_frame({"val_accuracy": [0.9, 0.94], "learning_rate": [1e-3, 5e-4]})
    ax = plot_runs({"cosine": cosine, "plateau": plateau})
    assert len(ax.get_lines()) >= 2 and ax.get_ylabel() == "validation accuracy"
    assert plot_runs({"cosine": cosine, "plateau": plateau}, "learning_rate", split="train").get_ylabel() == "learning rate"
    assert plot_learning_curves(cosine, ["learning_rate"])[0].get_yscale() == "linear"  # log(0) is undefined
    rate_ax = plot_learning_curves(plateau, ["learning_rate"])[0]
    assert rate_ax.get_yscale() == "log" and rate_ax.get_legend() is None  # the learning rate has one line
    with pytest.raises(ValueError, match="no validation 'loss'"):
        plot_runs({"cosine": cosine}, "loss")
    with pytest.raises(ValueError, match="at least one run"):
        plot_runs({})


def test_predict_tta_averages_views_and_zero_copies_is_plain_predict():
    import keras

    from mnist_helpers.augment import predict_tta

    x, _ = _images(4)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    plain = model.predict(x, verbose=0)
    np.testing.assert_allclose(predict_tta(model, x, copies=0), plain, rtol=1e-6)
    tta = predict_tta(model, x, copies=3)
    assert tta.shape == plain.shape and np.allclose(tta.sum(axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="copies"):
        predict_tta(model, x, copies=-1)


def test_train_dataset_refuses_a_batch_size_that_is_not_a_positive_int():
    x, y = _images(4)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size must be a positive int"):
            make_train_dataset(x, y, batch_size=bad, augment="none")
