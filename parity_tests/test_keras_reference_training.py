"""The torch training pieces against the expected numbers in Keras's (and scikit-learn's) OWN unit tests.

An independent reference: no TensorFlow or Keras is imported here. Each test
re-states, on torch tensors, the inputs and the expected figures of one test
in the Keras 3.15.1 sources (tag ``v3.15.1``) or in scikit-learn 1.7.2's
``sklearn/utils/tests/test_class_weight.py``, with that test's tolerance:

* ``keras/src/optimizers/{adam,sgd,rmsprop}_test.py`` -> :mod:`torch_impl.optim`
* ``keras/src/layers/normalization/batch_normalization_test.py`` -> :mod:`torch_impl.nn`
* ``keras/src/trainers/data_adapters/{data_adapter_utils,array_data_adapter,
  tf_dataset_adapter,py_dataset_adapter}_test.py`` and
  ``keras/src/trainers/trainer_test.py::test_on_batch_methods`` ->
  :mod:`torch_impl.class_weight` (and :mod:`torch_impl.fit`)
* ``sklearn/utils/tests/test_class_weight.py`` -> ``compute_class_weight``

Tolerances: Keras's ``testing.TestCase.assertAllClose`` defaults to
``atol = rtol = 1e-6``; its ``assertAlmostEqual`` to ``decimal=3``.
scikit-learn's ``assert_array_almost_equal`` / ``assert_almost_equal`` default
to ``decimal=6`` / ``decimal=7``; ``numpy.testing.assert_allclose`` to
``rtol=1e-7, atol=0``.

Channels: Keras's BatchNormalization tests use channels-last data with
``axis=-1``; here the data are moved to channels-first for ``BatchNorm1d`` /
``BatchNorm2d`` (and, as a second translation, fed as they are to the
project's ``BatchNormalization(axis=-1)``).

Every test prints ``name got expected max_abs_diff`` for what it asserts.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

from torch_impl import optim
from torch_impl.class_weight import class_weight_to_sample_weight, compute_class_weight
from torch_impl.fit import evaluate, fit
from torch_impl.losses import LossFunctionWrapper
from torch_impl.nn import BatchNorm1d, BatchNorm2d, BatchNormalization

OPTIMIZERS = {"Adam": optim.Adam, "SGD": optim.SGD, "RMSprop": optim.RMSprop}


# ----------------------------------------------------------------------------------------------- helpers


def _np(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().to(torch.float64).numpy()
    return np.asarray(value, dtype=np.float64)


def _show(name: str, got, expected) -> float:
    """Print ``name got expected max_abs_diff`` and return the difference."""
    g, e = _np(got), _np(expected)
    diff = float(np.max(np.abs(g - e))) if g.size else 0.0
    fmt = (lambda a: np.round(a, 8).tolist()) if g.size <= 24 else (lambda a: f"<array {a.shape}>")
    print(name, fmt(g), fmt(e) if e.size <= 24 else f"<array {e.shape}>", diff)
    return diff


def keras_all_close(name, got, expected, atol=1e-6, rtol=1e-6):
    """Keras ``testing.TestCase.assertAllClose`` (defaults atol = rtol = 1e-6)."""
    _show(name, got, expected)
    g, e = _np(got), _np(expected)
    np.testing.assert_allclose(g, np.broadcast_to(e, g.shape), atol=atol, rtol=rtol, err_msg=name)


def keras_not_all_close(name, got, expected, atol=1e-6, rtol=1e-6):
    """Keras ``testing.TestCase.assertNotAllClose``."""
    _show(name + " (must differ)", got, expected)
    assert not np.allclose(_np(got), _np(expected), atol=atol, rtol=rtol), name


def almost_equal(name, got, expected, decimal):
    """``numpy.testing.assert_almost_equal`` (Keras ``assertAlmostEqual`` uses decimal=3 by default)."""
    _show(name, got, expected)
    np.testing.assert_almost_equal(_np(got), _np(expected), decimal=decimal, err_msg=name)


def _param(values, dtype=torch.float32) -> torch.nn.Parameter:
    return torch.nn.Parameter(torch.tensor(values, dtype=dtype))


def _apply(opt: torch.optim.Optimizer, grads, params) -> None:
    """Keras ``optimizer.apply_gradients(zip(grads, params))``: Keras casts each gradient to its variable's dtype."""
    for g, p in zip(grads, params):
        p.grad = torch.as_tensor(g).to(p.dtype).clone()
    opt.step()


# Keras's ops.arange(0.1, 1.1, 0.1) on the TensorFlow backend: float32 [0.1, 0.2, ..., 1.0] (10 values)
GOLDEN_GRADS = torch.arange(1, 11, dtype=torch.float64).div(10).to(torch.float32)
GOLDEN_FIRST_GRADS = torch.full((10,), 0.01, dtype=torch.float32)


# ----------------------------------------------------------------------------------------------- optimizers


