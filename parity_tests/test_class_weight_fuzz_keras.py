"""Differential fuzz of class weighting against Keras 3 (TensorFlow backend).

* ``class_weight_to_sample_weight`` against Keras's own
  ``data_adapter_utils.class_weight_to_sample_weights`` on random label forms (ids, ``(N, 1)`` ints and floats
  with halves, one-hot, soft rows with tied maxima, bool, ``(N, 1, C)``), label dtypes, containers (NumPy, torch,
  lists), key forms (``np.int64``, ``2.0``, ``True``, negative ids, missing classes) and weight forms (ints,
  ``np.float32``, 0, negative, 1e30, subnormal), under float32 and float64 ``floatx``: values and dtype exactly.
* what ``keras.Model.fit(class_weight=...)`` really hands its loss (recorded batch by batch, ``run_eagerly``)
  against what ``torch_impl.fit`` hands its loss, including the validation batches (no weights);
* whole ``History`` parity (loss, accuracy, val_loss, val_accuracy) of short float64 fits with class weights,
  within 1e-8 relative;
* ``compute_class_weight`` against scikit-learn, in both calling conventions;
* the inputs where Keras raises or silently goes wrong, and the ``ValueError`` torch_impl gives instead.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from keras.src.trainers.data_adapters.data_adapter_utils import class_weight_to_sample_weights  # noqa: E402
from sklearn.utils.class_weight import compute_class_weight as sk_compute_class_weight  # noqa: E402

from keras_impl.models import build_model as keras_model  # noqa: E402
from keras_impl.models import floatx  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl.class_weight import class_weight_to_sample_weight, compute_class_weight  # noqa: E402
from torch_impl.nn import build_model, load_keras_weights  # noqa: E402

pytestmark = pytest.mark.keras


from parity_tests.test_fit_keras import _DefaultDtype  # noqa: E402


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def _keras_ref(y, cw):
    """Keras's weights, its warnings (NumPy's deprecated array-to-int conversion for (N, 1, C)) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return class_weight_to_sample_weights(y, cw)


# ------------------------------------------------------------------------------------ the function, fuzzed

_INT_DTYPES = (np.int32, np.int64, np.uint8)
_FLOAT_DTYPES = (np.float16, np.float32, np.float64)
_OFFSETS = (0.0, 0.0, 0.4, 0.5, 0.6, -0.5, -0.4, 0.49999, 1.5, 2.5)


def _random_labels(rng: np.random.Generator, n: int, c: int) -> tuple[str, np.ndarray]:
    ids = rng.integers(0, c, n)
    form = ["int", "col_int", "float", "col_float", "one_hot", "soft_ties", "bool", "col_bool", "n1c", "n11",
            "negative"][rng.integers(0, 11)]
    if form == "int":
        return form, ids.astype(_INT_DTYPES[rng.integers(0, 3)])
    if form == "col_int":
        return form, ids[:, None].astype(_INT_DTYPES[rng.integers(0, 3)])
    if form in ("float", "col_float"):
        y = (ids + rng.choice(_OFFSETS, n)).astype(_FLOAT_DTYPES[rng.integers(0, 3)])
        return form, y if form == "float" else y[:, None]
    if form == "one_hot":
        return form, np.eye(c)[ids].astype([np.float32, np.float64, np.int64, np.uint8][rng.integers(0, 4)])
    if form == "soft_ties":  # probabilities, some rows with two equal maxima (argmax takes the first)
        p = rng.dirichlet(np.ones(c), n)
        tie = rng.random(n) < 0.5
        p[tie, : 2] = 0.5
        p[tie, 2:] = 0.0
        return form, p.astype(_FLOAT_DTYPES[rng.integers(1, 3)])
    if form in ("bool", "col_bool"):
        y = rng.random(n) < 0.5
        return form, y if form == "bool" else y[:, None]
    if form == "n1c":  # (N, 1, C): Keras gives one id per sample
        return form, np.eye(c)[ids][:, None, :]
    if form == "n11":
        return form, ids[:, None, None].astype(np.float64) + rng.choice(_OFFSETS, (n, 1, 1))
    return form, ids - 1  # negative ids


def _random_key(rng, k: int):
    kinds = [int, np.int64, np.int32, lambda v: float(v), np.float64]
    if k in (0, 1):
        kinds.append(bool)
    return kinds[rng.integers(0, len(kinds))](k)


def _random_weight(rng):
    kinds = [lambda: float(rng.uniform(-2, 10)), lambda: int(rng.integers(-3, 20)), lambda: np.float32(rng.random()),
             lambda: 0.0, lambda: 0.1, lambda: 1e30, lambda: 1e-45, lambda: -1e-3, lambda: np.float64(1 / 3)]
    return kinds[rng.integers(0, len(kinds))]()


