"""Real-world Keras scripts, round 2, ported to PyTorch with torch_impl the way a user would port them.

Each test writes the Keras script as a keras.io tutorial or a StackOverflow answer would, and its port: a torch
model that starts from the Keras model's initial weights, ``torch_impl`` losses and optimizers, ``torch_impl.fit``
or a plain torch loop. The assertions are DESIGN.md's standards: losses and input gradients (float64 1e-12 / 1e-10
relative, float32 rtol 1e-5, the same zero-gradient entries); training histories (float64 within 1e-8 relative in
every epoch; float32 within 1e-3 with the same predicted-class histogram). Every test prints what it asserts.

1. semantic segmentation: per-pixel sparse crossentropy with ``ignore_class`` on ``(N, H, W, C)`` logits,
   ``(N, H, W)`` and ``(N, H, W, 1)`` labels, per-pixel sample weights; channels-first ``(N, C, H, W)`` logits with
   ``axis=1`` (reference: Keras's torch backend, the only one that computes it); a softmax output layer.
2. multi-label: sigmoid outputs, binary crossentropy with label smoothing, binary focal with class balancing,
   ``binary_accuracy`` (and Keras's ``"accuracy"``, which is categorical for multi-hot labels).
3. sequence tagging: ``(N, T, C)`` logits, ``(N, T)`` labels and a ``(N, T)`` padding mask as ``sample_weight``
   (Keras 3 has no ``sample_weight_mode``: a temporal weight goes to the loss as is), both mean reductions,
   ``Embedding(mask_zero=True)``; per-timestep sigmoid outputs with ``(N, T)`` labels.
4. keras.io's imbalanced classification (credit-card fraud) tutorial: ``class_weight``, confusion-matrix metrics;
   a binary focal variant.
5. a label-smoothed CNN with ``to_categorical`` labels: ``model.evaluate`` against ``torch_impl.evaluate``.
6. a custom training loop (``tf.GradientTape`` + ``apply_gradients``) against a plain torch loop.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from keras_impl.harness import loss_value_and_grad as keras_eval  # noqa: E402
from keras_impl.models import floatx  # noqa: E402
from scenarios.loss_parity import compare  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl import metrics as tmetrics  # noqa: E402
from torch_impl.nn import Dropout, keras_weights  # noqa: E402
from torch_impl.harness import loss_value_and_grad as torch_eval  # noqa: E402

pytestmark = pytest.mark.keras

F64, F32 = 1e-8, 1e-3  # history standards, relative


# --------------------------------------------------------------------------------------------------------------
# helpers: precision, comparisons, torch layers from Keras weights
# --------------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _precision(dt: str):
    """Keras's floatx and torch's default dtype (torch_impl's floatx) set to ``dt`` for the block. Keras's layer
    dtype policy too: Keras derives it from floatx once per process and keeps it (a script sets floatx first)."""
    previous = torch.get_default_dtype()
    with floatx(dt):  # restores the global policy as it was stored too (None: derived from floatx)
        torch.set_default_dtype(getattr(torch, dt))
        keras.config.set_dtype_policy(dt)
        try:
            yield getattr(torch, dt)
        finally:
            torch.set_default_dtype(previous)


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


#: the later rounds' dtypes: float32 runs are `slow`
DTYPES = ["float64", pytest.param("float32", marks=pytest.mark.slow)]


def _tol(dt: str) -> float:
    return F64 if dt == "float64" else F32


def _normwise(a, b) -> float:
    """max |a - b| / max |b|: for logits and weights, whose entries near 0 make the element-wise figure
    meaningless."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def _weights_apart(nets, keras_weights_) -> float:
    """max |a - b| over every weight of the port (one module, or several whose weights follow each other) in
    Keras's layout (``keras_weights``) and Keras's ``get_weights()``, over the largest Keras weight. Norm-wise: a
    weight whose exact gradient is 0 (an attention's key bias, a conv bias before BatchNormalization) holds each
    framework's own rounding noise, 1e-17 apart in 1e-17, without effect on any output."""
    ours = [w for net in ([nets] if isinstance(nets, torch.nn.Module) else nets) for w in keras_weights(net)]
    assert len(ours) == len(keras_weights_)
    return max(float(np.max(np.abs(a - b))) for a, b in zip(ours, keras_weights_)) / max(
        float(np.max(np.abs(b))) for b in keras_weights_)


def _keras_seed_state(obj) -> tuple:
    """A Keras ``SeedGenerator``'s state (or a layer's ``seed_generator``'s) as Python ints: torch_impl's
    ``state``."""
    generator = getattr(obj, "seed_generator", obj)
    return tuple(int(v) for v in keras.ops.convert_to_numpy(generator.state))


def _check_history(th: dict, kh: dict, dt: str, keys=None, tol=None, same_keys: bool = False) -> float:
    """Every key of Keras's history (or ``keys``), every epoch, within ``tol`` (relative; default the standard of
    ``dt``), printed; ``same_keys``: the two histories log the same keys. Returns the worst figure."""
    tol = (F64 if dt == "float64" else F32) if tol is None else tol
    if same_keys:
        assert sorted(th) == sorted(kh)
    worst = 0.0
    for k in keys or kh:
        r = _rel(th[k], kh[k])
        worst = max(worst, r)
        print(f"  {k}: Keras {np.round(kh[k], 6).tolist()} torch_impl {np.round(th[k], 6).tolist()} max rel {r:.1e}")
        assert r <= tol, k
    return worst


def _final_check(th: dict, kh: dict, dt: str, keys=None) -> None:
    """DESIGN.md's history standard; in float32 also the final loss (1e-3) printed separately."""
    _check_history(th, kh, dt, keys)
    if dt == "float32":
        r = _rel(th["loss"][-1], kh["loss"][-1])
        print(f"  final loss rel {r:.1e}")
        assert r <= 1e-3


def _dense(kernel, bias) -> torch.nn.Linear:
    """torch ``Linear`` holding a Keras ``Dense`` layer's weights (kernel ``(in, out)``)."""
    k = torch.from_numpy(np.ascontiguousarray(kernel))
    layer = torch.nn.Linear(*k.shape, dtype=k.dtype)
    with torch.no_grad():
        layer.weight.copy_(k.T)
        layer.bias.copy_(torch.from_numpy(bias))
    return layer


def _conv(kernel, bias, padding: int) -> torch.nn.Conv2d:
    """torch ``Conv2d`` holding a Keras ``Conv2D``'s weights (kernel ``(kh, kw, in, out)`` -> ``(out, in, kh, kw)``);
    ``padding="same"`` with an odd kernel and stride 1 is ``padding=(k - 1) // 2``."""
    k = torch.from_numpy(np.ascontiguousarray(np.transpose(kernel, (3, 2, 0, 1))))
    layer = torch.nn.Conv2d(k.shape[1], k.shape[0], tuple(k.shape[2:]), padding=padding, dtype=k.dtype)
    with torch.no_grad():
        layer.weight.copy_(k)
        layer.bias.copy_(torch.from_numpy(bias))
    return layer


class _SegNet(torch.nn.Module):
    """The port of ``Conv2D(8, 3, padding="same", activation="relu") -> Conv2D(C, 1)``: NHWC images in (as the
    Keras script feeds them), logits out channels-last ``(N, H, W, C)`` or, the torch layout, ``(N, C, H, W)``."""

    def __init__(self, w, channels_last_out: bool = True):
        super().__init__()
        self.c1, self.c2 = _conv(w[0], w[1], 1), _conv(w[2], w[3], 0)
        self.channels_last_out = channels_last_out

    def forward(self, x):
        z = self.c2(torch.relu(self.c1(x.permute(0, 3, 1, 2))))
        return z.permute(0, 2, 3, 1) if self.channels_last_out else z


def _keras_segnet(h, w, classes, activation=None):
    inputs = keras.Input((h, w, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    outputs = layers.Conv2D(classes, 1, activation=activation)(x)
    return keras.Model(inputs, outputs)


def _seg_data(n=24, h=8, w=8, classes=4, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, h, w, 3)) * scale
    y = np.argmax(x[..., :classes - 1] @ rng.normal(size=(classes - 1, classes)) / scale
                  + rng.normal(size=(n, h, w, classes)), -1)
    return x, y, rng


def _histogram(pred, classes: int) -> list:
    return np.bincount(np.asarray(pred).reshape(-1), minlength=classes).tolist()


# --------------------------------------------------------------------------------------------------------------
# 1. semantic segmentation
# --------------------------------------------------------------------------------------------------------------

_SEG_LOSS_CASES = {
    # labels (N, H, W) with void pixels 255, per-pixel weights, the default reduction
    "logits_void255_pixel_weights": (dict(from_logits=True, ignore_class=255), "hw", True, 1.0),
    # labels (N, H, W, 1), background class 0 ignored
    "logits_background0_labels_hw1": (dict(from_logits=True, ignore_class=0), "hw1", False, 1.0),
    # softmax probabilities of saturated logits (the clip decides), weights, mean_with_sample_weight
    "probs_void255_mean_with_sample_weight": (dict(ignore_class=255, reduction="mean_with_sample_weight"), "hw",
                                              True, 30.0),
    # per-pixel losses, not reduced
    "logits_void255_none": (dict(from_logits=True, ignore_class=255, reduction="none"), "hw", True, 1.0),
}


def _seg_loss_case(name: str, channels_first: bool = False):
    config, labels, weighted, scale = _SEG_LOSS_CASES[name]
    rng = np.random.default_rng(7)
    n, h, w, c = 4, 6, 5, 5
    logits = rng.normal(size=(n, h, w, c)) * scale
    y = rng.integers(0, c, size=(n, h, w))
    y[rng.random(y.shape) < 0.2] = config["ignore_class"]
    if config["ignore_class"] == 0:
        y[0, 0, 0] = 1  # some pixel is valid in every case
    pred = logits if config.get("from_logits") else np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    sw = rng.uniform(0.1, 3.0, size=(n, h, w)) if weighted else None
    y_in = y[..., None] if labels == "hw1" else y
    if channels_first:
        pred = np.ascontiguousarray(np.moveaxis(pred, -1, 1))
        y_in = np.ascontiguousarray(np.moveaxis(y_in, -1, 1)) if labels == "hw1" else y_in
        config = dict(config, axis=1)
    return config, y_in, y, pred, sw


@pytest.mark.parametrize("dt", ["float64", "float32"])
@pytest.mark.parametrize("case", list(_SEG_LOSS_CASES))
def test_segmentation_loss_and_gradients_match_keras(case, dt):
    """``SparseCategoricalCrossentropy(ignore_class=...)`` on ``(N, H, W, C)`` outputs: values and input gradients
    against Keras on TensorFlow; the ignored pixels get no gradient on either side."""
    config, y_in, y, pred, sw = _seg_loss_case(case)
    seed = 3 if config.get("reduction") == "none" else None
    ref = keras_eval("sparse_categorical_crossentropy", config, y_in, pred, sw, dtype=dt, cotangent_seed=seed)
    ours = torch_eval("sparse_categorical_crossentropy", config, y_in, pred, sw, dtype=dt, cotangent_seed=seed)
    rec = compare(ours, ref, dt)
    void = y == config["ignore_class"]
    ours_void, ref_void = np.abs(ours["grad"][void]).max(), np.abs(ref["grad"][void]).max()
    print(f"{case} {dt}: value {np.ravel(ref['value'])[:3]} rel {rec['value_rel']:.1e}, "
          f"grad rel {rec['grad_rel']:.1e}; "
          f"{int(void.sum())} ignored pixels, largest gradient there: Keras {ref_void}, torch_impl {ours_void}")
    assert rec["passed"], rec["reason"]
    assert ours_void == 0.0 and ref_void == 0.0


def _channels_first(name: str, dt: str):
    """A channels-first case: torch_impl's result, the channels-last TensorFlow result with its gradient moved
    to the class axis 1, and the worker payload for Keras's torch backend."""
    config, y_in, _, pred, sw = _seg_loss_case(name, channels_first=True)
    seed = 3 if config.get("reduction") == "none" else None
    ours = torch_eval("sparse_categorical_crossentropy", config, y_in, pred, sw, dtype=dt, cotangent_seed=seed)
    c_last, y_last, _, p_last, sw_last = _seg_loss_case(name)
    ref = keras_eval("sparse_categorical_crossentropy", c_last, y_last, p_last, sw_last, dtype=dt, cotangent_seed=seed)
    ref = dict(ref, grad=np.moveaxis(ref["grad"], -1, 1))
    payload = dict(id=f"{name}-{dt}", loss="sparse_categorical_crossentropy", config=config, y_true=y_in, y_pred=pred,
                   sample_weight=sw, dtype=dt, input_dtype=dt, functional=False, cotangent_seed=seed)
    return ours, ref, payload


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_segmentation_channels_first_loss_like_keras(dt):
    """The torch layout, ``(N, C, H, W)`` logits with ``axis=1`` (labels ``(N, H, W)`` or ``(N, 1, H, W)``):
    Keras on TensorFlow raises ("Only axis=-1"); torch_impl gives the channels-last TensorFlow values and
    gradients, permuted. (From probabilities Keras's backends differ; see the test against the torch backend.)"""
    with pytest.raises(ValueError, match="axis=-1"):
        config, y_in, _, pred, sw = _seg_loss_case("logits_void255_pixel_weights", channels_first=True)
        keras.losses.SparseCategoricalCrossentropy(**config)(y_in, pred, sample_weight=sw)
    for name in [n for n in _SEG_LOSS_CASES if n.startswith("logits")]:
        ours, ref, _ = _channels_first(name, dt)
        rec = compare(ours, ref, dt)
        print(f"{name} {dt}, (N, C, H, W) axis=1 against channels-last TensorFlow: value rel {rec['value_rel']:.1e}, "
              f"grad rel {rec['grad_rel']:.1e}")
        assert rec["passed"], (name, rec["reason"])


@pytest.mark.slow
def test_segmentation_channels_first_matches_keras_torch_backend(tmp_path):
    """``(N, C, H, W)`` with ``axis=1`` against Keras's torch backend, the reference where TensorFlow raises
    (DESIGN), every case and dtype. From probabilities Keras's two backends differ (2.3e-8 in float64 on these
    saturated probabilities: TensorFlow clips, logs and renormalises in its softmax crossentropy; the torch backend
    divides by the sum, clips and logs); torch_impl follows the torch backend there."""
    cases = {}
    for name in _SEG_LOSS_CASES:
        for dt in ("float64", "float32"):
            ours, ref_tf, payload = _channels_first(name, dt)
            cases[payload["id"]] = (ours, ref_tf, payload)
    src, dst = tmp_path / "in.pkl", tmp_path / "out.pkl"
    src.write_bytes(pickle.dumps([c[2] for c in cases.values()]))
    worker = Path(__file__).with_name("keras_torch_backend_worker.py")
    env = dict(os.environ, KERAS_BACKEND="torch", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, str(worker), str(src), str(dst)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    torch_backend = pickle.loads(dst.read_bytes())
    for cid, (ours, ref_tf, _) in cases.items():
        dt = cid.rsplit("-", 1)[1]
        rec = compare(ours, torch_backend[cid], dt)
        print(f"{cid}: against Keras's torch backend value rel {rec['value_rel']:.1e} grad rel {rec['grad_rel']:.1e}; "
              f"channels-last TensorFlow value rel {_rel(ours['value'], ref_tf['value']):.1e}")
        assert rec["passed"], (cid, rec["reason"])


@pytest.mark.parametrize("dt,labels", [("float64", "hw"), pytest.param("float64", "hw1", marks=pytest.mark.slow),
                                       pytest.param("float32", "hw", marks=pytest.mark.slow)])
def test_segmentation_fit_like_keras(dt, labels):
    """The segmentation script: ``Conv2D`` logits, ``SparseCategoricalCrossentropy(from_logits=True,
    ignore_class=255)`` with per-pixel ``sample_weight`` (labels ``(N, H, W)``), or ``ignore_class=0`` on
    ``(N, H, W, 1)`` labels; ``validation_split``, per-pixel accuracies (void pixels count, as in Keras); then
    ``evaluate``. Two ports: the model returning Keras's ``(N, H, W, C)``, and the torch layout ``(N, C, H, W)``
    with ``axis=1`` in the loss. ``fit`` takes the accuracies' class axis from the loss (before, the torch layout
    raised a broadcasting ``RuntimeError`` with ``"accuracy"``; with H == C it would have compared the wrong axis
    silently)."""
    x, y, rng = _seg_data()
    if labels == "hw":
        y[rng.random(y.shape) < 0.15] = 255
        ignore, sw, y_in = 255, rng.uniform(0.2, 2.0, size=y.shape), y
    else:
        ignore, sw, y_in = 0, None, y[..., None]
    metrics = ["accuracy", "sparse_categorical_accuracy"]
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(0)
        model = _keras_segnet(8, 8, 4)
        w0 = model.get_weights()
        model.compile(optimizer=keras.optimizers.Adam(0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=ignore),
                      metrics=metrics)
        kh = model.fit(x, y_in, sample_weight=sw, batch_size=8, epochs=3, validation_split=0.25, shuffle=False,
                       verbose=0).history
        k_ev = model.evaluate(x, y_in, sample_weight=sw, batch_size=8, verbose=0, return_dict=True)
        k_pred = np.asarray(model(x)).argmax(-1)
        for layout in ("NHWC", "NCHW"):
            net = _SegNet(w0, channels_last_out=layout == "NHWC")
            if layout == "NCHW" and labels == "hw1":
                y_in = np.moveaxis(y_in, -1, 1)  # (N, 1, H, W): the class axis squeezed, as Keras's torch backend
            loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=ignore,
                                                        axis=-1 if layout == "NHWC" else 1)
            th = tfit.fit(net, x, y_in, loss=loss, optimizer=optim.Adam(net.parameters(), learning_rate=0.01),
                          sample_weight=sw, batch_size=8, epochs=3, validation_split=0.25, shuffle=False, verbose=0,
                          metrics=metrics).history
            ev = tfit.evaluate(net, x, y_in, loss=loss, sample_weight=sw, batch_size=8, metrics=metrics)
            print(f"segmentation, labels {labels}, {dt}, {layout} port:")
            _check_history(th, kh, dt)
            print(f"  evaluate: Keras {k_ev}, torch_impl {ev}")
            for k in k_ev:
                assert _rel(ev[k], k_ev[k]) <= (F64 if dt == "float64" else F32), k
            with torch.no_grad():
                t_pred = net(torch.as_tensor(x, dtype=tdt)).argmax(-1 if layout == "NHWC" else 1).numpy()
            print(f"  predicted pixels per class: Keras {_histogram(k_pred, 4)}, torch_impl {_histogram(t_pred, 4)}")
            assert _histogram(k_pred, 4) == _histogram(t_pred, 4)


def test_segmentation_softmax_output_with_ignore_class_like_keras():
    """A segmentation head ending in ``Conv2D(C, 1, activation="softmax")`` with
    ``SparseCategoricalCrossentropy(ignore_class=0)``: Keras's loss first masks ``y_pred`` with
    ``ops.where(valid, y_pred, 0)``, a new tensor without the softmax's logits, so Keras trains on the clipped
    probabilities here (without ``ignore_class`` it uses the logits). ``torch_impl.fit`` trained on the logits
    (epoch 1: 8.670 against Keras's 7.454); now it follows Keras. Saturating inputs, where the two paths differ."""
    x, y, _ = _seg_data(scale=30.0)
    y_in = y[..., None]
    with _precision("float64"):
        keras.utils.set_random_seed(0)
        model = _keras_segnet(8, 8, 4, activation="softmax")
        w0 = model.get_weights()
        net = _SegNet(w0)
        with torch.no_grad():
            z = net(torch.as_tensor(x))
        for ignore in (0, None):  # one batch: Keras's compiled loss against torch_impl.fit's
            k_value = float(keras.losses.SparseCategoricalCrossentropy(ignore_class=ignore)(y_in, model(x)))
            t_value = float(tfit.compiled_loss(losses.SparseCategoricalCrossentropy(ignore_class=ignore), "softmax")(
                torch.as_tensor(y_in), z))
            on_logits = float(losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=ignore)(y_in, z))
            print(f"softmax output, ignore_class={ignore}, initial loss: Keras {k_value:.6f}, torch_impl {t_value:.6f} "
                  f"(on the logits: {on_logits:.6f})")
            assert _rel(t_value, k_value) <= 1e-12
            assert (_rel(on_logits, k_value) > 1e-2) == (ignore is not None)
        model.compile(optimizer=keras.optimizers.Adam(0.05),
                      loss=keras.losses.SparseCategoricalCrossentropy(ignore_class=0), metrics=["accuracy"])
        kh = model.fit(x, y_in, batch_size=8, epochs=3, shuffle=False, verbose=0).history
        th = tfit.fit(net, x, y_in, loss=losses.SparseCategoricalCrossentropy(ignore_class=0),
                      optimizer=optim.Adam(net.parameters(), learning_rate=0.05), batch_size=8, epochs=3,
                      shuffle=False, verbose=0, output_activation="softmax", metrics=["accuracy"]).history
    print("softmax output, ignore_class=0, fit:")
    _check_history(th, kh, "float64")


# --------------------------------------------------------------------------------------------------------------
# 2. multi-label classification
# --------------------------------------------------------------------------------------------------------------


def _multilabel_data(n=200, d=10, labels=5, seed=2):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * 4  # large inputs: sigmoids saturate within a few epochs
    y = ((x[:, :labels] / 4 + 0.5 * rng.normal(size=(n, labels))) > np.array([0, 0.5, 1.0, 1.5, -0.5]))
    return x, y.astype("float32")


_MULTILABEL = {
    "bce_label_smoothing": (lambda: keras.losses.BinaryCrossentropy(label_smoothing=0.1),
                            lambda: losses.BinaryCrossentropy(label_smoothing=0.1)),
    "binary_focal_balanced": (
        lambda: keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.75, gamma=2.0,
                                                     label_smoothing=0.05),
        lambda: losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.75, gamma=2.0,
                                               label_smoothing=0.05)),
}