@pytest.mark.parametrize("name, expected", [
    ("Adam", [0.5, 1.5, 2.5, 3.5]),                      # adam_test.py::test_single_step
    ("SGD", [0.5, -1.0, -0.5, 3.0]),                     # sgd_test.py::test_single_step
    ("RMSprop", [-0.5811, 0.4189, 1.4189, 2.4189]),      # rmsprop_test.py::test_single_step
])
def test_optimizer_single_step(name, expected):
    var = _param([1.0, 2.0, 3.0, 4.0])
    opt = OPTIMIZERS[name]([var], learning_rate=0.5)
    _apply(opt, [torch.tensor([1.0, 6.0, 7.0, 2.0])], [var])
    keras_all_close(f"{name}.single_step", var, expected, rtol=1e-4, atol=1e-4)


def test_sgd_single_step_variables():
    # sgd_test.py::test_single_step: the optimizer's variables after one step are
    # iterations == 1 and learning_rate == 0.5, and momentum 0 keeps no slot variable.
    var = _param([1.0, 2.0, 3.0, 4.0])
    opt = optim.SGD([var], learning_rate=0.5)
    _apply(opt, [torch.tensor([1.0, 6.0, 7.0, 2.0])], [var])
    got = [opt.iterations, opt.param_groups[0]["lr"], len(opt.state[var])]
    _show("SGD.single_step.variables(iterations, lr, n_slots)", got, [1, 0.5, 0])
    assert got == [1, 0.5, 0]


@pytest.mark.parametrize("bad", [-1.0, 2.0])
def test_sgd_invalid_momentum(bad):
    # sgd_test.py::test_invalid_momentum
    with pytest.raises(ValueError, match=r"`momentum` must be a float between \[0, 1\]\.") as info:
        optim.SGD([_param([1.0])], momentum=bad)
    print("SGD.invalid_momentum", bad, "raised:", info.value)


@pytest.mark.parametrize("name", ["Adam", "SGD", "RMSprop"])
def test_optimizer_weight_decay(name):
    # {adam,sgd,rmsprop}_test.py::test_weight_decay. Zero gradients, lr 1, weight_decay 0.004;
    # var1 goes through three optimizers -> 2 * 0.996**3.
    # Keras's optimizer_2 excludes var2 by NAME (exclude_from_weight_decay(var_names=["exclude"]));
    # torch parameters carry no names and torch_impl has no var_names= argument, so var2 is excluded
    # here by var_list instead (the expected value, 2.0, is the same).
    cls = OPTIMIZERS[name]
    zero = torch.zeros(())
    var1, var2, var3 = _param(2.0), _param(2.0), _param(2.0)

    opt1 = cls([var1], learning_rate=1.0, weight_decay=0.004)
    _apply(opt1, [zero], [var1])

    opt2 = cls([var1, var2], learning_rate=1.0, weight_decay=0.004)
    opt2.exclude_from_weight_decay([var2])  # Keras: var_names=["exclude"]
    _apply(opt2, [zero, zero], [var1, var2])

    opt3 = cls([var1, var3], learning_rate=1.0, weight_decay=0.004)
    opt3.exclude_from_weight_decay([var3])  # Keras: var_list=[var3]
    _apply(opt3, [zero, zero], [var1, var3])

    almost_equal(f"{name}.weight_decay.var1", var1, 1.9760959, decimal=6)
    almost_equal(f"{name}.weight_decay.var2", var2, 2.0, decimal=6)
    almost_equal(f"{name}.weight_decay.var3", var3, 2.0, decimal=6)


# golden tables of test_correctness_with_golden (one row per step, tolerance 5e-4)
ADAM_GOLDEN = np.tile([[0.999], [0.9982], [0.9974], [0.9965], [0.9955]], (1, 10))
SGD_GOLDEN = np.array([
    [0.9999] * 10,
    [0.9989, 0.9979, 0.9969, 0.9959, 0.9949, 0.9939, 0.9929, 0.9919, 0.9909, 0.9899],
    [0.9979, 0.9959, 0.9939, 0.9919, 0.9899, 0.9879, 0.9859, 0.9839, 0.9819, 0.9799],
    [0.9969, 0.9939, 0.9909, 0.9879, 0.9849, 0.9819, 0.9789, 0.9759, 0.9729, 0.9699],
    [0.9959, 0.9919, 0.9879, 0.9839, 0.9799, 0.9759, 0.9719, 0.9679, 0.9639, 0.9599],
])
RMSPROP_GOLDEN = np.tile([[0.9967], [0.9933], [0.9908], [0.9885], [0.9864]], (1, 10))


