"""Blind audit, round 2, of this session's new features, written from README.md and the public docstrings only
(never the implementation), every expectation computed by real Keras 3.15.1 on TensorFlow 2.21 in the same test:

1. ``torch_impl.keras_ops`` against ``keras.ops``: values, Keras's result dtypes, shapes, TensorFlow's gradients
   (``tf.GradientTape`` against autograd) on edge inputs (NaN, inf, +-0, ties, integers, booleans, Python scalars,
   broadcasting, negative axes, keepdims), Keras's errors; keras.ops-written custom losses.
2. ``torch_impl.keras_backend``'s layer ops (odd sizes, strides, dilations, channels_first) and CTC (varied label
   and input lengths, greedy and beam decoding with ties) against ``tf.keras.backend``.
3. ``losses``/``metrics`` ``serialize``/``deserialize``/``get(dict)`` round trips through JSON, fed Keras's own
   serialized dicts.
4. ``fit.evaluate(..., callbacks=...)`` / ``fit.predict(..., callbacks=...)``: the hooks and their logs against
   ``model.evaluate`` / ``model.predict`` (multi-output, generators, ``stop_evaluating`` / ``stop_predicting``).
5. ``utils.timeseries_dataset_from_array`` against Keras's batches; ``initializers.Constant`` with NumPy values.

Standards (DESIGN.md): float64 values rel 1e-12 (norm-wise, the largest difference over the largest magnitude),
gradients 1e-10; float32 rtol 1e-5 atol 1e-6 (a float32 result Keras gives for float64 inputs, the bilinear resize,
takes the float32 standard); integer/boolean results, shapes and dtypes exactly; where Keras raises, torch_impl
must raise. Every figure asserted is printed. Measured (max over the cases):

==============================================  ===============================================================
group (cases)                                   measured against Keras 3.15.1 / TensorFlow 2.21
==============================================  ===============================================================
keras_ops values (181 f64 + 181 f32)            8.4e-16 / 5.1e-7; dtypes and shapes equal; Keras's errors
                                                (bool multiply, segment ids past the count) raised by us too
keras_ops gradients (51 f64 + 51 f32)           4.3e-16 / 3.1e-7 (ties, bounds, zeros, sqrt(0), norm(0))
keras_ops dtype promotion (22 grids)            2376 dtype pairs / Python scalars: equal dtypes or both raise
keras_ops edge inputs (46), errors (8)          3.7e-16; Keras's errors raised
keras_ops field losses (8 x 2 dtypes)           values 1.2e-16 / 6.5e-8, gradients 2.4e-16 / 3.0e-8
K layer ops (38 f64 + 41 f32, x and kernels)    values 5.0e-16, gradients 7.2e-16 (f64); 1.7e-7 / 3.0e-7 (f32);
                                                bilinear resize: Keras's float32 result, 5.9e-8
ctc_batch_cost (float32, 4 configs)             costs rtol 1e-5; gradients 1.8e-6 norm-wise (Keras's own
                                                float32 error: 9.4e-7); float64 1.5e-9 of Keras's f32 kernel
ctc_decode (8 set cases, 60 fuzzed)             paths equal; log_prob within 2.4e-7; Keras's "Less leaves"
                                                errors raised by us too
loss / metric serialization (21 + 25 + 8 + 5)   dicts equal (+ the documented axis / delta); values 3.3e-16
evaluate / predict callbacks (8 tests)          the same hook calls and params; logs 4.9e-16, results 1.6e-16
timeseries_dataset_from_array (9 + 8 + 1)       batches equal element for element; Keras's ValueErrors
initializers.Constant (8 values x 2 dtypes)     weights equal bit for bit
==============================================  ===============================================================

Discrepancies found (the audit was blind to torch_impl's source; six fixed after it, each test now passing):

* Fixed: ``keras_ops.clip(int32 tensor, -1.5, 2.5)``: Keras raises TypeError; torch_impl returned int32
  ``[2, -1, 0, 2]``, now raises TypeError.
* Fixed: ``keras_ops.greater/greater_equal/less/less_equal`` of two boolean tensors: Keras raises
  InvalidArgumentError; torch_impl returned booleans, now raises TypeError.
* Fixed: ``keras_ops.where(x)`` (one argument): int64 index tensors; Keras's are int32.
* Fixed: ``K.ctc_batch_cost``: the gradient of a row whose cost is inf was NaN, even with the inf cost masked out
  (TensorFlow: 0 masked, finite unmasked): one impossible sample turned a whole torch gradient into NaN.
* Fixed: ``K.ctc_batch_cost`` raised ValueError for a blank (or larger) label at the end of a labelling;
  TensorFlow ends the labelling there (it rejects only a real label after it).
* Fixed: ``initializers.Constant(np.array(...)).get_config()`` was not JSON (Keras writes ``"__numpy__"``), and
  ``Constant.from_config`` of Keras's config raised ValueError.
* Fixed (h47; were strict xfails): ``K.ctc_decode`` beam search ordered beams of exactly equal probability
  differently from TensorFlow (with beam_width 3 the top path of a tied step is ``[2]`` in Keras, it was ``[]``):
  TensorFlow's order follows ``gtl::TopN``'s libstdc++ heap and ``std::sort`` steps, now run step for step, and
  the op takes TopPaths from the heap's own order. On the same float32 log probabilities paths and scores are
  now bitwise TensorFlow's (``test_ctc_beam_search_ties_bitwise_like_tensorflow``). Left then: ``K.ctc_decode``
  took ``log(y_pred + eps)`` with torch's log, which differs from TensorFlow's (Eigen's packet log, glibc's for a
  tail) in the last bit for ~21% of values, so a tie TensorFlow sees could be a one-ulp win here (8 of 2,000
  quantised fuzz cases, against 403 before); fixed in h54 (TensorFlow's float32 log bit for bit,
  ``torch_impl._eigen_math``; ``test_eigen_math_keras.py``: 0 of 1,625 decodable quantised cases differ, 21 with
  torch's log).

Keras quirks matched (asserted): ``K.resize_images(..., "bilinear")`` of float64 images is float32;
``timeseries_dataset_from_array(sequence_length=0)`` gives 21 empty windows and targets shorter than the data cut
the windows (no error); ``losses.deserialize`` of an unknown dict or of a custom class's dict without
``custom_objects`` gives the class name; Keras's lossy round trip of ``Huber(delta)`` / ``CosineSimilarity(axis)``.
Undocumented difference (not pinned): ``metrics.serialize(CosineSimilarity(axis=0))`` keeps ``axis``, which
Keras's metric config drops (README documents this for the loss classes only); Keras reads it back.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import ops as kops  # noqa: E402
from tensorflow.keras import backend as KK  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from torch_impl import keras_backend as TK  # noqa: E402
from torch_impl import keras_ops as tops  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]


# --------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------


def _np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if hasattr(x, "numpy"):
        return np.asarray(x.numpy())
    return np.asarray(x)


def _dtype(x) -> str:
    if isinstance(x, torch.Tensor):
        return str(x.dtype).replace("torch.", "")
    return keras.backend.standardize_dtype(x.dtype)


def _err(a, b) -> float:
    """norm-wise: max |a - b| over max |b| (NaN/inf must sit at the same places with the same values)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    if a.size == 0:
        return 0.0
    fa, fb = np.isfinite(a), np.isfinite(b)
    assert np.array_equal(fa, fb), (a, b)
    assert np.array_equal(np.isnan(a), np.isnan(b)), (a, b)
    assert np.array_equal(a[~fa & ~np.isnan(a)], b[~fb & ~np.isnan(b)]), (a, b)
    if not fb.any():
        return 0.0
    d = np.max(np.abs(a[fa] - b[fb]))
    return float(d / max(np.max(np.abs(b[fb])), 1e-300)) if d else 0.0


def _close(ours, ref, dt: str, what: str, grad: bool = False) -> float:
    o, r = _np(ours), _np(ref)
    if r.dtype == np.float32:  # a float32 result (Keras's own, e.g. a bilinear resize) takes float32's standard
        dt = "float32"
    if o.dtype.kind in "biu" or r.dtype.kind in "biu":
        assert np.array_equal(o, r), (what, o, r)
        return 0.0
    e = _err(o, r)
    if dt == "float64":
        assert e <= (1e-10 if grad else 1e-12), (what, e)
    else:
        fa = np.isfinite(r)
        np.testing.assert_allclose(o[fa], r[fa], rtol=1e-5, atol=1e-6, err_msg=what)
    return e


def _to_tf(a):
    return tf.constant(a) if isinstance(a, np.ndarray) else a


def _to_torch(a):
    return torch.from_numpy(np.array(a)) if isinstance(a, np.ndarray) else a


# --------------------------------------------------------------------------------------------------------------
# 1. keras_ops: values, dtypes, shapes
# --------------------------------------------------------------------------------------------------------------

_R = np.random.default_rng(0)
_EDGE = np.array([-np.inf, -3.5, -1.0, -0.0, 0.0, 0.5, 1.0, 2.5, np.inf, np.nan])
_M = _R.normal(size=(3, 4))
_MT = np.array([[1.0, 3.0, 3.0, -2.0], [0.0, -0.0, 0.0, 5.0], [2.0, 2.0, 2.0, 2.0]])  # ties
_I = np.array([[3, -2, 0, 7], [1, 1, -5, 2]], np.int32)
_B = np.array([[True, False, True], [False, False, True]])
_P = np.array([[0.1, 0.7, 0.2], [0.0, 1.0, 0.0], [0.3, 0.3, 0.4]])  # probabilities with exact 0 and 1


def _f(a, dt):
    return a.astype(dt) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a


