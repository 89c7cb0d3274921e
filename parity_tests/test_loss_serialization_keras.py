"""``torch_impl.losses.serialize`` / ``deserialize`` (and ``get`` of a serialized dict) against Keras 3.15.1's
``keras.losses.serialize`` / ``deserialize`` / ``get``.

What is compared:

* every loss class (22, and the ``Loss`` base) with non-default options: ``serialize`` gives Keras's dict (``module``,
  ``class_name``, ``config``, ``registered_name``; the same JSON text), but for three keys Keras 3.15.1's
  ``get_config`` drops and torch_impl keeps (``axis`` of ``SparseCategoricalCrossentropy`` and ``CosineSimilarity``,
  ``delta`` of ``Huber``: Keras's round trip resets them to their defaults, torch_impl's keeps them; Keras reads
  them back, as its ``__init__`` takes them). Keras loads torch_impl's dict, and Keras's dict (through JSON, as a
  saved config) loads into torch_impl: the losses then compute Keras's values;
* every functional form: Keras's ``{"module": "builtins", "class_name": "function", ...}`` both ways;
* 83 identifiers (every name of Keras's table, unknown names, short and malformed dicts, function dicts, lists,
  a lambda's dict...): the same result or the same exception type and message, Keras's quirks included (an
  unknown name comes back unchanged; the aliases ``"mse"``... raise ``ValueError``; Keras 3.15.1's table lacks
  ``CategoricalGeneralizedCrossEntropy``, whose name comes back unresolved);
* ``LossFunctionWrapper``, custom ``Loss`` subclasses and functions with ``custom_objects``, a ``lambda``, a model's
  ``get_compile_config()["loss"]`` (one output, a list of two).

Measured (float64 values of the loaded losses against Keras's, max relative error over the 22 classes; float32
is ``slow``):

=============================================  ===============================  =========================
case                                           float64                          float32 (``slow``)
=============================================  ===============================  =========================
Keras loads ``serialize``'s dict (22 classes)  1.9e-16 (CTC 7.7e-9: float32)    -
Keras's dict (JSON) into ``deserialize``       3.8e-16 (CTC 4.2e-8: float32)    1.2e-7
identifiers: the same outcome as Keras         83 of 83; ``get`` of the 18 dicts: 18 of 18
=============================================  ===============================  =========================

Differences kept (documented): the three config keys above; a ``LossFunctionWrapper``'s default name is its
function's name (Keras: ``loss_function_wrapper``, numbered); a custom class's default name is not numbered
(Keras: ``my_loss_1``...); a ``CategoricalFocalCrossentropy`` whose ``alpha`` was a NumPy array serializes as
Keras's (``"__numpy__"``), and its dict raises ``ValueError`` in ``deserialize`` where Keras makes a loss that
raises when called. ``get`` of a string keeps torch_impl's rules (``get("CategoricalGeneralizedCrossEntropy")``
resolves; ``get("Loss")`` raises where Keras makes the abstract base).
"""

from __future__ import annotations

import json
import re
import types
import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import DTYPES, _precision, _rel  # noqa: E402
from scenarios import rest_loss_cases as rc  # noqa: E402
from torch_impl import losses as L  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

#: the config keys torch_impl keeps where Keras 3.15.1's get_config drops them
EXTRA_KEYS = {"SparseCategoricalCrossentropy": {"axis"}, "CosineSimilarity": {"axis"}, "Huber": {"delta"}}


def _onehot(rng, c=3, logits=False):
    y = np.eye(c)[rng.integers(0, c, 6)]
    return y, (rng.normal(size=(6, c)) if logits else rng.dirichlet(np.ones(c), 6))


def _sparse(rng, c=3):
    return rng.integers(0, c, 6), rng.normal(size=(6, c))


def _binary(rng, logits=False):
    y = rng.integers(0, 2, (6, 3)).astype(float)
    return y, (rng.normal(size=(6, 3)) * 2 if logits else rng.uniform(0.01, 0.99, (6, 3)))