@pytest.mark.parametrize("name,dt", [("binary_focal_balanced", "float64"),
                                     pytest.param("binary_focal_balanced", "float32", marks=pytest.mark.slow),
                                     pytest.param("bce_label_smoothing", "float64", marks=pytest.mark.slow),
                                     pytest.param("bce_label_smoothing", "float32", marks=pytest.mark.slow)])
def test_multilabel_fit_like_keras(name, dt):
    """Multi-label tagging: ``Dense(L, activation="sigmoid")`` on multi-hot labels, BCE with label smoothing or
    ``BinaryFocalCrossentropy(apply_class_balancing=True)``, ``metrics=["binary_accuracy", "accuracy"]``. Keras
    resolves ``"accuracy"`` to *categorical* accuracy for ``(N, L)`` labels (argmax of the multi-hot row), a
    classic surprise; torch_impl.fit resolves it the same way."""
    x, y = _multilabel_data()
    keras_loss, torch_loss = _MULTILABEL[name]
    with _precision(dt):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((10,)), layers.Dense(16, activation="relu"),
                                  layers.Dense(5, activation="sigmoid")])
        w = model.get_weights()
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss=keras_loss(),
                      metrics=["binary_accuracy", "accuracy"])
        kh = model.fit(x, y, batch_size=32, epochs=5, validation_split=0.2, shuffle=False, verbose=0).history
        net = torch.nn.Sequential(_dense(w[0], w[1]), torch.nn.ReLU(), _dense(w[2], w[3]))
        th = tfit.fit(net, x, y, loss=torch_loss(), optimizer=optim.Adam(net.parameters(), learning_rate=0.01),
                      batch_size=32, epochs=5, validation_split=0.2, shuffle=False, verbose=0,
                      metrics=["binary_accuracy", "accuracy"], output_activation="sigmoid").history
        print(f"multi-label, {name}, {dt}:")
        _check_history(th, kh, dt)
        assert kh["accuracy"] != kh["binary_accuracy"]  # "accuracy" is not the per-label accuracy here
        k_on = (np.asarray(model(x)) > 0.5).sum(0)
        with torch.no_grad():
            t_on = (torch.sigmoid(net(torch.as_tensor(x, dtype=getattr(torch, dt)))) > 0.5).sum(0).numpy()
        print(f"  samples predicted positive per label: Keras {k_on.tolist()}, torch_impl {t_on.tolist()}")
        assert k_on.tolist() == t_on.tolist()