# (id, name, args, kwargs); float arrays are cast to the test's dtype
_OPS = [
    ("abs_edge", "abs", (_EDGE,), {}),
    ("sign_edge", "sign", (_EDGE,), {}),
    ("square_edge", "square", (_EDGE,), {}),
    ("sqrt_edge", "sqrt", (np.abs(_EDGE),), {}),
    ("sqrt_neg", "sqrt", (np.array([-1.0, 4.0]),), {}),
    ("exp_edge", "exp", (_EDGE,), {}),
    ("log_edge", "log", (np.abs(_EDGE),), {}),
    ("log1p", "log1p", (np.array([-1.0, -0.5, 0.0, 1e-10, 3.0]),), {}),
    ("expm1", "expm1", (_EDGE,), {}),
    ("log2_int", "log2", (np.array([1, 2, 8, 0], np.int32),), {}),
    ("log10", "log10", (np.array([1.0, 10.0, 0.5, 0.0]),), {}),
    ("sqrt_int", "sqrt", (np.array([4, 2, 0], np.int32),), {}),
    ("exp_int", "exp", (np.array([0, 1, -2], np.int32),), {}),
    ("sigmoid_edge", "sigmoid", (_EDGE,), {}),
    ("tanh_edge", "tanh", (_EDGE,), {}),
    ("relu_edge", "relu", (_EDGE,), {}),
    ("relu6_edge", "relu6", (np.array([-1.0, 0.0, 3.0, 6.0, 7.0, np.nan]),), {}),
    ("elu", "elu", (_EDGE,), {"alpha": 0.7}),
    ("selu", "selu", (_EDGE,), {}),
    ("gelu_tanh", "gelu", (_EDGE,), {}),
    ("gelu_exact", "gelu", (_EDGE,), {"approximate": False}),
    ("leaky_relu", "leaky_relu", (_EDGE,), {}),
    ("leaky_relu_slope", "leaky_relu", (_EDGE,), {"negative_slope": 0.05}),
    ("softplus", "softplus", (np.array([-50.0, -1.0, 0.0, 1.0, 50.0]),), {}),
    ("softsign", "softsign", (_EDGE,), {}),
    ("silu", "silu", (_EDGE,), {}),
    ("swish", "swish", (_M,), {}),
    ("hard_sigmoid", "hard_sigmoid", (np.array([-4.0, -3.0, -1.0, 0.0, 3.0, 4.0]),), {}),
    ("hard_silu", "hard_silu", (np.array([-4.0, -3.0, -1.0, 0.0, 3.0, 4.0]),), {}),
    ("log_sigmoid", "log_sigmoid", (np.array([-50.0, -1.0, 0.0, 1.0, 50.0]),), {}),
    ("softmax_ax0", "softmax", (_M,), {"axis": 0}),
    ("softmax_inf", "softmax", (np.array([[1.0, -np.inf, 2.0], [0.0, 0.0, 0.0]]),), {}),
    ("log_softmax", "log_softmax", (_M,), {"axis": -1}),
    ("erf", "erf", (_M,), {}),
    ("sin_cos", "sin", (_M,), {}),
    ("cosh", "cosh", (_M,), {}),
    ("sinh", "sinh", (_M,), {}),
    ("floor", "floor", (np.array([-1.5, -0.5, -0.0, 0.5, 1.5, 2.5]),), {}),
    ("ceil", "ceil", (np.array([-1.5, -0.5, -0.0, 0.5, 1.5, 2.5]),), {}),
    ("round_half", "round", (np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]),), {}),
    ("round_dec", "round", (np.array([1.2345, -2.675, 0.125]),), {"decimals": 2}),
    ("round_int_neg", "round", (np.array([25, 35, -15, 14], np.int32),), {"decimals": -1}),
    ("negative_int", "negative", (_I,), {}),
    ("add_int_float", "add", (_I, 1.5), {}),
    ("add_int_int", "add", (_I, 2), {}),
    ("add_bcast", "add", (_M, np.arange(4.0)), {}),
    ("add_i32_f32", "add", (_I, np.ones((2, 4), np.float32)), {}),
    ("add_bool_int", "add", (_B, np.array(1, np.int32)), {}),
    ("sub_scalar_first", "subtract", (1.0, _M), {}),
    ("multiply_bool", "multiply", (_B, _B), {}),
    ("divide_int", "divide", (_I, np.array([2, 2, 3, 3], np.int32)), {}),
    ("divide_zero", "divide", (np.array([1.0, -1.0, 0.0, -0.0]), np.array([0.0, 0.0, 0.0, -0.0])), {}),
    ("true_divide", "true_divide", (_M, 3), {}),
    ("divide_no_nan", "divide_no_nan", (np.array([1.0, 0.0, 2.0]), np.array([0.0, 0.0, 4.0])), {}),
    ("floor_divide_int", "floor_divide", (_I, np.array(3, np.int32)), {}),
    ("floor_divide_f", "floor_divide", (np.array([-7.0, 7.0, -0.5]), 2.0), {}),
    ("mod_int_neg", "mod", (_I, np.array(-3, np.int32)), {}),
    ("mod_float", "mod", (np.array([-7.5, 7.5, 0.0]), 2.0), {}),
    ("power_int", "power", (np.array([2, 3, -2], np.int32), 2), {}),
    ("power_f", "power", (np.array([0.0, 2.0, 4.0]), 0.5), {}),
    ("power_zero_zero", "power", (np.array([0.0, 0.0]), np.array([0.0, 2.0])), {}),
    ("maximum_tie", "maximum", (_MT, 2.0), {}),
    ("minimum_nan", "minimum", (np.array([1.0, np.nan, 0.0]), np.array([np.nan, 1.0, -0.0])), {}),
    ("maximum_int_float", "maximum", (_I, 0.5), {}),
    ("clip_inverted", "clip", (_M, 0.6, 0.4), {}),
    ("clip_int", "clip", (_I, -1, 2), {}),
    ("clip_float_bounds_int", "clip", (_I, -1.5, 2.5), {}),
    ("logaddexp", "logaddexp", (np.array([-np.inf, 0.0, 100.0]), np.array([-np.inf, 0.0, -100.0])), {}),
    ("sum_none", "sum", (_M,), {}),
    ("sum_neg_axis_kd", "sum", (_M,), {"axis": -1, "keepdims": True}),
    ("sum_tuple_axis", "sum", (_R.normal(size=(2, 3, 4)),), {"axis": (0, -1)}),
    ("sum_bool", "sum", (_B,), {"axis": 0}),
    ("sum_int", "sum", (_I,), {}),
    ("sum_empty", "sum", (np.zeros((0, 3)),), {"axis": 0}),
    ("mean_int", "mean", (_I,), {"axis": 1}),
    ("mean_bool", "mean", (_B,), {}),
    ("mean_empty", "mean", (np.zeros((0,)),), {}),
    ("mean_nan", "mean", (np.array([1.0, np.nan]),), {}),
    ("max_axis", "max", (_MT,), {"axis": 1, "keepdims": True}),
    ("min_int", "min", (_I,), {"axis": -2}),
    ("amax", "amax", (_MT,), {"axis": 0}),
    ("amin", "amin", (_MT,), {}),
    ("prod_int", "prod", (_I,), {"axis": 0}),
    ("prod_f", "prod", (_M,), {"axis": -1}),
    ("std", "std", (_M,), {"axis": 0}),
    ("var_kd", "var", (_M,), {"axis": 1, "keepdims": True}),
    ("std_int", "std", (_I,), {}),
    ("logsumexp", "logsumexp", (np.array([[-np.inf, -np.inf], [1000.0, 1000.0]]),), {"axis": 1}),
    ("logsumexp_kd", "logsumexp", (_M,), {"axis": 0, "keepdims": True}),
    ("cumsum", "cumsum", (_M,), {"axis": 1}),
    ("cumsum_none", "cumsum", (_I,), {}),
    ("cumsum_bool", "cumsum", (_B,), {"axis": 1}),
    ("cumprod", "cumprod", (np.array([[2.0, 0.0, 3.0], [1.5, -1.0, 2.0]]),), {"axis": -1}),
    ("argmax_none", "argmax", (_MT,), {}),
    ("argmax_ties", "argmax", (_MT,), {"axis": 1}),
    ("argmax_zeros", "argmax", (np.array([-0.0, 0.0, -0.0]),), {}),
    ("argmax_kd", "argmax", (_MT,), {"axis": 0, "keepdims": True}),
    ("argmin_ties", "argmin", (_MT,), {"axis": -1}),
    ("argmin_nan", "argmin", (np.array([2.0, np.nan, 1.0]),), {}),
    ("argsort", "argsort", (np.array([3.0, 1.0, 2.0, 1.0]),), {}),
    ("sort_ax0", "sort", (_MT,), {"axis": 0}),
    ("all_axis", "all", (_B,), {"axis": 1}),
    ("any_none", "any", (_B,), {}),
    ("any_float", "any", (np.array([0.0, -0.0, np.nan]),), {}),
    ("count_nonzero", "count_nonzero", (_MT,), {"axis": 0}),
    ("equal_scalar", "equal", (np.array([0.1, 0.2]), 0.1), {}),
    ("greater_f64", "greater", (np.array([0.1, 0.10000000149011612, 0.2]), 0.1), {}),
    ("greater_equal_int", "greater_equal", (_I, 1), {}),
    ("less_nan", "less", (np.array([np.nan, 1.0]), np.array([1.0, np.nan])), {}),
    ("not_equal_bool", "not_equal", (_B, True), {}),
    ("less_equal_bcast", "less_equal", (_M, np.zeros((3, 1))), {}),
    ("isnan", "isnan", (_EDGE,), {}),
    ("isinf", "isinf", (_EDGE,), {}),
    ("isfinite", "isfinite", (_EDGE,), {}),
    ("isfinite_int", "isfinite", (_I,), {}),
    ("logical_and", "logical_and", (_B, np.array([True, False, False])), {}),
    ("logical_or_float", "logical_or", (np.array([0.0, 2.0]), np.array([0.0, 0.0])), {}),
    ("logical_not_int", "logical_not", (np.array([0, 3], np.int32),), {}),
    ("where3", "where", (_B, 1.0, np.zeros((2, 3))), {}),
    ("where_int_float", "where", (_B, np.ones((2, 3), np.int32), 0.5), {}),
    ("nan_to_num", "nan_to_num", (_EDGE,), {}),
    ("nan_to_num_args", "nan_to_num", (_EDGE,), {"nan": 1.0, "posinf": 9.0, "neginf": -9.0}),
    ("matmul", "matmul", (_M, _R.normal(size=(4, 2))), {}),
    ("matmul_batch", "matmul", (_R.normal(size=(2, 3, 4)), _R.normal(size=(4, 5))), {}),
    ("matmul_int", "matmul", (_I, np.ones((4, 2), np.int32)), {}),
    ("dot_vec", "dot", (np.arange(3.0), np.arange(3.0) - 1), {}),
    ("tensordot", "tensordot", (_R.normal(size=(2, 3, 4)), _R.normal(size=(4, 3))), {"axes": ([1, 2], [1, 0])}),
    ("einsum", "einsum", ("ij,kj->ik", _M, _R.normal(size=(2, 4))), {}),
    ("transpose", "transpose", (_R.normal(size=(2, 3, 4)),), {"axes": (2, 0, 1)}),
    ("reshape", "reshape", (_M,), {"newshape": (-1, 2)}),
    ("expand_dims", "expand_dims", (_M, -1), {}),
    ("squeeze", "squeeze", (np.zeros((1, 3, 1)),), {"axis": -1}),
    ("concat", "concatenate", ([_M, _M[:1]],), {"axis": 0}),
    ("concat_mixed", "concatenate", ([_I, np.ones((2, 4), np.float32)],), {"axis": -1}),
    ("stack", "stack", ([_M, _M],), {"axis": -1}),
    ("split", "split", (_M, 2), {"axis": 1}),
    ("tile", "tile", (np.arange(3.0), (2, 2)), {}),
    ("repeat", "repeat", (_M, 2), {"axis": 0}),
    ("take", "take", (_M, np.array([[0, 2], [1, 1]])), {"axis": 1}),
    ("take_neg", "take", (_M, np.array([-1, 0])), {"axis": 0}),
    ("take_along", "take_along_axis", (_M, np.array([[0], [3], [1]])), {"axis": 1}),
    ("top_k", "top_k", (np.array([1.0, 3.0, 3.0, 2.0, -1.0]), 3), {}),
    ("one_hot", "one_hot", (np.array([0, 2, 5, -1]), 3), {}),
    ("one_hot_axis", "one_hot", (np.array([[0, 1], [2, 0]]), 3), {"axis": 0}),
    ("multi_hot", "multi_hot", (np.array([[0, 2, 2], [1, 1, 1]]), 4), {}),
    ("pad", "pad", (_M, ((1, 0), (0, 2))), {}),
    ("pad_reflect", "pad", (_M, ((1, 1), (2, 1))), {"mode": "reflect"}),
    ("pad_value", "pad", (_I, ((0, 1), (1, 0))), {"constant_values": 7}),
    ("norm_vec", "norm", (_M,), {}),
    ("norm_axis", "norm", (_M,), {"axis": -1, "keepdims": True}),
    ("norm_ord1", "norm", (_M,), {"ord": 1, "axis": 0}),
    ("norm_fro", "norm", (_M,), {"ord": "fro"}),
    ("normalize", "normalize", (np.array([[3.0, 4.0], [0.0, 0.0]]),), {}),
    ("normalize_ax0", "normalize", (_M,), {"axis": 0, "order": 1}),
    ("moments", "moments", (_M, [0]), {}),
    ("moments_kd", "moments", (_M, [0, 1]), {"keepdims": True}),
    ("rsqrt", "rsqrt", (np.array([4.0, 0.0, 0.25]),), {}),
    ("segment_sum", "segment_sum", (np.arange(6.0), np.array([0, 0, 2, 2, 3, 3])), {}),
    ("segment_sum_n", "segment_sum", (np.arange(6.0), np.array([0, 0, 1, 1, 3, 3])), {"num_segments": 5}),
    ("cast_f_int", "cast", (np.array([-1.7, 1.7, 2.5]), "int32"), {}),
    ("cast_bool", "cast", (np.array([0.0, 0.3]), "bool"), {}),
    ("eye_k", "eye", (2, 4), {"k": 1}),
    ("eye", "eye", (3,), {}),
    ("arange_f", "arange", (0, 1, 0.25), {}),
    ("arange_i", "arange", (5,), {}),
    ("linspace", "linspace", (0.0, 1.0, 5), {}),
    ("linspace_noend", "linspace", (0.0, 1.0, 4), {"endpoint": False}),
    ("full", "full", ((2, 2), 0.1), {}),
    ("full_int", "full", ((2,), 3), {}),
    ("zeros", "zeros", ((2, 3),), {}),
    ("ones_int", "ones", ((2,),), {"dtype": "int32"}),
    ("zeros_like_int", "zeros_like", (_I,), {}),
    ("ones_like_bool", "ones_like", (_B,), {}),
    ("full_like", "full_like", (_M, 2.5), {}),
    ("bce", "binary_crossentropy", (np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 1.0], [0.9, 0.2]])), {}),
    ("bce_logits", "binary_crossentropy", (np.array([1.0, 0.0, 0.5]), np.array([30.0, -2.0, 0.0])),
     {"from_logits": True}),
    ("cce", "categorical_crossentropy", (np.eye(3), _P), {}),
    ("cce_unnormed", "categorical_crossentropy", (np.eye(3), 2 * _P), {}),
    ("cce_logits_ax0", "categorical_crossentropy", (np.eye(3), _M[:, :3]), {"from_logits": True, "axis": 0}),
    ("scce", "sparse_categorical_crossentropy", (np.array([1, 0, 2]), _P), {}),
    ("scce_logits", "sparse_categorical_crossentropy", (np.array([1, 0, 2]), _M[:, :3]), {"from_logits": True}),
    ("stop_gradient", "stop_gradient", (_M,), {}),
    ("convert", "convert_to_tensor", (np.array([1, 2], np.int64),), {}),
    ("convert_list", "convert_to_tensor", ([1.5, 2.0],), {}),
]


def _run_op(name, args, kwargs, dt):
    args = tuple(_f(a, dt) if not isinstance(a, list) else [_f(x, dt) for x in a] for a in args)
    with _precision(dt):
        ref = getattr(kops, name)(*[_to_tf(a) if not isinstance(a, list) else [_to_tf(x) for x in a] for a in args],
                                  **kwargs)
        ours = getattr(tops, name)(*[_to_torch(a) if not isinstance(a, list) else [_to_torch(x) for x in a]
                                     for a in args], **kwargs)
    return ours, ref


def _ref_op(name, args, kwargs, dt):
    args = tuple(_f(a, dt) if not isinstance(a, list) else [_f(x, dt) for x in a] for a in args)
    with _precision(dt):
        return getattr(kops, name)(*[_to_tf(a) if not isinstance(a, list) else [_to_tf(x) for x in a]
                                     for a in args], **kwargs)



def _ours_op(name, args, kwargs, dt):
    args = tuple(_f(a, dt) if not isinstance(a, list) else [_f(x, dt) for x in a] for a in args)
    with _precision(dt):
        return getattr(tops, name)(*[_to_torch(a) if not isinstance(a, list) else [_to_torch(x) for x in a]
                                     for a in args], **kwargs)