def _random_class_weight(rng, c: int) -> dict:
    # mostly classes that occur; some absent ones, and classes missing from the dict (they weigh 1.0)
    keys = [k for k in range(-2, c + 2) if rng.random() < (0.8 if 0 <= k < c else 0.3)]
    return {_random_key(rng, k): _random_weight(rng) for k in keys}


def _fuzz_function(n_cases: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    checked = 0
    worst = {}
    for case in range(n_cases):
        n, c = int(rng.integers(1, 24)), int(rng.integers(2, 6))
        form, y = _random_labels(rng, n, c)
        cw = _random_class_weight(rng, c)
        fx = ("float32", "float64")[case % 2]
        container = ("numpy", "torch", "list")[rng.integers(0, 3)]
        y_in = {"numpy": y, "torch": torch.as_tensor(y), "list": y.tolist()}[container]
        with floatx(fx):
            ref = _keras_ref(y, cw)
        tdt = getattr(torch, fx)
        with _DefaultDtype(tdt):  # dtype=None: torch's default dtype plays floatx
            ours_default = class_weight_to_sample_weight(y_in, cw)
        ours = class_weight_to_sample_weight(y_in, cw, dtype=tdt)
        for got in (ours_default, ours):
            assert got.dtype == tdt and str(ref.dtype) == fx, (form, got.dtype, ref.dtype)
            assert got.shape == (n,)
            if not np.array_equal(got.numpy(), ref):
                raise AssertionError(f"case {case}: {form} {y.dtype} {container} floatx={fx} y={y.tolist()} "
                                     f"cw={cw}: ours {got.tolist()} != Keras {ref.tolist()}")
        worst[form] = worst.get(form, 0) + 1
        checked += 1
    print(f"class_weight_to_sample_weight == Keras's class_weight_to_sample_weights exactly (values and dtype) in "
          f"{checked} random cases; by label form: {dict(sorted(worst.items()))}")
    return checked


def test_function_fuzz_matches_keras_exactly():
    assert _fuzz_function(400, seed=0) == 400


@pytest.mark.slow
def test_function_fuzz_matches_keras_exactly_large():
    assert _fuzz_function(6000, seed=1) == 6000


def test_float_labels_round_half_to_even_like_keras():
    """np.round (half to even), in the labels' own dtype: 2.5 -> 2, 3.5 -> 4, -0.5 -> 0, -1.5 -> -2."""
    cw = {-1: 7.0, 0: 1.5, 1: 3.0, 2: 0.25, 3: 9.0, 4: 11.0}
    for dt in _FLOAT_DTYPES:
        y = np.array([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, 0.4, 0.6, 2.4999], dt)
        ref = _keras_ref(y, cw)
        ours = class_weight_to_sample_weight(torch.as_tensor(y), cw).numpy()
        print(dt.__name__, "Keras", ref.tolist(), "torch_impl", ours.tolist())
        np.testing.assert_array_equal(ours, ref)
        np.testing.assert_array_equal(ours, [1.5, 0.25, 0.25, 11.0, 1.5, 1.0, 1.5, 3.0, 0.25])  # -1.5 -> -2: no weight


def test_label_forms_keras_accepts_but_torch_impl_rejected_before():
    """(N, 1, C) and (N, 1, 1) labels give one id per sample in Keras (torch_impl used to raise); bool keys are
    classes 0 and 1 in Keras 3.15.1 and later Keras (torch_impl used to raise)."""
    cw = {0: 1.5, 1: 3.0, 2: 0.25}
    ids = np.array([2, 0, 1, 1])
    for y in (np.eye(3)[ids][:, None, :], ids[:, None, None].astype(np.float32)):
        ref = _keras_ref(y, cw)
        ours = class_weight_to_sample_weight(torch.as_tensor(y), cw).numpy()
        print(f"y{y.shape}: Keras {ref.tolist()}, torch_impl {ours.tolist()}")
        np.testing.assert_array_equal(ours, ref)
    yb = np.array([True, False, True])
    for cw in ({False: 1.0, True: 4.0}, {np.True_: 4.0}):
        ref, ours = _keras_ref(yb, cw), class_weight_to_sample_weight(yb, cw).numpy()
        print(f"bool keys {cw}: Keras {ref.tolist()}, torch_impl {ours.tolist()}")
        np.testing.assert_array_equal(ours, ref)


def test_string_keys_follow_later_keras():
    """A documented difference (README): Keras 3.15.1 ignores the key "2" (its samples weigh 1.0); later Keras
    (and torch_impl) convert keys with int(), so "2" is class 2."""
    y, cw = np.array([0, 1, 2, 2]), {"2": 5.0, "0": 0.5}
    keras_3151 = _keras_ref(y, cw)
    later_keras = _keras_ref(y, {int(k): v for k, v in cw.items()})  # upstream's key normalisation
    ours = class_weight_to_sample_weight(y, cw).numpy()
    print(f"string keys {cw}: Keras 3.15.1 {keras_3151.tolist()}, later Keras {later_keras.tolist()}, "
          f"torch_impl {ours.tolist()}")
    np.testing.assert_array_equal(keras_3151, [1.0, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(ours, later_keras)
    np.testing.assert_array_equal(ours, [0.5, 1.0, 5.0, 5.0])


def test_float32_weights_round_like_floatx():
    cw = {0: 0.1, 1: 1 / 3, 2: 1e-45}
    y = np.array([0, 1, 2])
    for fx in ("float32", "float64"):
        with floatx(fx):
            ref = _keras_ref(y, cw)
        with _DefaultDtype(getattr(torch, fx)):
            ours = class_weight_to_sample_weight(y, cw)
        print(f"floatx {fx}: Keras {ref.tolist()} ({ref.dtype}), torch_impl {ours.tolist()} ({ours.dtype})")
        assert str(ours.dtype) == f"torch.{fx}"
        np.testing.assert_array_equal(ours.numpy(), ref)
    assert class_weight_to_sample_weight(y, cw, dtype=torch.float32)[0].item() != 0.1  # float32-rounded


# ---------------------------------------------------------------------- what fit hands the loss, recorded


class _KerasRecordingLoss(keras.losses.Loss):
    def __init__(self, base, record):
        super().__init__(name=base.name)
        self.base, self.record = base, record

    def __call__(self, y_true, y_pred, sample_weight=None):
        self.record.append(None if sample_weight is None else np.asarray(sample_weight))
        return self.base(y_true, y_pred, sample_weight)


def _keras_seen_weights(model, x, y, loss, **fit_kw):
    record: list = []
    model.compile(keras.optimizers.SGD(0.01), _KerasRecordingLoss(loss, record), run_eagerly=True)
    model.fit(x, y, shuffle=False, verbose=0, **fit_kw)
    return record


def _torch_seen_weights(model, x, y, loss, **fit_kw):
    record: list = []

    def hook(module, args, kwargs):
        sw = args[2] if len(args) > 2 else kwargs.get("sample_weight")
        record.append(None if sw is None else sw.detach().cpu().numpy())

    loss.register_forward_pre_hook(hook, with_kwargs=True)  # fit's copy of the loss (logits path) shares it
    tfit.fit(model, x, y, loss=loss, optimizer=optim.SGD(model.parameters(), learning_rate=0.01), shuffle=False,
             verbose=0, metrics=(), **fit_kw)
    return record


def _compare_seen(name, k_rec, t_rec):
    print(f"{name}: Keras's loss saw {[None if r is None else r.tolist() for r in k_rec]}")
    print(f"{' ' * len(name)}  torch_impl's saw {[None if r is None else r.tolist() for r in t_rec]}")
    assert len(k_rec) == len(t_rec)
    for k, t in zip(k_rec, t_rec):
        assert (k is None) == (t is None)
        if k is not None:
            assert k.dtype == t.dtype
            np.testing.assert_array_equal(t, k)


def _dense(input_shape, units, activation):
    inp = keras.Input(input_shape)
    return keras.Model(inp, keras.layers.Dense(units, activation=activation)(inp))


@pytest.mark.parametrize("validation_split", [0.0, 0.25])
def test_fit_hands_the_loss_keras_weights_float_labels_near_half(validation_split):
    """Keras rounds the labels as given (float64 0.5000000001 -> class 1, weight 3); with validation_split its
    split casts float labels to floatx first (float32 0.5 -> class 0, weight 2). torch_impl.fit rounded its copy
    of the labels in the model's dtype in both cases. Float32 floatx; the held-out part gets no weights."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype(np.float32)
    y = np.where(rng.random(16) < 0.5, 0.5000000001, rng.integers(0, 2, 16).astype(np.float64))[:, None]
    cw = {0: 2.0, 1: 3.0}
    k_rec = _keras_seen_weights(_dense((3,), 1, "sigmoid"), x, y, keras.losses.BinaryCrossentropy(),
                                class_weight=cw, batch_size=5, epochs=1, validation_split=validation_split)
    t_rec = _torch_seen_weights(build_model({"input_dim": 3, "layers": [{"type": "dense", "units": 1,
                                                                           "activation": "sigmoid"}]}),
                                x, y, losses.BinaryCrossentropy(), class_weight=cw, batch_size=5, epochs=1,
                                validation_split=validation_split)
    _compare_seen(f"labels 0.5000000001 (float64), validation_split={validation_split}", k_rec, t_rec)
    seen = np.concatenate([r for r in k_rec if r is not None])
    near_half = (y[:, 0] == 0.5000000001)[: len(seen)]
    assert np.all(seen[near_half] == (2.0 if validation_split else 3.0))


@pytest.mark.parametrize("case", ["n1c_one_hot", "bool_labels_bool_keys", "int_np_keys_missing_class"])
def test_fit_hands_the_loss_keras_weights(case):
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 3, 14)
    if case == "n1c_one_hot":  # (N, 1, C): one id per sample in Keras
        x, y, units, act, loss = rng.normal(size=(14, 1, 4)), np.eye(3)[ids][:, None, :], 3, "softmax", "cce"
        cw = {0: 0.5, 1: 2.0, 2: 4.0}
    elif case == "bool_labels_bool_keys":
        x, y, units, act, loss = rng.normal(size=(14, 4)), ids == 1, 1, "sigmoid", "bce"
        cw = {False: 1.0, True: 5.0}
    else:
        x, y, units, act, loss = rng.normal(size=(14, 4)), ids.astype(np.int32), 3, "softmax", "scce"
        cw = {np.int64(0): np.float32(0.1), np.int32(2): 7}
    k_loss = {"cce": keras.losses.CategoricalCrossentropy(), "bce": keras.losses.BinaryCrossentropy(),
              "scce": keras.losses.SparseCategoricalCrossentropy()}[loss]
    t_loss = losses.make({"cce": "categorical_crossentropy", "bce": "binary_crossentropy",
                          "scce": "sparse_categorical_crossentropy"}[loss])
    k_rec = _keras_seen_weights(_dense(x.shape[1:], units, act), x, y, k_loss, class_weight=cw, batch_size=4,
                                epochs=1)
    t_rec = _torch_seen_weights(build_model({"input_dim": x.shape[-1], "layers": [
        {"type": "dense", "units": units, "activation": act}]}), x, y, t_loss, class_weight=cw, batch_size=4, epochs=1)
    _compare_seen(case, k_rec, t_rec)


def _fit_fuzz(n_cases: int, seed: int) -> None:
    """Random label forms, dtypes, class weights, batch sizes and validation splits: the weights Keras's fit hands
    its loss, batch by batch, against torch_impl.fit's (float32 floatx)."""
    rng = np.random.default_rng(seed)
    forms = {}
    for case in range(n_cases):
        n, c = int(rng.integers(6, 20)), int(rng.integers(2, 5))
        ids = rng.integers(0, c, n)
        form = ["int", "col_int", "float_near_half", "bool", "one_hot", "soft_ties", "n1c"][case % 7]
        d = 4
        x = rng.normal(size=(n, d)).astype(np.float32)
        if form in ("int", "col_int"):
            y = ids.astype(_INT_DTYPES[rng.integers(0, 3)])
            y = y if form == "int" else y[:, None]
            units, act, k_loss, t_loss = c, "softmax", keras.losses.SparseCategoricalCrossentropy(), \
                "sparse_categorical_crossentropy"
        elif form in ("float_near_half", "bool"):
            y = (rng.integers(0, 2, n) + rng.choice([0.0, 0.5, -0.5, 0.5000000001, 0.4999999999, 1e-9], n)
                 ).astype(_FLOAT_DTYPES[rng.integers(0, 3)])[:, None] if form != "bool" else rng.random(n) < 0.5
            units, act, k_loss, t_loss = 1, "sigmoid", keras.losses.BinaryCrossentropy(), "binary_crossentropy"
        else:
            y = np.eye(c)[ids]
            if form == "soft_ties":
                y = rng.dirichlet(np.ones(c), n)
                y[rng.random(n) < 0.5, :2] = 0.5
                y /= y.sum(-1, keepdims=True)
            if form == "n1c":
                x, y = x[:, None, :], y[:, None, :]
            units, act, k_loss, t_loss = c, "softmax", keras.losses.CategoricalCrossentropy(), \
                "categorical_crossentropy"
        cw = _random_class_weight(rng, c)
        cw = {k: w for k, w in cw.items() if abs(float(w)) < 1e6}  # the overflowing 1e30 * loss aside
        fit_kw = dict(class_weight=cw, batch_size=int(rng.integers(3, 8)), epochs=1,
                      validation_split=float(rng.choice([0.0, 0.25])))
        k_rec = _keras_seen_weights(_dense(x.shape[1:], units, act), x, y, k_loss, **fit_kw)
        t_rec = _torch_seen_weights(build_model({"input_dim": d, "layers": [
            {"type": "dense", "units": units, "activation": act}]}), x, y, losses.make(t_loss), **fit_kw)
        _compare_seen(f"case {case} {form} {y.dtype} {fit_kw}", k_rec, t_rec)
        forms[form] = forms.get(form, 0) + 1
    print(f"the loss saw Keras's weights in all {n_cases} random fits: {forms}")


@pytest.mark.slow
def test_fit_hands_the_loss_keras_weights_fuzz():
    _fit_fuzz(42, seed=3)


def test_fit_float_labels_near_half_history_float32():
    """The same finding through the loss curve: float32, 3 epochs, Keras's History within 1e-5 relative."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    y = np.where(rng.random(40) < 0.4, 0.5000000001, (x[:, 0] > 0).astype(np.float64))[:, None]
    spec = {"input_dim": 4, "layers": [{"type": "dense", "units": 6, "activation": "tanh"},
                                       {"type": "dense", "units": 1, "activation": "sigmoid"}]}
    keras.utils.set_random_seed(5)
    km = keras_model(spec, dtype="float32")
    tm = build_model(spec, dtype=torch.float32)
    load_keras_weights(tm, km.get_weights())
    cw = {0: 1.0, 1: 6.0}
    km.compile(keras.optimizers.SGD(0.1), "binary_crossentropy")
    kh = km.fit(x, y, class_weight=cw, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    th = tfit.fit(tm, x, y, loss="binary_crossentropy", optimizer=optim.SGD(tm.parameters(), learning_rate=0.1),
                  class_weight=cw, batch_size=8, epochs=3, shuffle=False, verbose=0, metrics=()).history
    print(f"loss: torch_impl {th['loss']}, Keras {kh['loss']}, max rel {_rel(th['loss'], kh['loss']):.1e}")
    assert _rel(th["loss"], kh["loss"]) <= 1e-5


# --------------------------------------------------------------------------- whole History parity, float64


def _history_pair(spec, x, y, loss, opt, fit_kw, metrics=("accuracy",), seed=0):
    with floatx("float64"), _DefaultDtype(torch.float64):
        keras.utils.set_random_seed(seed)
        km = keras_model(spec, dtype="float64")
        tm = build_model(spec, dtype=torch.float64)
        load_keras_weights(tm, km.get_weights())
        k_opt = {"adam": keras.optimizers.Adam(0.02), "sgd": keras.optimizers.SGD(0.1)}[opt]
        t_opt = {"adam": optim.Adam, "sgd": optim.SGD}[opt](tm.parameters(), learning_rate=0.02 if opt == "adam"
                                                             else 0.1)
        km.compile(k_opt, loss, metrics=list(metrics))
        kh = km.fit(x, y, shuffle=False, verbose=0, **fit_kw).history
        th = tfit.fit(tm, x, y, loss=loss, optimizer=t_opt, metrics=metrics, shuffle=False, verbose=0,
                      **fit_kw).history
    return kh, th


@pytest.mark.parametrize("case", ["sparse_val_split", "one_hot_val_data_weighted", "binary_col_float_keys",
                                  "empty_dict"])
def test_history_with_class_weight_matches_keras_float64(case):
    rng = np.random.default_rng(10)
    x = rng.normal(size=(60, 5)) * 2
    ids = np.argmax(x[:, :3] + rng.normal(size=(60, 3)), -1)
    hidden = {"type": "dense", "units": 8, "activation": "relu"}
    softmax3 = {"input_dim": 5, "layers": [hidden, {"type": "dense", "units": 3, "activation": "softmax"}]}
    if case == "sparse_val_split":
        kh, th = _history_pair(softmax3, x, ids, "sparse_categorical_crossentropy", "adam",
                               dict(class_weight={np.int64(0): 1.0, 1: 3.5, 2.0: 0.25}, validation_split=0.25,
                                    batch_size=7, epochs=3))
    elif case == "one_hot_val_data_weighted":  # class 2 missing from the dict; val weighted by its own weights
        xv, yv = rng.normal(size=(20, 5)) * 2, np.eye(3)[rng.integers(0, 3, 20)]
        kh, th = _history_pair(softmax3, x, np.eye(3)[ids], "categorical_crossentropy", "sgd",
                               dict(class_weight={0: 0.2, 1: 4}, validation_data=(xv, yv, np.linspace(0.5, 2, 20)),
                                    batch_size=16, epochs=3))
    elif case == "binary_col_float_keys":
        spec = {"input_dim": 5, "layers": [hidden, {"type": "dense", "units": 1, "activation": "sigmoid"}]}
        y = (ids == 1).astype(np.float64)[:, None]
        kh, th = _history_pair(spec, x, y, "binary_crossentropy", "adam",
                               dict(class_weight={0.0: 0.5, True: 5.0}, validation_split=0.2, batch_size=9, epochs=3))
    else:
        kh, th = _history_pair(softmax3, x, ids, "sparse_categorical_crossentropy", "sgd",
                               dict(class_weight={}, validation_split=0.2, batch_size=16, epochs=2))
    print(f"{case}: keys torch_impl {sorted(th)}, Keras {sorted(kh)}")
    assert sorted(th) == sorted(kh)
    for k in kh:
        print(f"  {k}: torch_impl {th[k]}, Keras {kh[k]}, max rel {_rel(th[k], kh[k]):.1e}")
        assert _rel(th[k], kh[k]) <= 1e-8, k


def test_val_loss_is_not_class_weighted():
    """Keras weighs the training batches only: val_loss equals an unweighted evaluate of the held-out part."""
    rng = np.random.default_rng(11)
    x, ids = rng.normal(size=(40, 4)), rng.integers(0, 3, 40)
    spec = {"input_dim": 4, "layers": [{"type": "dense", "units": 3, "activation": "softmax"}]}
    torch.manual_seed(0)  # the initial weights: the weighted/unweighted gap below depends on them
    with _DefaultDtype(torch.float64):
        model = build_model(spec, dtype=torch.float64)
        h = tfit.fit(model, x, ids, loss="sparse_categorical_crossentropy", class_weight={0: 10.0, 1: 0.1},
                     optimizer=optim.SGD(model.parameters(), learning_rate=0.1), validation_split=0.25, epochs=1,
                     batch_size=8, verbose=0, metrics=())
        unweighted = tfit.evaluate(model, x[30:], ids[30:], loss="sparse_categorical_crossentropy", batch_size=8,
                                   metrics=())["loss"]
        weighted = tfit.evaluate(model, x[30:], ids[30:], loss="sparse_categorical_crossentropy", batch_size=8,
                                 metrics=(), sample_weight=class_weight_to_sample_weight(ids[30:], {0: 10.0, 1: 0.1}))
    print(f"val_loss {h.history['val_loss'][0]}, unweighted evaluate {unweighted}, class-weighted {weighted['loss']}")
    assert h.history["val_loss"][0] == pytest.approx(unweighted, rel=1e-12)
    assert abs(weighted["loss"] - unweighted) > 0.1


# ----------------------------------------------------------------------------------- where Keras raises


def _tiny_keras(outputs=1):
    inp = keras.Input((3,))
    outs = [keras.layers.Dense(3, activation="softmax")(inp) for _ in range(outputs)]
    model = keras.Model(inp, outs if outputs > 1 else outs[0])
    model.compile("sgd", ["sparse_categorical_crossentropy"] * outputs if outputs > 1 else
                  "sparse_categorical_crossentropy")
    return model


def _tiny_torch():
    return build_model({"input_dim": 3, "layers": [{"type": "dense", "units": 3, "activation": "softmax"}]})


def _fit_torch(x, y, **kw):
    model = _tiny_torch()
    return tfit.fit(model, x, y, loss="sparse_categorical_crossentropy", optimizer=optim.SGD(model.parameters()),
                    verbose=0, metrics=(), **kw)


def test_errors_where_keras_raises():
    x, y = np.random.default_rng(0).normal(size=(8, 3)), np.array([0, 1, 2, 1, 0, 2, 2, 1])
    # class_weight with sample_weight (an empty dict too): the same ValueError as Keras
    for cw in ({0: 2.0}, {}):
        with pytest.raises(ValueError) as k_err:
            _tiny_keras().fit(x, y, class_weight=cw, sample_weight=np.ones(8), verbose=0)
        with pytest.raises(ValueError) as t_err:
            _fit_torch(x, y, class_weight=cw, sample_weight=np.ones(8))
        print(f"class_weight={cw} + sample_weight: Keras {k_err.value}; torch_impl {t_err.value}")
        assert str(t_err.value) == str(k_err.value)
    # several outputs: Keras's message (torch_impl used to report a cardinality error, x 8 samples, y 2)
    with pytest.raises(ValueError) as k_err:
        _tiny_keras(outputs=2).fit(x, [y, y], class_weight={0: 2.0}, verbose=0)
    for y_multi in ([y, y], (y, torch.as_tensor(y)), {"a": y, "b": y}):
        with pytest.raises(ValueError) as t_err:
            _fit_torch(x, y_multi, class_weight={0: 2.0})
        print(f"multi-output y as {type(y_multi).__name__}: Keras {k_err.value}; torch_impl {t_err.value}")
        assert str(k_err.value) in str(t_err.value)
    # sequence labels (N, T, C): Keras's fit raises TypeError from NumPy; torch_impl a ValueError saying why
    x_seq, y_seq = np.zeros((8, 2, 3)), np.eye(3)[np.stack([y, y[::-1]], 1)]
    inp = keras.Input((2, 3))
    k_seq = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(inp))
    k_seq.compile("sgd", "categorical_crossentropy")
    with pytest.raises(TypeError) as k_err:
        k_seq.fit(x_seq, y_seq, class_weight={0: 2.0}, verbose=0)
    model = _tiny_torch()
    with pytest.raises(ValueError, match=r"shape \(8, 2, 3\), which gives 2 class ids per sample") as t_err:
        tfit.fit(model, x_seq, y_seq, loss="categorical_crossentropy", optimizer=optim.SGD(model.parameters()),
                 class_weight={0: 2.0}, verbose=0, metrics=())
    print(f"(N, T, C) labels: Keras TypeError {k_err.value}; torch_impl ValueError {t_err.value}")
    # a class_weight that is not a dict: Keras AttributeError ('list' object has no attribute 'get')
    with pytest.raises(AttributeError):
        _tiny_keras().fit(x, y, class_weight=[1.0, 2.0, 3.0], verbose=0)
    with pytest.raises(ValueError, match="must be a dict mapping integer class ids"):
        _fit_torch(x, y, class_weight=[1.0, 2.0, 3.0])
    # but a list of per-sample rows as long as x is one y, not several outputs
    model = _tiny_torch()
    h = tfit.fit(model, x, list(np.eye(3)[y]), loss="categorical_crossentropy", optimizer=optim.SGD(
        model.parameters()), class_weight={0: 2.0}, batch_size=4, verbose=0, metrics=())
    assert len(h.history["loss"]) == 1


@pytest.mark.parametrize("labels, cw, match, keras_gives", [
    (np.array([0.0, np.nan, 1.0]), {0: 2.0}, r"NaN or inf \(1 entry, the first at index 1", [2.0, 1.0, 1.0]),
    (np.array([[0.0, 1.0], [np.nan, 0.0]]), {0: 2.0}, r"NaN or inf \(1 entry, the first at index \(1, 0\)",
     [1.0, 2.0]),
    (np.array([0.0, np.inf]), {0: 2.0}, "NaN or inf", [2.0, 1.0]),
    (np.array([1, 2**32 + 1]), {1: 5.0}, "must fit in int32", [5.0, 5.0]),  # Keras wraps 2**32+1 to 1
    (np.array([3e9, 0.0]), {0: 5.0}, "must fit in int32", [1.0, 5.0]),
    (np.array(["cat", "dog"]), {0: 1.0}, "numeric labels", None),
    (np.array([0, 1]), {"cat": 2.0}, "integer keys", [1.0, 1.0]),
    (np.array([0, 1]), {1.5: 2.0}, "integer keys", [1.0, 1.0]),
    (np.array([0, 1]), {float("nan"): 2.0}, "integer keys", [1.0, 1.0]),
    (np.array([0, 1]), {0: float("nan")}, "finite", [np.nan, 1.0]),
    (np.array([0, 1]), {0: None}, "must be numbers", [np.nan, 1.0]),
    (np.array([0, 1]), {0: 1e40}, "overflow", [np.inf, 1.0]),
    (np.array([0, 1]), {1: 2.0, "1": 3.0}, "two keys for class 1", [1.0, 2.0]),
])
def test_bad_input_raises_where_keras_goes_wrong(labels, cw, match, keras_gives):
    if keras_gives is None:
        with pytest.raises(TypeError):  # np.round of strings
            _keras_ref(labels, cw)
    else:
        np.testing.assert_array_equal(_keras_ref(labels, cw), keras_gives)
    with pytest.raises(ValueError, match=match) as err:
        class_weight_to_sample_weight(labels, cw)
    print(f"Keras gives {keras_gives}; torch_impl: {err.value}")


def test_class_weight_none_means_no_weights():
    x, y = np.random.default_rng(3).normal(size=(12, 3)), np.array([0, 1, 2] * 4)
    torch.manual_seed(0)
    a = _fit_torch(x, y, class_weight=None, batch_size=4, shuffle=False).history["loss"]
    torch.manual_seed(0)
    b = _fit_torch(x, y, batch_size=4, shuffle=False).history["loss"]
    torch.manual_seed(0)
    c = _fit_torch(x, y, class_weight={0: 5.0}, batch_size=4, shuffle=False).history["loss"]
    print(f"class_weight=None {a}, omitted {b}, {{0: 5}} {c}")
    assert a == b and c != a


# ------------------------------------------------------------------------------- compute_class_weight


def test_compute_class_weight_sklearn_calling_convention():
    """Our call gives the dict ``fit(class_weight=...)`` takes; scikit-learn's call gives scikit-learn's array,
    so that the field's ``dict(enumerate(compute_class_weight("balanced", classes=..., y=...)))`` means the same
    with this import (a dict there gave ``{0: 0, 1: 1, 2: 2}``); an array given to ``fit`` says how to make the
    dict."""
    y = np.array([0] * 9 + [1] * 3 + [2] * 2)
    classes = np.array([0, 1, 2])
    ref = sk_compute_class_weight("balanced", classes=classes, y=y)
    ours = compute_class_weight(y)
    assert ours == compute_class_weight(y, "balanced", classes) == {0: ref[0], 1: ref[1], 2: ref[2]}
    for got in (compute_class_weight("balanced", classes=classes, y=y),
                compute_class_weight(class_weight="balanced", classes=classes, y=y),
                compute_class_weight("balanced", y=y), compute_class_weight(y=y),
                compute_class_weight("balanced", classes=classes, y=np.eye(3)[y])):
        print("compute_class_weight (scikit-learn's call):", got, "scikit-learn:", ref)
        assert isinstance(got, np.ndarray) and got.dtype == ref.dtype and np.array_equal(got, ref)
    assert dict(enumerate(compute_class_weight("balanced", classes=classes, y=y))) == ours
    assert compute_class_weight(None, classes=classes, y=y).tolist() == [1.0, 1.0, 1.0]
    assert compute_class_weight({np.int64(1): 4.0}, classes=classes, y=y).tolist() == [1.0, 4.0, 1.0]
    sw = np.linspace(0.5, 2.0, len(y))
    ref_sw = sk_compute_class_weight("balanced", classes=classes, y=y, sample_weight=sw)
    assert compute_class_weight("balanced", classes=classes, y=y, sample_weight=sw).tolist() == ref_sw.tolist()
    with pytest.raises(ValueError, match=r"dict\(zip\(classes, weights\)\)"):
        class_weight_to_sample_weight(y, compute_class_weight("balanced", classes=classes, y=y))
    with pytest.raises(TypeError, match="missing the labels"):
        compute_class_weight("balanced", classes=classes)
    with pytest.raises(TypeError, match="y given twice"):
        compute_class_weight(y, y=y)
    with pytest.raises(TypeError, match="class_weight given twice"):
        compute_class_weight("balanced", class_weight="balanced", y=y)
    with pytest.raises(ValueError, match="'balanced', a dict or None"):
        compute_class_weight("balance", classes=classes, y=y)


def test_compute_class_weight_balanced_fuzz_against_sklearn():
    rng = np.random.default_rng(7)
    worst = 0.0
    for case in range(60):
        c = int(rng.integers(2, 7))
        lo = int(rng.integers(-3, 2))
        y = lo + rng.choice(c, int(rng.integers(c, 80)), p=rng.dirichlet(np.ones(c)))
        y = np.concatenate([y, lo + np.arange(c)])  # every class present
        classes = rng.permutation(np.unique(y))
        ref = sk_compute_class_weight("balanced", classes=classes, y=y)
        form = case % 3
        y_in = y if form == 0 else (torch.as_tensor(y)[:, None] if form == 1 else np.eye(c)[y - lo])
        if form == 2:  # one-hot: the ids are the column indices
            classes, ref = classes - lo, sk_compute_class_weight("balanced", classes=classes - lo, y=y - lo)
        got = compute_class_weight(y_in, "balanced", classes)
        assert list(got) == [int(k) for k in classes]
        assert np.array_equal(compute_class_weight("balanced", classes=classes, y=y_in), ref)
        err = _rel(list(got.values()), ref)
        worst = max(worst, err)
        assert err == 0.0, (case, got, ref)
    print(f"'balanced' weights equal scikit-learn's in 60 random label sets (ids, (N, 1) tensors, one-hot): "
          f"max rel {worst:.1e}")


def test_compute_class_weight_classes_not_in_y():
    y = np.array([0, 0, 1, 1, 1])
    with pytest.raises(ValueError, match="classes should have valid labels that are in y") as sk_err:
        sk_compute_class_weight("balanced", classes=np.array([0, 1, 2]), y=y)
    for call in (lambda: compute_class_weight("balanced", classes=[0, 1, 2], y=y),
                 lambda: compute_class_weight(np.eye(3)[y], classes=[0, 1, 2])):
        with pytest.raises(ValueError, match=r"classes \[2\] do not occur in y") as err:
            call()
        print(f"scikit-learn: {sk_err.value}; torch_impl: {err.value}")
    with pytest.raises(ValueError, match=r"y has class ids \[1\] that are not in classes=\[0\]"):
        compute_class_weight("balanced", classes=[0], y=y)
    with pytest.raises(ValueError, match=r"y has class ids \[1\]"):
        compute_class_weight({0: 2.0}, classes=[0], y=y)
    # a dict may name classes absent from y (scikit-learn's rule): their weights are returned as given
    assert compute_class_weight(y, {2: 3.0}, [0, 1, 2]) == {0: 1.0, 1: 1.0, 2: 3.0}
    assert compute_class_weight({2: 3.0}, classes=[0, 1, 2], y=y).tolist() == [1.0, 1.0, 3.0]
    with pytest.raises(ValueError, match="integer class ids"):
        compute_class_weight("balanced", classes=[0.5, 1], y=y)