# --------------------------------------------------------------------------------------------------------------
# 3. sequence tagging
# --------------------------------------------------------------------------------------------------------------


def _tagging_data(n=64, t=12, vocab=30, tags=5, seed=3):
    rng = np.random.default_rng(seed)
    tokens = rng.integers(1, vocab, size=(n, t))
    for i, length in enumerate(rng.integers(3, t + 1, size=n)):
        tokens[i, length:] = 0  # post-padding, as keras.utils.pad_sequences(padding="post")
    labels = tokens % tags
    return tokens, labels, (tokens != 0).astype("float32")


class _Tagger(torch.nn.Module):
    """The port of ``Embedding(V, E) -> Dense(16, relu) -> Dense(C)`` applied per timestep."""

    def __init__(self, w):
        super().__init__()
        emb = torch.from_numpy(w[0])
        self.embedding = torch.nn.Embedding(*emb.shape, dtype=emb.dtype)
        with torch.no_grad():
            self.embedding.weight.copy_(emb)
        self.head = torch.nn.Sequential(_dense(w[1], w[2]), torch.nn.ReLU(), _dense(w[3], w[4]))

    def forward(self, tokens):
        return self.head(self.embedding(tokens.long()))


def _keras_tagger(t=12, vocab=30, tags=5, mask_zero=False):
    return keras.Sequential([keras.Input((t,), dtype="int32"), layers.Embedding(vocab, 8, mask_zero=mask_zero),
                             layers.Dense(16, activation="relu"), layers.Dense(tags)])