def _compare_op(ours, ref, dt, what):
    if isinstance(ref, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(ref), what
        return max(_compare_op(o, r, dt, f"{what}[{i}]") for i, (o, r) in enumerate(zip(ours, ref)))
    assert _dtype(ours) == _dtype(ref), (what, _dtype(ours), _dtype(ref))
    assert tuple(ours.shape) == tuple(ref.shape), (what, tuple(ours.shape), tuple(ref.shape))
    return _close(ours, ref, dt, what)


_SLOW_OPS = {"gelu_exact", "tensordot", "einsum", "pad_reflect", "norm_fro", "moments_kd", "linspace_noend",
             "cce_logits_ax0", "scce_logits"}


#: real discrepancies found by this audit (strict xfails: they pass once torch_impl matches Keras)
_XFAIL_OPS: dict = {}  # the audit's clip finding (ops.clip of int32 with float bounds) is fixed: TypeError


def _op_params(dts):
    out = []
    for case in _OPS:
        for dt in dts:
            marks = [pytest.mark.slow] if dt == "float32" or case[0] in _SLOW_OPS else []
            if case[0] in _XFAIL_OPS:
                marks.append(pytest.mark.xfail(strict=True, reason=_XFAIL_OPS[case[0]]))
            out.append(pytest.param(*case, dt, id=f"{case[0]}-{dt}", marks=marks))
    return out


@pytest.mark.parametrize("cid,name,args,kwargs,dt", _op_params(["float64", "float32"]))
def test_keras_ops_value_dtype_shape(cid, name, args, kwargs, dt):
    try:
        _ref_op(name, args, kwargs, dt)
    except Exception as exc:  # Keras raises: so must we
        with pytest.raises(Exception) as ours_exc:
            _ours_op(name, args, kwargs, dt)
        print(f"  {cid} [{dt}]: Keras raises {type(exc).__name__}, torch_impl {type(ours_exc.value).__name__}")
        return
    ours, ref = _run_op(name, args, kwargs, dt)
    e = _compare_op(ours, ref, dt, cid)
    print(f"  {cid} [{dt}]: dtype {_dtype(ref) if not isinstance(ref, (tuple, list)) else 'tuple'} err {e:.1e}")


# --------------------------------------------------------------------------------------------------------------
# 1b. keras_ops: gradients (tf.GradientTape against autograd) at kinks, ties, bounds, zeros
# --------------------------------------------------------------------------------------------------------------

_GEDGE = np.array([-3.5, -1.0, -0.0, 0.0, 0.5, 1.0, 2.5])
# (id, name, args, kwargs, which args are differentiated)
_GRADS = [
    ("abs", "abs", (_GEDGE,), {}, (0,)),
    ("sqrt0", "sqrt", (np.array([0.0, 1.0, 4.0]),), {}, (0,)),
    ("relu", "relu", (_GEDGE,), {}, (0,)),
    ("relu6", "relu6", (np.array([-1.0, 0.0, 3.0, 6.0, 7.0]),), {}, (0,)),
    ("elu", "elu", (_GEDGE,), {}, (0,)),
    ("selu", "selu", (_GEDGE,), {}, (0,)),
    ("gelu", "gelu", (_GEDGE,), {}, (0,)),
    ("leaky_relu", "leaky_relu", (_GEDGE,), {}, (0,)),
    ("hard_sigmoid", "hard_sigmoid", (np.array([-4.0, -3.0, -1.0, 0.0, 3.0, 4.0]),), {}, (0,)),
    ("hard_silu", "hard_silu", (np.array([-4.0, -3.0, -1.0, 0.0, 3.0, 4.0]),), {}, (0,)),
    ("softplus", "softplus", (_GEDGE,), {}, (0,)),
    ("silu", "silu", (_GEDGE,), {}, (0,)),
    ("softsign", "softsign", (_GEDGE,), {}, (0,)),
    ("log_sigmoid", "log_sigmoid", (_GEDGE,), {}, (0,)),
    ("maximum_tie", "maximum", (_MT, np.full((3, 4), 2.0)), {}, (0, 1)),
    ("minimum_tie", "minimum", (_MT, np.full((3, 4), 2.0)), {}, (0, 1)),
    ("clip_bounds", "clip", (np.array([-1.0, 0.0, 0.5, 1.0, 2.0]), 0.0, 1.0), {}, (0,)),
    ("max_ties", "max", (_MT,), {"axis": 1}, (0,)),
    ("min_ties", "min", (_MT,), {}, (0,)),
    ("amax_ties", "amax", (_MT,), {"axis": 0}, (0,)),
    ("prod_zero", "prod", (np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 1.0]]),), {"axis": 1}, (0,)),
    ("cumprod_zero", "cumprod", (np.array([[2.0, 0.0, 3.0], [1.5, -1.0, 2.0]]),), {"axis": 1}, (0,)),
    ("cumsum", "cumsum", (_M,), {"axis": 0}, (0,)),
    ("std", "std", (_M,), {"axis": 0}, (0,)),
    ("var", "var", (_M,), {}, (0,)),
    ("std_const", "std", (np.ones((2, 3)),), {"axis": 1}, (0,)),
    ("logsumexp", "logsumexp", (_M,), {"axis": -1}, (0,)),
    ("softmax", "softmax", (_M,), {}, (0,)),
    ("log_softmax", "log_softmax", (_M,), {"axis": 0}, (0,)),
    ("norm", "norm", (_M,), {"axis": 1}, (0,)),
    ("norm_zero_row", "norm", (np.array([[0.0, 0.0], [3.0, 4.0]]),), {"axis": 1}, (0,)),
    ("normalize", "normalize", (np.array([[3.0, 4.0], [1e-30, 0.0]]),), {}, (0,)),
    ("moments", "moments", (_M, [0]), {}, (0,)),
    ("power", "power", (np.array([0.5, 2.0, 3.0]), np.array([2.0, 0.5, -1.0])), {}, (0, 1)),
    ("divide", "divide", (_M, np.array([1.0, -2.0, 3.0, 0.5])), {}, (0, 1)),
    ("divide_no_nan", "divide_no_nan", (np.array([1.0, 0.0, 2.0]), np.array([0.0, 0.0, 4.0])), {}, (0, 1)),
    ("where", "where", (_B, np.ones((2, 3)) * 2, np.zeros((2, 3)) - 1), {}, (1, 2)),
    ("matmul", "matmul", (_M, _R.normal(size=(4, 2))), {}, (0, 1)),
    ("take_along_repeat", "take_along_axis", (_M, np.array([[0, 0], [3, 3], [1, 2]])), {"axis": 1}, (0,)),
    ("take_repeat", "take", (_M, np.array([0, 0, 2])), {"axis": 0}, (0,)),
    ("top_k_ties", "top_k", (np.array([1.0, 3.0, 3.0, 2.0]), 2), {}, (0,)),
    ("sort", "sort", (_MT,), {"axis": 1}, (0,)),
    ("bce_clip", "binary_crossentropy", (np.array([1.0, 0.0, 1.0, 0.0]), np.array([0.0, 1.0, 0.9, 0.2])), {},
     (1,)),
    ("cce_norm", "categorical_crossentropy", (np.eye(3), _P), {}, (1,)),
    ("scce", "sparse_categorical_crossentropy", (np.array([1, 0, 2]), _P), {}, (1,)),
    ("logaddexp", "logaddexp", (np.array([0.0, 1.0, -2.0]), np.array([0.0, -1.0, 3.0])), {}, (0, 1)),
    ("square_bcast", "square", (_M,), {}, (0,)),
    ("round", "round", (_M,), {}, (0,)),
    ("sign", "sign", (_GEDGE,), {}, (0,)),
    ("nan_to_num", "nan_to_num", (_GEDGE,), {}, (0,)),
    ("segment_sum", "segment_sum", (np.arange(6.0), np.array([0, 0, 1, 1, 2, 2])), {}, (0,)),
]


def _grads(name, args, kwargs, wrt, dt):
    args = [_f(a, dt) for a in args]
    with _precision(dt):
        targs = [_to_torch(a) for a in args]
        for i in wrt:
            targs[i] = targs[i].clone().requires_grad_(True)
        out = getattr(tops, name)(*targs, **kwargs)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        outs = [o for o in outs if o.is_floating_point()]
        ws = [np.random.default_rng(1).uniform(0.5, 1.5, size=tuple(o.shape)).astype(dt) for o in outs]
        tot = sum((o * torch.from_numpy(w)).sum() for o, w in zip(outs, ws))
        ours = torch.autograd.grad(tot, [targs[i] for i in wrt], allow_unused=True)
        kargs = [_to_tf(a) for a in args]
        with tf.GradientTape() as tape:
            for i in wrt:
                tape.watch(kargs[i])
            kout = getattr(kops, name)(*kargs, **kwargs)
            kouts = list(kout) if isinstance(kout, (tuple, list)) else [kout]
            kouts = [o for o in kouts if o.dtype.is_floating]
            ktot = sum(tf.reduce_sum(o * w) for o, w in zip(kouts, ws))
        ref = [None if g is None else tf.convert_to_tensor(g) for g in tape.gradient(ktot, [kargs[i] for i in wrt])]
    return ours, ref


def _grad_params():
    out = []
    for case in _GRADS:
        for dt in ("float64", "float32"):
            marks = [pytest.mark.slow] if dt == "float32" else []
            out.append(pytest.param(*case, dt, id=f"{case[0]}-{dt}", marks=marks))
    return out


@pytest.mark.parametrize("cid,name,args,kwargs,wrt,dt", _grad_params())
def test_keras_ops_gradient_like_tensorflow(cid, name, args, kwargs, wrt, dt):
    ours, ref = _grads(name, args, kwargs, wrt, dt)
    errs = []
    for i, (o, r) in enumerate(zip(ours, ref)):
        r = np.zeros(args[wrt[i]].shape) if r is None else _np(r)
        o = np.zeros(args[wrt[i]].shape) if o is None else _np(o)
        errs.append(_close(o, r, dt, f"{cid} d/d arg{wrt[i]}", grad=True))
    print(f"  {cid} [{dt}]: gradient err {max(errs):.1e}")


# --------------------------------------------------------------------------------------------------------------
# 2. K's layer ops against tf.keras.backend: values and gradients (x and kernels)
# --------------------------------------------------------------------------------------------------------------

_G = np.random.default_rng(5)


def _n(*shape):
    return _G.normal(size=shape)


# (id, function, positional args (arrays differentiated where listed), kwargs, differentiated positions)
_LAYER = [
    ("conv1d_valid", "conv1d", (_n(2, 9, 3), _n(3, 3, 4)), {}, (0, 1)),
    ("conv1d_same_s2", "conv1d", (_n(2, 10, 3), _n(4, 3, 2)), {"strides": 2, "padding": "same"}, (0, 1)),
    ("conv1d_causal_dil", "conv1d", (_n(1, 11, 2), _n(3, 2, 2)), {"padding": "causal", "dilation_rate": 2},
     (0, 1)),
    ("conv1d_cf", "conv1d", (_n(2, 3, 8), _n(3, 3, 2)), {"data_format": "channels_first", "padding": "same"},
     (0, 1)),
    ("conv2d_same_s2_odd", "conv2d", (_n(2, 7, 5, 3), _n(3, 2, 3, 4)), {"strides": (2, 2), "padding": "same"},
     (0, 1)),
    ("conv2d_valid_s3", "conv2d", (_n(1, 8, 9, 2), _n(2, 2, 2, 3)), {"strides": (3, 2)}, (0, 1)),
    ("conv2d_dil", "conv2d", (_n(1, 9, 9, 2), _n(3, 3, 2, 2)), {"dilation_rate": (2, 3), "padding": "same"},
     (0, 1)),
    ("conv2d_cf", "conv2d", (_n(2, 3, 6, 7), _n(3, 3, 3, 2)),
     {"data_format": "channels_first", "padding": "same", "strides": (2, 2)}, (0, 1)),
    ("conv3d_same", "conv3d", (_n(1, 5, 6, 4, 2), _n(3, 2, 3, 2, 3)), {"padding": "same", "strides": (2, 1, 2)},
     (0, 1)),
    ("conv3d_cf", "conv3d", (_n(1, 2, 4, 5, 3), _n(2, 2, 2, 2, 2)), {"data_format": "channels_first"}, (0, 1)),
    ("depthwise_same_s2", "depthwise_conv2d", (_n(2, 7, 6, 3), _n(3, 3, 3, 2)),
     {"strides": (2, 2), "padding": "same"}, (0, 1)),
    ("depthwise_dil", "depthwise_conv2d", (_n(1, 8, 8, 2), _n(3, 3, 2, 1)), {"dilation_rate": (2, 2)}, (0, 1)),
    ("depthwise_cf", "depthwise_conv2d", (_n(1, 2, 6, 5), _n(2, 2, 2, 3)), {"data_format": "channels_first"},
     (0, 1)),
    ("separable_same", "separable_conv2d", (_n(2, 7, 7, 3), _n(3, 3, 3, 2), _n(1, 1, 6, 4)),
     {"padding": "same"}, (0, 1, 2)),
    ("separable_s2_valid", "separable_conv2d", (_n(1, 9, 8, 2), _n(3, 2, 2, 1), _n(1, 1, 2, 3)),
     {"strides": (2, 2)}, (0, 1, 2)),
    ("separable_cf", "separable_conv2d", (_n(1, 2, 6, 6), _n(3, 3, 2, 2), _n(1, 1, 4, 3)),
     {"data_format": "channels_first", "padding": "same"}, (0, 1, 2)),
    ("convT_s2_same", "conv2d_transpose", (_n(2, 3, 4, 3), _n(3, 3, 2, 3), (2, 6, 8, 2)),
     {"strides": (2, 2), "padding": "same"}, (0, 1)),
    ("convT_s2_valid_odd", "conv2d_transpose", (_n(1, 3, 3, 2), _n(3, 3, 2, 2), (1, 7, 7, 2)),
     {"strides": (2, 2), "padding": "valid"}, (0, 1)),
    ("convT_s2_same_odd_out", "conv2d_transpose", (_n(1, 3, 3, 2), _n(2, 2, 1, 2), (1, 5, 5, 1)),
     {"strides": (2, 2), "padding": "same"}, (0, 1)),
    ("convT_dil", "conv2d_transpose", (_n(1, 4, 4, 2), _n(3, 3, 2, 2), (1, 8, 8, 2)),
     {"dilation_rate": (2, 2), "padding": "valid"}, (0, 1)),
    ("convT_cf", "conv2d_transpose", (_n(1, 2, 3, 3), _n(2, 2, 3, 2), (1, 3, 6, 6)),
     {"strides": (2, 2), "padding": "same", "data_format": "channels_first"}, (0, 1)),
    ("pool2d_max_same_s2", "pool2d", (_n(2, 7, 5, 3), (3, 3)), {"strides": (2, 2), "padding": "same"}, (0,)),
    ("pool2d_avg_same_s2", "pool2d", (_n(2, 7, 5, 3), (3, 2)),
     {"strides": (2, 2), "padding": "same", "pool_mode": "avg"}, (0,)),
    ("pool2d_avg_valid", "pool2d", (_n(1, 6, 7, 2), (2, 3)), {"strides": (2, 3), "pool_mode": "avg"}, (0,)),
    ("pool2d_max_ties", "pool2d", (np.ones((1, 4, 4, 1)), (2, 2)), {"strides": (1, 1)}, (0,)),
    ("pool2d_cf", "pool2d", (_n(1, 3, 5, 5), (2, 2)),
     {"strides": (2, 2), "padding": "same", "data_format": "channels_first", "pool_mode": "avg"}, (0,)),
    ("pool3d_max", "pool3d", (_n(1, 5, 4, 5, 2), (2, 2, 2)), {"strides": (2, 2, 2), "padding": "same"}, (0,)),
    ("pool3d_avg_cf", "pool3d", (_n(1, 2, 5, 4, 5), (2, 3, 2)),
     {"strides": (1, 2, 2), "padding": "same", "data_format": "channels_first", "pool_mode": "avg"}, (0,)),
    ("bias_add", "bias_add", (_n(2, 3, 4), _n(4)), {}, (0, 1)),
    ("bias_add_cf", "bias_add", (_n(2, 4, 3, 3), _n(4)), {"data_format": "channels_first"}, (0, 1)),
    ("batchnorm_last", "batch_normalization", (_n(4, 3), _n(3), np.abs(_n(3)), _n(3), _n(3)), {},
     (0, 1, 2, 3, 4)),
    ("batchnorm_axis1", "batch_normalization", (_n(2, 3, 4, 4), _n(1, 3, 1, 1), np.abs(_n(1, 3, 1, 1)),
                                                _n(1, 3, 1, 1), _n(1, 3, 1, 1)), {"axis": 1, "epsilon": 1e-5},
     (0, 1, 2, 3, 4)),
    ("temporal_padding", "temporal_padding", (_n(2, 3, 2),), {"padding": (2, 0)}, (0,)),
    ("spatial_2d_padding", "spatial_2d_padding", (_n(1, 2, 3, 2),), {"padding": ((0, 1), (2, 1))}, (0,)),
    ("spatial_2d_padding_cf", "spatial_2d_padding", (_n(1, 2, 3, 2),),
     {"padding": ((1, 0), (0, 2)), "data_format": "channels_first"}, (0,)),
    ("spatial_3d_padding", "spatial_3d_padding", (_n(1, 2, 2, 2, 1),), {"padding": ((1, 0), (0, 1), (2, 2))},
     (0,)),
    ("resize_nearest", "resize_images", (_n(1, 2, 3, 2), 2, 3, "channels_last"), {}, (0,)),
    ("resize_bilinear", "resize_images", (_n(1, 3, 2, 1), 2, 2, "channels_last"), {"interpolation": "bilinear"},
     (0,)),
    ("resize_cf", "resize_images", (_n(1, 2, 2, 3), 3, 1, "channels_first"), {}, (0,)),
    ("resize_volumes", "resize_volumes", (_n(1, 2, 2, 1, 2), 2, 1, 3, "channels_last"), {}, (0,)),
    ("resize_volumes_cf", "resize_volumes", (_n(1, 2, 2, 1, 2), 1, 2, 2, "channels_first"), {}, (0,)),
]