@pytest.mark.parametrize("name, kwargs, var_dtype, golden", [
    # adam_test.py: x = Variable(np.ones([10], dtype="float32"))
    ("Adam", dict(amsgrad=True), torch.float32, ADAM_GOLDEN),
    # sgd_test.py / rmsprop_test.py: x = Variable(np.ones([10])) -- a float64 variable in Keras 3.15.1
    # (the dtype comes from the NumPy array); the float32 gradients are cast to it
    ("SGD", dict(nesterov=True), torch.float64, SGD_GOLDEN),
    ("RMSprop", dict(centered=True), torch.float64, RMSPROP_GOLDEN),
])
def test_optimizer_correctness_with_golden(name, kwargs, var_dtype, golden):
    # {adam,sgd,rmsprop}_test.py::test_correctness_with_golden: default hyper-parameters except
    # kwargs; one step with gradient 0.01, then rows checked between steps with arange(0.1, 1.1, 0.1)
    x = torch.nn.Parameter(torch.ones(10, dtype=var_dtype))
    opt = OPTIMIZERS[name]([x], **kwargs)
    _apply(opt, [GOLDEN_FIRST_GRADS], [x])
    for i in range(5):
        keras_all_close(f"{name}.golden[{i}]", x, golden[i], rtol=5e-4, atol=5e-4)
        _apply(opt, [GOLDEN_GRADS], [x])


@pytest.mark.parametrize("name", ["Adam", "SGD", "RMSprop"])
@pytest.mark.parametrize("kind, kwargs, expected", [
    ("clip_norm", dict(clipnorm=1), [2 ** 0.5 / 2, 2 ** 0.5 / 2]),   # test_clip_norm
    ("clip_value", dict(clipvalue=1), [1.0, 1.0]),                    # test_clip_value
])
def test_optimizer_clip(name, kind, kwargs, expected):
    # {adam,sgd,rmsprop}_test.py::test_clip_norm / test_clip_value call the private
    # optimizer._clip_gradients(grads); torch_impl's counterpart is KerasOptimizer._clip(grads).
    # Keras passes float64 NumPy gradients.
    opt = OPTIMIZERS[name]([_param([0.0, 0.0])], **kwargs)
    clipped = opt._clip([torch.tensor([100.0, 100.0], dtype=torch.float64)])
    keras_all_close(f"{name}.{kind}._clip", clipped[0], expected)


@pytest.mark.parametrize("kind, kwargs, expected", [
    ("clip_norm", dict(clipnorm=1), [2 ** 0.5 / 2, 2 ** 0.5 / 2]),
    ("clip_value", dict(clipvalue=1), [1.0, 1.0]),
])
def test_sgd_clip_through_step(kind, kwargs, expected):
    # The same figures through the public path: SGD with lr 1 from w = 0 leaves w = -clipped gradient.
    w = _param([0.0, 0.0])
    opt = optim.SGD([w], learning_rate=1.0, **kwargs)
    _apply(opt, [torch.tensor([100.0, 100.0])], [w])
    keras_all_close(f"SGD.{kind}.step(-w)", -w, expected)


# Not translated (features torch_impl.optim does not have, or nothing numeric to compare):
# * adam_test.py::test_ema, test_ema_overwrite_frequency: no use_ema / ema_momentum /
#   ema_overwrite_frequency / finalize_variable_values in torch_impl.optim.
# * *_test.py::test_config: Keras (de)serialization (get_config/from_config); not an API here.
# * adam_test.py::test_clipnorm_indexed_slices: TensorFlow IndexedSlices (sparse) gradients;
#   torch_impl's optimizers reject sparse gradients.
# * exclude_from_weight_decay(var_names=...): no name-based exclusion (see test_optimizer_weight_decay).


# ----------------------------------------------------------------------------------------------- BatchNorm

def _bn_for(keras_shape, keras_axis, translation, **kwargs):
    """The torch layer and a function mapping Keras-layout NumPy data to its input (and back)."""
    rank = len(keras_shape)
    channels = keras_shape[keras_axis]
    if translation == "keras_axis":  # project's BatchNormalization fed the Keras layout as is
        return BatchNormalization(channels, axis=keras_axis, **kwargs), (lambda a: a), (lambda a: a), keras_axis % rank
    cls = BatchNorm1d if rank == 3 else BatchNorm2d
    to_torch = lambda a: np.ascontiguousarray(np.moveaxis(a, keras_axis, 1))  # noqa: E731
    to_keras = lambda a: np.moveaxis(a, 1, keras_axis)  # noqa: E731
    return cls(channels, **kwargs), to_torch, to_keras, 1


def _run(layer, x_np, training: bool) -> np.ndarray:
    layer.train(training)
    with torch.no_grad():
        return layer(torch.from_numpy(np.asarray(x_np, dtype=np.float32))).numpy()


BN_CASES = [(-1, "transpose"), (-1, "keras_axis"), (1, "transpose")]