@pytest.mark.parametrize("dt,reduction", [("float64", "sum_over_batch_size"),
                                          pytest.param("float64", "mean_with_sample_weight", marks=pytest.mark.slow),
                                          pytest.param("float32", "sum_over_batch_size", marks=pytest.mark.slow)])
def test_sequence_tagging_padding_mask_like_keras(dt, reduction):
    """A POS/NER-style tagger: ``(N, T, C)`` logits, ``(N, T)`` integer tags, the padding mask as a ``(N, T)``
    ``sample_weight`` (Keras 3 has no ``sample_weight_mode="temporal"``: the weight reaches the loss as is and
    multiplies each timestep). ``sum_over_batch_size`` divides by N*T (padding counted), ``mean_with_sample_weight``
    by the number of real tokens. Momentum SGD: with Adam, Keras's embedding step differs (see
    ``test_embedding_with_adam_differs_in_keras``)."""
    tokens, tags, mask = _tagging_data()
    with _precision(dt):
        keras.utils.set_random_seed(0)
        model = _keras_tagger()
        w = model.get_weights()
        model.compile(optimizer=keras.optimizers.SGD(0.5, momentum=0.9),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction),
                      metrics=["accuracy"])
        kh = model.fit(tokens, tags, sample_weight=mask, batch_size=16, epochs=3, validation_split=0.25,
                       shuffle=False, verbose=0).history
        net = _Tagger(w)
        th = tfit.fit(net, tokens, tags, sample_weight=mask,
                      loss=losses.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction),
                      optimizer=optim.SGD(net.parameters(), learning_rate=0.5, momentum=0.9), batch_size=16,
                      epochs=3, validation_split=0.25, shuffle=False, verbose=0, metrics=["accuracy"]).history
        print(f"tagging, {reduction}, {dt}:")
        _check_history(th, kh, dt)
        if dt == "float32":
            k_pred = np.asarray(model(tokens)).argmax(-1)
            with torch.no_grad():
                t_pred = net(torch.as_tensor(tokens)).argmax(-1).numpy()
            print(f"  predicted tags: Keras {_histogram(k_pred, 5)}, torch_impl {_histogram(t_pred, 5)}")
            assert _histogram(k_pred, 5) == _histogram(t_pred, 5)