_CF_VIA_LAST = {"conv1d", "conv2d", "conv3d", "depthwise_conv2d", "separable_conv2d", "conv2d_transpose", "pool2d",
                "pool3d"}
#: TensorFlow has no float64 3-D pooling kernels: these run in float32 only
_F32_ONLY = {"pool3d_max", "pool3d_avg_cf"}


def _layer_run(fname, args, kwargs, wrt, dt):
    args = [_f(a, dt) for a in args]
    with _precision(dt):
        targs = [_to_torch(a) for a in args]
        for i in wrt:
            targs[i] = targs[i].clone().requires_grad_(True)
        out = getattr(TK, fname)(*targs, **kwargs)
        w = np.random.default_rng(2).uniform(0.5, 1.5, size=tuple(out.shape)).astype(dt)
        ours_g = torch.autograd.grad((out * torch.from_numpy(w)).sum(), [targs[i] for i in wrt])
        kargs = [_to_tf(a) for a in args]
        cf = kwargs.get("data_format") == "channels_first" and fname in _CF_VIA_LAST
        with tf.GradientTape() as tape:
            for i in wrt:
                tape.watch(kargs[i])
            if cf:  # TensorFlow's CPU kernels are channels_last only: Keras's figures on the transposed input
                nd = len(args[0].shape)
                to_last, to_first = (0, *range(2, nd), 1), (0, nd - 1, *range(1, nd - 1))
                kw = dict(kwargs, data_format="channels_last")
                ka = [tf.transpose(kargs[0], to_last), *kargs[1:]]
                if fname == "conv2d_transpose":
                    ka[2] = tuple(np.array(ka[2])[list(to_last)])
                kout = tf.transpose(getattr(KK, fname)(*ka, **kw), to_first)
            else:
                kout = getattr(KK, fname)(*kargs, **kwargs)
            ktot = tf.reduce_sum(kout * w)
        ref_g = tape.gradient(ktot, [kargs[i] for i in wrt])
    return out, kout, ours_g, ref_g


def _layer_params():
    out = []
    for case in _LAYER:
        for dt in ("float64", "float32"):
            if case[0] in _F32_ONLY and dt == "float64":
                continue
            marks = [pytest.mark.slow] if dt == "float32" and case[0] not in _F32_ONLY else []
            out.append(pytest.param(*case, dt, id=f"{case[0]}-{dt}", marks=marks))
    return out


@pytest.mark.parametrize("cid,fname,args,kwargs,wrt,dt", _layer_params())
def test_k_layer_op_values_and_gradients(cid, fname, args, kwargs, wrt, dt):
    out, kout, og, rg = _layer_run(fname, args, kwargs, wrt, dt)
    assert tuple(out.shape) == tuple(kout.shape), (tuple(out.shape), tuple(kout.shape))
    assert _dtype(out) == _dtype(kout)
    e = _close(out, kout, dt, cid)
    gdt = "float32" if _dtype(kout) == "float32" else dt  # Keras's float32 bilinear resize of float64 images
    ge = max(_close(o, tf.convert_to_tensor(r), gdt, f"{cid} d/d arg{i}", grad=True) for i, o, r in zip(wrt, og, rg))
    print(f"  {cid} [{dt}]: shape {tuple(out.shape)} value err {e:.1e} gradient err {ge:.1e}")


# --------------------------------------------------------------------------------------------------------------
# 2b. CTC: ctc_batch_cost (values, gradients, inf, errors), ctc_decode (greedy ties, beam search), dense_to_sparse
# --------------------------------------------------------------------------------------------------------------


def _softmax_np(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# (id, N, T, C, labels (padded with junk after the lengths), label lengths, input lengths)
_CTC = [
    ("varied_lengths", 3, 8, 5, [[1, 2, 3, 0], [0, 0, 9, 9], [3, 2, 1, 0]], [4, 2, 1], [8, 6, 3]),
    ("repeats_tight", 2, 6, 4, [[1, 1, 1], [2, 0, 2]], [3, 3], [5, 3]),
    ("single_step", 2, 5, 3, [[1], [0]], [1, 1], [1, 5]),
    ("impossible_repeats_inf", 2, 6, 4, [[1, 1, 1], [2, 0, 2]], [3, 3], [4, 3]),
    ("long_alphabet", 2, 12, 11, [[9, 8, 7, 7, 1], [0, 1, 2, 3, 4]], [5, 5], [12, 10]),
]


def _ctc_inputs(n, t, c, seed):
    return _softmax_np(np.random.default_rng(seed).normal(size=(n, t, c)) * 2).astype(np.float32)


@pytest.mark.parametrize("cid,n,t,c,labels,ll,il", _CTC,
                         ids=[x.values[0] if hasattr(x, "marks") else x[0] for x in _CTC])
def test_ctc_batch_cost_values_gradients_like_keras(cid, n, t, c, labels, ll, il):
    """float32 (TensorFlow's CTC kernel computes in float32): costs rtol 1e-5; gradients norm-wise 1e-5."""
    p = _ctc_inputs(n, t, c, 11)
    y = np.array(labels, np.int32)
    ll_, il_ = np.array(ll, np.int32)[:, None], np.array(il, np.int32)[:, None]
    with _precision("float32"):
        pt = torch.from_numpy(p).requires_grad_(True)
        ours = TK.ctc_batch_cost(torch.from_numpy(y), pt, torch.from_numpy(il_), torch.from_numpy(ll_))
        w = np.random.default_rng(3).uniform(0.5, 1.5, size=(n, 1)).astype(np.float32)
        finite = np.isfinite(ours.detach().numpy())
        (g,) = torch.autograd.grad((ours * torch.from_numpy(w))[torch.from_numpy(finite)].sum(), [pt])
        kp = tf.constant(p)
        with tf.GradientTape() as tape:
            tape.watch(kp)
            ref = KK.ctc_batch_cost(tf.constant(y), kp, tf.constant(il_), tf.constant(ll_))
            ktot = tf.reduce_sum(tf.boolean_mask(ref * w, finite))
        kg = tape.gradient(ktot, kp)
    assert tuple(ours.shape) == tuple(ref.shape) == (n, 1)
    assert _dtype(ours) == _dtype(ref) == "float32"
    o, r = ours.detach().numpy(), ref.numpy()
    assert np.array_equal(np.isinf(o), np.isinf(r)), (o, r)
    np.testing.assert_allclose(o[finite], r[finite], rtol=1e-5)
    # gradients w.r.t. probabilities divide by p + 1e-7: entries at tiny p carry float32 noise on both sides
    # (each 1e-6 norm-wise from a float64 computation), so the figure is norm-wise
    ge = _err(g.numpy(), kg.numpy())
    assert ge <= 1e-5, ge
    print(f"  {cid}: Keras {r.ravel().tolist()} torch_impl {o.ravel().tolist()}; gradient norm-wise {ge:.1e}")


@pytest.mark.parametrize("mode", ["masked", "where0", "all"])
def test_ctc_batch_cost_gradient_of_an_impossible_row_like_tensorflow(mode):
    """Fixed after the audit: a row whose cost is inf (label [1, 1] in 2 steps) had a NaN gradient, even masked
    out of the loss; TensorFlow's is 0 there (masked) or finite (0.99999976 per entry, summed unmasked)."""
    p = np.full((2, 4, 3), 1 / 3, np.float32)  # classes {0, 1, blank}
    y, ll, il = np.array([[1, 1], [0, 1]], np.int32), np.array([[2], [2]], np.int32), np.array([[2], [2]], np.int32)
    pt = torch.from_numpy(p).requires_grad_(True)
    v = TK.ctc_batch_cost(torch.from_numpy(y), pt, torch.from_numpy(il), torch.from_numpy(ll))
    kp = tf.constant(p)
    with tf.GradientTape() as tape:
        tape.watch(kp)
        r = KK.ctc_batch_cost(tf.constant(y), kp, tf.constant(il), tf.constant(ll))
        fin = tf.math.is_finite(r)
        kt = {"masked": lambda: tf.reduce_sum(tf.boolean_mask(r, fin)),
              "where0": lambda: tf.reduce_sum(tf.where(fin, r, 0.0)), "all": lambda: tf.reduce_sum(r)}[mode]()
    kg = tape.gradient(kt, kp).numpy()
    ofin = torch.isfinite(v)
    t = {"masked": lambda: v[ofin].sum(), "where0": lambda: torch.where(ofin, v, torch.zeros_like(v)).sum(),
         "all": lambda: v.sum()}[mode]()
    (g,) = torch.autograd.grad(t, [pt])
    print(f"  {mode}: costs Keras {r.numpy().ravel().tolist()} ours {v.detach().numpy().ravel().tolist()}; "
          f"row-0 gradient Keras {kg[0, 0].tolist()} ours {g.numpy()[0, 0].tolist()}")
    assert np.isinf(r.numpy()[0, 0]) and torch.isinf(v[0, 0])
    np.testing.assert_allclose(g.numpy(), kg, rtol=1e-5, atol=1e-6)


def test_ctc_batch_cost_float64_close_to_keras_float32_kernel():
    """float64 in: Keras's TensorFlow kernel is float32 inside; ours is float64 (README: 8.7e-10 / 1.2e-4 apart
    against an exact oracle). Same dtype out, costs within 1e-6 relative."""
    p = _ctc_inputs(2, 7, 4, 4).astype(np.float64)
    y, il, ll = np.array([[1, 2, 1], [0, 0, 0]]), np.array([[7], [6]]), np.array([[3], [2]])
    with _precision("float64"):
        ours = TK.ctc_batch_cost(torch.from_numpy(y), torch.from_numpy(p), torch.from_numpy(il), torch.from_numpy(ll))
        ref = KK.ctc_batch_cost(tf.constant(y), tf.constant(p), tf.constant(il), tf.constant(ll))
    assert _dtype(ours) == _dtype(ref) == "float64"
    e = _rel_err(ours.numpy(), ref.numpy())
    print(f"  float64: Keras {ref.numpy().ravel().tolist()} ours {ours.numpy().ravel().tolist()} rel {e:.1e}")
    assert e <= 1e-6


def _rel_err(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - b) / np.abs(b)))


_CTC_BAD = [
    ("zero_label_length", [[1, 2]], [0], [4]),
    ("label_longer_than_input", [[1, 2, 0]], [3], [2]),
    ("blank_then_label", [[3, 1]], [2], [4]),
    ("over_blank_then_label", [[5, 1]], [2], [4]),
    ("negative_label", [[1, -1]], [2], [4]),
    ("input_length_over_T", [[1, 2]], [2], [6]),
]


@pytest.mark.parametrize("cid,labels,ll,il", _CTC_BAD, ids=[x[0] for x in _CTC_BAD])
def test_ctc_batch_cost_errors_like_keras(cid, labels, ll, il):
    p = _ctc_inputs(1, 5, 4, 2)
    y = np.array(labels, np.int32)
    ll_, il_ = np.array(ll, np.int32)[:, None], np.array(il, np.int32)[:, None]
    with pytest.raises(Exception) as kexc:
        KK.ctc_batch_cost(tf.constant(y), tf.constant(p), tf.constant(il_), tf.constant(ll_))
    with pytest.raises(ValueError) as oexc:
        TK.ctc_batch_cost(torch.from_numpy(y), torch.from_numpy(p), torch.from_numpy(il_), torch.from_numpy(ll_))
    print(f"  {cid}: Keras {type(kexc.value).__name__}; torch_impl ValueError: {str(oexc.value)[:90]}")