# (class, non-default options, data)
CASES = [
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, lambda r: _onehot(r, logits=True)),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 2, "name": "scce"}, _sparse),
    ("BinaryCrossentropy", {"label_smoothing": 0.2, "reduction": "sum"}, _binary),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 3.0, "from_logits": True},
     lambda r: _binary(r, logits=True)),
    ("CategoricalFocalCrossentropy", {"alpha": [0.2, 0.3, 0.5], "gamma": 1.5, "reduction": None}, _onehot),
    ("MeanSquaredError", {"reduction": "mean_with_sample_weight"}, rc._regression),
    ("MeanAbsoluteError", {"name": "l1"}, rc._regression),
    ("MeanAbsolutePercentageError", {}, rc._mape),
    ("MeanSquaredLogarithmicError", {"reduction": "sum"}, rc._msle),
    ("CosineSimilarity", {"axis": 1}, lambda r: rc._cosine(r, (6, 4, 3))),
    ("Huber", {"delta": 0.5}, lambda r: rc._huber_edges(r, 0.5)),
    ("LogCosh", {}, rc._log_cosh),
    ("Hinge", {}, rc._hinge01),
    ("SquaredHinge", {"reduction": "none"}, rc._hinge_pm1),
    ("CategoricalHinge", {}, rc._one_hot),
    ("KLDivergence", {}, rc._probabilities),
    ("Poisson", {}, rc._poisson),
    ("Dice", {"axis": (1, 2, 3)}, rc._masks),
    # equal coefficients: with alpha != beta the same config computes Keras's fix (#23333) here, 3.15.1's in Keras
    ("Tversky", {"alpha": 0.4, "beta": 0.4, "axis": (1, 2, 3)}, rc._masks),
    ("Circle", {"gamma": 32.0, "margin": 0.25, "remove_diagonal": False}, rc._embeddings),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.2}, rc._generalized),
    ("CTC", {}, rc._ctc),
]


def _json(d):
    """Through JSON, as a saved config (tuples become lists)."""
    return json.loads(json.dumps(d))


def _values(loss, y, p, torch_side: bool):
    if torch_side:
        return np.asarray(loss(torch.as_tensor(y), torch.as_tensor(p)).detach())
    return np.asarray(loss(y, p))


def _tolerance(name: str, dt: str) -> float:
    return 1e-5 if dt == "float32" or name == "CTC" else 1e-12  # CTC computes in float32 on both sides


def _cast(y, p, dt):
    return (y if y.dtype.kind in "iu" else y.astype(dt)), p.astype(dt)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_serialize_gives_keras_dict_and_keras_loads_it(case):
    """``serialize`` writes Keras's dict (JSON text included) but for the kept keys; Keras reads it back and
    computes torch_impl's value (float64)."""
    name, cfg, make = case
    k, t = getattr(keras.losses, name)(**cfg), getattr(L, name)(**cfg)
    ks, ts = keras.losses.serialize(k), L.serialize(t)
    extra = set(ts["config"]) - set(ks["config"])
    stripped = dict(ts, config={key: v for key, v in ts["config"].items() if key not in extra})
    print(f"{name}: Keras {ks}\n  extra keys kept by torch_impl: {sorted(extra) or 'none'}")
    assert extra == EXTRA_KEYS.get(name, set())
    assert stripped == ks and json.dumps(stripped, sort_keys=True) == json.dumps(ks, sort_keys=True)
    # Keras loads torch_impl's dict (its table lacks CategoricalGeneralizedCrossEntropy: its saving library's
    # generic loader, which model loading uses, resolves it by module and name)
    loader = keras.saving.deserialize_keras_object if name == "CategoricalGeneralizedCrossEntropy" \
        else keras.losses.deserialize
    rng = np.random.default_rng(3)
    y, p = make(rng)
    with _precision("float64"):
        kl = loader(_json(ts))
        kv = _values(kl, y, p, False)
    assert type(kl) is type(k) and _json(kl.get_config()) == _json(k.get_config())
    tv = _values(t, y, p, True)
    r = _rel(tv, kv)
    print(f"  {name}: Keras's loss from torch_impl's dict, value max rel {r:.1e}")
    assert tv.shape == kv.shape and r <= _tolerance(name, "float64")


@pytest.mark.parametrize("dt", DTYPES)
def test_keras_dicts_load_into_torch_impl(dt):
    """Each class's Keras dict, through JSON, into ``deserialize`` and ``get``: the class, Keras's config and
    Keras's values (of Keras's own loss read back from the same dict)."""
    worst = 0.0
    for name, cfg, make in CASES:
        kd = _json(keras.losses.serialize(getattr(keras.losses, name)(**cfg)))
        with _precision(dt):  # a Keras loss computes in the floatx of its construction
            k2 = keras.losses.deserialize(kd)
        t2 = L.deserialize(kd)
        if name == "CategoricalGeneralizedCrossEntropy":  # missing from Keras 3.15.1's table: its name back
            print(f"{name}: keras.losses.deserialize -> {k2!r}, torch_impl -> {t2!r}")
            assert k2 == t2 == name
            with pytest.raises(ValueError, match="Could not interpret loss identifier"):
                keras.losses.get(kd)
            with pytest.raises(ValueError, match="Could not interpret loss identifier"):
                L.get(kd)
            continue
        assert type(t2).__name__ == type(k2).__name__ and type(L.get(kd)) is type(t2)
        kc = k2.get_config()
        assert {key: t2.get_config()[key] for key in kc} == kc, (name, kc, t2.get_config())
        rng = np.random.default_rng(5)
        y, p = _cast(*make(rng), dt)
        with _precision(dt):
            kv = _values(k2, y, p, False)
        tv = _values(t2, y, p, True)
        r = _rel(tv, kv)
        worst = max(worst, r) if name != "CTC" else worst
        print(f"{name}: {type(t2).__name__}, config as Keras's, value max rel {r:.1e}")
        assert tv.shape == kv.shape and r <= _tolerance(name, dt), name
    print(f"{len(CASES)} classes; worst (CTC aside) {worst:.1e}")


