"""``torch_impl._eigen_math``: TensorFlow 2.21's CPU float32 ``tf.math.log`` and ``tf.math.sigmoid`` bit for bit,
and the two places whose Keras numbers hinge on their last bit (h54).

TensorFlow's x86-64 wheel runs Eigen's ``plog_impl_float`` and ``scalar_logistic_op<float>::packetOp`` in AVX
packets of 8 (a rounded multiply then a rounded add, no FMA: with FMA 6,500 of 1e6 sigmoids and 23% of logs differ),
under flush-to-zero / denormals-are-zero, and the last ``size % 8`` elements through Eigen's scalar path (glibc's
``logf``, ``expf``). torch's own float32 ``log`` differs from it on ~24% of values, ``sigmoid`` on ~63%.

Measured (h54): every one of the 2**32 float32 bit patterns, log and sigmoid, bitwise equal (NaN counted equal to
NaN); sizes 1-100 and up to 1e6 (the scalar tail), with specials (0, -0, inf, NaN, denormals, 16.6355, -104) in it:
4.8e6 values, 0 mismatches. ``AUC(from_logits=True)``: TensorFlow's sigmoid(1e-7) is exactly 0.5 (torch's
0.50000006), a strict xfail until now (``test_metric_fuzz_keras.py::test_auc_logit_near_zero``). ``K.ctc_decode``
(``log(y_pred + 1e-7)``): 2,000 quantised-probability cases (1,625 decodable), paths differed in 21 and scores
were not bitwise equal in 421 with torch's log; 0 and 0 now.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torch_impl import _eigen_math, metrics
from torch_impl import keras_backend as TK

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras.src.legacy import backend as KK  # noqa: E402

pytestmark = [pytest.mark.keras,
              pytest.mark.skipif(not _eigen_math.replay_exact(), reason="replays x86-64 Linux/glibc TensorFlow arithmetic; elsewhere "
                                 "torch_impl uses torch's functions (_eigen_math.replay_exact)")]

_SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-40, -1e-40, 1.1754942e-38, 1.1754944e-38,
                     1.0, -1.0, 0.99999994, 1.0000001, 1e-7, -1e-7, 16.6355324, 16.7, -104.0, -103.99, -88.0, -100.0,
                     3.4e38, -3.4e38, 0.5, 2.0, 1e-30], np.float32)


def _mismatches(ours: np.ndarray, ref: np.ndarray) -> int:
    same = (ours.view(np.int32) == ref.view(np.int32)) | (np.isnan(ours) & np.isnan(ref))
    return int((~same).sum())


def _compare(x: np.ndarray):
    """Mismatches (ours, torch's) against TensorFlow for log and sigmoid on ``x``."""
    out = {}
    xt = torch.from_numpy(x)
    for name, ours, theirs, torch_fn in (("log", _eigen_math.log, tf.math.log, torch.log),
                                         ("sigmoid", _eigen_math.sigmoid, tf.math.sigmoid, torch.sigmoid)):
        ref = theirs(tf.constant(x)).numpy()
        out[name] = (_mismatches(ours(xt).numpy(), ref), _mismatches(torch_fn(xt).numpy(), ref))
    return out


def _bit_patterns(count: int, seed: int) -> np.ndarray:
    """``count`` float32 values over the whole range: random bit patterns (denormals, NaN, inf included), the
    specials, and a quarter drawn near 0 and 1 and as logits (where AUC's thresholds and CTC's probabilities are)."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2 ** 32, size=count // 2, dtype=np.uint64).astype(np.uint32).view(np.float32)
    near = np.concatenate([rng.uniform(0, 1, count // 8), 1 + rng.uniform(-1e-6, 1e-6, count // 8),
                           rng.normal(size=count // 8) * 4, rng.normal(size=count // 8) * 1e-6])
    x = np.concatenate([bits, near.astype(np.float32), _SPECIAL])
    return x[: count - count % 8]  # whole packets (the tail: test_tail_elements_take_eigens_scalar_path)


@pytest.mark.parametrize("count", [100_000, pytest.param(10_000_000, marks=pytest.mark.slow)])
def test_log_and_sigmoid_bitwise_like_tensorflow(count):
    x = _bit_patterns(count, seed=count)
    res = _compare(x)
    print(f"  {x.size} float32 values: mismatches against TensorFlow (ours, torch's): {res}")
    assert res["log"][0] == 0 and res["sigmoid"][0] == 0
    assert res["log"][1] > x.size // 10 and res["sigmoid"][1] > x.size // 10  # torch's own would fail


@pytest.mark.slow
def test_log_and_sigmoid_bitwise_on_a_stride_of_all_bit_patterns():
    """1.1e7 bit patterns evenly spread over all 2**32 (an odd stride: every exponent, low mantissa bits vary)."""
    x = np.arange(0, 2 ** 32, 389, dtype=np.uint64).astype(np.uint32).view(np.float32)
    x = x[: x.size - x.size % 8]
    res = _compare(x)
    print(f"  {x.size} float32 values: mismatches against TensorFlow (ours, torch's): {res}")
    assert res["log"][0] == 0 and res["sigmoid"][0] == 0


def test_tail_elements_take_eigens_scalar_path():
    """Sizes 1-40 and a few larger ones: the last ``size % 8`` values go through glibc's ``logf`` / ``expf`` under
    DAZ (a denormal's log is glibc's log of 2**-150 there, -103.97208; -inf in the packets); specials in the tail."""
    rng = np.random.default_rng(3)
    total = {"log": [0, 0], "sigmoid": [0, 0]}
    values = 0
    for n in list(range(1, 41)) + [63, 65, 1001, 4099]:
        for x in (rng.choice(_SPECIAL, n), (rng.normal(size=n) * 8).astype(np.float32),
                  np.abs(rng.normal(size=n)).astype(np.float32)):
            for k, v in _compare(np.ascontiguousarray(x)).items():
                total[k][0] += v[0]
                total[k][1] += v[1]
            values += n
    print(f"  {values} values in tensors of 44 sizes: mismatches (ours, torch's): {total}")
    assert total["log"][0] == 0 and total["sigmoid"][0] == 0
    assert total["log"][1] > 0 and total["sigmoid"][1] > 0
    d = tf.math.log(tf.constant([1e-40], tf.float32)).numpy()
    assert _eigen_math.log(torch.tensor([1e-40])).numpy().tobytes() == d.tobytes()  # -103.97208
    assert _eigen_math.log(torch.full((8,), 1e-40)).isneginf().all()


def test_layout_follows_the_flattened_tensor():
    """A non-contiguous tensor: the tail is the last elements of its row-major order, as TensorFlow's."""
    x = np.abs(np.random.default_rng(4).normal(size=(5, 3, 7))).astype(np.float32)
    xt = torch.from_numpy(x).permute(1, 0, 2)
    ref = tf.math.log(tf.transpose(tf.constant(x), (1, 0, 2))).numpy()
    assert _mismatches(_eigen_math.log(xt).numpy(), ref) == 0
    assert not _eigen_math.log(torch.ones(3, requires_grad=True)).requires_grad  # forward values only


def test_auc_from_logits_buckets_like_keras():
    """Logits whose probabilities sit on or within an ulp of AUC's thresholds: every bucket count equal to Keras's
    (torch's sigmoid moves some to the next bucket); float64 logits keep torch's sigmoid."""
    rng = np.random.default_rng(5)
    thr = np.linspace(0, 1, 9)[1:-1].astype(np.float32)
    logits = np.log(thr / (1 - thr)).astype(np.float32)
    near = np.concatenate([logits + k * np.spacing(np.abs(logits)) for k in range(-3, 4)] + [[1e-7, -1e-7, 0.0]])
    x = np.concatenate([near, rng.normal(size=61) * 3]).astype(np.float32)
    y = (rng.random(x.size) < 0.5).astype(np.float32)
    names = ("true_positives", "false_positives", "true_negatives", "false_negatives")
    km, tm = keras.metrics.AUC(from_logits=True, num_thresholds=9), metrics.AUC(from_logits=True, num_thresholds=9)
    km.update_state(y, x)
    tm.update_state(torch.from_numpy(y), torch.from_numpy(x))
    k = np.stack([np.asarray(getattr(km, n)) for n in names])
    t = np.stack([getattr(tm, n).numpy() for n in names])
    with_torch = (torch.sigmoid(torch.from_numpy(x)).numpy() != tf.math.sigmoid(tf.constant(x)).numpy()).sum()
    print(f"  AUC(from_logits=True), {x.size} logits ({with_torch} sigmoids differ from TensorFlow's with torch's): "
          f"counts max diff {np.abs(k - t).max()}, AUC Keras {float(km.result()):.9f} ours {float(tm.result()):.9f}")
    np.testing.assert_array_equal(t, k)
    assert float(tm.result()) == pytest.approx(float(km.result()), rel=1e-6)
    assert with_torch > 0
    m64 = metrics.AUC(from_logits=True, num_thresholds=9)
    m64.update_state(torch.from_numpy(y).double(), torch.from_numpy(x).double())
    assert np.isfinite(float(m64.result()))


def _quantised_ctc_case(seed):
    r = np.random.default_rng(10000 + seed)
    n, t, c = int(r.integers(1, 4)), int(r.integers(1, 9)), int(r.integers(2, 6))
    z = r.normal(size=(n, t, c)) * r.uniform(0.5, 3)
    p = np.exp(z - z.max(-1, keepdims=True))
    p = np.round(p / p.sum(-1, keepdims=True) * 4) / 4 + 1e-3  # quantised: exact ties between beams
    p = (p / p.sum(-1, keepdims=True)).astype(np.float32)
    lens = r.integers(1, t + 1, size=n).astype(np.int32)
    greedy = seed % 4 == 1
    bw = int(r.integers(1, 12))
    return p, lens, greedy, bw, 1 if greedy else int(r.integers(1, bw + 1))


# seeds 119, 470, 495, 530: a tie torch's log broke differently (a path or its order differed before h54)
@pytest.mark.parametrize("seeds", [list(range(40)) + [119, 470, 495, 530],
                                   pytest.param(range(2000), marks=pytest.mark.slow)], ids=["44", "2000"])
def test_ctc_decode_ties_bitwise_like_keras(seeds):
    """``K.ctc_decode`` of quantised probabilities: TensorFlow's log of ``y_pred + 1e-7`` over the time-major layout,
    then TensorFlow's decoders: paths and scores bitwise Keras's (h54: 21 of the 1,625 decodable cases of the 2,000
    had other paths, 421 other score bits, with torch's log)."""
    from torch_impl import _ctc_decode

    checked = before = 0
    for seed in seeds:
        p, lens, greedy, bw, top = _quantised_ctc_case(seed)
        try:
            kd, klp = KK.ctc_decode(tf.constant(p), tf.constant(lens), greedy=greedy, beam_width=bw, top_paths=top)
        except tf.errors.InvalidArgumentError:  # "Less leaves in the beam search than requested."
            continue
        od, olp = TK.ctc_decode(torch.from_numpy(p), torch.from_numpy(lens), greedy=greedy, beam_width=bw,
                                top_paths=top)
        assert [o.tolist() for o in od] == [k.numpy().tolist() for k in kd], (seed, od, kd)
        assert olp.numpy().tobytes() == klp.numpy().tobytes(), (seed, olp, klp)
        checked += 1
        if not greedy:  # what torch's log gave (before h54)
            paths, _ = _ctc_decode.beam_search_decode(torch.log(torch.from_numpy(p) + 1e-7).numpy(), lens.tolist(),
                                                      bw, top)
            dense = [d.tolist() for d in _ctc_decode.dense_paths(paths, *p.shape[:2])]
            before += dense != [k.numpy().tolist() for k in kd]
    print(f"  {checked} decodable cases: paths and scores bitwise equal (with torch's log {before} decoded other "
          f"paths)")
    assert before >= 4