@pytest.mark.parametrize("axis, translation", BN_CASES, ids=[f"axis{a}-{t}" for a, t in BN_CASES])
@pytest.mark.parametrize("input_shape", [(5, 2, 3), (5, 3, 3, 2)])
@pytest.mark.parametrize("moving_mean_init", ["zeros", "ones"])
@pytest.mark.parametrize("moving_variance_init", ["zeros", "ones"])
def test_batchnorm_correctness(axis, translation, input_shape, moving_mean_init, moving_variance_init):
    # batch_normalization_test.py::test_correctness (momentum 0; the initializers set the moving statistics)
    rng = np.random.default_rng(zlib.crc32(repr((axis, input_shape, moving_mean_init, moving_variance_init)).encode()))
    layer, to_torch, to_keras, ch = _bn_for(input_shape, axis, translation, momentum=0.0)
    with torch.no_grad():
        layer.running_mean.fill_(0.0 if moving_mean_init == "zeros" else 1.0)
        layer.running_var.fill_(0.0 if moving_variance_init == "zeros" else 1.0)
    # Keras: np.random.normal(loc=5.0, scale=10.0, size=input_shape); the layer computes in float32
    x = to_torch(rng.normal(loc=5.0, scale=10.0, size=input_shape).astype(np.float32))
    out = x
    for _ in range(3):
        out = _run(layer, out, training=True)

    view = [1] * out.ndim
    view[ch] = out.shape[ch]
    out = (out - layer.bias.detach().numpy().reshape(view)) / layer.weight.detach().numpy().reshape(view)
    reduce = tuple(d for d in range(out.ndim) if d != ch)
    keras_all_close("bn.correctness.mean(out)", out.mean(axis=reduce), 0.0, atol=1e-3)
    keras_all_close("bn.correctness.std(out)", out.std(axis=reduce), 1.0, atol=1e-3)
    keras_all_close("bn.correctness.moving_mean", layer.running_mean, 0.0, atol=1e-3)
    keras_all_close("bn.correctness.moving_variance", layer.running_var, 1.0, atol=1e-3)

    # inference before training on x must not match training on x
    inference_out = _run(layer, x, training=False)
    training_out = _run(layer, x, training=True)
    keras_not_all_close("bn.correctness.inference_vs_training(before)", inference_out, training_out)

    # momentum 0: after a training call on x, inference on x matches training on x
    training_out = _run(layer, x, training=True)
    inference_out = _run(layer, x, training=False)
    keras_all_close("bn.correctness.inference_vs_training(after)", to_keras(inference_out), to_keras(training_out))
    # Not translated: the Masking parts of this test (torch_impl's BatchNormalization takes no mask).


@pytest.mark.parametrize("translation", ["transpose", "keras_axis"])
def test_batchnorm_trainable_behavior(translation):
    # batch_normalization_test.py::test_trainable_behavior (momentum 0.8, epsilon 1e-7, x ~ N(5, 10^2))
    layer, to_torch, _, ch = _bn_for((200, 4, 4, 3), -1, translation, momentum=0.8, epsilon=1e-7)
    params = sum(1 for _ in layer.parameters())
    buffers = sum(1 for _ in layer.buffers())
    _show("bn.trainable_behavior.n_weights(params+buffers)", params + buffers, 4)
    assert params + buffers == 4
    x = to_torch(np.random.default_rng(7).normal(loc=5.0, scale=10.0, size=(200, 4, 4, 3)).astype(np.float32))

    # Keras: trainable=False makes BatchNormalization run in inference mode even when called
    # with training=True (output == x with the initial moving statistics 0 / 1). torch_impl has no
    # such switch (requires_grad_(False) keeps batch statistics, as torch's own BatchNorm does);
    # the torch translation of the frozen layer is eval().
    out = _run(layer, x, training=False)
    keras_all_close("bn.trainable_behavior.frozen_out", out, x)

    for _ in range(10):
        out = _run(layer, x, training=True)
    view = [1] * out.ndim
    view[ch] = 3
    out = (out - layer.bias.detach().numpy().reshape(view)) / layer.weight.detach().numpy().reshape(view)
    reduce = tuple(d for d in range(out.ndim) if d != ch)
    keras_all_close("bn.trainable_behavior.mean(out)", out.mean(axis=reduce), 0.0, atol=1e-3)
    keras_all_close("bn.trainable_behavior.std(out)", out.std(axis=reduce), 1.0, atol=1e-3)


@pytest.mark.parametrize("translation", ["transpose", "keras_axis"])
def test_batchnorm_masked_broadcast_normalization(translation):
    # batch_normalization_test.py::test_masked_broadcast_normalization: x = ones((1, 2, 3, 4)), axis -1,
    # momentum 0, epsilon 1e-3, with an all-ones mask (the same as no mask; torch_impl takes no mask)
    layer, to_torch, _, _ = _bn_for((1, 2, 3, 4), -1, translation, momentum=0.0, epsilon=1e-3)
    y = _run(layer, to_torch(np.ones((1, 2, 3, 4), np.float32)), training=True)
    reduce = tuple(d for d in range(4) if d != (1 if translation == "transpose" else 3))
    keras_all_close("bn.masked_broadcast.mean(y)", y.mean(axis=reduce), np.zeros(4), atol=1e-6)
    keras_all_close("bn.masked_broadcast.y", y, np.zeros_like(y), atol=1e-6)
    keras_all_close("bn.masked_broadcast.moving_mean", layer.running_mean, np.ones(4), atol=1e-6)
    keras_all_close("bn.masked_broadcast.moving_variance", layer.running_var, np.zeros(4), atol=1e-6)