def test_functions_both_ways_like_keras():
    """Every functional form serializes as Keras's function dict, and Keras's dict of it comes back as the
    function (``categorical_generalized_cross_entropy``, missing from Keras 3.15.1's table: its name, as there)."""
    for name, fn in L._FUNCTIONS.items():
        kf = getattr(keras.losses, name)
        ks, ts = keras.losses.serialize(kf), L.serialize(fn)
        assert ts == ks == {"module": "builtins", "class_name": "function", "config": name,
                            "registered_name": "function"}, (ks, ts)
        k2, t2 = keras.losses.deserialize(_json(ks)), L.deserialize(_json(ks))
        if name == "categorical_generalized_cross_entropy":
            assert k2 == t2 == name
        else:
            assert k2 is kf and t2 is fn, name
        assert L.deserialize(name) == (fn if name != "categorical_generalized_cross_entropy" else name)
    print(f"{len(L._FUNCTIONS)} functions: Keras's dict both ways; {ks}")


def _outcome(f):
    """What a call gives, comparable across the two libraries."""
    try:
        r = f()
    except Exception as e:  # noqa: BLE001 - the exception is the outcome
        msg = str(e)
        for module in ("keras.src.losses.losses.", "keras.src.losses.loss.", "torch_impl.losses."):
            msg = msg.replace(module, "")
        return ("raises", type(e).__name__, msg)
    if isinstance(r, types.FunctionType):
        return ("function", r.__name__)
    if isinstance(r, list):
        return ("list", [_outcome(lambda x=x: x) for x in r])
    if hasattr(r, "get_config"):
        return ("instance", type(r).__name__, r.get_config())
    return ("value", r)


def _unnumbered(key: str, value):
    """Keras numbers a default name by how many objects of that name the process made before (``loss_1``): a
    name compared without that suffix."""
    return re.sub(r"_\d+$", "", value) if key == "name" and isinstance(value, str) else value


def _same(k, t) -> bool:
    if k[0] == "instance" and t[0] == "instance":  # Keras's keys, Keras's values (torch_impl may keep more)
        return k[1] == t[1] and all(_unnumbered(key, t[2].get(key)) == _unnumbered(key, v)
                                    for key, v in k[2].items() if key != "fn")
    if k[0] == "list" and t[0] == "list":
        return len(k[1]) == len(t[1]) and all(_same(a, b) for a, b in zip(k[1], t[1]))
    return k == t


def _function_dict(name, module="builtins", registered="function"):
    return {"module": module, "class_name": "function", "config": name, "registered_name": registered}


IDENTIFIERS = [
    "foo", "", "CategoricalGeneralizedCrossEntropy", "categorical_generalized_cross_entropy", None, 3, 2.5,
    {"class_name": "BinaryCrossentropy"}, {"class_name": "BinaryCrossentropy", "config": None},
    {"class_name": "BinaryCrossentropy", "config": {"foo": 1}}, {"config": {}},
    {"module": "keras.losses", "class_name": "Foo", "config": {}, "registered_name": None},
    {"module": None, "class_name": "Foo", "config": {}, "registered_name": "Foo"},
    _function_dict("huber", "keras.losses", None), _function_dict("huber", "keras.losses", "huber"),
    _function_dict("mse", "keras.metrics", "mse"),
    {"module": "keras.losses", "class_name": "Huber", "config": {"delta": 2.0}, "registered_name": "pk>Huber"},
    {"module": "keras", "class_name": "Loss", "config": {"name": "l"}, "registered_name": None},
    {"module": "keras.src.losses.losses", "class_name": "LossFunctionWrapper", "registered_name": "LossFunctionWrapper",
     "config": {"name": "w", "reduction": "sum", "fn": _function_dict("huber"), "delta": 2.0}},
    ["mse", {"class_name": "Huber", "config": {}}],
    ["mse", {"module": "keras.losses", "class_name": "Huber", "config": {}, "registered_name": None}],
    {"class_name": "__lambda__", "config": {"value": ("x", None, None)}},
] + [_function_dict(n) for n in ("huber", "mse", "nope", "BinaryCrossentropy", "categorical_generalized_cross_entropy")]