def test_ctc_batch_cost_trailing_blank_label_costs_like_keras():
    """Fixed after the audit: a blank (or larger) label at the END of a labelling ends it, as in TensorFlow
    (``[1, 3]`` over 4 classes costs what ``[1]`` costs); it raised. A row of null labels only is the README's
    deliberate difference (TensorFlow reads outside its path table; ours costs the all-blank path)."""
    p = np.random.default_rng(0).dirichlet(np.ones(4), size=(2, 5)).astype(np.float32)
    y, ll, il = np.array([[1, 3], [3, 3]], np.int32), np.array([[2], [2]], np.int32), np.array([[5], [5]], np.int32)
    ref = KK.ctc_batch_cost(tf.constant(y), tf.constant(p), tf.constant(il), tf.constant(ll)).numpy()
    print(f"  Keras: {ref.ravel().tolist()} (finite, no error)")
    ours = TK.ctc_batch_cost(torch.from_numpy(y), torch.from_numpy(p), torch.from_numpy(il), torch.from_numpy(ll))
    np.testing.assert_allclose(ours.numpy()[0], ref[0], rtol=1e-5)
    blank_path = -torch.log_softmax(torch.log(torch.from_numpy(p[1]) + 1e-7), -1)[:, 3].sum()
    np.testing.assert_allclose(ours.numpy()[1, 0], blank_path.item(), rtol=1e-6)


def _decode_cases():
    rng = np.random.default_rng(7)
    cases = []
    # greedy ties: equal maxima at a step (first maximum wins), repeats around blanks, input lengths < T
    tie = np.array([[[0.4, 0.4, 0.2], [0.4, 0.4, 0.2], [0.2, 0.2, 0.6], [0.3, 0.3, 0.4], [0.45, 0.1, 0.45]],
                    [[0.1, 0.1, 0.8], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [1 / 3, 1 / 3, 1 / 3], [0.0, 0.0, 1.0]]],
                   np.float32)
    cases.append(("greedy_ties", tie, [5, 4], True, 100, 1))
    cases.append(("beam_ties", tie, [5, 5], False, 3, 2))
    p = _softmax_np(rng.normal(size=(3, 9, 5)) * 1.5).astype(np.float32)
    cases.append(("greedy_random", p, [9, 4, 1], True, 100, 1))
    cases.append(("beam_w1", p, [9, 7, 3], False, 1, 1))
    cases.append(("beam_w4_top3", p, [9, 8, 2], False, 4, 3))
    cases.append(("beam_w20_top5", p, [9, 9, 9], False, 20, 5))
    rep = np.zeros((1, 6, 4), np.float32)
    rep[0, :, :] = [[0.1, 0.7, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7], [0.1, 0.7, 0.1, 0.1],
                    [0.1, 0.1, 0.6, 0.2], [0.1, 0.1, 0.6, 0.2]]
    cases.append(("greedy_repeats_blank", rep, [6], True, 100, 1))
    cases.append(("beam_repeats_blank", rep, [6], False, 10, 3))
    return cases


_DECODE = _decode_cases()


@pytest.mark.parametrize("cid,p,lens,greedy,bw,top", _DECODE, ids=[c[0] for c in _DECODE])
def test_ctc_decode_paths_and_scores_like_keras(cid, p, lens, greedy, bw, top):
    ln = np.array(lens, np.int32)
    with _precision("float32"):
        kd, klp = KK.ctc_decode(tf.constant(p), tf.constant(ln), greedy=greedy, beam_width=bw, top_paths=top)
        od, olp = TK.ctc_decode(torch.from_numpy(p), torch.from_numpy(ln), greedy=greedy, beam_width=bw,
                                top_paths=top)
    assert len(od) == len(kd) == top
    for i, (o, k) in enumerate(zip(od, kd)):
        k = k.numpy()
        assert tuple(o.shape) == k.shape, (i, tuple(o.shape), k.shape)
        assert np.array_equal(o.numpy(), k), (i, o.numpy(), k)
    assert tuple(olp.shape) == tuple(klp.shape)
    np.testing.assert_allclose(olp.numpy(), klp.numpy(), rtol=1e-5, atol=1e-6)
    print(f"  {cid}: paths {[k.numpy().tolist() for k in kd]} equal; log_prob Keras "
          f"{np.round(klp.numpy(), 6).tolist()} max diff {np.max(np.abs(olp.numpy() - klp.numpy())):.1e}")


def test_ctc_label_dense_to_sparse_like_keras():
    labels = np.array([[3, 1, 2, 0], [4, 0, 0, 0], [1, 1, 1, 5]], np.int32)
    lengths = np.array([3, 1, 4], np.int32)
    k = KK.ctc_label_dense_to_sparse(tf.constant(labels), tf.constant(lengths))
    o = TK.ctc_label_dense_to_sparse(torch.from_numpy(labels), torch.from_numpy(lengths))
    o = o.coalesce() if o.is_sparse else o
    oi = o.indices().numpy().T if o.is_sparse else None
    assert np.array_equal(oi, k.indices.numpy()), (oi, k.indices.numpy())
    assert np.array_equal(o.values().numpy(), k.values.numpy())
    assert tuple(o.shape) == tuple(k.dense_shape.numpy())
    print(f"  indices {k.indices.numpy().tolist()} values {k.values.numpy().tolist()} shape {tuple(o.shape)}: equal")


# --------------------------------------------------------------------------------------------------------------
# 3. losses / metrics serialize, deserialize, get(dict): JSON round trips against Keras's own dicts
# --------------------------------------------------------------------------------------------------------------

from torch_impl import losses as tlosses  # noqa: E402
from torch_impl import metrics as tmetrics  # noqa: E402

_S = np.random.default_rng(9)
_YB = (_S.uniform(size=(6, 3)) > 0.5).astype(np.float64)
_PB = _S.uniform(0.05, 0.95, size=(6, 3))
_YC = np.eye(3)[_S.integers(0, 3, size=6)]
_PC = _softmax_np(_S.normal(size=(6, 3)))
_YS = _S.integers(0, 3, size=(6,))
_YR = _S.normal(size=(6, 3))
_YPOS = _S.uniform(0.5, 2.0, size=(6, 3))

_DATA = {"b": (_YB, _PB), "c": (_YC, _PC), "s": (_YS, _PC), "r": (_YR, _YPOS), "p": (_YPOS, _PC + 0.1),
         "l": (_YB, _YR), "h": (2 * _YB - 1, _YR)}

# (class name, kwargs, data kind)
_LOSS_CFGS = [
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1, "reduction": "sum"}, "l"),
    ("BinaryCrossentropy", {"axis": 0, "name": "bce_axis0"}, "b"),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.3, "gamma": 3.0}, "b"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2, "reduction": "sum_over_batch_size"}, "c"),
    ("CategoricalFocalCrossentropy", {"alpha": 0.5, "gamma": 1.5, "label_smoothing": 0.05}, "c"),
    ("SparseCategoricalCrossentropy", {"ignore_class": 1, "reduction": "mean"}, "s"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "s"),
    ("MeanSquaredError", {"reduction": "none"}, "r"),
    ("MeanAbsoluteError", {"name": "mae_loss", "reduction": "sum"}, "r"),
    ("MeanAbsolutePercentageError", {}, "r"),
    ("MeanSquaredLogarithmicError", {}, "p"),
    ("Huber", {"delta": 0.5}, "r"),
    ("LogCosh", {}, "r"),
    ("KLDivergence", {}, "p"),
    ("Poisson", {"reduction": None}, "p"),
    ("Hinge", {}, "h"),
    ("SquaredHinge", {}, "h"),
    ("CategoricalHinge", {}, "c"),
    ("CosineSimilarity", {"axis": 0}, "r"),
    ("Tversky", {"alpha": 0.3, "beta": 0.3}, "b"),  # alpha != beta computes Keras's fix (#23333) here, not 3.15.1's
    ("Dice", {"axis": (1,)}, "b"),
]


def _json(d):
    return json.loads(json.dumps(d))


def _loss_value(fn, kind, torch_side: bool):
    yt, yp = _DATA[kind]
    if torch_side:
        return _np(fn(torch.from_numpy(np.array(yt)), torch.from_numpy(yp)))
    return _np(fn(tf.constant(yt), tf.constant(yp)))


@pytest.mark.parametrize("cls,kw,kind", _LOSS_CFGS, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(_LOSS_CFGS)])
def test_loss_serialize_round_trips_like_keras(cls, kw, kind):
    with _precision("float64"):
        kl = getattr(keras.losses, cls)(**kw)
        ol = getattr(tlosses, cls)(**kw)
        kd, od = _json(keras.losses.serialize(kl)), _json(tlosses.serialize(ol))
        # our dict has Keras's keys and values; the documented extras (axis / delta Keras 3.15.1 drops) only
        extra = set(od["config"]) - set(kd["config"])
        assert extra <= {"axis", "delta"}, extra
        assert {k: v for k, v in od.items() if k != "config"} == {k: v for k, v in kd.items() if k != "config"}
        assert {k: od["config"][k] for k in kd["config"]} == kd["config"], (od, kd)
        ref = _loss_value(kl, kind, False)
        # Keras's own round trip is lossy where its config drops delta / axis: ours reads Keras's dict as Keras does
        kref = _loss_value(keras.losses.deserialize(kd), kind, False)
        vals = {
            "ours(deserialize(Keras's dict))": (_loss_value(tlosses.deserialize(kd), kind, True), kref),
            "ours(get(Keras's dict))": (_loss_value(tlosses.get(kd), kind, True), kref),
            "ours(deserialize(our dict))": (_loss_value(tlosses.deserialize(od), kind, True), ref),
            "Keras(deserialize(our dict))": (_loss_value(keras.losses.deserialize(od), kind, False), ref),
        }
    errs = {k: _close(v, r, "float64", f"{cls} {k}") for k, (v, r) in vals.items()}
    print(f"  {cls} {kw}: dicts agree; value {np.round(ref, 6).ravel()[:4].tolist()}; errors "
          f"{max(errs.values()):.1e}")


@pytest.mark.parametrize("name", ["mean_squared_error", "binary_crossentropy", "huber", "log_cosh",
                                  "categorical_hinge", "kl_divergence", "poisson", "squared_hinge"])
def test_loss_function_serialize_like_keras(name):
    kd = _json(keras.losses.serialize(getattr(keras.losses, name)))
    od = _json(tlosses.serialize(getattr(tlosses, name)))
    assert od == kd, (od, kd)
    with _precision("float64"):
        fn = tlosses.deserialize(kd)
        kind = {"categorical_hinge": "c", "kl_divergence": "p", "poisson": "p", "squared_hinge": "h"}.get(name, "b")
        e = _close(_loss_value(fn, kind, True), _loss_value(keras.losses.deserialize(kd), kind, False), "float64",
                   name)
    print(f"  {name}: {od}; value err {e:.1e}")


@pytest.mark.parametrize("ident", ["foo", "mse", "bce", "CategoricalCrossentropy", {"class_name": "Nope",
                                                                                     "config": {}}])
def test_loss_deserialize_and_get_names_like_keras(ident):
    """deserialize/get of names and unknown dicts: Keras's result kind or Keras's exception class."""
    def outcome(mod):
        res = {}
        for f in ("deserialize", "get"):
            try:
                r = getattr(mod, f)(ident)
                res[f] = ("str", r) if isinstance(r, str) else ("obj", type(r).__name__ if not callable(r) or
                                                                 hasattr(r, "get_config") else r.__name__)
            except Exception as exc:  # noqa: BLE001
                res[f] = ("raises", type(exc).__name__)
        return res
    k, o = outcome(keras.losses), outcome(tlosses)
    print(f"  {ident!r}: Keras {k}; torch_impl {o}")
    assert o == k


_METRIC_CFGS = [
    ("AUC", {"curve": "PR", "num_thresholds": 50}, "b"),
    ("AUC", {"multi_label": True, "summation_method": "minoring", "name": "auc_ml"}, "b"),
    ("Precision", {"thresholds": [0.3, 0.6]}, "b"),
    ("Recall", {"top_k": 2}, "b"),
    ("BinaryAccuracy", {"threshold": 0.3}, "b"),
    ("CategoricalAccuracy", {}, "c"),
    ("SparseCategoricalAccuracy", {"name": "acc"}, "s"),
    ("TopKCategoricalAccuracy", {"k": 2}, "c"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "s"),
    ("F1Score", {"average": "macro", "threshold": 0.4}, "b"),
    ("FBetaScore", {"beta": 2.0, "average": "weighted"}, "b"),
    ("MeanIoU", {"num_classes": 3}, "si"),
    ("IoU", {"num_classes": 3, "target_class_ids": [0, 2]}, "si"),
    ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.4}, "b"),
    ("R2Score", {"class_aggregation": "variance_weighted_average"}, "r"),
    ("CosineSimilarity", {"axis": 0}, "r"),
    ("RootMeanSquaredError", {}, "r"),
    ("MeanAbsoluteError", {}, "r"),
    ("LogCoshError", {}, "r"),
    ("SensitivityAtSpecificity", {"specificity": 0.5, "num_thresholds": 20}, "b"),
    ("PrecisionAtRecall", {"recall": 0.4}, "b"),
    ("TruePositives", {"thresholds": 0.7}, "b"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "l"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "c"),
    ("KLDivergence", {}, "p"),
]