@pytest.mark.parametrize("keras_shape, center_scale, n_trainable", [
    ((2, 3), True, 2),          # vector case
    ((2, 3), False, 0),         # center=False, scale=False
    ((2, 4, 4, 3), True, 2),    # image case (Keras adds l2 regularizers: not translated)
])
def test_batchnorm_basics(keras_shape, center_scale, n_trainable):
    # batch_normalization_test.py::test_bn_basics: output shape and weight counts (training=True)
    rank = len(keras_shape)
    cls = BatchNorm1d if rank == 2 else BatchNorm2d
    layer = cls(keras_shape[-1], center=center_scale, scale=center_scale)
    x = np.moveaxis(np.random.default_rng(0).normal(size=keras_shape).astype(np.float32), -1, 1)
    out = _run(layer, x, training=True)
    got = [tuple(np.moveaxis(out, 1, -1).shape), sum(p.requires_grad for p in layer.parameters()),
           sum(1 for _ in layer.buffers())]
    expected = [tuple(keras_shape), n_trainable, 2]
    print("bn.basics(shape, n_trainable, n_non_trainable)", got, expected, 0 if got == expected else "differs")
    assert got == expected


# Not translated (features torch_impl's BatchNormalization does not have):
# * test_input_fully_masked, test_bachnorm_ignore_masked_values and the Masking parts of
#   test_correctness: no mask support.
# * test_renorm_basics, test_renorm_invalid_clipping_keys, test_renorm_stddev_initializer,
#   test_renorm_inference, test_renorm_correctness: no batch renormalization (renorm=...).
# * test_large_value_within_autocast_scope: Keras AutocastScope / float16 variable autocasting.
# * test_serialization: Keras get_config/from_config.
# * the trainable=False half of test_trainable_behavior: no "frozen => inference mode" switch (see above).
# * the regularizer counts of test_bn_basics: no beta/gamma regularizers.


# ----------------------------------------------------------------------------------------------- class weights

CW = {0: 1.0, 1: 2.0, 2: 3.0}


@pytest.mark.parametrize("case, y, class_weight, expected", [
    # data_adapter_utils_test.py::test_class_weight_to_sample_weights (named parameters)
    ("simple_class_labels", np.array([0, 1, 0, 2]), CW, [1.0, 2.0, 1.0, 3.0]),
    ("one_hot_encoded_labels", np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]]), CW, [1.0, 2.0, 1.0, 3.0]),
    ("unmapped_class", np.array([0, 3, 0, 2]), CW, [1.0, 1.0, 1.0, 3.0]),
    ("multi_dimensional_input", np.array([[0], [1], [0], [2]]), CW, [1.0, 2.0, 1.0, 3.0]),
    ("all_unmapped", np.array([0, 1, 0, 2]), {}, [1.0, 1.0, 1.0, 1.0]),
])
@pytest.mark.parametrize("container", ["numpy", "torch"])
def test_class_weight_to_sample_weights(case, y, class_weight, expected, container):
    # "torch" also covers test_class_weight_to_sample_weights_torch_specific (torch.from_numpy labels)
    labels = torch.from_numpy(y) if container == "torch" else y
    got = class_weight_to_sample_weight(labels, class_weight)
    assert got.shape == (len(expected),)
    keras_all_close(f"class_weight_to_sample_weights[{case},{container}]", got, expected)


@pytest.mark.parametrize("case, y", [
    # array_data_adapter_test.py::test_class_weights (int32 (N, 1) / float32 one-hot) and
    # tf_dataset_adapter_test.py::test_class_weights_{int,categorical}_targets (int64 (N, 1) / one-hot),
    # tf_dataset_adapter_test.py::test_different_y_shapes_with_class_weight (one-hot, int64 (N,))
    ("int32_column", np.array([[0], [1], [2], [3]], dtype="int32")),
    ("int64_column", np.array([[0], [1], [2], [3]], dtype="int64")),
    ("float32_one_hot", np.eye(4, dtype="float32")),
    ("int64_sparse", np.array([0, 1, 2, 3], dtype="int64")),
])
def test_adapter_class_weights(case, y):
    got = class_weight_to_sample_weight(y, {0: 0.1, 1: 0.2, 2: 0.3, 3: 0.4})
    keras_all_close(f"adapter_class_weights[{case}]", got, [0.1, 0.2, 0.3, 0.4])