def test_names_and_malformed_identifiers_like_keras():
    """Every name of ``keras.losses.ALL_OBJECTS_DICT`` and the identifiers above: ``deserialize`` gives what
    Keras's gives, or raises its exception with its message; ``get`` of each dict as Keras's ``get``."""
    from keras.src.losses import ALL_OBJECTS_DICT

    assert sorted(ALL_OBJECTS_DICT) == sorted(L._KERAS_ALL_OBJECTS)
    idents = list(ALL_OBJECTS_DICT) + IDENTIFIERS
    counts = {}
    for ident in idents:
        k, t = _outcome(lambda: keras.losses.deserialize(ident)), _outcome(lambda: L.deserialize(ident))
        assert _same(k, t), (ident, k, t)
        counts[k[0]] = counts.get(k[0], 0) + 1
        if isinstance(ident, dict):
            kg, tg = _outcome(lambda: keras.losses.get(ident)), _outcome(lambda: L.get(ident))
            assert _same(kg, tg), (ident, kg, tg)
    print(f"{len(idents)} identifiers, the same outcome as keras.losses.deserialize: {counts}")
    for ident in ("mse", "foo", {"module": "keras.losses", "class_name": "Foo", "config": {}}):
        print(f"  {ident!r}: {_outcome(lambda: L.deserialize(ident))}")


def test_loss_function_wrapper_like_keras():
    """A wrapper serializes as Keras's (``fn`` as a function dict, its keyword arguments), Keras's reads back
    into torch_impl's wrapper of the same function, with Keras's values."""
    from keras.src.losses.losses import LossFunctionWrapper as KerasWrapper

    with _precision("float64"):
        k = KerasWrapper(keras.losses.huber, delta=0.5, reduction="sum")
    t = L.LossFunctionWrapper(L.huber, delta=0.5, reduction="sum", name=k.name)
    ks, ts = keras.losses.serialize(k), L.serialize(t)
    print(f"Keras {ks}\ntorch_impl {ts}")
    assert ts == ks
    t2 = L.deserialize(_json(ks))
    assert type(t2) is L.LossFunctionWrapper and t2.fn is L.huber and t2._fn_kwargs == {"delta": 0.5}
    assert keras.losses.deserialize(_json(ts)).fn is keras.losses.huber
    y, p = rc._huber_edges(np.random.default_rng(1), 0.5)
    with _precision("float64"):
        kv = float(k(y, p))
    tv = float(t2(torch.as_tensor(y), torch.as_tensor(p)))
    print(f"value Keras {kv!r} torch_impl {tv!r}")
    assert abs(tv - kv) <= 1e-12 * abs(kv)
    # torch_impl's default name is the function's (Keras's: loss_function_wrapper, numbered)
    assert L.serialize(L.LossFunctionWrapper(L.huber))["config"]["name"] == "huber"


class KerasMyLoss(keras.losses.Loss):
    def call(self, y_true, y_pred):
        return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)


class TorchMyLoss(L.Loss):
    def call(self, y_true, y_pred):
        return (y_true - y_pred).abs().mean(-1)


def my_error(y_true, y_pred):
    return (y_true - y_pred) ** 2


