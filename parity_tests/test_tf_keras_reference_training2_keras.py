"""The Keras 3.15.1 figures that ``test_tf_keras_reference_training2.py`` quotes, re-measured on real Keras
(TensorFlow backend) with the same inputs: tf-keras's ``add_loss`` tests written the Keras 3 way (``add_loss``
inside a layer's ``call``; no ``Model.add_loss`` on symbolic tensors, no callable losses), the temporal sample
weights model with ``(N, T)`` weights (no ``sample_weight_mode``), ``engine/correctness_test.py``, the rank
alignment, the regularizer counts, errors and config, and the constraints against torch_impl on tf-keras's array.

Slow (TensorFlow start-up): ``.venv/bin/python -m pytest -q -s -p no:cacheprovider
parity_tests/test_tf_keras_reference_training2_keras.py``
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import parity_tests.test_tf_keras_reference_training2 as ref  # imports torch before TensorFlow

pytestmark = [pytest.mark.keras, pytest.mark.slow]


@pytest.fixture(scope="module")
def keras(keras3):
    return keras3


def _bias_cls(keras):
    class Bias(keras.layers.Layer):
        def build(self, input_shape):
            self.bias = self.add_weight(shape=(1,), initializer="zeros", name="bias")

        def call(self, x):
            return x + self.bias

        def compute_output_shape(self, input_shape):  # as tf-keras's temporal test's Bias
            return input_shape

    return Bias


def _added_loss_layer(keras, factor=1.0, callable_loss=False):
    """The bias, and ``add_loss`` of ``MAE()(t, out, sw)`` and ``factor * mean([sw *] mae(t, out))`` (or of
    ``sum(bias)``, tf-keras's callable loss) inside ``call``."""
    ops, Bias = keras.ops, _bias_cls(keras)

    class WithLoss(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.b = Bias()

        def call(self, inputs):
            out = self.b(inputs[0])
            if callable_loss:
                self.add_loss(ops.sum(self.b.bias))
                return out
            t, sw = inputs[1], inputs[2] if len(inputs) > 2 else None
            self.add_loss(keras.losses.MeanAbsoluteError()(t, out, sw))
            term = keras.losses.mean_absolute_error(t, out)
            self.add_loss(factor * ops.mean(term if sw is None else sw * term))
            return out

    return WithLoss()


def _functional(keras, layer, n_inputs):
    inputs = [keras.Input((1,)) for _ in range(n_inputs)]
    return keras.Model(inputs, layer(inputs))


def test_add_loss_fit_keras3(keras):
    for name, n, factor, lr, data, expected in [
            ("test_loss_on_model_fit", 2, 1.0, 0.05, [ref.X3, ref.Y3], ref.ADD_FIT),
            ("test_loss_with_sample_weight_on_model_fit", 3, 3.0, 0.025, [ref.X3, ref.Y3, ref.W3],
             [4.0, 3.6, 3.2, 2.8, 2.4])]:
        model = _functional(keras, _added_loss_layer(keras, factor), n)
        model.compile(keras.optimizers.SGD(lr))
        hist = model.fit(data, batch_size=3, epochs=5, verbose=0).history
        ref.close("Keras 3 add_loss fit", f"Keras 3.15.1 {name}", hist["loss"], expected, rtol=1e-3)
    model = _functional(keras, _added_loss_layer(keras, callable_loss=True), 1)
    model.compile(keras.optimizers.SGD(0.1))
    hist = model.fit(ref.X3, batch_size=3, epochs=5, verbose=0).history
    ref.close("Keras 3 add_loss fit", "Keras 3.15.1 test_loss_callable_on_model_fit", hist["loss"],
              [0.0, -0.1, -0.2, -0.3, -0.4], rtol=1e-3)


def test_add_loss_ctl_keras3(keras):
    import tensorflow as tf
    for name, callable_loss, data, expected in [
            ("test_loss_on_model_ctl", False, [ref.X3, ref.Y3], ref.ADD_FIT),
            ("test_loss_callable_on_model_ctl", True, [ref.X3, ref.Y3], [0.0, -0.05, -0.1, -0.15, -0.2]),
            ("test_loss_with_sample_weight_on_model_ctl", False, [ref.X3, ref.Y3, ref.W3], ref.ADD_FIT)]:
        model = _functional(keras, _added_loss_layer(keras, callable_loss=callable_loss), len(data))
        opt = keras.optimizers.SGD(0.05)
        got = []
        for _ in range(5):
            with tf.GradientTape() as tape:
                model(data)
                loss = tf.reduce_sum(model.losses)
            opt.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
            got.append(float(loss))
        ref.close("Keras 3 add_loss loop", f"Keras 3.15.1 {name}", got, expected, rtol=1e-3)


def test_add_loss_in_call_keras3(keras):
    ops, Bias = keras.ops, _bias_cls(keras)
    MAE, mae = keras.losses.MeanAbsoluteError, keras.losses.mean_absolute_error

    class MyModel(keras.Model):
        def __init__(self):
            super().__init__()
            self.bias = Bias()

        def call(self, inputs):
            out = self.bias(inputs[0])
            self.add_loss(MAE()(inputs[1], out, inputs[2]))
            self.add_loss(ops.mean(inputs[2] * mae(inputs[1], out)))
            return out

    data = [ref.X3, ref.Y3, ref.W3]
    for where in ("model_call", "layer_call"):
        model = MyModel() if where == "model_call" else _functional(keras, _added_loss_layer(keras), 3)
        model.predict(data, verbose=0)
        model.compile(keras.optimizers.SGD(0.05))
        hist = model.fit(data, batch_size=3, epochs=5, verbose=0).history
        ref.close("Keras 3 add_loss fit", f"Keras 3.15.1 test_loss_with_sample_weight_in_{where}", hist["loss"],
                  ref.ADD_FIT, rtol=1e-3)
        assert len(model.losses) == 2  # after fit: the last call's (torch_impl: consumed by fit)
        ref.almost("Keras 3 add_loss evaluate", f"Keras 3.15.1 {where} evaluate", model.evaluate(data, verbose=0),
                   1.0, 3)
        ref.almost("Keras 3 add_loss evaluate", f"Keras 3.15.1 {where} test_on_batch", model.test_on_batch(data),
                   1.0, 3)


def test_added_loss_values_keras3(keras):
    ops, L = keras.ops, keras.layers

    class MyLayer(L.Layer):
        def call(self, inputs):
            self.add_loss(ops.sum(inputs))
            return inputs

    inputs = keras.Input((3,))
    model = keras.Model(inputs, MyLayer()(inputs))
    assert len(model.losses) == 0  # keras2: 1 (the symbolic call's); torch_impl: after a forward, 1
    model.compile("sgd", "mse")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "The model does not have any trainable weights."
        assert model.train_on_batch(np.ones((2, 3)), np.ones((2, 3))) == 6

    layer = L.Dense(1, kernel_initializer="zeros", bias_initializer="ones", activity_regularizer="l2")
    model = keras.Sequential([keras.Input((10,)), layer])
    model.compile(keras.optimizers.RMSprop(0.001))
    ref.almost("Keras 3 add_loss evaluate", "Keras 3.15.1 test_activity_regularizer_loss_value",
               model.test_on_batch(np.ones((10, 10), "float32")), 0.01, 4)

    inputs = keras.Input((10,))
    model = keras.Model(inputs, L.Dense(1, activation="sigmoid")(L.Dense(10, activation="relu",
                                                                         activity_regularizer="l2")(inputs)))
    model.compile(keras.optimizers.RMSprop(0.001))
    ref.almost("Keras 3 add_loss evaluate", "Keras 3.15.1 test_activity_regularizer_batch_independent",
               model.test_on_batch(np.ones((10, 10), "float32")), model.test_on_batch(np.ones((20, 10), "float32")), 4)

    class LayerWithLoss(L.Layer):
        def call(self, inputs):
            self.add_loss(ops.sum(inputs))
            return inputs * 2

    class Nested(L.Layer):
        def __init__(self):
            super().__init__()
            self.loss_layer = LayerWithLoss()

        def call(self, inputs):
            return self.loss_layer(inputs)

    import tensorflow as tf
    for shared in (LayerWithLoss(), Nested()):
        m2 = keras.Sequential([shared, keras.Sequential([shared])])
        m2(tf.constant([1, 2, 3]))
        ref.close("Keras 3 add_loss values", f"Keras 3.15.1 shared {type(shared).__name__}",
                  [float(v) for v in m2.losses], [6, 12])

    class LayerWithSharedNestedLossLayer(L.Layer):
        def __init__(self):
            super().__init__()
            self.loss_layer = L.ActivityRegularization(l2=0.001)
            self.add_weight(shape=(1,), regularizer="l2")

        def call(self, x):
            return self.loss_layer(self.loss_layer(x))

    layer = LayerWithSharedNestedLossLayer()
    layer(tf.ones((1, 1)))
    layer(tf.ones((1, 1)))
    inputs = keras.Input((1,))
    model = keras.Model(inputs, layer(inputs))
    model(tf.ones((1, 1)))
    model(tf.ones((1, 1)))
    assert len(model.losses) == 3


K3T = "Keras 3 temporal"


def _temporal(keras):
    L, Bias = keras.layers, _bias_cls(keras)
    i1, i2 = keras.Input((1,), name="input_1"), keras.Input((1,), name="input_2")
    rep = L.RepeatVector(2)
    o1 = L.TimeDistributed(Bias(), name="output_1")(rep(i1))
    o2 = L.TimeDistributed(Bias(), name="output_2")(rep(i2))
    model = keras.Model([i1, i2], [o1, o2])
    M = keras.metrics.MeanAbsoluteError
    model.compile(keras.optimizers.SGD(0.1), loss="mae", metrics=[[M(name="mae")], [M(name="mae")]],
                  weighted_metrics=[[M(name="mae_2")], [M(name="mae_2")]])
    return model


@pytest.mark.parametrize("how", ref.HOWS)
def test_temporal_keras3(keras, how):
    X, Y, sw = [ref.TX, ref.TX], [ref.TY1, ref.TY2], ref.T_SW[how]
    hist = _temporal(keras).fit(X, Y, sample_weight=sw, batch_size=3, epochs=2, shuffle=False, verbose=0).history
    ref._t_check_hist(f"Keras 3.15.1 {ref._t_name('test_fit', how)}", hist, ref.T_FIT_EXPECTED[how], K3T)
    model = _temporal(keras)
    model.train_on_batch(X, Y, sample_weight=sw)
    logs = model.evaluate(X, Y, sample_weight=sw, batch_size=3, verbose=0, return_dict=True)
    ref._t_check_logs(f"Keras 3.15.1 {ref._t_name('test_eval', how)}", logs, ref.T_BATCH_EXPECTED[how], K3T)
    logs = model.test_on_batch(X, Y, sample_weight=sw, return_dict=True)
    ref._t_check_logs(f"Keras 3.15.1 {ref._t_name('test_test_on_batch', how)}", logs, ref.T_BATCH_EXPECTED[how], K3T)
    model = _temporal(keras)
    for _ in range(2):
        logs = model.train_on_batch(X, Y, sample_weight=sw, return_dict=True)
    ref._t_check_logs(f"Keras 3.15.1 {ref._t_name('test_train_on_batch', how)}", logs, ref.T_BATCH_EXPECTED[how], K3T)
    hist = _temporal(keras).fit(ref._t_gen(sw), steps_per_epoch=1, epochs=2, shuffle=False, verbose=0).history
    ref._t_check_hist(f"Keras 3.15.1 {ref._t_name('test_fit_generator', how)}", hist, ref.T_FIT_EXPECTED[how], K3T)
    model = _temporal(keras)
    model.train_on_batch(X, Y, sample_weight=sw)
    logs = model.evaluate(ref._t_gen(sw), steps=2 if how else 1, verbose=0, return_dict=True)
    ref._t_check_logs(f"Keras 3.15.1 {ref._t_name('test_eval_generator', how)}", logs, ref.T_BATCH_EXPECTED[how], K3T)


def test_temporal_errors_keras3(keras):
    X, Y = [ref.TX, ref.TX], [ref.TY1, ref.TY2]
    for sw in ({"output_2": ref.TSW2}, {"output_1": ref.TSW1, "output_2": ref.TSW2}):
        with pytest.raises(ValueError, match="one `sample_weight` array per output"):
            _temporal(keras).fit(X, Y, sample_weight=sw, batch_size=3, epochs=1, verbose=0)
    with pytest.raises(ValueError):
        _temporal(keras).fit(X, Y, class_weight={"output_1": {0.5: 0.5, 2.0: 0.5, 3.5: 0.5}}, batch_size=3,
                             epochs=2, shuffle=False, verbose=0)


def test_correctness_keras3(keras):
    Bias = _bias_cls(keras)

    def bias_model():
        model = keras.Sequential([keras.Input((1,)), Bias()])
        model.compile(keras.optimizers.SGD(0.1), "mae")
        return model

    x = np.array([[0.0], [1.0], [2.0]])
    hist = bias_model().fit(x, np.array([[0.5], [2.0], [3.5]]), batch_size=3, epochs=5, verbose=0).history
    ref.close("Keras 3 correctness", "Keras 3.15.1 test_simple_bias_fit", hist["loss"], [1.0, 0.9, 0.8, 0.7, 0.6])
    ref.almost("Keras 3 correctness", "Keras 3.15.1 test_simple_bias_evaluate",
               bias_model().evaluate(x, np.array([[1.0], [3.0], [5.0]]), batch_size=1, verbose=0), 2.0)
    ref.close("Keras 3 correctness", "Keras 3.15.1 test_simple_bias_predict",
              bias_model().predict(x, batch_size=1, verbose=0), x)

    def multi():
        inputs = [keras.Input((1,)) for _ in range(3)]
        model = keras.Model(inputs, Bias()(keras.layers.Add()(inputs)))
        model.compile(keras.optimizers.SGD(0.1), "mae")
        return model

    hist = multi().fit(ref.MI_X, np.array([[12.5], [16.0], [19.5]]), batch_size=3, epochs=5, verbose=0).history
    ref.close("Keras 3 correctness", "Keras 3.15.1 test_multiple_input_fit", hist["loss"], [1.0, 0.9, 0.8, 0.7, 0.6])
    ref.almost("Keras 3 correctness", "Keras 3.15.1 test_multiple_input_evaluate",
               multi().evaluate(ref.MI_X, np.array([[13.0], [17.0], [21.0]]), batch_size=3, verbose=0), 2.0)
    ref.close("Keras 3 correctness", "Keras 3.15.1 test_multiple_input_predict",
              multi().predict(ref.MI_X, batch_size=1, verbose=0), [[12.0], [15.0], [18.0]])


def test_squeeze_or_expand_keras3(keras):
    from keras.src.losses.loss import squeeze_or_expand_to_same_rank
    x, y = np.array([1.0, 2.0, 3.0], "float32"), np.array([[1.0], [2.0], [3.0]], "float32")
    for a, b in (squeeze_or_expand_to_same_rank(x, y), squeeze_or_expand_to_same_rank(y, x)):
        assert tuple(a.shape) == tuple(b.shape) == (3, 1)
    for a, b in (squeeze_or_expand_to_same_rank(x, y, expand_rank_1=False),
                 squeeze_or_expand_to_same_rank(y, x, expand_rank_1=False)):
        assert tuple(a.shape) == tuple(b.shape) == (3,)


def test_regularizers_keras3(keras):
    L, ops = keras.layers, keras.ops
    x, y = ref._reg_data()
    for which in ("kernel", "bias", "activity"):
        model = keras.Sequential([keras.Input((5,)), L.Dense(2, **{f"{which}_regularizer": lambda w: 0.0})])
        model.compile(loss="categorical_crossentropy", optimizer="sgd")
        with pytest.raises(AttributeError, match="'float' object has no attribute 'dtype'"):
            model.fit(x, y, batch_size=10, epochs=1, verbose=0)

    class AddL(L.Layer):
        def call(self, a, b, i1):
            self.add_loss(ops.mean(b))
            self.add_loss(ops.sum(i1))
            return (a + b) / 2

    def multi(l1, l2):
        i1, i2 = keras.Input((5,)), keras.Input((5,))
        return keras.Model([i1, i2], AddL()(l1(i1), l2(i2), i1))

    ones = [np.ones((2, 5), "float32")] * 2
    regs = {"l1": keras.regularizers.L1, "l2": keras.regularizers.L2, "l1_l2": keras.regularizers.L1L2}
    for kind in regs:
        dense = L.Dense(2, kernel_regularizer=regs[kind](), activity_regularizer=regs[kind]())
        model = multi(dense, dense)
        model(ones)
        assert len(model.losses) == 5, "shared layer"
        dense = L.Dense(2, kernel_regularizer=regs[kind](), activity_regularizer=regs[kind]())
        inputs = keras.Input((5,))
        dummy = keras.Model(inputs, dense(inputs))
        model = multi(dummy, dummy)
        model(ones)
        assert len(model.losses) == 5, "shared model (keras2=6)"
        shared, models = L.Dense(2, kernel_regularizer=regs[kind](), activity_regularizer=regs[kind]()), []
        for _ in range(2):
            inputs = keras.Input((5,))
            models.append(keras.Model(inputs, L.Dense(2, kernel_regularizer=regs[kind]())(shared(inputs))))
        model = multi(*models)
        model(ones)
        assert len(model.losses) == ref.SHARED_IN_DIFFERENT_MODELS_K3, "shared layer in different models (keras2=9)"
    with pytest.raises(ValueError, match="Could not interpret regularizer"):
        keras.regularizers.get(0)
    assert keras.regularizers.OrthogonalRegularizer(factor=0.1, mode="columns").get_config() == {
        "factor": float(np.float32(0.1)), "mode": "columns"}
    inputs = np.array([[1, 1, 1, 1], [2, 0, 0, 0], [0, 0, 3, 1]], dtype="float32")
    from torch_impl import regularizers as R
    for mode in ("rows", "columns"):
        got = R.OrthogonalRegularizer(factor=0.1, mode=mode)(torch.as_tensor(inputs))
        want = keras.regularizers.OrthogonalRegularizer(factor=0.1, mode=mode)(keras.ops.convert_to_tensor(inputs))
        ref.close("Keras 3 regularizers", f"OrthogonalRegularizer({mode}) torch_impl vs Keras 3.15.1", got,
                  float(want), rtol=0, atol=1e-7)


def test_constraints_against_keras3(keras, _np_state):
    from torch_impl import constraints as C
    array = ref._example_array()
    pairs = [(C.MaxNorm(2.0), keras.constraints.MaxNorm(2.0)), (C.NonNeg(), keras.constraints.NonNeg()),
             (C.UnitNorm(), keras.constraints.UnitNorm()),
             (C.MinMaxNorm(0.5, 1.0), keras.constraints.MinMaxNorm(0.5, 1.0))]
    for ours, theirs in pairs:
        ref.close("Keras 3 constraints", f"{type(ours).__name__} torch_impl vs Keras 3.15.1", ours(array),
                  np.asarray(theirs(array.numpy())), rtol=0, atol=1e-6)


_np_state = ref._np_state


def _keras_schedule(keras, name, make):
    """The same case's schedule built from Keras 3.15.1's ``keras.optimizers.schedules`` (``ref.S`` swapped)."""
    saved, ref.S = ref.S, keras.optimizers.schedules
    try:
        return make()
    finally:
        ref.S = saved


@pytest.mark.parametrize("case", ref.SCHEDULE_CASES, ids=[c[0] for c in ref.SCHEDULE_CASES])
def test_schedule_cases_keras3(keras, case):
    """tf-keras's schedule cases on Keras 3.15.1 (plain and through ``serialize``/``deserialize``), tf-keras's
    integer steps as int32/int64 tensors; and the torch_impl value against Keras's."""
    import tensorflow as tf
    name, make, steps, rtol, atol = case
    theirs = _keras_schedule(keras, name, make)
    ours = make()
    for sched in (theirs, keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(theirs))):
        for step, expected in steps:
            k_step = tf.constant(step.numpy()) if isinstance(step, torch.Tensor) else step
            got = np.asarray(sched(k_step))
            ref.close("Keras 3 schedules", f"Keras 3.15.1 {name} step={int(step)}", got, expected, rtol=rtol, atol=atol)
            ref.close("Keras 3 schedules (torch_impl vs Keras)", f"torch_impl vs Keras 3.15.1 {name} step={int(step)}",
                      ours(step), got, rtol=0, atol=1e-7)


def test_schedule_legacy_keras3(keras):
    """Keras 3.15.1 refuses ``CosineDecay(decay_steps=0)`` (tf-keras's ``testWarmup``); TensorFlow's own
    ``tf.compat.v1.train.natural_exp_decay`` against the ``ExponentialDecay(lr, k, exp(-rate))`` recipe."""
    import tensorflow as tf
    from torch_impl import schedules as S
    with pytest.raises(ValueError, match="`decay_steps` must be > 0"):
        keras.optimizers.schedules.CosineDecay(0.0, 0, warmup_target=10.0, warmup_steps=1500)
    for staircase in (False, True):
        ours = S.ExponentialDecay(0.1, 10, np.exp(-0.96), staircase=staircase)
        for i in range(11):
            tf_lr = tf.compat.v1.train.natural_exp_decay(0.1, tf.constant(i), 10, 0.96, staircase=staircase)
            ref.close("Keras 3 schedules (torch_impl vs Keras)", f"natural_exp_decay(staircase={staircase}) step={i}",
                      ours(torch.tensor(i, dtype=torch.int32)), float(tf_lr()), rtol=0, atol=1e-7)


def test_print_measured_table_keras3():
    """Prints the Keras 3.15.1 groups' max |diff| (the tests above filled ``ref.DIFFS``)."""
    for group, d in sorted(ref.DIFFS.items()):
        if group.startswith("Keras 3"):
            print(f"{group:44s} {d:.3g}")


def test_functional_add_loss_not_implemented_keras3(keras):
    """tf-keras's ``model.add_loss(<symbolic tensor>)`` / ``add_loss(callable)`` / ``add_loss(1.0)`` on a functional
    model: Keras 3.15.1's ``Functional.add_loss`` raises NotImplementedError for any of them
    (keras/src/models/functional.py:390), hence the layer-``call`` forms above (and no ValueError to translate for
    ``test_invalid_constant_input`` / ``test_invalid_variable_input``)."""
    inputs, targets = keras.Input((1,)), keras.Input((1,))
    out = _bias_cls(keras)()(inputs)
    model = keras.Model([inputs, targets], out)
    for value in (keras.ops.mean(keras.ops.abs(targets - out)), lambda: keras.ops.sum(model.weights[0]), 1.0,
                  model.weights[0]):
        with pytest.raises(NotImplementedError):
            model.add_loss(value)