def test_py_dataset_class_weight():
    # py_dataset_adapter_test.py::test_class_weight: y = [0, 1, 2, 1], class_weight {0: 2, 1: 1, 2: 3},
    # each sample's weight equals class_w[y] exactly (assertAllEqual)
    got = class_weight_to_sample_weight(np.array([0, 1, 2, 1]), {0: 2, 1: 1, 2: 3})
    _show("py_dataset.class_weight", got, [2, 1, 3, 1])
    assert got.tolist() == [2.0, 1.0, 3.0, 1.0]


def test_fit_rejects_class_weight_with_sample_weight():
    # tf_dataset_adapter_test.py::test_class_weight_and_sample_weight_together (same message)
    model = torch.nn.Linear(2, 1)
    with pytest.raises(ValueError, match="You cannot `class_weight` and `sample_weight` at the same time.") as info:
        fit(model, np.random.default_rng(0).random((4, 2)), np.array([[0], [1], [2], [3]]),
            loss=LossFunctionWrapper(_mse), optimizer=optim.SGD(model.parameters()),
            class_weight={0: 0.1, 1: 0.2, 2: 0.3, 3: 0.4}, sample_weight=np.full(4, 0.5), verbose=0)
    print("fit.class_weight_and_sample_weight", "raised:", info.value)


def _mse(y_true, y_pred):
    return torch.mean(torch.square(y_pred - y_true), dim=-1)