def test_custom_objects_like_keras():
    """A custom class and function: the same dict (module, class name, ``registered_name``), back with
    ``custom_objects``; without, Keras's outcomes (a class dict of another module gives its name back, of
    ``__main__`` raises ``TypeError``, a function's gives its name back), also inside a wrapper."""
    from keras.src.losses.losses import LossFunctionWrapper as KerasWrapper

    KerasMyLoss.__name__ = TorchMyLoss.__name__ = "MyLoss"
    ks = keras.losses.serialize(KerasMyLoss(name="mine", reduction="sum"))
    ts = L.serialize(TorchMyLoss(name="mine", reduction="sum"))
    print(f"Keras {ks}\ntorch_impl {ts}")
    assert ts == ks and ts["registered_name"] == "MyLoss" and ts["module"] == __name__
    t2 = L.deserialize(_json(ks), custom_objects={"MyLoss": TorchMyLoss})
    assert type(t2) is TorchMyLoss and t2.get_config() == {"name": "mine", "reduction": "sum"}
    main = dict(ks, module=None)
    for d in (ks, main):
        k, t = _outcome(lambda: keras.losses.deserialize(d)), _outcome(lambda: L.deserialize(d))
        print(f"  without custom_objects, module {d['module']}: {t}")
        assert _same(k, t)
    fd = keras.losses.serialize(my_error)
    assert L.serialize(my_error) == fd and L.deserialize(fd) == keras.losses.deserialize(fd) == "my_error"
    assert L.deserialize(fd, custom_objects={"my_error": my_error}) is my_error
    assert L.deserialize("my_error", custom_objects={"my_error": my_error}) is my_error
    wd = _json(keras.losses.serialize(KerasWrapper(my_error, name="w")))
    t3 = L.deserialize(wd, custom_objects={"my_error": my_error})
    assert type(t3) is L.LossFunctionWrapper and t3.fn is my_error
    y, p = np.ones((4, 2)), np.zeros((4, 2))
    assert float(t3(torch.as_tensor(y), torch.as_tensor(p))) == 1.0
    print(f"  wrapper of a custom function: {t3!r}")


def test_lambda_serializes_as_keras():
    """A ``lambda``: Keras's ``"__lambda__"`` dict (the marshalled code) with its warning; ``deserialize`` of it
    gives ``"__lambda__"`` back, as Keras's does."""
    fn = lambda y_true, y_pred: y_true - y_pred  # noqa: E731
    with warnings.catch_warnings(record=True) as kw:
        warnings.simplefilter("always")
        ks = keras.losses.serialize(fn)
    with warnings.catch_warnings(record=True) as tw:
        warnings.simplefilter("always")
        ts = L.serialize(fn)
    print(f"Keras {str(ks)[:80]}...; warnings {[str(w.message)[:60] for w in kw]}")
    assert ts == ks and ts["class_name"] == "__lambda__"
    assert [str(w.message) for w in tw] == [str(w.message) for w in kw if "lambda" in str(w.message)]
    assert L.deserialize(ks) == keras.losses.deserialize(ks) == "__lambda__"


def test_numpy_and_tensor_configs():
    """A NumPy ``alpha`` serializes as Keras's ``"__numpy__"``; Keras's loss from that dict keeps the dict as
    ``alpha`` and raises when called, torch_impl's ``deserialize`` raises ``ValueError`` at once. A torch tensor
    ``alpha`` is the backend tensor of Keras's format (``"__tensor__"``)."""
    alpha = np.array([0.1, 0.2, 0.7])
    ks = keras.losses.serialize(keras.losses.CategoricalFocalCrossentropy(alpha=alpha))
    ts = L.serialize(L.CategoricalFocalCrossentropy(alpha=alpha))
    assert ts == ks and ts["config"]["alpha"]["class_name"] == "__numpy__"
    with pytest.raises(ValueError):
        keras.losses.deserialize(ks)(np.eye(3), np.full((3, 3), 1 / 3))
    with pytest.raises(ValueError):
        L.deserialize(ks)
    tt = L.serialize(L.CategoricalFocalCrossentropy(alpha=torch.tensor([0.1, 0.2, 0.7], dtype=torch.float64)))
    print(f"numpy alpha: {ks['config']['alpha']}; tensor alpha: {tt['config']['alpha']}")
    assert tt["config"]["alpha"] == {"class_name": "__tensor__",
                                     "config": {"value": [0.1, 0.2, 0.7], "dtype": "float64"}}


def test_keras_compile_config_loss_loads():
    """A Keras model's ``get_compile_config()["loss"]`` (what a saved model keeps): one loss object, and a list
    of an object and a name for two outputs, into ``deserialize`` as into Keras's."""
    inp = keras.Input((3,))
    a, b = keras.layers.Dense(2, name="a")(inp), keras.layers.Dense(1, name="b")(inp)
    one = keras.Model(inp, a)
    one.compile(optimizer="sgd", loss=keras.losses.BinaryFocalCrossentropy(gamma=3.0, from_logits=True))
    two = keras.Model(inp, [a, b])
    two.compile(optimizer="sgd", loss=[keras.losses.CategoricalCrossentropy(from_logits=True), "mse"])
    for model in (one, two):
        saved = _json(model.get_compile_config()["loss"])
        k, t = _outcome(lambda: keras.losses.deserialize(saved)), _outcome(lambda: L.deserialize(saved))
        print(f"compile config loss {str(saved)[:90]}...: torch_impl {str(t)[:120]}")
        assert _same(k, t) and t[0] in ("instance", "list")