@pytest.mark.parametrize("cls,kw,kind", _METRIC_CFGS, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(_METRIC_CFGS)])
def test_metric_serialize_round_trips_like_keras(cls, kw, kind):
    with _precision("float64"):
        km = getattr(keras.metrics, cls)(**kw)
        om = getattr(tmetrics, cls)(**kw)
        kd, od = _json(keras.metrics.serialize(km)), _json(tmetrics.serialize(om))
        # the one difference: CosineSimilarity's axis, which Keras's get_config drops (as the loss's, README)
        extra = set(od["config"]) - set(kd["config"])
        assert extra <= ({"axis"} if cls == "CosineSimilarity" else set()), extra
        assert {k: v for k, v in od.items() if k != "config"} == {k: v for k, v in kd.items() if k != "config"}
        # Keras numbers default names per process ("auc_3" after three AUCs, under xdist too): compared when given
        same = [k for k in kd["config"] if k != "name" or "name" in kw]
        assert {k: od["config"][k] for k in same} == {k: kd["config"][k] for k in same}, (od, kd)
        if kind == "si":
            yt, yp = _YS, np.array([0, 1, 1, 2, 0, 2])[_S.permutation(6)]
        else:
            yt, yp = _DATA[kind]
        if "TopK" in cls:  # TensorFlow's in_top_k takes float32 predictions only
            yp = yp.astype(np.float32)
        km.update_state(tf.constant(np.array(yt)), tf.constant(yp))
        ref = _np(km.result())
        vals = {}
        for label, m in (("deserialize(Keras)", tmetrics.deserialize(kd)), ("get(Keras)", tmetrics.get(kd))):
            m.update_state(torch.from_numpy(np.array(yt)), torch.from_numpy(np.array(yp)))
            vals[label + "_v"] = m.result()
        km2, om2 = keras.metrics.deserialize(od), keras.metrics.deserialize(kd)
        km2.update_state(tf.constant(np.array(yt)), tf.constant(yp))
        om2.update_state(tf.constant(np.array(yt)), tf.constant(yp))
        ref2 = ref if cls != "CosineSimilarity" else _np(om2.result())  # Keras's lossy round trip
        vals["Keras(deserialize(ours))"] = _close(km2.result(), ref, "float64", f"{cls} Keras(ours)")
        for label in ("deserialize(Keras)", "get(Keras)"):
            vals[label] = _close(vals.pop(label + "_v"), ref2, "float64", f"{cls} {label}")
    print(f"  {cls} {kw}: dicts equal; result {np.round(ref, 6).ravel()[:3].tolist()}; max err "
          f"{max(vals.values()):.1e}")


# --------------------------------------------------------------------------------------------------------------
# 4. evaluate / predict callbacks: hooks, params, logs, stop_evaluating / stop_predicting
# --------------------------------------------------------------------------------------------------------------

from keras import layers  # noqa: E402

from torch_impl import callbacks as tcb  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402


def _logs_np(logs):
    if logs is None:
        return None
    out = {}
    for k, v in logs.items():
        if isinstance(v, (list, tuple)):
            out[k] = [np.asarray(_np(x), np.float64) for x in v]
        else:
            out[k] = np.asarray(_np(v), np.float64)
    return out


def _recorder(base, stop_at=None, stop_attr=None):
    class Rec(base):
        def __init__(self):
            super().__init__()
            self.calls = []

        def _rec(self, hook, batch=None, logs=None):
            self.calls.append((hook, batch, _logs_np(logs)))

    for hook in ("on_test_begin", "on_test_end", "on_predict_begin", "on_predict_end"):
        setattr(Rec, hook, (lambda h: lambda self, logs=None: self._rec(h, None, logs))(hook))
    for hook in ("on_test_batch_begin", "on_predict_batch_begin"):
        setattr(Rec, hook, (lambda h: lambda self, batch, logs=None: self._rec(h, batch, logs))(hook))

    def end(hook):
        def f(self, batch, logs=None):
            self._rec(hook, batch, logs)
            if stop_at is not None and batch == stop_at:
                setattr(self.model, stop_attr, True)
        return f

    Rec.on_test_batch_end = end("on_test_batch_end")
    Rec.on_predict_batch_end = end("on_predict_batch_end")
    return Rec()


def _compare_calls(ours, ref, what):
    assert [(h, b) for h, b, _ in ours] == [(h, b) for h, b, _ in ref], (what, ours, ref)
    worst = 0.0
    for (h, b, ol), (_, _, kl) in zip(ours, ref):
        if kl is None or not kl:
            assert not ol, (what, h, b, ol)
            continue
        assert sorted(ol) == sorted(kl), (what, h, b, sorted(ol), sorted(kl))
        for k in kl:
            ov, kv = ol[k], kl[k]
            if isinstance(kv, list):
                assert isinstance(ov, list) and len(ov) == len(kv), (what, h, k)
                worst = max([worst] + [_close(o, r, "float64", f"{what} {h} {b} {k}") for o, r in zip(ov, kv)])
            else:
                worst = max(worst, _close(ov, kv, "float64", f"{what} {h} {b} {k}"))
    return worst


def _two_head_keras(seed=3):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((4,))
    h = layers.Dense(5, activation="tanh", name="h")(inp)
    out = [layers.Dense(3, activation="softmax", name="cls")(h), layers.Dense(1, name="reg")(h)]
    model = keras.Model(inp, out)
    model.compile("sgd", loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
                  metrics=[["accuracy"], ["mae"]])
    return model