def _keras_mask_zero_tagger_run(tokens, tags):
    """The tagger with ``Embedding(mask_zero=True)`` trained by Keras (masked loss and ``"accuracy"``): its
    initial weights and history."""
    keras.utils.set_random_seed(0)
    model = _keras_tagger(mask_zero=True)
    w = model.get_weights()
    model.compile(optimizer=keras.optimizers.SGD(0.5, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return w, model.fit(tokens, tags, batch_size=16, epochs=3, validation_split=0.25, shuffle=False,
                        verbose=0).history


def test_sequence_tagging_mask_zero_port():
    """``Embedding(mask_zero=True)`` carries the padding mask to the loss and the metrics. Keras's loss then
    weighs the valid timesteps ``total/valid``: the loss is ``mean_with_sample_weight`` with the mask as weight,
    which is the torch port (loss and val_loss match). Keras's ``"accuracy"`` is masked too; ``torch_impl.fit``'s
    ``metrics`` are unweighted, so this port computes the masked ``val_accuracy`` in ``on_epoch_end`` and its
    ``accuracy`` counts the padding; ``weighted_metrics=["accuracy"]`` with the mask as ``sample_weight`` gives
    Keras's masked figures, both of them (``test_weighted_metrics_keras.py``)."""
    tokens, tags, mask = _tagging_data()
    with _precision("float64"):
        w, kh = _keras_mask_zero_tagger_run(tokens, tags)
        net = _Tagger(w)
        vx, vy, vm = (torch.as_tensor(a[48:]) for a in (tokens, tags, mask))
        masked_val = []

        def on_epoch_end(epoch, logs):
            with torch.no_grad():
                match = (net(vx).argmax(-1) == vy).double()
            masked_val.append(float((match * vm).sum() / vm.sum()))

        th = tfit.fit(net, tokens, tags, sample_weight=mask,
                      loss=losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight"),
                      optimizer=optim.SGD(net.parameters(), learning_rate=0.5, momentum=0.9), batch_size=16,
                      epochs=3, validation_split=0.25, shuffle=False, verbose=0, on_epoch_end=on_epoch_end,
                      metrics=["accuracy"]).history
    print("tagging with mask_zero=True against sample_weight=mask + mean_with_sample_weight:")
    _check_history(th, kh, "float64", keys=("loss", "val_loss"))
    print(f"  val_accuracy: Keras (masked) {np.round(kh['val_accuracy'], 6).tolist()}, torch_impl masked in "
          f"on_epoch_end {np.round(masked_val, 6).tolist()} "
          f"(fit's unmasked {np.round(th['val_accuracy'], 6).tolist()}); "
          f"accuracy: Keras (masked) {np.round(kh['accuracy'], 6).tolist()}, fit's unmasked "
          f"{np.round(th['accuracy'], 6).tolist()}")
    assert _rel(masked_val, kh["val_accuracy"]) <= F64
    assert _rel(th["accuracy"], kh["accuracy"]) > 0.1  # fit's accuracy counts the padding: a known gap


def test_embedding_with_adam_differs_in_keras():
    """Found while porting the tagger: with Adam, Keras on TensorFlow (3.15.1) does not take the step of the
    embedding's dense gradient. The gradient arrives as ``tf.IndexedSlices`` with one slice per token occurrence;
    Adam's ``ops.square(gradient)`` squares the slices *before* they are summed, so the second moment of a row
    is ``sum(g_i^2)`` over its occurrences, not ``(sum g_i)^2``. The per-occurrence formula reproduces Keras
    exactly; ``nn.Embedding(..., sparse=True)`` hands torch_impl.optim those occurrences and takes Keras's step
    (``parity_tests/test_optim_sparse_keras.py`` has every optimizer and option); the dense gradient
    (``sparse=False``, torch's default) takes another. Momentum SGD (linear in the gradient) agrees either way."""
    tokens, tags, mask = _tagging_data()
    tokens, tags, mask = tokens[:16], tags[:16], mask[:16]
    with _precision("float64"):
        keras.utils.set_random_seed(0)
        model = _keras_tagger()
        w = model.get_weights()
        model.compile(optimizer=keras.optimizers.Adam(0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.train_on_batch(tokens, tags, sample_weight=mask)
        k_emb = model.get_weights()[0]
        loss = losses.SparseCategoricalCrossentropy(from_logits=True)
        gaps = {}
        for sparse in (False, True):
            net = _Tagger(w)
            net.embedding.sparse = sparse
            emb_out = net.embedding(torch.as_tensor(tokens).long())
            emb_out.retain_grad()
            loss(torch.as_tensor(tags), net.head(emb_out), mask).backward()
            grad = net.embedding.weight.grad.to_dense()
            per_occurrence = emb_out.grad.reshape(-1, 8)
            optim.Adam(net.parameters(), learning_rate=0.01).step()
            gaps[sparse] = float(np.abs(net.embedding.weight.detach().numpy() - k_emb).max())
        sq = torch.zeros_like(grad).index_add_(0, torch.as_tensor(tokens).reshape(-1).long(), per_occurrence ** 2)
        b1, b2 = float(np.float32(0.9)), float(np.float32(0.999))  # ops.cast of a Python float: float32 rounding
        alpha = 0.01 * np.sqrt(1 - b2) / (1 - b1)
        m, v = grad * (1 - 0.9), sq * (1 - 0.999)
        explained = torch.from_numpy(w[0]) - (m * alpha) / (torch.sqrt(v) + 1e-7)
        explained_err = float(np.abs(explained.numpy() - k_emb).max())
        others = max(float(np.abs(a - b).max()) for a, b in zip(model.get_weights()[1:], [
            p.detach().numpy().T if p.dim() == 2 else p.detach().numpy() for p in net.head.parameters()]))
    print(f"embedding after one Adam step: Keras vs the dense-gradient step {gaps[False]:.2e}; vs "
          f"nn.Embedding(sparse=True) {gaps[True]:.1e}; vs the per-occurrence squares {explained_err:.1e}; "
          f"the Dense layers agree to {others:.1e}")
    assert gaps[False] > 1e-3 and gaps[True] < 1e-15 and explained_err < 1e-15 and others < 1e-15


@pytest.mark.parametrize("labels", ["NT", pytest.param("NT1", marks=pytest.mark.slow)])
def test_per_timestep_sigmoid_like_keras(labels):
    """Binary tagging per timestep: ``Dense(1, activation="sigmoid")`` on ``(N, T, D)`` gives ``(N, T, 1)``; with
    ``(N, T)`` labels Keras's loss wrapper squeezes ``y_pred`` to ``(N, T)``, a new tensor without the sigmoid's
    logits, so Keras trains on clipped probabilities; with ``(N, T, 1)`` labels it keeps the logits.
    torch_impl.fit took the logits in both cases (epoch-1 loss 2.470 against Keras's 2.103 for ``(N, T)``);
    now it follows Keras. Saturating inputs, where the two paths differ."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 6, 5)) * 30
    y = (x[..., 0] + rng.normal(size=(32, 6)) > 0).astype("float64")
    y_in = y if labels == "NT" else y[..., None]
    with _precision("float64"):
        keras.utils.set_random_seed(0)
        inputs = keras.Input((6, 5))
        outputs = layers.Dense(1, activation="sigmoid")(layers.Dense(8, activation="relu")(inputs))
        model = keras.Model(inputs, outputs)
        w = model.get_weights()
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
        kh = model.fit(x, y_in, batch_size=8, epochs=3, shuffle=False, verbose=0).history
        runs = {}
        for act in ("sigmoid", "logits"):
            net = torch.nn.Sequential(_dense(w[0], w[1]), torch.nn.ReLU(), _dense(w[2], w[3]))
            loss = "binary_crossentropy" if act == "sigmoid" else losses.BinaryCrossentropy(from_logits=True)
            runs[act] = tfit.fit(net, x, y_in, loss=loss, optimizer=optim.Adam(net.parameters(), learning_rate=0.05),
                                 batch_size=8, epochs=3, shuffle=False, verbose=0,
                                 output_activation="sigmoid" if act == "sigmoid" else "linear",
                                 metrics=["accuracy"]).history
    print(f"per-timestep sigmoid, labels {labels}:")
    _check_history(runs["sigmoid"], kh, "float64")
    gap = _rel(runs["logits"]["loss"], kh["loss"])
    print(f"  on the logits: {np.round(runs['logits']['loss'], 4).tolist()}, max rel {gap:.1e}")
    assert gap > 1e-2 if labels == "NT" else gap <= F64


@pytest.mark.parametrize("y_shape,z_shape,keeps_logits", [
    ((4, 3), (4, 3, 1), False),  # LossFunctionWrapper squeezes y_pred
    ((4, 1), (4,), False),  # ... expands a rank-1 y_pred
    ((4,), (4, 1), True),  # ... expands y_true: y_pred untouched
    ((4, 3, 1), (4, 3, 1), True),
])
def test_compiled_loss_follows_keras_logits_rule(y_shape, z_shape, keeps_logits):
    """The rule behind the per-timestep fix, one call each: Keras's BCE on a sigmoid's output against
    ``fit.compiled_loss`` (float64, saturated logits, where the logits and the clipped probabilities differ)."""
    rng = np.random.default_rng(8)
    z = rng.normal(size=z_shape) * 40
    y = (rng.random(y_shape) < 0.5).astype("float64")
    with _precision("float64"):
        k_value = float(keras.losses.BinaryCrossentropy()(y, keras.activations.sigmoid(tf.constant(z))))
        t_value = float(tfit.compiled_loss(losses.BinaryCrossentropy(), "sigmoid")(torch.as_tensor(y),
                                                                                    torch.as_tensor(z)))
        on_logits = float(losses.BinaryCrossentropy(from_logits=True)(torch.as_tensor(y), torch.as_tensor(z)))
    print(f"labels {y_shape}, sigmoid output {z_shape}: Keras {k_value:.9f}, torch_impl {t_value:.9f}, "
          f"on the logits {on_logits:.9f}")
    assert _rel(t_value, k_value) <= 1e-12
    assert (_rel(on_logits, k_value) <= 1e-12) == keeps_logits


# --------------------------------------------------------------------------------------------------------------
# 4. imbalanced classification (keras.io: "Imbalanced classification: credit card fraud detection")
# --------------------------------------------------------------------------------------------------------------


def _fraud_data(n=2500, d=30, seed=4):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    logit = x[:, :4] @ np.array([1.5, -1.0, 1.0, 0.5]) - 4.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("uint8")[:, None]  # the tutorial's (N, 1) uint8 targets
    split = n - n // 5
    mean, std = x[:split].mean(0), x[:split].std(0)  # the tutorial normalises with the training statistics
    x = (x - mean) / std
    return x[:split], y[:split], x[split:], y[split:]


_CONFUSION = ("fn", "fp", "tn", "tp", "precision", "recall")


@pytest.mark.parametrize("dt,variant", [("float64", "class_weight"),
                                        pytest.param("float64", "focal", marks=pytest.mark.slow),
                                        pytest.param("float32", "class_weight", marks=pytest.mark.slow)])
def test_imbalanced_fraud_tutorial(dt, variant):
    """keras.io's fraud tutorial: Dense(256) relu, Dense(256) relu, Dropout(0.3), Dense(256) relu, Dropout(0.3)
    (seeded: :class:`torch_impl.nn.Dropout` draws Keras's masks for the same seed) and a sigmoid unit, ``class_weight={0: 1/count_0, 1: 1/count_1}``, Adam(1e-2), batch 2048,
    confusion-matrix metrics and ``validation_data``. The port passes :mod:`torch_impl.metrics`' confusion-matrix
    metrics to ``fit`` and matches every Keras key every epoch. Variant: no class weight,
    ``BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.9)``."""
    x, y, vx, vy = _fraud_data()
    counts = np.bincount(y[:, 0])
    class_weight = {0: 1.0 / counts[0], 1: 1.0 / counts[1]} if variant == "class_weight" else None
    print(f"fraud data: {counts.tolist()} train, {np.bincount(vy[:, 0]).tolist()} validation")
    epochs = 5
    with _precision(dt):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input(shape=x.shape[1:]), layers.Dense(256, activation="relu"),
                                  layers.Dense(256, activation="relu"), layers.Dropout(0.3, seed=11),
                                  layers.Dense(256, activation="relu"), layers.Dropout(0.3, seed=12),
                                  layers.Dense(1, activation="sigmoid")])
        w = model.get_weights()
        metrics = [keras.metrics.FalseNegatives(name="fn"), keras.metrics.FalsePositives(name="fp"),
                   keras.metrics.TrueNegatives(name="tn"), keras.metrics.TruePositives(name="tp"),
                   keras.metrics.Precision(name="precision"), keras.metrics.Recall(name="recall")]
        k_loss = "binary_crossentropy" if variant == "class_weight" else \
            keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.9)
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=k_loss, metrics=metrics)
        kh = model.fit(x, y, batch_size=2048, epochs=epochs, validation_data=(vx, vy), class_weight=class_weight,
                       shuffle=False, verbose=0).history
        net = torch.nn.Sequential(_dense(w[0], w[1]), torch.nn.ReLU(), _dense(w[2], w[3]), torch.nn.ReLU(),
                                  Dropout(0.3, seed=11), _dense(w[4], w[5]), torch.nn.ReLU(), Dropout(0.3, seed=12),
                                  _dense(w[6], w[7]))
        t_metrics = [tmetrics.FalseNegatives(name="fn"), tmetrics.FalsePositives(name="fp"),
                     tmetrics.TrueNegatives(name="tn"), tmetrics.TruePositives(name="tp"),
                     tmetrics.Precision(name="precision"), tmetrics.Recall(name="recall")]
        t_loss = losses.BinaryCrossentropy() if variant == "class_weight" else \
            losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.9)
        th = tfit.fit(net, x, y, loss=t_loss, optimizer=optim.Adam(net.parameters(), learning_rate=1e-2),
                      batch_size=2048, epochs=epochs, validation_data=(vx, vy), class_weight=class_weight,
                      shuffle=False, verbose=0, metrics=t_metrics, output_activation="sigmoid").history
    print(f"fraud tutorial, {variant}, {dt}:")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt, keys=("loss", "val_loss"))
    for k in _CONFUSION:
        for key in (k, f"val_{k}"):
            print(f"  {key}: Keras {np.round(kh[key], 4).tolist()} torch_impl {np.round(th[key], 4).tolist()}")
            assert np.allclose(th[key], kh[key], rtol=1e-12 if dt == "float64" else 1e-6, atol=0), key
    assert max(kh["val_tp"]) > 0  # the weighting makes the minority class predicted (in some epoch)


# --------------------------------------------------------------------------------------------------------------
# 5. label-smoothed CNN, model.evaluate
# --------------------------------------------------------------------------------------------------------------


class _SmallCNN(torch.nn.Module):
    """The port of ``Conv2D(8, 3, relu) -> MaxPooling2D(2) -> Flatten -> Dense(10, softmax)`` (logits out).
    Keras flattens channels-last: the port goes back to NHWC before ``flatten``, or the Dense weights would meet
    the features in another order."""

    def __init__(self, w):
        super().__init__()
        self.conv, self.dense = _conv(w[0], w[1], 0), _dense(w[2], w[3])

    def forward(self, x):
        h = torch.nn.functional.max_pool2d(torch.relu(self.conv(x.permute(0, 3, 1, 2))), 2)
        return self.dense(h.permute(0, 2, 3, 1).flatten(1))


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_label_smoothed_cnn_evaluate_like_keras(dt):
    """The MNIST-convnet pattern on 12x12 images: ``keras.utils.to_categorical`` labels,
    ``CategoricalCrossentropy(label_smoothing=0.1)`` on a softmax output, ``optimizer="adam"``,
    ``validation_split=0.1``; then ``model.evaluate(x_test, y_test)`` (with and without ``sample_weight``) against
    ``torch_impl.evaluate``."""
    rng = np.random.default_rng(5)
    protos = rng.normal(size=(10, 12, 12, 1))
    labels = rng.integers(0, 10, size=300)
    images = (protos[labels] + 0.8 * rng.normal(size=(300, 12, 12, 1))).astype("float32")
    x_train, x_test = images[:240], images[240:]
    y_train = keras.utils.to_categorical(labels[:240], 10)
    y_test = keras.utils.to_categorical(labels[240:], 10)
    sw_test = rng.uniform(0.5, 2.0, size=60)
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input(shape=(12, 12, 1)),
                                  layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
                                  layers.MaxPooling2D(pool_size=(2, 2)), layers.Flatten(),
                                  layers.Dense(10, activation="softmax")])
        w = model.get_weights()
        model.compile(loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1), optimizer="adam",
        metrics=["accuracy"])
        kh = model.fit(x_train, y_train, batch_size=32, epochs=3, validation_split=0.1, shuffle=False,
                       verbose=0).history
        k_score = model.evaluate(x_test, y_test, verbose=0)
        k_weighted = model.evaluate(x_test, y_test, sample_weight=sw_test, verbose=0)
        net = _SmallCNN(w)
        loss = losses.CategoricalCrossentropy(label_smoothing=0.1)
        th = tfit.fit(net, x_train, y_train, loss=loss, optimizer=optim.Adam(net.parameters()), batch_size=32,
                      epochs=3, validation_split=0.1, shuffle=False, verbose=0, output_activation="softmax",
                      metrics=["accuracy"]).history
        t_score = tfit.evaluate(net, x_test, y_test, loss=loss, output_activation="softmax", metrics=["accuracy"])
        t_weighted = tfit.evaluate(net, x_test, y_test, loss=loss, sample_weight=sw_test, output_activation="softmax",
                                   metrics=["accuracy"])
        with torch.no_grad():
            t_pred = net(torch.as_tensor(x_test, dtype=tdt)).argmax(-1).numpy()
        k_pred = np.asarray(model(x_test)).argmax(-1)
    print(f"label-smoothed CNN, {dt}:")
    _check_history(th, kh, dt)
    tol = F64 if dt == "float64" else F32
    for name, k, t in (("evaluate", k_score, t_score), ("evaluate(sample_weight)", k_weighted, t_weighted)):
        print(f"  {name}: Keras [loss, accuracy] {k}, torch_impl {t}")
        assert _rel(t["loss"], k[0]) <= tol and _rel(t["accuracy"], k[1]) <= tol, name
    print(f"  test predictions per class: Keras {_histogram(k_pred, 10)}, torch_impl {_histogram(t_pred, 10)}")
    assert _histogram(k_pred, 10) == _histogram(t_pred, 10)


# --------------------------------------------------------------------------------------------------------------
# 6. a custom training loop
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_custom_training_loop_like_keras(dt):
    """keras.io's "Writing a training loop from scratch" (TensorFlow): a ``tf.function`` train step with
    ``tf.GradientTape``, ``loss_fn(y, logits)``, ``optimizer.apply_gradients`` and a ``SparseCategoricalAccuracy``
    metric over ``tf.data`` batches; the port: a ``DataLoader`` loop with the torch_impl loss and Adam. Every
    step's loss and the final weights are compared."""
    rng = np.random.default_rng(6)
    x = rng.normal(size=(256, 20)).astype(dt)
    y = np.argmax(x[:, :10] + 0.5 * rng.normal(size=(256, 10)), -1)
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(0)
        inputs = keras.Input(shape=(20,), name="digits")
        h = layers.Dense(32, activation="relu")(inputs)
        h = layers.Dense(32, activation="relu")(h)
        model = keras.Model(inputs, layers.Dense(10, name="predictions")(h))
        w = model.get_weights()
        optimizer = keras.optimizers.Adam(learning_rate=1e-3)
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        acc = keras.metrics.SparseCategoricalAccuracy()

        @tf.function
        def train_step(xb, yb):
            with tf.GradientTape() as tape:
                logits = model(xb, training=True)
                loss_value = loss_fn(yb, logits)
            grads = tape.gradient(loss_value, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            acc.update_state(yb, logits)
            return loss_value

        dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(64)
        k_steps, k_acc = [], []
        for _ in range(3):
            for xb, yb in dataset:
                k_steps.append(float(train_step(xb, yb)))
            k_acc.append(float(acc.result()))
            acc.reset_state()

        net = torch.nn.Sequential(_dense(w[0], w[1]), torch.nn.ReLU(), _dense(w[2], w[3]), torch.nn.ReLU(),
                                  _dense(w[4], w[5]))
        opt = optim.Adam(net.parameters(), learning_rate=1e-3)
        criterion = losses.SparseCategoricalCrossentropy(from_logits=True)
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.as_tensor(x), torch.as_tensor(y)),
                                             batch_size=64)
        t_steps, t_acc = [], []
        for _ in range(3):
            correct = seen = 0
            for xb, yb in loader:
                opt.zero_grad()
                logits = net(xb.to(tdt))
                loss = criterion(yb, logits)
                loss.backward()
                opt.step()
                t_steps.append(loss.item())
                correct, seen = correct + int((logits.argmax(-1) == yb).sum()), seen + len(yb)
            t_acc.append(correct / seen)
        weight_err = max(float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), [
            p.detach().numpy().T if p.dim() == 2 else p.detach().numpy() for p in net.parameters()]))
    tol = F64 if dt == "float64" else F32
    print(f"custom loop, {dt}: per-step loss max rel {_rel(t_steps, k_steps):.1e} over {len(k_steps)} steps "
          f"(first {k_steps[0]:.6f}, last {k_steps[-1]:.6f}); epoch accuracy Keras {k_acc} torch {t_acc}; "
          f"final weights max abs difference {weight_err:.1e}")
    assert _rel(t_steps, k_steps) <= tol
    assert _rel(t_acc, k_acc) <= (1e-12 if dt == "float64" else 1e-6)
    assert weight_err <= (1e-12 if dt == "float64" else 1e-4)