def test_trainer_on_batch_methods_chain():
    # trainer_test.py::test_on_batch_methods: Dense(3, use_bias=False, kernel ones), SGD() (lr 0.01), MSE,
    # x = ones((100, 4)), y = zeros((100, 3)), sw = arange(100) / 50. Each train_on_batch is one fit
    # step on the whole batch (its loss is taken before the update), test_on_batch is evaluate,
    # predict_on_batch is the forward pass. The last step trains with class_weight {1: 0.3, 0: 0.2}:
    # the zero one-hot rows argmax to class 0, so the loss is 0.2 * MSE.
    model = torch.nn.Linear(4, 3, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
    x = np.ones((100, 4), np.float32)
    y = np.zeros((100, 3), np.float32)
    sw = np.arange(100).astype("float32") / 50.0
    loss = LossFunctionWrapper(_mse)
    opt = optim.SGD(model.parameters())

    def train_on_batch(**kw):
        return fit(model, x, y, loss=loss, optimizer=opt, batch_size=100, epochs=1, shuffle=False,
                   metrics=(), verbose=0, **kw).history["loss"][0]

    def test_on_batch(**kw):
        return evaluate(model, x, y, loss=loss, batch_size=100, metrics=(), **kw)["loss"]

    def predict_on_batch():
        model.eval()
        with torch.no_grad():
            return model(torch.from_numpy(x))

    almost_equal("on_batch.train", train_on_batch(), 16.0, decimal=3)
    almost_equal("on_batch.train(2)", train_on_batch(), 15.158, decimal=3)
    almost_equal("on_batch.test", test_on_batch(), 14.360, decimal=3)
    keras_all_close("on_batch.predict[0]", predict_on_batch()[0], [3.789511] * 3)
    almost_equal("on_batch.train(sample_weight)", train_on_batch(sample_weight=sw), 14.217, decimal=3)
    almost_equal("on_batch.test(sample_weight)", test_on_batch(sample_weight=sw), 13.476, decimal=3)
    keras_all_close("on_batch.predict[0](after sw)", predict_on_batch()[0], [3.689468] * 3)
    almost_equal("on_batch.train(class_weight)", train_on_batch(class_weight={1: 0.3, 0: 0.2}), 2.722, decimal=3)


# Not translated: tf_dataset_adapter_test.py::test_nested_y_with_class_weight and
# test_class_weights_map_fn_nested_y / _with_sample_weight (tf.data map functions, multi-output y);
# torch_impl.fit takes a single y. trainer_test.py's fit(class_weight=...) cases on PyDataset
# parameterizations only check that training runs (no expected numbers).


# ----------------------------------------------------------------------------------------------- scikit-learn
# sklearn/utils/tests/test_class_weight.py (scikit-learn 1.7.2; one older figure noted where used).
# torch_impl.class_weight.compute_class_weight(y, class_weight="balanced", classes=None) returns a dict.


def _cw_list(y, class_weight="balanced", classes=None):
    cw = compute_class_weight(y, class_weight, classes=classes)
    keys = list(cw) if classes is None else [int(c) for c in classes]
    return [cw[k] for k in keys]


def test_sklearn_compute_class_weight():
    # test_compute_class_weight: total effect of samples preserved, weights ordered by rarity
    y = np.asarray([2, 2, 2, 3, 3, 4])
    cw = _cw_list(y)
    almost_equal("sklearn.balanced.dot(cw, counts)", np.dot(cw, np.bincount(y)[2:]), y.shape[0], decimal=7)
    print("sklearn.balanced.order", cw, "increasing", 0)
    assert cw[0] < cw[1] < cw[2]


@pytest.mark.parametrize("class_weight, classes, err_msg", [
    ("balanced", np.arange(4), "classes should have valid labels that are in y"),
    ("balanced", np.arange(2), "classes should include all valid labels"),
    ({0: 1.0, 1: 2.0}, np.arange(2), "classes should include all valid labels"),
])
def test_sklearn_compute_class_weight_not_present(class_weight, classes, err_msg):
    # test_compute_class_weight_not_present (numeric cases), y = [0, 0, 0, 1, 1, 2]
    with pytest.raises(ValueError, match=err_msg) as info:
        compute_class_weight(np.asarray([0, 0, 0, 1, 1, 2]), class_weight, classes=classes)
    print("sklearn.not_present", class_weight, classes.tolist(), "raised:", info.value)


def test_sklearn_compute_class_weight_not_present_string_key():
    # test_compute_class_weight_not_present, case {"label_not_present": 1.0}: scikit-learn raises
    # ValueError "The classes, [0, 1, 2, 3], are not in class_weight". torch_impl rejects a key that is
    # not an integer class id up front (documented in torch_impl/class_weight.py), so the ValueError
    # carries its own message. (The string-label case, y = ["dog", "cat", "dog"], is not translated:
    # class ids are integers here, as in Keras.)
    with pytest.raises(ValueError, match="integer keys") as info:
        compute_class_weight(np.asarray([0, 0, 0, 1, 1, 2]), {"label_not_present": 1.0}, classes=np.arange(4))
    print("sklearn.not_present(string key)", "raised:", info.value)


@pytest.mark.parametrize("class_weight, expected, check", [
    ({0: 1.0, 1: 2.0, 2: 3.0}, [1.0, 2.0, 3.0], "almost6"),          # user weights returned as given
    ({0: 1.0, 1: 2.0, 2: 3.0, 4: 1.5}, [1.0, 2.0, 3.0], "allclose"),  # a weight for an absent class is ignored
    ({-1: 5.0, 0: 4.0, 1: 2.0, 2: 3.0}, [4.0, 2.0, 3.0], "allclose"),
])
def test_sklearn_compute_class_weight_dict(class_weight, expected, check):
    # test_compute_class_weight_dict: classes = arange(3), y = [0, 0, 1, 2]
    got = _cw_list(np.asarray([0, 0, 1, 2]), class_weight, classes=np.arange(3))
    if check == "almost6":
        almost_equal(f"sklearn.dict{class_weight}", got, expected, decimal=6)
    else:
        _show(f"sklearn.dict{class_weight}", got, expected)
        np.testing.assert_allclose(got, expected)


@pytest.mark.parametrize("y, expected", [
    ([-1, -1, 0, 0, -2, -2], [1.0, 1.0, 1.0]),        # test_compute_class_weight_balanced_negative
    # the unbalanced half of that test in older scikit-learn (also in the checked-in 0.2x version):
    ([-1, 0, 0, -2, -2, -2], [2.0 / 3, 2.0, 1.0]),
])
def test_sklearn_compute_class_weight_balanced_negative(y, expected):
    classes = np.array([-2, -1, 0])
    y = np.asarray(y)
    got = _cw_list(y, classes=classes)
    assert len(got) == len(classes)
    almost_equal(f"sklearn.balanced_negative{y.tolist()}", got, expected, decimal=6)
    almost_equal("sklearn.balanced_negative.dot(cw, counts)", np.dot(got, np.bincount(y + 2)), y.shape[0], decimal=7)


def test_sklearn_compute_class_weight_balanced_unordered():
    # test_compute_class_weight_balanced_unordered: classes [1, 0, 3], y = [1, 0, 0, 3, 3, 3]
    classes = np.array([1, 0, 3])
    y = np.asarray([1, 0, 0, 3, 3, 3])
    got = _cw_list(y, classes=classes)
    almost_equal("sklearn.balanced_unordered.dot", np.dot(got, np.bincount(y)[classes]), y.shape[0], decimal=7)
    almost_equal("sklearn.balanced_unordered", got, [2.0, 1.0, 2.0 / 3], decimal=6)


@pytest.mark.parametrize("class_weight, expected", [
    (None, [1.0, 1.0, 1.0]),
    ({2: 1.5}, [1.5, 1.0, 1.0]),
    ({2: 1.5, 4: 0.5}, [1.5, 1.0, 0.5]),
])
def test_sklearn_compute_class_weight_default(class_weight, expected):
    # test_compute_class_weight_default: y = [2, 2, 2, 3, 3, 4]; unweighted classes get 1
    got = _cw_list(np.asarray([2, 2, 2, 3, 3, 4]), class_weight)
    assert len(got) == 3
    almost_equal(f"sklearn.default[{class_weight}]", got, expected, decimal=6)


@pytest.mark.parametrize("case, y, class_weight, expected, decimal", [
    # test_compute_sample_weight, single-output cases: sample weights = class weights looked up per label
    ("balanced", [1, 1, 1, 2, 2, 2], "balanced", [1.0] * 6, 6),
    ("user", [1, 1, 1, 2, 2, 2], {1: 2, 2: 1}, [2.0, 2.0, 2.0, 1.0, 1.0, 1.0], 6),
    ("column_balanced", [[1], [1], [1], [2], [2], [2]], "balanced", [1.0] * 6, 6),
    ("unbalanced", [1, 1, 1, 2, 2, 2, 3], "balanced", [0.7777] * 6 + [2.3333], 4),
    ("none", [1, 1, 1, 2, 2, 2, 3], None, [1.0] * 7, 6),
    # test_compute_sample_weight_sparse, with a dense column vector
    ("column_0_1_1", [[0], [1], [1]], "balanced", [1.5, 0.75, 0.75], None),
])
def test_sklearn_compute_sample_weight(case, y, class_weight, expected, decimal):
    y = np.asarray(y)
    cw = class_weight if isinstance(class_weight, dict) else compute_class_weight(y, class_weight)
    got = class_weight_to_sample_weight(y, cw)
    if decimal is None:
        _show(f"sklearn.sample_weight[{case}]", got, expected)
        np.testing.assert_allclose(_np(got), expected)
    else:
        almost_equal(f"sklearn.sample_weight[{case}]", got, expected, decimal=decimal)


# Not translated (scikit-learn features torch_impl does not have):
# * test_compute_class_weight_balanced_sample_weight_equivalence: no sample_weight argument.
# * test_compute_sample_weight multi-output cases: a 2-column y is read as one-hot here (Keras's rule).
# * test_compute_sample_weight_with_subsample, test_compute_sample_weight_more_than_32,
#   test_compute_sample_weight_errors: no indices= (subsample) argument / list-of-dicts weights.
# * test_compute_sample_weight_sparse: no scipy.sparse labels (the dense equivalent is checked above).
# * test_compute_class_weight_invariance, test_class_weight_does_not_contains_more_classes:
#   scikit-learn estimators (LogisticRegression, DecisionTreeClassifier).
# * the string-label case of test_compute_class_weight_not_present: class ids are integers.


# ------------------------------------------------------------- behaviours Keras documents but does not test


@pytest.mark.parametrize("name", ["Adam", "SGD", "RMSprop"])
def test_weight_decay_exclusion_belongs_to_one_optimizer(name):
    # Keras keeps the exclusion list on the optimizer: excluding w in one optimizer leaves another
    # optimizer's decay of w alone (SGD, zero gradient, lr 1, weight_decay 0.004: w = 2 * 0.996).
    cls = OPTIMIZERS[name]
    w = _param(2.0)
    excluding = cls([w], learning_rate=1.0, weight_decay=0.004)
    excluding.exclude_from_weight_decay([w])
    _apply(excluding, [torch.zeros(())], [w])
    untouched = float(w)
    _apply(cls([w], learning_rate=1.0, weight_decay=0.004), [torch.zeros(())], [w])
    print(f"{name}: excluded step {untouched}, other optimizer's step {float(w)} (expected 2.0 then 1.992)")
    assert untouched == 2.0
    np.testing.assert_allclose(float(w), 2.0 * (1 - 0.004), rtol=1e-7)
    with pytest.raises(ValueError, match="takes tensors"):
        excluding.exclude_from_weight_decay(["kernel"])


def test_frozen_batchnorm_runs_in_inference_mode():
    # Keras: BatchNormalization with trainable=False runs in inference mode even when training
    # (moving statistics, no update) and its gamma/beta are not trained.
    torch.manual_seed(0)
    bn = BatchNorm1d(3)
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0]))
        bn.running_var.copy_(torch.tensor([2.0, 0.5, 1.5]))
        bn.weight.copy_(torch.tensor([1.5, 0.5, 2.0]))
        bn.bias.copy_(torch.tensor([0.1, 0.2, -0.3]))
    x = torch.randn(8, 3) * 3 + 1
    expected = (x - bn.running_mean) / torch.sqrt(bn.running_var + 1e-3) * bn.weight.detach() + bn.bias.detach()
    stats = (bn.running_mean.clone(), bn.running_var.clone())
    bn.trainable = False
    bn.train()
    out = bn(x)
    err = float((out - expected).abs().max())
    print(f"frozen BatchNorm in train(): max |out - inference formula| {err:.1e}; "
          f"params require grad: {[p.requires_grad for p in bn.parameters()]}")
    assert err < 1e-6
    assert torch.equal(bn.running_mean, stats[0]) and torch.equal(bn.running_var, stats[1])
    assert not any(p.requires_grad for p in bn.parameters())
    bn.trainable = True
    bn(x)
    assert not torch.equal(bn.running_mean, stats[0]) and all(p.requires_grad for p in bn.parameters())
