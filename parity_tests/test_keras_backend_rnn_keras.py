"""``K.rnn`` (Keras 2's loop over time of a custom cell) against Keras 3.15.1's legacy backend on TensorFlow 2.21.

Cells written once for both (``B`` is ``K`` or ``torch_impl.keras_backend``): a SimpleRNN cell, an LSTM-like cell
with two states and a constant, a cell with two outputs; every option of ``K.rnn`` (mask, ``go_backwards``,
``zero_output_for_mask``, ``return_all_outputs``, ``time_major``, ``unroll``, ``input_length``, constants);
``last_output``, ``outputs``, ``new_states`` and the gradients of a loss of all three with respect to the cell's
weights and the inputs, in float64.

Measured (``python -m pytest -q -s parity_tests/test_keras_backend_rnn_keras.py -m "slow or not slow"``): values
within 5.0e-16 and gradients within 9.3e-16 relative (float64) over 28 option sets x 3 cells; float32 within
2.5e-7 / 4.3e-7. Keras's own failures are kept: ``unroll=True`` with a cell of several outputs, and ``unroll=True``
with a mask, ``zero_output_for_mask`` and ``return_all_outputs=False``, raise in both. Keras's unrolled loop with
``go_backwards`` and ``zero_output_for_mask`` zeroes the mirrored steps (the mask in its original order against the
reversed outputs): matched.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from torch_impl import keras_backend as KB

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
from keras.src.legacy import backend as K  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

B_, T_, D_, U_ = 3, 5, 4, 6
RNG = np.random.default_rng(0)
X = RNG.normal(size=(B_, T_, D_))
W = RNG.normal(size=(D_, U_)) * 0.4
U = RNG.normal(size=(U_, U_)) * 0.3
C = RNG.normal(size=(1, U_)) * 0.2
MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 1, 1, 0]], dtype=bool)
LENGTHS = np.array([3, 5, 2], dtype=np.int32)


def _cells(B, w, u, c):
    def simple(x_t, states):
        h = B.tanh(B.dot(x_t, w) + B.dot(states[0], u))
        return h, [h]

    def lstm_like(x_t, states):
        h, s, const = states
        z = B.dot(x_t, w) + B.dot(h, u) + const
        s2 = B.sigmoid(z) * s + B.tanh(z) * 0.5
        h2 = B.tanh(s2) * B.sigmoid(z * 0.7)
        return h2, [h2, s2]

    def two_outputs(x_t, states):
        h = B.tanh(B.dot(x_t, w) + B.dot(states[0], u))
        return (h, B.square(h)), [h]

    return {"simple": (simple, 1, False), "lstm_like": (lstm_like, 2, True), "two_outputs": (two_outputs, 1, False)}


OPTIONS = [dict(go_backwards=g, mask=m, zero_output_for_mask=z, return_all_outputs=r, unroll=un)
           for g, m, z, r, un in itertools.product([False, True], [None, "mask"], [False, True], [True, False],
                                                    [False, True])
           if not (m is None and z)] + [dict(input_length="lengths"), dict(input_length="lengths", go_backwards=True),
                                        dict(time_major=True), dict(time_major=True, mask="mask")]


def _run(B, to_tensor, watch, cell_name, opts, dtype):
    x = to_tensor(X.astype(dtype))
    w, u, c = (to_tensor(a.astype(dtype)) for a in (W, U, C))
    watch([x, w, u, c])
    step, n_states, uses_const = _cells(B, w, u, c)[cell_name]
    kw = dict(opts)
    if kw.get("mask") == "mask":
        kw["mask"] = to_tensor(MASK.T.copy() if kw.get("time_major") else MASK)
    if kw.get("input_length") == "lengths":
        kw["input_length"] = to_tensor(LENGTHS)
    if kw.get("time_major"):
        x_in = B.permute_dimensions(x, (1, 0, 2))
    else:
        x_in = x
    init = [B.zeros((B_, U_), dtype=dtype)] * n_states
    last, outs, states = B.rnn(step, x_in, init, constants=[c] if uses_const else None, **kw)
    flat = [last] if not isinstance(last, tuple) else list(last)
    flat += [outs] if not isinstance(outs, tuple) else list(outs)
    flat += list(states)
    loss = sum(B.sum(B.sin(t * (i + 1))) for i, t in enumerate(flat))
    return flat, loss, [x, w, u, c]


@pytest.mark.parametrize("cell_name", ["simple", "lstm_like", "two_outputs"])
@pytest.mark.parametrize("dtype", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_rnn_matches_keras(cell_name, dtype):
    worst_v = worst_g = 0.0
    for opts in OPTIONS:
        if opts.get("unroll") and (cell_name == "two_outputs" or (opts.get("mask") and opts.get(
                "zero_output_for_mask") and not opts.get("return_all_outputs"))):
            # Keras raises (its unrolled loop stacks tuples of outputs; its unrolled masking broadcasts the kept
            # output back over time): so do we
            for B, to in ((K, tf.constant), (KB, torch.tensor)):
                with pytest.raises(ValueError, match="not compatible|expected to be tensor"):
                    _run(B, to, lambda vs: None, cell_name, opts, dtype)
            continue
        with tf.GradientTape(persistent=True) as tape:
            tk, lk, wk = _run(K, lambda a: tf.Variable(a) if a.dtype.kind == "f" else tf.constant(a),
                              lambda vs: None, cell_name, opts, dtype)
        gk = tape.gradient(lk, wk)
        to = lambda a: torch.tensor(a, requires_grad=a.dtype.kind == "f")  # noqa: E731
        to_, lo, wo = _run(KB, to, lambda vs: None, cell_name, opts, dtype)
        lo.backward()
        assert len(to_) == len(tk), opts
        for a, b in zip(to_, tk):
            a, b = a.detach().numpy(), np.asarray(b)
            assert a.shape == b.shape, (opts, a.shape, b.shape)
            worst_v = max(worst_v, float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)))
        for a, b in zip(wo, gk):
            if b is None:  # a weight the cell does not use (the constant of the simple cells)
                assert a.grad is None or not a.grad.any()
                continue
            b = np.asarray(b)
            worst_g = max(worst_g, float(np.abs(a.grad.numpy() - b).max() / max(np.abs(b).max(), 1e-300)))
    tol = 1e-13 if dtype == "float64" else 3e-6
    print(f"K.rnn {cell_name} {dtype}, {len(OPTIONS)} option sets: values {worst_v:.1e}, gradients {worst_g:.1e}")
    assert worst_v <= tol and worst_g <= tol * 10


def test_rnn_errors():
    step = _cells(KB, torch.ones(2, 3), torch.ones(3, 3), None)["simple"][0]
    with pytest.raises(ValueError, match="rank 3"):
        KB.rnn(step, torch.ones(2, 2), [torch.zeros(2, 3)])
    with pytest.raises(ValueError):
        K.rnn(_cells(K, np.ones((2, 3)), np.ones((3, 3)), None)["simple"][0], np.ones((2, 2)), [np.zeros((2, 3))])