class _TwoHead(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        w = [torch.from_numpy(np.array(v)) for v in model.get_weights()]
        self.h, self.cls, self.reg = (torch.nn.Linear(*w[i].shape) for i in (0, 2, 4))
        with torch.no_grad():
            for lin, i in ((self.h, 0), (self.cls, 2), (self.reg, 4)):
                lin.weight.copy_(w[i].T)
                lin.bias.copy_(w[i + 1])

    def forward(self, x):
        z = torch.tanh(self.h(x))
        return [self.cls(z), self.reg(z)]


_TWO_KW = dict(loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
               metrics=[["accuracy"], ["mae"]], output_activation=["softmax", None], output_names=["cls", "reg"])


def _two_head_data(n=20, seed=4):
    r = np.random.default_rng(seed)
    return r.normal(size=(n, 4)), r.integers(0, 3, size=n), r.normal(size=(n, 1))


@pytest.mark.parametrize("stop_at", [None, 1], ids=["full", "stop_evaluating_at_1"])
def test_evaluate_callbacks_multi_output_like_keras(stop_at):
    x, yc, yr = _two_head_data()
    with _precision("float64"):
        model = _two_head_keras()
        net = _TwoHead(model)
        kc = _recorder(keras.callbacks.Callback, stop_at, "stop_evaluating")
        kres = model.evaluate(x, [yc, yr], batch_size=7, callbacks=[kc], verbose=0, return_dict=True)
        oc = _recorder(tcb.Callback, stop_at, "stop_evaluating")
        ores = tfit.evaluate(net, x, [yc, yr], batch_size=7, callbacks=[oc], verbose=0, **_TWO_KW)
    e = _compare_calls(oc.calls, kc.calls, "evaluate")
    assert oc.params == kc.params, (oc.params, kc.params)
    assert sorted(ores) == sorted(kres)
    r = max(_close(ores[k], kres[k], "float64", f"result {k}") for k in kres)
    print(f"  stop_at={stop_at}: {len(kc.calls)} hook calls equal, params {kc.params}; logs err {e:.1e}; "
          f"results {dict((k, round(float(v), 6)) for k, v in kres.items())} err {r:.1e}")


@pytest.mark.parametrize("stop_at", [None, 0, 2], ids=["full", "stop_predicting_at_0", "stop_predicting_at_2"])
def test_predict_callbacks_multi_output_like_keras(stop_at):
    x, _, _ = _two_head_data(n=17)
    with _precision("float64"):
        model = _two_head_keras()
        net = _TwoHead(model)
        kc = _recorder(keras.callbacks.Callback, stop_at, "stop_predicting")
        kout = model.predict(x, batch_size=5, callbacks=[kc], verbose=0)
        oc = _recorder(tcb.Callback, stop_at, "stop_predicting")
        oout = tfit.predict(net, x, batch_size=5, callbacks=[oc], output_activation=["softmax", None],
                            output_names=["cls", "reg"], verbose=0)
    e = _compare_calls(oc.calls, kc.calls, "predict")
    assert oc.params == kc.params, (oc.params, kc.params)
    assert len(oout) == len(kout) == 2
    r = max(_close(o, k, "float64", "outputs") for o, k in zip(oout, kout))
    print(f"  stop_at={stop_at}: {len(kc.calls)} hook calls equal, params {kc.params}; batch outputs err {e:.1e}; "
          f"returned shapes {[k.shape for k in kout]} err {r:.1e}")


def _gen(x, y, bs):
    for i in range(0, len(x), bs):
        yield x[i:i + bs], y[i:i + bs]


@pytest.mark.parametrize("steps", [None, 2])
def test_evaluate_and_predict_callbacks_on_generators_like_keras(steps):
    r = np.random.default_rng(6)
    x, y = r.normal(size=(22, 4)), r.integers(0, 3, size=22)
    with _precision("float64"):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="softmax")])
        model.compile("sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        k, b = (torch.from_numpy(np.array(v)) for v in model.get_weights())
        net = torch.nn.Linear(4, 3)
        with torch.no_grad():
            net.weight.copy_(k.T)
            net.bias.copy_(b)
        kc, oc = _recorder(keras.callbacks.Callback), _recorder(tcb.Callback)
        kres = model.evaluate(_gen(x, y, 6), steps=steps, callbacks=[kc], verbose=0, return_dict=True)
        ores = tfit.evaluate(net, _gen(x, y, 6), steps=steps, callbacks=[oc], loss="sparse_categorical_crossentropy",
                             metrics=["accuracy"], output_activation="softmax", verbose=0)
        kpc, opc = _recorder(keras.callbacks.Callback), _recorder(tcb.Callback)
        kp = model.predict(_gen(x, y, 6), steps=steps, callbacks=[kpc], verbose=0)
        op = tfit.predict(net, _gen(x, y, 6), steps=steps, callbacks=[opc], output_activation="softmax", verbose=0)
    e1 = _compare_calls(oc.calls, kc.calls, "evaluate gen")
    e2 = _compare_calls(opc.calls, kpc.calls, "predict gen")
    assert oc.params == kc.params and opc.params == kpc.params, (oc.params, kc.params, opc.params, kpc.params)
    r1 = max(_close(ores[key], kres[key], "float64", key) for key in kres)
    r2 = _close(op, kp, "float64", "predict")
    print(f"  steps={steps}: evaluate {len(kc.calls)} hooks, params {kc.params}, logs {e1:.1e}, results {r1:.1e}; "
          f"predict {len(kpc.calls)} hooks, params {kpc.params}, logs {e2:.1e}, outputs {r2:.1e}")


# --------------------------------------------------------------------------------------------------------------
# 5. timeseries_dataset_from_array; initializers.Constant with NumPy values
# --------------------------------------------------------------------------------------------------------------

from torch_impl import initializers as tinit  # noqa: E402
from torch_impl import utils as tutils  # noqa: E402

_TS = [
    # (id, data shape / dtype, targets kind, kwargs)
    ("basic", (20,), "float64", "same", {"sequence_length": 4, "batch_size": 3}),
    ("stride_rate", (31, 2), "float32", "same", {"sequence_length": 5, "sequence_stride": 3, "sampling_rate": 2,
                                                   "batch_size": 4}),
    ("no_targets", (15, 3), "float64", None, {"sequence_length": 3, "sequence_stride": 2, "batch_size": 5}),
    ("start_end", (40,), "int32", "same", {"sequence_length": 6, "start_index": 5, "end_index": 30,
                                           "batch_size": 7}),
    ("batch_none", (12, 2), "float64", "same", {"sequence_length": 4, "batch_size": None}),
    ("one_window", (5,), "int64", "same", {"sequence_length": 5, "batch_size": 8}),
    ("shifted_targets", (30, 2), "float32", "shift", {"sequence_length": 7, "sampling_rate": 3, "batch_size": 2}),
    ("big_batch", (25,), "float64", "same", {"sequence_length": 2, "sequence_stride": 5, "batch_size": 128}),
    ("end_only", (50, 1), "float64", "same", {"sequence_length": 4, "sequence_stride": 4, "end_index": 23,
                                               "batch_size": 3}),
]


def _ts_data(shape, dtype, tkind):
    data = (np.arange(np.prod(shape)).reshape(shape) * 1.5).astype(dtype)
    if tkind is None:
        return data, None
    t = np.arange(shape[0]) * 10 if tkind == "same" else np.arange(shape[0] + 5)[5:] - 0.5
    return data, t


def _batches(ds):
    out = []
    for b in ds:
        b = b if isinstance(b, (tuple, list)) else (b,)
        out.append(tuple(_np(t) for t in b))
    return out


@pytest.mark.parametrize("cid,shape,dtype,tkind,kw", _TS, ids=[t[0] for t in _TS])
def test_timeseries_dataset_batches_like_keras(cid, shape, dtype, tkind, kw):
    data, targets = _ts_data(shape, dtype, tkind)
    kb = _batches(keras.utils.timeseries_dataset_from_array(data, targets, **kw))
    ob = _batches(tutils.timeseries_dataset_from_array(data, targets, **kw))
    assert len(ob) == len(kb), (len(ob), len(kb))
    for i, (o, k) in enumerate(zip(ob, kb)):
        assert len(o) == len(k), (i, len(o), len(k))
        for a, b in zip(o, k):
            assert a.shape == b.shape and a.dtype == b.dtype, (i, a.shape, b.shape, a.dtype, b.dtype)
            assert np.array_equal(a, b), (i, a, b)
    print(f"  {cid}: {len(kb)} batches, shapes {[tuple(a.shape for a in b) for b in kb][:2]}..., equal")


_TS_BAD = [
    ("seq_len_0", {"sequence_length": 0}),
    ("stride_0", {"sequence_length": 3, "sequence_stride": 0}),
    ("rate_0", {"sequence_length": 3, "sampling_rate": 0}),
    ("start_neg", {"sequence_length": 3, "start_index": -1}),
    ("start_past", {"sequence_length": 3, "start_index": 20}),
    ("end_past", {"sequence_length": 3, "end_index": 21}),
    ("end_before_start", {"sequence_length": 3, "start_index": 5, "end_index": 5}),
    ("targets_short", {"sequence_length": 3, "_targets": np.arange(7)}),
]


@pytest.mark.parametrize("cid,kw", _TS_BAD, ids=[t[0] for t in _TS_BAD])
def test_timeseries_dataset_errors_like_keras(cid, kw):
    """Keras's ValueErrors; where Keras does not raise (sequence_length=0: 21 empty windows; targets shorter than
    the data: windows only where a target exists) the same batches."""
    kw = dict(kw)
    data = np.arange(20.0)
    targets = kw.pop("_targets", None)
    try:
        kb = _batches(keras.utils.timeseries_dataset_from_array(data, targets, **kw))
    except Exception:  # noqa: BLE001
        kb = None
    if kb is not None:
        ob = _batches(tutils.timeseries_dataset_from_array(data, targets, **kw))
        assert len(ob) == len(kb)
        for o, k in zip(ob, kb):
            assert all(a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(o, k))
        print(f"  {cid}: Keras does not raise: {len(kb)} batches, shapes {[a.shape for a in kb[0]]}; equal")
        return
    with pytest.raises(Exception) as kexc:
        _batches(keras.utils.timeseries_dataset_from_array(data, targets, **kw))
    with pytest.raises(type(kexc.value)) as oexc:
        _batches(tutils.timeseries_dataset_from_array(data, targets, **kw))
    print(f"  {cid}: Keras {type(kexc.value).__name__}: {str(kexc.value)[:70]}; torch_impl "
          f"{type(oexc.value).__name__}")


def test_timeseries_dataset_too_short_for_one_window_like_keras():
    data = np.arange(5.0)
    kb = _batches(keras.utils.timeseries_dataset_from_array(data, None, sequence_length=6, batch_size=2))
    ob = _batches(tutils.timeseries_dataset_from_array(data, None, sequence_length=6, batch_size=2))
    print(f"  Keras {len(kb)} batches; torch_impl {len(ob)}")
    assert len(ob) == len(kb) == 0


_CONST = [
    ("np_log_array", np.log([0.05 / 0.95]), (1,)),
    ("np_scalar", np.float64(0.1), (2, 3)),
    ("np_f32", np.float32(0.1), (3,)),
    ("np_row_bcast", np.array([0.1, 0.2, 0.3]), (2, 3)),
    ("np_int", np.array([1, 2]), (2,)),
    ("py_float", 0.1, (2,)),
    ("py_list", [0.1, 0.7], (3, 2)),
    ("py_int", 3, (2, 2)),
]


@pytest.mark.parametrize("cid,value,shape", _CONST, ids=[c[0] for c in _CONST])
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_constant_initializer_numpy_values_like_keras(cid, value, shape, dt):
    with _precision(dt):
        ref = _np(keras.initializers.Constant(value)(shape, dtype=dt))
        ours = _np(tinit.Constant(value)(shape, dtype=getattr(torch, dt)))
        cfg_k, cfg_o = keras.initializers.Constant(value).get_config(), tinit.Constant(value).get_config()
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    assert np.array_equal(ours, ref), (ours, ref)
    print(f"  {cid} [{dt}]: {ref.ravel()[:3].tolist()} equal bit for bit; configs Keras {cfg_k} ours {cfg_o}")


def test_constant_numpy_get_config_is_kerass_json():
    v = np.log([0.05 / 0.95])
    kc = keras.initializers.Constant(v).get_config()
    print(f"  Keras: {json.dumps(kc)}")
    assert json.loads(json.dumps(tinit.Constant(v).get_config())) == json.loads(json.dumps(kc))


def test_constant_from_kerass_numpy_config():
    v = np.log([0.05 / 0.95])
    kc = json.loads(json.dumps(keras.initializers.Constant(v).get_config()))
    ref = _np(keras.initializers.Constant.from_config(kc)((1,), dtype="float64"))
    print(f"  Keras from_config: {ref.tolist()}")
    ours = _np(tinit.Constant.from_config(kc)((1,), dtype=torch.float64))
    assert np.array_equal(ours, ref)


# --------------------------------------------------------------------------------------------------------------
# 1c. keras_ops: Keras's dtype promotion over dtype pairs and Python scalars; errors; keras.ops-written losses
# --------------------------------------------------------------------------------------------------------------

_PAIR_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
_SCALARS = [True, 2, 1.5]


def _typed(dtype, n=3):
    v = np.array([1, 0, 1][:n]) if dtype == "bool" else np.array([3, 1, 2][:n])
    return v.astype(dtype)


@pytest.mark.parametrize("fname", ["add", "multiply", "subtract", "divide", "maximum", "power", "true_divide",
                                   "floor_divide", "greater", "where", "mod"])
@pytest.mark.parametrize("floatx_", ["float32", "float64"])
def test_keras_ops_result_dtypes_over_dtype_pairs(fname, floatx_):
    """Every dtype pair and dtype x Python scalar: Keras's result dtype (or Keras's error class: then we raise)."""
    checked, raised, mism = 0, 0, []
    others = _PAIR_DTYPES + _SCALARS
    with _precision(floatx_):
        for a in _PAIR_DTYPES:
            for b in others:
                xa = _typed(a)
                xb = _typed(b) if isinstance(b, str) else b
                if fname == "where":
                    kargs = (tf.constant(np.array([True, False, True])), tf.constant(xa), _to_tf(xb))
                    targs = (torch.tensor([True, False, True]), torch.from_numpy(xa), _to_torch(xb))
                else:
                    kargs, targs = (tf.constant(xa), _to_tf(xb)), (torch.from_numpy(xa), _to_torch(xb))
                try:
                    kd = _dtype(getattr(kops, fname)(*kargs))
                except Exception:  # noqa: BLE001
                    kd = None
                try:
                    od = _dtype(getattr(tops, fname)(*targs))
                except Exception:  # noqa: BLE001
                    od = None
                checked += 1
                raised += kd is None
                if fname == "greater" and a == "bool" and b in ("bool", True):
                    continue  # pinned below (test_keras_ops_ordering_comparisons_of_booleans_raise)
                if od != kd:
                    mism.append((a, b, kd, od))
    print(f"  {fname} floatx={floatx_}: {checked} pairs, Keras raised on {raised}; mismatches {mism[:6]}")
    assert not mism, mism


@pytest.mark.parametrize("fname", ["greater", "greater_equal", "less", "less_equal"])
def test_keras_ops_ordering_comparisons_of_booleans_raise(fname):
    a, b = np.array([True, False]), np.array([False, False])
    with pytest.raises(tf.errors.InvalidArgumentError):
        getattr(kops, fname)(tf.constant(a), tf.constant(b))
    with pytest.raises(TypeError) as err:
        getattr(tops, fname)(torch.from_numpy(a), torch.from_numpy(b))
    print(f"  Keras raises; torch_impl raises TypeError: {err.value}")


_ERRS = [
    ("add_bad_broadcast", "add", (np.ones((2, 3)), np.ones((4,))), {}),
    ("matmul_bad", "matmul", (np.ones((2, 3)), np.ones((2, 3))), {}),
    ("reshape_bad", "reshape", (np.ones((2, 3)),), {"newshape": (4, 2)}),
    ("concat_bad", "concatenate", ([np.ones((2, 3)), np.ones((2, 4))],), {"axis": 0}),
    ("sum_axis_oob", "sum", (np.ones((2, 3)),), {"axis": 2}),
    ("squeeze_non1", "squeeze", (np.ones((2, 3)),), {"axis": 0}),
    ("softmax_axis_oob", "softmax", (np.ones((2, 3)),), {"axis": 3}),
    ("split_uneven", "split", (np.ones((2, 3)), 2), {"axis": 1}),
]


@pytest.mark.parametrize("cid,name,args,kwargs", _ERRS, ids=[e[0] for e in _ERRS])
def test_keras_ops_errors_like_keras(cid, name, args, kwargs):
    with _precision("float64"):
        with pytest.raises(Exception) as kexc:
            _ref_op(name, args, kwargs, "float64")
        with pytest.raises(Exception) as oexc:
            _ours_op(name, args, kwargs, "float64")
    print(f"  {cid}: Keras {type(kexc.value).__name__}; torch_impl {type(oexc.value).__name__}: "
          f"{str(oexc.value)[:70]}")


def _field_losses(ops):
    def contrastive(y, d, margin=1.0):
        return ops.mean((1 - y) * ops.square(d) + y * ops.square(ops.maximum(margin - d, 0.0)))

    def triplet(a, p, n, margin=0.5):
        dp = ops.sum(ops.square(a - p), axis=-1)
        dn = ops.sum(ops.square(a - n), axis=-1)
        return ops.mean(ops.maximum(dp - dn + margin, 0.0))

    def dice(y, p, smooth=1e-6):
        inter = ops.sum(y * p, axis=(1, 2))
        union = ops.sum(y, axis=(1, 2)) + ops.sum(p, axis=(1, 2))
        return 1 - ops.mean((2 * inter + smooth) / (union + smooth))

    def vae_kl(mu, logvar):
        return ops.mean(-0.5 * ops.sum(1 + logvar - ops.square(mu) - ops.exp(logvar), axis=1))

    def focal(y, p, gamma=2.0, alpha=0.25):
        p = ops.clip(p, 1e-7, 1 - 1e-7)
        pt = ops.where(ops.equal(y, 1), p, 1 - p)
        return ops.mean(-alpha * ops.power(1 - pt, gamma) * ops.log(pt))

    def huberish(y, p):
        err = ops.abs(y - p)
        return ops.mean(ops.where(err < 1.0, 0.5 * ops.square(err), err - 0.5))

    def cosine_margin(a, b):
        na, nb = ops.normalize(a, axis=-1), ops.normalize(b, axis=-1)
        return ops.mean(ops.relu(0.2 - ops.sum(na * nb, axis=-1)))

    def sparse_ce_with_logsumexp(labels, logits):
        picked = ops.take_along_axis(logits, ops.expand_dims(labels, -1), axis=-1)[:, 0]
        return ops.mean(ops.logsumexp(logits, axis=-1) - picked)

    return {"contrastive": contrastive, "triplet": triplet, "dice": dice, "vae_kl": vae_kl, "focal": focal,
            "huberish": huberish, "cosine_margin": cosine_margin, "sparse_ce_lse": sparse_ce_with_logsumexp}


def _field_inputs(name):
    r = np.random.default_rng(21)
    if name == "contrastive":  # distances exactly at the margin included
        return [(r.uniform(size=8) > 0.5).astype(np.float64), np.array([0.2, 1.0, 1.0, 0.0, 1.4, 0.7, 1.0, 0.3])], (1,)
    if name == "triplet":
        a = r.normal(size=(5, 3))
        return [a, a + 0.1, a + np.array([[0.1, 0.0, 0.0]] * 5)], (0, 1, 2)  # some at the margin
    if name == "dice":
        return [(r.uniform(size=(2, 4, 4)) > 0.5).astype(np.float64), r.uniform(size=(2, 4, 4))], (1,)
    if name == "vae_kl":
        return [r.normal(size=(4, 3)), r.normal(size=(4, 3))], (0, 1)
    if name == "focal":
        return [np.array([1.0, 0.0, 1.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.9, 0.2, 1.0])], (1,)
    if name == "huberish":
        return [np.zeros(6), np.array([-2.0, -1.0, -0.5, 0.0, 1.0, 3.0])], (1,)
    if name == "cosine_margin":
        return [r.normal(size=(4, 3)), np.vstack([r.normal(size=(3, 3)), np.zeros((1, 3))])], (0, 1)
    return [np.array([0, 2, 1, 1]), r.normal(size=(4, 3))], (1,)


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", list(_field_losses(kops)))
def test_keras_ops_field_losses_values_and_gradients(name, dt):
    args, wrt = _field_inputs(name)
    args = [_f(a, dt) for a in args]
    with _precision(dt):
        targs = [_to_torch(a) for a in args]
        for i in wrt:
            targs[i] = targs[i].clone().requires_grad_(True)
        ours = _field_losses(tops)[name](*targs)
        og = torch.autograd.grad(ours, [targs[i] for i in wrt])
        kargs = [_to_tf(a) for a in args]
        with tf.GradientTape() as tape:
            for i in wrt:
                tape.watch(kargs[i])
            ref = _field_losses(kops)[name](*kargs)
        kg = tape.gradient(ref, [kargs[i] for i in wrt])
    assert _dtype(ours) == _dtype(ref) == dt
    e = _close(ours, ref, dt, name)
    ge = max(_close(o, k, dt, f"{name} grad", grad=True) for o, k in zip(og, kg))
    print(f"  {name} [{dt}]: Keras {float(ref):.10g} ours {float(ours):.10g} err {e:.1e}; gradient err {ge:.1e}")


# --------------------------------------------------------------------------------------------------------------
# more breadth: fuzzed beam searches (slow), quantised probabilities (ties), custom classes through JSON,
# dict outputs in predict's callbacks, 0-d / empty / Python-scalar inputs to keras_ops
# --------------------------------------------------------------------------------------------------------------


def _fuzz_decode_cases(count):
    out = []
    for seed in range(count):
        r = np.random.default_rng(100 + seed)
        n, t, c = int(r.integers(1, 4)), int(r.integers(1, 9)), int(r.integers(2, 6))
        p = _softmax_np(r.normal(size=(n, t, c)) * r.uniform(0.5, 3))
        if seed % 3 == 0:  # quantised: many exact ties between classes and paths
            p = np.round(p * 4) / 4 + 1e-3
            p /= p.sum(-1, keepdims=True)
        lens = r.integers(0 if seed % 5 == 0 else 1, t + 1, size=n)
        greedy = seed % 4 == 1
        bw, top = int(r.integers(1, 12)), 1
        top = int(r.integers(1, bw + 1)) if not greedy else 1
        marks = [] if seed < 6 else [pytest.mark.slow]  # seeds 39 and 51 tie beams exactly (once strict xfails)
        out.append(pytest.param(p.astype(np.float32), lens, greedy, bw, top, id=f"fuzz{seed}", marks=marks))
    return out


@pytest.mark.parametrize("p,lens,greedy,bw,top", _fuzz_decode_cases(60))
def test_ctc_decode_fuzzed_like_keras(p, lens, greedy, bw, top):
    ln = np.array(lens, np.int32)
    try:
        KK.ctc_decode(tf.constant(p), tf.constant(ln), greedy=greedy, beam_width=bw, top_paths=top)
    except tf.errors.InvalidArgumentError as exc:  # "Less leaves in the beam search than requested."
        with pytest.raises(ValueError):
            TK.ctc_decode(torch.from_numpy(p), torch.from_numpy(ln), greedy=greedy, beam_width=bw, top_paths=top)
        print(f"  {p.shape} lens {ln.tolist()} width {bw} top {top}: Keras raises ({exc.message[:50]}); we raise")
        return
    kd, klp = KK.ctc_decode(tf.constant(p), tf.constant(ln), greedy=greedy, beam_width=bw, top_paths=top)
    od, olp = TK.ctc_decode(torch.from_numpy(p), torch.from_numpy(ln), greedy=greedy, beam_width=bw, top_paths=top)
    assert len(od) == len(kd)
    for o, k in zip(od, kd):
        assert tuple(o.shape) == tuple(k.shape) and np.array_equal(o.numpy(), k.numpy()), (o, k)
    np.testing.assert_allclose(olp.numpy(), klp.numpy(), rtol=1e-5, atol=1e-5)
    print(f"  {p.shape} lens {ln.tolist()} greedy={greedy} width {bw} top {top}: paths equal, log_prob diff "
          f"{np.max(np.abs(olp.numpy() - klp.numpy())) if klp.numpy().size else 0:.1e}")


def test_ctc_decode_beam_ties_order_like_tensorflow():
    # once a strict xfail (a stable sort: [] and [0], [1], [2] here); now TensorFlow's gtl::TopN heap and std::sort
    p = np.array([[[0.001, 0.001, 0.666, 0.666, 0.666]]], np.float32)
    p /= p.sum(-1, keepdims=True)
    p2 = np.array([[[0.5, 0.25, 0.25, 0.001, 0.001]]], np.float32)
    p2 /= p2.sum(-1, keepdims=True)
    for q, bw, top in ((p, 3, 1), (p2, 9, 3)):
        kd, klp = KK.ctc_decode(tf.constant(q), tf.constant([1]), greedy=False, beam_width=bw, top_paths=top)
        od, olp = TK.ctc_decode(torch.from_numpy(q), torch.tensor([1]), greedy=False, beam_width=bw, top_paths=top)
        print(f"  width {bw} top {top}: Keras {[k.numpy().tolist() for k in kd]} {klp.numpy().tolist()}; "
              f"torch_impl {[o.tolist() for o in od]} {olp.tolist()}")
        np.testing.assert_allclose(olp.numpy(), klp.numpy(), rtol=1e-6)
        assert [o.tolist() for o in od] == [k.numpy().tolist() for k in kd]


def _tied_ctc_cases(count, seed0):
    out = []
    for seed in range(seed0, seed0 + count):
        r = np.random.default_rng(seed)
        n, t, c = int(r.integers(1, 4)), int(r.integers(1, 10)), int(r.integers(2, 9))
        x = (np.round(r.normal(size=(n, t, c)) * 2) / 2).astype(np.float32)  # quantised logits: exact ties
        lens = r.integers(0, t + 1, size=n).astype(np.int32)
        bw = int(r.choice([1, 2, 3, 5, 8, 16, 17, 20, 33, 100]))  # > 16 beams: std::sort's introsort, heaps
        out.append((x, lens, bw, int(r.integers(1, min(bw, 5) + 1)), int(r.integers(0, c))))
    return out


@pytest.mark.parametrize("count,seed0", [(150, 0), pytest.param(3000, 150, marks=pytest.mark.slow)])
def test_ctc_beam_search_ties_bitwise_like_tensorflow(count, seed0):
    """Quantised logits (ties between beams everywhere): the beam search kernel on the same float32 (and
    float64) log probabilities, and ``ops.ctc_decode`` (logits straight to the kernel), give TensorFlow's paths in
    TensorFlow's order and bitwise its scores: libstdc++'s heap/sort steps of ``gtl::TopN``, glibc's
    expf/log1pf/logf, TensorFlow's ``(total + input) - norm`` for the blank, its double kernel for float64 (h47:
    1663 of 3000 float32 kernel cases and 265 of 424 ops cases differed before, in the order of tied paths or the
    last bits of a score; float64: 1 of 287 paths, scores 7e-7 apart)."""
    from torch_impl import _ctc_decode
    checked = tied = 0
    for x, lens, bw, top, mi in _tied_ctc_cases(count, seed0):
        raised = False
        for dt in ("float64", "float32"):  # the kernel's double and float instances
            logp = tf.nn.log_softmax(x.astype(dt)).numpy()
            try:
                kd, kl = tf.compat.v1.nn.ctc_beam_search_decoder(tf.constant(logp.transpose(1, 0, 2)), lens,
                                                                 beam_width=bw, top_paths=top)
            except tf.errors.InvalidArgumentError:  # "Less leaves in the beam search than requested."
                with pytest.raises(ValueError):
                    _ctc_decode.beam_search_decode(logp, lens, bw, top)
                raised = True
                continue
            paths, ours = _ctc_decode.beam_search_decode(logp, lens, bw, top)
            kp = [[s.values.numpy()[s.indices.numpy()[:, 0] == b].tolist() for b in range(len(lens))] for s in kd]
            assert paths == kp and np.array_equal(ours, kl.numpy()), (x, dt, lens, bw, top, paths, kp)
        if raised:
            continue
        kd, ks = kops.ctc_decode(x, lens, strategy="beam_search", beam_width=bw, top_paths=top, mask_index=mi)
        od, os_ = tops.ctc_decode(torch.from_numpy(x), torch.from_numpy(lens), strategy="beam_search",
                                  beam_width=bw, top_paths=top, mask_index=mi)
        assert np.array_equal(od.numpy(), np.asarray(kd)) and np.array_equal(os_.numpy(), np.asarray(ks)), (x, mi)
        checked += 1
        tied += len(set(kl.numpy().ravel().tolist())) < kl.numpy().size
    print(f"  {checked} beam searches ({tied} with tied top scores): paths and order equal, scores bitwise equal")
    assert tied > count // 10


class _KScaledMSE(keras.losses.Loss):
    def __init__(self, scale=2.0, **kw):
        super().__init__(**kw)
        self.scale = scale

    def call(self, y_true, y_pred):
        return self.scale * kops.mean(kops.square(y_true - y_pred), axis=-1)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


class _TScaledMSE(tlosses.Loss):
    def __init__(self, scale=2.0, **kw):
        super().__init__(**kw)
        self.scale = scale

    def call(self, y_true, y_pred):
        return self.scale * tops.mean(tops.square(y_true - y_pred), axis=-1)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def test_custom_loss_class_through_json_like_keras():
    """A custom Loss subclass: Keras's dict read by deserialize(custom_objects=...), ours read by Keras; a custom
    class's dict without custom_objects raises TypeError in both."""
    _KScaledMSE.__name__ = _TScaledMSE.__name__ = "ScaledMSE"
    _KScaledMSE.__qualname__ = _TScaledMSE.__qualname__ = "ScaledMSE"
    with _precision("float64"):
        kl = _KScaledMSE(scale=3.0, reduction="sum", name="smse")
        kd = _json(keras.losses.serialize(kl))
        od = _json(tlosses.serialize(_TScaledMSE(scale=3.0, reduction="sum", name="smse")))
        assert od["config"] == kd["config"] and od["class_name"] == kd["class_name"], (od, kd)
        ours = tlosses.deserialize(kd, custom_objects={"ScaledMSE": _TScaledMSE})
        back = keras.losses.deserialize(od, custom_objects={"ScaledMSE": _KScaledMSE})
        yt, yp = _DATA["r"]
        ref = _np(kl(tf.constant(yt), tf.constant(yp)))
        e1 = _close(ours(torch.from_numpy(yt), torch.from_numpy(yp)), ref, "float64", "ours(Keras's dict)")
        e2 = _close(back(tf.constant(yt), tf.constant(yp)), ref, "float64", "Keras(our dict)")
        def outcome(f):
            try:
                r = f(kd)
                return ("str", r) if isinstance(r, str) else ("obj", type(r).__name__)
            except Exception as exc:  # noqa: BLE001
                return ("raises", type(exc).__name__)
        ko, oo = outcome(keras.losses.deserialize), outcome(tlosses.deserialize)
        assert oo == ko, (oo, ko)
    print(f"  config {kd['config']}; value {float(ref):.6f}; errors {e1:.1e} / {e2:.1e}; without custom_objects "
          f"Keras {ko}, torch_impl {oo}")


class _DictHeads(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.inner = _TwoHead(model)

    def forward(self, x):
        a, b = self.inner(x)
        return {"cls": a, "reg": b}


def test_predict_callbacks_dict_outputs_like_keras():
    x, _, _ = _two_head_data(n=11)
    with _precision("float64"):
        base = _two_head_keras()
        model = keras.Model(base.inputs, {"cls": base.outputs[0], "reg": base.outputs[1]})
        net = _DictHeads(base)
        kc, oc = _recorder(keras.callbacks.Callback), _recorder(tcb.Callback)
        kout = model.predict(x, batch_size=4, callbacks=[kc], verbose=0)
        oout = tfit.predict(net, x, batch_size=4, callbacks=[oc], output_activation={"cls": "softmax", "reg": None})
    e = _compare_calls(oc.calls, kc.calls, "predict dict")
    assert sorted(oout) == sorted(kout)
    r = max(_close(oout[k], kout[k], "float64", k) for k in kout)
    print(f"  {len(kc.calls)} hooks equal; batch-end log keys {sorted(kc.calls[2][2])}; logs err {e:.1e}; "
          f"outputs err {r:.1e}")


_SMALL = [
    ("scalar_scalar_add", "add", (1, 2.5), {}),
    ("scalar_int_mul", "multiply", (3, 4), {}),
    ("zero_d", "sqrt", (np.array(4.0),), {}),
    ("zero_d_argmax", "argmax", (np.array(3.0),), {}),
    ("empty_max", "max", (np.zeros((0, 3)),), {"axis": 1}),
    ("empty_sum_all", "sum", (np.zeros((2, 0)),), {}),
    ("empty_softmax", "softmax", (np.zeros((0, 3)),), {}),
    ("empty_concat", "concatenate", ([np.zeros((0, 2)), np.ones((1, 2))],), {"axis": 0}),
    ("mean_keepdims_tuple", "mean", (_R.normal(size=(2, 3, 4)),), {"axis": (-1, 0), "keepdims": True}),
    ("max_initial_neg_axis", "max", (_R.normal(size=(2, 3, 4)),), {"axis": -2}),
    ("prod_empty", "prod", (np.zeros((0,)),), {}),
    ("std_single", "std", (np.array([5.0]),), {}),
    ("logsumexp_all_neg_inf", "logsumexp", (np.array([-np.inf, -np.inf]),), {}),
    ("cumsum_neg_axis", "cumsum", (_R.normal(size=(2, 3, 2)),), {"axis": -2}),
    ("where_one_arg", "where", (np.array([[0.0, 1.0], [2.0, 0.0]]),), {}),
    ("one_hot_float_ids", "one_hot", (np.array([0.0, 2.0]), 3), {}),
    ("clip_nan", "clip", (np.array([np.nan, -5.0, 5.0]), -1.0, 1.0), {}),
    ("maximum_nan_first", "maximum", (np.array([np.nan, 1.0]), np.array([0.0, np.nan])), {}),
    ("sign_int", "sign", (np.array([-3, 0, 4], np.int32),), {}),
    ("abs_int8", "abs", (np.array([-128, -1, 5], np.int8),), {}),
    ("square_uint8", "square", (np.array([200, 3], np.uint8),), {}),
    ("mean_int8", "mean", (np.array([100, 100, 100], np.int8),), {}),
    ("sum_int8", "sum", (np.array([100, 100], np.int8),), {}),
    ("argmax_nan", "argmax", (np.array([1.0, np.nan, 3.0]),), {}),
    ("sort_nan", "sort", (np.array([3.0, np.nan, 1.0, -np.inf]),), {}),
    ("top_k_unsorted_ties", "top_k", (np.array([[2.0, 2.0, 1.0, 2.0]]), 2), {}),
    ("count_nonzero_nan", "count_nonzero", (np.array([0.0, np.nan, -0.0]),), {}),
    ("round_half_f32_neg", "round", (np.array([0.5, 1.5, 2.5, -0.5]),), {"decimals": 0}),
    ("floor_divide_neg_zero", "floor_divide", (np.array([-0.0, 1.0, -1.0]), np.array([1.0, 0.0, 0.0])), {}),
    ("mod_zero_div_f", "mod", (np.array([1.0, -1.0]), np.array([0.0, 0.0])), {}),
    ("power_neg_base_frac", "power", (np.array([-8.0, -1.0]), 1.0 / 3), {}),
    ("pad_symmetric", "pad", (_M,), {"pad_width": ((1, 2), (0, 1)), "mode": "symmetric"}),
    ("repeat_array", "repeat", (np.arange(3.0), np.array([1, 0, 2])), {}),
    ("tile_int_reps", "tile", (_I, 2), {}),
    ("linspace_int_dtype", "linspace", (0, 10, 4), {"dtype": "int32"}),
    ("arange_neg_step", "arange", (5, 0, -2), {}),
    ("full_bool", "full", ((2,), True), {}),
    ("eye_neg_k", "eye", (3, 3), {"k": -1}),
    ("segment_sum_unsorted", "segment_sum", (np.arange(4.0), np.array([2, 0, 2, 0])), {"num_segments": 3}),
    ("nan_to_num_int", "nan_to_num", (_I,), {}),
    ("norm_inf", "norm", (_M,), {"ord": np.inf, "axis": 1}),
    ("norm_ord_neg1", "norm", (_M,), {"ord": -1, "axis": 0}),
    ("norm_matrix_ord1", "norm", (_M,), {"ord": 1}),
    ("normalize_order1", "normalize", (np.array([[1.0, -3.0], [0.0, 0.0]]),), {"order": 1}),
    ("multi_hot_neg", "multi_hot", (np.array([[0, -1, 3]]), 3), {}),
]


@pytest.mark.parametrize("cid,name,args,kwargs", _SMALL,
                         ids=[c.values[0] if hasattr(c, "marks") else c[0] for c in _SMALL])
def test_keras_ops_edge_inputs(cid, name, args, kwargs):
    try:
        _ref_op(name, args, kwargs, "float64")
    except Exception as exc:  # noqa: BLE001
        with pytest.raises(Exception) as oexc:
            _ours_op(name, args, kwargs, "float64")
        print(f"  {cid}: Keras raises {type(exc).__name__}, torch_impl {type(oexc.value).__name__}")
        return
    ours, ref = _run_op(name, args, kwargs, "float64")
    e = _compare_op(ours, ref, "float64", cid)
    print(f"  {cid}: {_np(ref).ravel()[:4] if not isinstance(ref, (tuple, list)) else 'tuple'} err {e:.1e}")
