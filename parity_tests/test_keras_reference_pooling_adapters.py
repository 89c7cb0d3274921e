"""torch_impl's pooling and batch-input adapters against Keras 3.15.1's OWN pooling and data-adapter tests.

An independent reference: no TensorFlow or Keras is imported here. Each test restates, on torch tensors, the inputs
and the expected figures (or the asserted property) of one test method of (tag ``v3.15.1``, installed as
``keras/src/...``):

* ``layers/pooling/{max,average}_pooling_test.py`` -> :class:`torch_impl.nn.MaxPooling1D`/``2D``/``3D``,
  ``AveragePooling1D``/``2D``/``3D`` (given Keras's ``data_format``), and for every correctness case also
  ``torch_impl.keras_ops.max_pool``/``average_pool`` and (2-D, 3-D) ``torch_impl.keras_backend.pool2d``/``pool3d``.
  The oracles are upstream's own NumPy references (``np_maxpool*d``/``np_avgpool*d`` and ``_same_padding``, copied
  verbatim below: ``as_strided`` windows; ``'same'`` pads the end with ``-inf`` for a max, and with the edge
  (``mode="edge"``, 3-D ``"symmetric"``) for an average, which for these grids equals TensorFlow's mean over the
  real entries). The same grids are run against the real Keras layers in
  ``test_keras_conv_ports_keras.py::test_translated_keras_pooling_correctness`` (another oracle);
* ``layers/pooling/global_{max,average}_pooling_test.py`` -> :class:`torch_impl.nn.GlobalAveragePooling1D`/``2D``/
  ``3D``, ``GlobalMaxPooling1D``/``2D``/``3D`` (given Keras's ``data_format`` and ``keepdims``; the masked
  ``GlobalAveragePooling1D`` with upstream's masks), and the Keras layers' ``call`` bodies on
  ``torch_impl.keras_ops`` (``ops.mean``/``ops.max(inputs, axis=steps_axes, keepdims=keepdims)``; the masked
  ``GlobalAveragePooling1D``: ``ops.sum(where(mask, x, 0)) / ops.sum(mask)``,
  ``keras/src/layers/pooling/global_average_pooling1d.py:70-83``);
* ``layers/pooling/adaptive_pooling{1,2,3}d_test.py`` -> :class:`torch_impl.nn.AdaptiveAveragePooling1D`/``2D``/
  ``3D``, ``AdaptiveMaxPooling1D``/``2D``/``3D`` (asserted equal to ``torch_impl.keras_ops.adaptive_average_pool``
  / ``adaptive_max_pool``, what Keras's ``Adaptive*Pooling*D.call`` runs,
  ``keras/src/layers/pooling/base_adaptive_pooling.py:51-54``); the expected shapes are Keras's
  ``compute_output_shape`` (``base_adaptive_pooling.py:29-37``: the spatial axes replaced by ``output_size``);
  ``get_config``'s ``output_size``/``data_format`` are the layers' attributes;
* ``trainers/data_adapters/generator_data_adapter_test.py`` and ``torch_data_loader_adapter_test.py`` ->
  :func:`torch_impl.data_adapters.data_adapter` (``_GeneratorAdapter`` / ``_LoaderAdapter``) read by
  :class:`torch_impl.data_adapters.EpochIterator` and converted by ``torch_impl.fit``'s ``_Batches`` (what the
  model, the loss and the sample weights receive: Keras's "expected_class" on the TensorFlow backend is
  ``tf.Tensor``, here ``torch.Tensor``), and end to end through ``fit`` / ``evaluate`` / ``predict``;
* ``callbacks/monitor_callback_test.py`` -> already translated, both methods (``test_monitor_op_logic``,
  ``test_min_delta``), as ``test_keras_reference_trainers.py::test_monitor_op_logic`` / ``test_monitor_min_delta``
  (``torch_impl.callbacks.MonitorCallback``): not repeated here.

``run_layer_test`` becomes its checkable parts: the eager output shape and the weight counts (no parameters, no
buffers). Tolerances: Keras's ``assertAllClose`` (atol = rtol = 1e-6 unless the test says otherwise: the adaptive
numerical tests ``atol=1e-4``).

Upstream methods (parameterized cases counted once per method) translated / not translated:

========================================  ==========  =======  ======================================================
upstream file                             translated  skipped  why skipped
========================================  ==========  =======  ======================================================
max_pooling_test.py                       6 (24 cs.)  0
average_pooling_test.py                   9 (35 cs.)  0        (the 3 ``*_same_padding`` methods, skipped upstream on
                                                               the torch backend only, run: TensorFlow is the
                                                               reference)
global_max_pooling_test.py                6 (21 cs.)  0        (the layers, and their ops)
global_average_pooling_test.py            6 (21 cs.)  0        masks: 1-D only, as upstream
adaptive_pooling1d_test.py                10          0        (``get_config``: the layers' attributes)
adaptive_pooling2d_test.py                12          0
adaptive_pooling3d_test.py                12          0
generator_data_adapter_test.py            4 (7 cs.)   2        ``test_sparse_tensors``, ``test_ragged_tensors``;
                                                               ``test_basic_flow``'s ``tf``/``jax`` inputs (4 cs.)
torch_data_loader_adapter_test.py         3 (6 cs.)   0        (``batch_size`` / ``has_partial_batch`` /
                                                               ``partial_batch_size`` asserts: GAP)
monitor_callback_test.py                  2           0        (in test_keras_reference_trainers.py)
========================================  ==========  =======  ======================================================

Measured (max |got - expected|, torch 2.13 CPU, float32, 2026-12-07; "0" is exact):

==============================================================  ====================  =====================
upstream                                                        measured              tolerance (atol/rtol)
==============================================================  ====================  =====================
max_pooling correctness, 15 cases x (layer, ops, K.pool*d)      0                     1e-6 / 1e-6
average_pooling correctness, 22 cases (12 'same') x (layer,     0                     1e-6 / 1e-6
ops, K.pool*d)
max/average pooling shapes (9 + 13 cases), weights              equal, 0 weights      exact
global_max_pooling correctness (12 cases, layers and ops)       0                     1e-6 / 1e-6
global_average_pooling correctness (12 cases, layers and ops)   0 (1-D mask: 0)       1e-6 / 1e-6
global pooling shapes (18 cases, layers and ops)                equal                 exact
adaptive pooling numerical (1-D / 2-D / 3-D, avg and max)       0 / 0 / 0             1e-4 atol
adaptive pooling shapes, compute_output_shape (16 + 6 cases)    equal                 exact
adaptive pooling get_config (6 cases: the layers' attributes)   equal                 exact
generator basic_flow sample order (np/torch, sw or not)         0 (0..33)             1e-6 / 1e-6
generator (x, y, sw): evaluate loss vs float64 oracle           1.3e-08 (0.26637605   1e-6 rtol
                                                                vs 0.26637604)
generator (x,): predict vs float64 oracle                       3.7e-08               1e-6 / 1e-6
fit(generator) / fit(DataLoader, 2 epochs) batch sizes          [16, 16, 2] (x 2)     exact
torch DataLoader / iterable dataset batch counts and shapes     equal                 exact
==============================================================  ====================  =====================

Bugs found by this translation: none (every translated assertion held on the first run).

Every test prints ``name got expected max_abs_diff`` (or the shapes) for what it asserts.

Run: ``.venv/bin/python -m pytest -q -s -p no:cacheprovider parity_tests/test_keras_reference_pooling_adapters.py``
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data
from numpy.lib.stride_tricks import as_strided

from parity_tests.test_keras_reference_training import _show, keras_all_close
from torch_impl import keras_backend as K
from torch_impl import keras_ops as ko
from torch_impl import nn as tnn
from torch_impl.data_adapters import EpochIterator, data_adapter, data_kind
from torch_impl.fit import _Batches, evaluate, fit, predict

SKIPPED = {
    "*_pooling_test.py::run_layer_test (symbolic part)": "KerasTensor build/compute_output_spec, serialization, "
                                                         "supports_masking and the mixed-precision check; the eager "
                                                         "output shape and the weight counts are translated",
    "adaptive_pooling{1,2,3}d_test.py::test_*_compute_output_shape (symbolic (None, ...) batch)":
        "compute_output_shape on a None batch: run eagerly on a batch of 1 and compared with Keras's formula",
    "generator_data_adapter_test.py::test_basic_flow (generator_type tf / jax)":
        "TensorFlow / JAX arrays in the batches: this file imports neither (np and torch cases translated)",
    "generator_data_adapter_test.py::test_sparse_tensors": "tf.SparseTensor / jax BCOO / scipy sparse batches: "
                                                           "torch_impl's fit takes dense arrays",
    "generator_data_adapter_test.py::test_ragged_tensors": "tf.RaggedTensor: TensorFlow only",
    "*_adapter_test.py (get_tf_dataset / get_jax_iterator / get_numpy_iterator)":
        "the per-backend iterators: translated as the one path torch_impl has (EpochIterator -> fit's conversion)",
    "monitor_callback_test.py::test_monitor_op_logic / test_min_delta": "already translated in "
                                                                         "test_keras_reference_trainers.py",
}

GAPS = {
    "Global*Pooling*D / Adaptive*Pooling*D get_config": "torch modules have no Keras config: the attributes "
                                                         "(data_format, keepdims, output_size) instead",
    "TorchDataLoaderAdapter.batch_size / has_partial_batch / partial_batch_size":
        "torch_impl's _LoaderAdapter keeps num_batches only (fit needs no more); the batch sizes it reads are "
        "asserted instead",
}

F32 = torch.float32


def _close(name, got, expected, atol=1e-6, rtol=1e-6):
    """:func:`keras_all_close` with the shapes asserted equal first (it broadcasts ``expected``)."""
    assert tuple(np.shape(got)) == tuple(np.shape(expected)), (name, tuple(np.shape(got)), np.shape(expected))
    keras_all_close(name, got, expected, atol=atol, rtol=rtol)


# ==================================================================================== upstream's NumPy oracles
# Copied verbatim from keras/src/layers/pooling/max_pooling_test.py and average_pooling_test.py (v3.15.1).


def _same_padding(input_size, pool_size, stride):
    if input_size % stride == 0:
        return max(pool_size - stride, 0)
    else:
        return max(pool_size - (input_size % stride), 0)


def np_maxpool1d(x, pool_size, strides, padding, data_format):
    if data_format == "channels_first":
        x = x.swapaxes(1, 2)
    if isinstance(pool_size, (tuple, list)):
        pool_size = pool_size[0]
    if isinstance(strides, (tuple, list)):
        h_stride = strides[0]
    else:
        h_stride = strides

    if padding == "same":
        n_batch, h_x, ch_x = x.shape
        pad_value = _same_padding(h_x, pool_size, h_stride)
        npad = [(0, 0)] * x.ndim
        npad[1] = (0, pad_value)
        x = np.pad(x, pad_width=npad, mode="constant", constant_values=-np.inf)

    n_batch, h_x, ch_x = x.shape
    out_h = int((h_x - pool_size) / h_stride) + 1

    stride_shape = (n_batch, out_h, ch_x, pool_size)
    strides = (x.strides[0], h_stride * x.strides[1], x.strides[2], x.strides[1])
    windows = as_strided(x, shape=stride_shape, strides=strides)
    out = np.max(windows, axis=(3,))
    if data_format == "channels_first":
        out = out.swapaxes(1, 2)
    return out


def np_maxpool2d(x, pool_size, strides, padding, data_format):
    if data_format == "channels_first":
        x = x.transpose((0, 2, 3, 1))
    if isinstance(pool_size, int):
        pool_size = (pool_size, pool_size)
    if isinstance(strides, int):
        strides = (strides, strides)

    h_pool_size, w_pool_size = pool_size
    h_stride, w_stride = strides
    if padding == "same":
        n_batch, h_x, w_x, ch_x = x.shape
        h_padding = _same_padding(h_x, h_pool_size, h_stride)
        w_padding = _same_padding(w_x, w_pool_size, w_stride)
        npad = [(0, 0)] * x.ndim
        npad[1] = (0, h_padding)
        npad[2] = (0, w_padding)
        x = np.pad(x, pad_width=npad, mode="constant", constant_values=-np.inf)

    n_batch, h_x, w_x, ch_x = x.shape
    out_h = int((h_x - h_pool_size) / h_stride) + 1
    out_w = int((w_x - w_pool_size) / w_stride) + 1

    stride_shape = (n_batch, out_h, out_w, ch_x, *pool_size)
    strides = (x.strides[0], h_stride * x.strides[1], w_stride * x.strides[2], x.strides[3], x.strides[1],
               x.strides[2])
    windows = as_strided(x, shape=stride_shape, strides=strides)
    out = np.max(windows, axis=(4, 5))
    if data_format == "channels_first":
        out = out.transpose((0, 3, 1, 2))
    return out


def np_maxpool3d(x, pool_size, strides, padding, data_format):
    if data_format == "channels_first":
        x = x.transpose((0, 2, 3, 4, 1))

    if isinstance(pool_size, int):
        pool_size = (pool_size, pool_size, pool_size)
    if isinstance(strides, int):
        strides = (strides, strides, strides)

    h_pool_size, w_pool_size, d_pool_size = pool_size
    h_stride, w_stride, d_stride = strides

    if padding == "same":
        n_batch, h_x, w_x, d_x, ch_x = x.shape
        h_padding = _same_padding(h_x, h_pool_size, h_stride)
        w_padding = _same_padding(w_x, w_pool_size, w_stride)
        d_padding = _same_padding(d_x, d_pool_size, d_stride)
        npad = [(0, 0)] * x.ndim
        npad[1] = (0, h_padding)
        npad[2] = (0, w_padding)
        npad[3] = (0, d_padding)
        x = np.pad(x, pad_width=npad, mode="constant", constant_values=-np.inf)

    n_batch, h_x, w_x, d_x, ch_x = x.shape
    out_h = int((h_x - h_pool_size) / h_stride) + 1
    out_w = int((w_x - w_pool_size) / w_stride) + 1
    out_d = int((d_x - d_pool_size) / d_stride) + 1

    stride_shape = (n_batch, out_h, out_w, out_d, ch_x, *pool_size)
    strides = (x.strides[0], h_stride * x.strides[1], w_stride * x.strides[2], d_stride * x.strides[3],
               x.strides[4], x.strides[1], x.strides[2], x.strides[3])
    windows = as_strided(x, shape=stride_shape, strides=strides)
    out = np.max(windows, axis=(5, 6, 7))
    if data_format == "channels_first":
        out = out.transpose((0, 4, 1, 2, 3))
    return out


def np_avgpool1d(x, pool_size, strides, padding, data_format):
    if data_format == "channels_first":
        x = x.swapaxes(1, 2)
    if isinstance(pool_size, (tuple, list)):
        pool_size = pool_size[0]
    if isinstance(strides, (tuple, list)):
        h_stride = strides[0]
    else:
        h_stride = strides

    if padding == "same":
        n_batch, h_x, ch_x = x.shape
        pad_value = _same_padding(h_x, pool_size, h_stride)
        npad = [(0, 0)] * x.ndim
        npad[1] = (0, pad_value)
        x = np.pad(x, pad_width=npad, mode="edge")

    n_batch, h_x, ch_x = x.shape
    out_h = int((h_x - pool_size) / h_stride) + 1

    stride_shape = (n_batch, out_h, ch_x, pool_size)
    strides = (x.strides[0], h_stride * x.strides[1], x.strides[2], x.strides[1])
    windows = as_strided(x, shape=stride_shape, strides=strides)
    out = np.mean(windows, axis=(3,))
    if data_format == "channels_first":
        out = out.swapaxes(1, 2)
    return out


def np_avgpool2d(x, pool_size, strides, padding, data_format):
    if data_format == "channels_first":
        x = x.transpose((0, 2, 3, 1))
    if isinstance(pool_size, int):
        pool_size = (pool_size, pool_size)
    if isinstance(strides, int):
        strides = (strides, strides)

    h_pool_size, w_pool_size = pool_size
    h_stride, w_stride = strides
    if padding == "same":
        n_batch, h_x, w_x, ch_x = x.shape
        h_padding = _same_padding(h_x, h_pool_size, h_stride)
        w_padding = _same_padding(w_x, w_pool_size, w_stride)
        npad = [(0, 0)] * x.ndim
        npad[1] = (0, h_padding)
        npad[2] = (0, w_padding)
        x = np.pad(x, pad_width=npad, mode="edge")

    n_batch, h_x, w_x, ch_x = x.shape
    out_h = int((h_x - h_pool_size) / h_stride) + 1
    out_w = int((w_x - w_pool_size) / w_stride) + 1

    stride_shape = (n_batch, out_h, out_w, ch_x, *pool_size)
    strides = (x.strides[0], h_stride * x.strides[1], w_stride * x.strides[2], x.strides[3], x.strides[1],
               x.strides[2])
    windows = as_strided(x, shape=stride_shape, strides=strides)
    out = np.mean(windows, axis=(4, 5))
    if data_format == "channels_first":
        out = out.transpose((0, 3, 1, 2))
    return out


def np_avgpool3d(x, pool_size, strides, padding, data_format):
    if data_format == "channels_first":
        x = x.transpose((0, 2, 3, 4, 1))

    if isinstance(pool_size, int):
        pool_size = (pool_size, pool_size, pool_size)
    if isinstance(strides, int):
        strides = (strides, strides, strides)

    h_pool_size, w_pool_size, d_pool_size = pool_size
    h_stride, w_stride, d_stride = strides

    if padding == "same":
        n_batch, h_x, w_x, d_x, ch_x = x.shape
        h_padding = _same_padding(h_x, h_pool_size, h_stride)
        w_padding = _same_padding(w_x, w_pool_size, w_stride)
        d_padding = _same_padding(d_x, d_pool_size, d_stride)
        npad = [(0, 0)] * x.ndim
        npad[1] = (0, h_padding)
        npad[2] = (0, w_padding)
        npad[3] = (0, d_padding)
        x = np.pad(x, pad_width=npad, mode="symmetric")

    n_batch, h_x, w_x, d_x, ch_x = x.shape
    out_h = int((h_x - h_pool_size) / h_stride) + 1
    out_w = int((w_x - w_pool_size) / w_stride) + 1
    out_d = int((d_x - d_pool_size) / d_stride) + 1

    stride_shape = (n_batch, out_h, out_w, out_d, ch_x, *pool_size)
    strides = (x.strides[0], h_stride * x.strides[1], w_stride * x.strides[2], d_stride * x.strides[3],
               x.strides[4], x.strides[1], x.strides[2], x.strides[3])
    windows = as_strided(x, shape=stride_shape, strides=strides)
    out = np.mean(windows, axis=(5, 6, 7))
    if data_format == "channels_first":
        out = out.transpose((0, 4, 1, 2, 3))
    return out


_NP_ORACLES = {("max", 1): np_maxpool1d, ("max", 2): np_maxpool2d, ("max", 3): np_maxpool3d,
               ("avg", 1): np_avgpool1d, ("avg", 2): np_avgpool2d, ("avg", 3): np_avgpool3d}


# ============================================================================ max_pooling / average_pooling


def _pool_layer(mode: str, nd: int, pool_size, strides, padding, data_format):
    cls = getattr(tnn, f"{'MaxPooling' if mode == 'max' else 'AveragePooling'}{nd}D")
    return cls(pool_size=pool_size, strides=strides, padding=padding, data_format=data_format)


def _no_weights(m: torch.nn.Module) -> None:
    """``expected_num_trainable_weights=0, expected_num_non_trainable_weights=0``."""
    assert list(m.parameters()) == [] and list(m.buffers()) == [], type(m).__name__


_BASIC = [  # (mode, nd, pool_size, strides, padding, data_format, input_shape, output_shape)
    # max_pooling_test.py::MaxPoolingBasicTest
    ("max", 1, 2, 1, "valid", "channels_last", (3, 5, 4), (3, 4, 4)),
    ("max", 1, 2, 1, "same", "channels_first", (3, 5, 4), (3, 5, 4)),
    ("max", 1, (2,), (2,), "valid", "channels_last", (3, 5, 4), (3, 2, 4)),
    ("max", 2, 2, 1, "valid", "channels_last", (3, 5, 5, 4), (3, 4, 4, 4)),
    ("max", 2, 2, 1, "same", "channels_first", (3, 5, 5, 4), (3, 5, 5, 4)),
    ("max", 2, (2, 3), (2, 2), "valid", "channels_last", (3, 5, 5, 4), (3, 2, 2, 4)),
    ("max", 3, 2, 1, "valid", "channels_last", (3, 5, 5, 5, 4), (3, 4, 4, 4, 4)),
    ("max", 3, 2, 1, "same", "channels_first", (3, 5, 5, 5, 4), (3, 5, 5, 5, 4)),
    ("max", 3, (2, 3, 2), (2, 2, 1), "valid", "channels_last", (3, 5, 5, 5, 4), (3, 2, 2, 4, 4)),
    # average_pooling_test.py::AveragePoolingBasicTest
    ("avg", 1, 2, 1, "valid", "channels_last", (3, 5, 4), (3, 4, 4)),
    ("avg", 1, 2, 1, "same", "channels_first", (3, 5, 4), (3, 5, 4)),
    ("avg", 1, (2,), (2,), "valid", "channels_last", (3, 5, 4), (3, 2, 4)),
    ("avg", 2, 2, 1, "valid", "channels_last", (3, 5, 5, 4), (3, 4, 4, 4)),
    ("avg", 2, 2, 1, "same", "channels_last", (3, 5, 5, 4), (3, 5, 5, 4)),
    ("avg", 2, 2, 1, "valid", "channels_first", (3, 5, 5, 4), (3, 5, 4, 3)),
    ("avg", 2, 2, 1, "same", "channels_first", (3, 5, 5, 4), (3, 5, 5, 4)),
    ("avg", 2, (2, 3), (2, 2), "valid", "channels_last", (3, 5, 5, 4), (3, 2, 2, 4)),
    ("avg", 2, (2, 3), (2, 2), "same", "channels_last", (3, 5, 5, 4), (3, 3, 3, 4)),
    ("avg", 2, (2, 3), (3, 3), "same", "channels_first", (3, 5, 5, 4), (3, 5, 2, 2)),
    ("avg", 3, 2, 1, "valid", "channels_last", (3, 5, 5, 5, 4), (3, 4, 4, 4, 4)),
    ("avg", 3, 2, 1, "same", "channels_first", (3, 5, 5, 5, 4), (3, 5, 5, 5, 4)),
    ("avg", 3, (2, 3, 2), (2, 2, 1), "valid", "channels_last", (3, 5, 5, 5, 4), (3, 2, 2, 4, 4)),
]


@pytest.mark.parametrize("mode, nd, pool_size, strides, padding, data_format, input_shape, output_shape", _BASIC)
def test_pooling_basic(mode, nd, pool_size, strides, padding, data_format, input_shape, output_shape):
    """``{Max,Average}PoolingBasicTest::test_{max,average}_pooling{1,2,3}d``: ``run_layer_test``'s output shape
    and weight counts (none); ``keras_ops.{max,average}_pool`` gives the same shape."""
    layer = _pool_layer(mode, nd, pool_size, strides, padding, data_format)
    x = torch.randn(input_shape, generator=torch.Generator().manual_seed(0))
    out = layer(x)
    op = (ko.max_pool if mode == "max" else ko.average_pool)(x, pool_size, strides, padding, data_format)
    print(f"{type(layer).__name__}({pool_size}, {strides}, {padding!r}, {data_format!r}) on {input_shape}: "
          f"{tuple(out.shape)} / ops {tuple(op.shape)} (Keras's test: {output_shape})")
    assert tuple(out.shape) == tuple(op.shape) == output_shape
    _no_weights(layer)


_CORRECTNESS = [  # (mode, nd, pool_size, strides, padding, data_format, input shape of np.arange)
    # max_pooling_test.py::MaxPoolingCorrectnessTest
    *[("max", 1, *p, (2, 3, 4)) for p in [
        (2, 1, "valid", "channels_last"), (2, 1, "valid", "channels_first"), (2, 1, "same", "channels_last"),
        (2, 1, "same", "channels_first"), ((2,), (2,), "valid", "channels_last"),
        ((2,), (2,), "valid", "channels_first")]],
    *[("max", 2, *p, (1, 5, 5, 4)) for p in [
        (2, 1, "valid", "channels_last"), (2, 1, "valid", "channels_first"), ((2, 2), (2, 2), "same", "channels_last"),
        ((2, 2), (2, 2), "same", "channels_first"), ((2, 3), (3, 3), "same", "channels_last")]],
    *[("max", 3, *p, (2, 3, 4, 5, 2)) for p in [
        (2, 1, "valid", "channels_last"), (2, 1, "same", "channels_first"),
        ((2, 3, 2), (2, 2, 1), "valid", "channels_last"), ((2, 3, 2), (2, 2, 1), "valid", "channels_first")]],
    # average_pooling_test.py::AveragePoolingCorrectnessTest (test_average_pooling{1,2,3}d and *_same_padding)
    *[("avg", 1, *p, (2, 3, 4)) for p in [
        (2, 1, "valid", "channels_last"), (2, 1, "valid", "channels_first"), ((2,), (2,), "valid", "channels_last"),
        ((2,), (2,), "valid", "channels_first"),
        (2, 1, "same", "channels_last"), (2, 1, "same", "channels_first"), ((2,), (2,), "same", "channels_last"),
        ((2,), (2,), "same", "channels_first")]],
    *[("avg", 2, *p, (1, 4, 4, 1)) for p in [
        (2, 1, "valid", "channels_last"), ((2, 3), (2, 2), "valid", "channels_last"),
        (2, (2, 1), "same", "channels_last"), (2, (2, 1), "same", "channels_first"),
        ((2, 2), (2, 2), "same", "channels_last"), ((2, 2), (2, 2), "same", "channels_first")]],
    *[("avg", 3, *p, (2, 3, 4, 5, 2)) for p in [
        (2, 1, "valid", "channels_last"), (2, 1, "valid", "channels_first"),
        ((2, 3, 2), (2, 2, 1), "valid", "channels_last"), ((2, 3, 2), (2, 2, 1), "valid", "channels_first"),
        (2, 1, "same", "channels_last"), (2, 1, "same", "channels_first"),
        ((2, 2, 2), (2, 2, 1), "same", "channels_last"), ((2, 2, 2), (2, 2, 1), "same", "channels_first")]],
]


@pytest.mark.parametrize("mode, nd, pool_size, strides, padding, data_format, shape", _CORRECTNESS)
def test_pooling_correctness(mode, nd, pool_size, strides, padding, data_format, shape):
    """``{Max,Average}PoolingCorrectnessTest``: ``np.arange`` float32 input, upstream's NumPy oracle; the layer,
    ``keras_ops.{max,average}_pool`` and (2-D/3-D) ``K.pool2d``/``K.pool3d`` (given tuples, as K requires)."""
    inputs = np.arange(math.prod(shape), dtype="float32").reshape(shape)
    expected = _NP_ORACLES[(mode, nd)](inputs, pool_size, strides, padding, data_format)
    x = torch.from_numpy(inputs)
    name = f"{mode}pool{nd}d({pool_size}, {strides}, {padding!r}, {data_format!r})"
    _close(f"{name} layer", _pool_layer(mode, nd, pool_size, strides, padding, data_format)(x), expected)
    op = ko.max_pool if mode == "max" else ko.average_pool
    _close(f"{name} keras_ops", op(x, pool_size, strides, padding, data_format), expected)
    if nd > 1:
        as_tuple = lambda v: (v,) * nd if isinstance(v, int) else tuple(v)  # noqa: E731
        pool_k = K.pool2d if nd == 2 else K.pool3d
        got = pool_k(x, as_tuple(pool_size), as_tuple(strides), padding, data_format, pool_mode=mode)
        _close(f"{name} K.pool{nd}d", got, expected)


# ============================================================================= global_{max,average}_pooling


def _steps_axes(nd: int, data_format: str) -> tuple:
    return tuple(range(1, nd + 1)) if data_format == "channels_last" else tuple(range(2, nd + 2))


def _global_pool(mode: str, x, nd: int, data_format: str, keepdims: bool, mask=None):
    """Keras's ``Global{Max,Average}Pooling{nd}D.call`` on torch_impl.keras_ops
    (``keras/src/layers/pooling/global_{max,average}_pooling{1,2,3}d.py``)."""
    axes = _steps_axes(nd, data_format)
    if mode == "max":
        return ko.max(x, axis=axes, keepdims=keepdims)
    if mask is None:
        return ko.mean(x, axis=axes, keepdims=keepdims)
    m = ko.cast(ko.expand_dims(mask, 2 if data_format == "channels_last" else 1), "bool")  # 1-D only
    x = ko.where(m, x, 0)
    return ko.sum(x, axis=axes, keepdims=keepdims) / ko.sum(ko.cast(m, x.dtype), axis=axes, keepdims=keepdims)


def _global_layer(mode: str, x: torch.Tensor, nd: int, data_format: str, keepdims: bool, mask=None) -> torch.Tensor:
    """:class:`torch_impl.nn.GlobalMaxPooling{nd}D` / ``GlobalAveragePooling{nd}D(data_format, keepdims)``
    (``layer(inputs, mask)`` for the masked 1-D average, as upstream calls it)."""
    layer = getattr(tnn, f"Global{'Max' if mode == 'max' else 'Average'}Pooling{nd}D")(data_format, keepdims)
    return layer(x) if mask is None else layer(x, mask)


_GLOBAL_BASIC = [(mode, nd, *case) for mode in ("max", "avg") for nd, cases in {
    1: [("channels_last", False, (3, 5, 4), (3, 4)), ("channels_last", True, (3, 5, 4), (3, 1, 4)),
        ("channels_first", False, (3, 5, 4), (3, 5))],
    2: [("channels_last", False, (3, 5, 6, 4), (3, 4)), ("channels_last", True, (3, 5, 6, 4), (3, 1, 1, 4)),
        ("channels_first", False, (3, 5, 6, 4), (3, 5))],
    3: [("channels_last", False, (3, 5, 6, 5, 4), (3, 4)), ("channels_last", True, (3, 5, 6, 5, 4), (3, 1, 1, 1, 4)),
        ("channels_first", False, (3, 5, 6, 5, 4), (3, 5))]}.items() for case in cases]


@pytest.mark.parametrize("mode, nd, data_format, keepdims, input_shape, output_shape", _GLOBAL_BASIC)
def test_global_pooling_basic(mode, nd, data_format, keepdims, input_shape, output_shape):
    """``Global{Max,Average}PoolingBasicTest::test_global_*_pooling{1,2,3}d``: the output shapes."""
    x = torch.randn(input_shape, generator=torch.Generator().manual_seed(0))
    got = _global_pool(mode, x, nd, data_format, keepdims)
    layer = _global_layer(mode, x, nd, data_format, keepdims)
    print(f"global {mode} pool {nd}d {data_format} keepdims={keepdims} on {input_shape}: {tuple(got.shape)} / "
          f"layer {tuple(layer.shape)} (Keras's test: {output_shape})")
    assert tuple(got.shape) == tuple(layer.shape) == output_shape


def _np_global(mode: str, x, nd: int, data_format: str, keepdims: bool, mask=None):
    """Upstream's ``np_gap1d`` / ``np_gap2d`` / ``np_gap3d`` / ``np_global_max_pool{1,2,3}d``."""
    if mode == "avg" and nd == 1:  # np_gap1d
        steps_axis = 1 if data_format == "channels_last" else 2
        if mask is not None:
            mask = np.expand_dims(mask, 2 if data_format == "channels_last" else 1)
            x = x * mask  # (upstream: x *= mask, in place on the test's input after the layer ran)
            res = np.sum(x, axis=steps_axis) / np.sum(mask, axis=steps_axis)
        else:
            res = np.mean(x, axis=steps_axis)
        if keepdims:
            res = np.expand_dims(res, axis=steps_axis)
        return res
    res = np.apply_over_axes(np.max if mode == "max" else np.mean, x, list(_steps_axes(nd, data_format)))
    if not keepdims:
        res = res.squeeze()
    return res


_GLOBAL_INPUTS = {1: (2, 3, 4), 2: (2, 3, 4, 4), 3: (2, 3, 3, 5, 4)}


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("data_format, keepdims", [("channels_last", False), ("channels_last", True),
                                                   ("channels_first", False), ("channels_first", True)])
def test_global_pooling_correctness(mode, nd, data_format, keepdims):
    """``Global{Max,Average}PoolingCorrectnessTest``: ``np.arange`` float32 input against upstream's NumPy
    references, the layers and their ops; ``GlobalAveragePooling1D`` also with upstream's masks
    (``layer(inputs, mask)``)."""
    shape = _GLOBAL_INPUTS[nd]
    inputs = np.arange(math.prod(shape), dtype="float32").reshape(shape)
    x = torch.from_numpy(inputs)
    expected = _np_global(mode, inputs, nd, data_format, keepdims)
    name = f"global {mode} pool {nd}d {data_format} keepdims={keepdims}"
    _close(f"{name} keras_ops", _global_pool(mode, x, nd, data_format, keepdims), expected)
    _close(f"{name} layer", _global_layer(mode, x, nd, data_format, keepdims), expected)
    if mode == "avg" and nd == 1:
        if data_format == "channels_last":
            mask = np.array([[1, 1, 0], [0, 1, 0]], dtype="int32")
        else:
            mask = np.array([[1, 1, 0, 0], [0, 1, 0, 1]], dtype="int32")
        got = _global_pool(mode, x, nd, data_format, keepdims, mask=torch.from_numpy(mask))
        _close(f"{name} masked", got, _np_global(mode, inputs, nd, data_format, keepdims, mask))
        got = _global_layer(mode, x, nd, data_format, keepdims, mask=torch.from_numpy(mask))
        _close(f"{name} masked layer", got, _np_global(mode, inputs, nd, data_format, keepdims, mask))


# ================================================================================= adaptive_pooling{1,2,3}d


def _adaptive(mode: str, x, output_size, data_format):
    """:class:`torch_impl.nn.Adaptive{Average,Max}Pooling*D(output_size, data_format)`, asserted equal to what
    Keras's ``call`` runs, ``ops.adaptive_{average,max}_pool``."""
    layer = getattr(tnn, f"Adaptive{'Average' if mode == 'avg' else 'Max'}Pooling{x.dim() - 2}D")(output_size,
                                                                                                 data_format)
    out = layer(x)
    op = ko.adaptive_average_pool if mode == "avg" else ko.adaptive_max_pool
    assert torch.equal(out, op(x, output_size=output_size, data_format=data_format))
    return out


def _keras_adaptive_shape(input_shape, output_size, nd: int, data_format: str) -> tuple:
    """``BaseAdaptivePooling.compute_output_shape`` (``output_size`` an int: repeated ``nd`` times)."""
    size = (output_size,) * nd if isinstance(output_size, int) else tuple(output_size)
    if data_format == "channels_last":
        return (input_shape[0], *size, input_shape[-1])
    return (input_shape[0], input_shape[1], *size)


_ADAPTIVE_SHAPES = [  # (mode, nd, input_shape, output_size, data_format): the _run_layer_test methods
    *[(mode, nd, shape, size, df) for nd, cases in {
        1: [((2, 3, 8), 4, "channels_first"), ((2, 8, 3), 4, "channels_last")],
        2: [((2, 3, 8, 8), 4, "channels_first"), ((2, 8, 8, 3), 4, "channels_last")],
        3: [((2, 3, 8, 8, 8), 4, "channels_first"), ((2, 8, 8, 8, 3), 4, "channels_last")]}.items()
      for shape, size, df in cases for mode in ("avg", "max")],
    ("avg", 2, (2, 8, 8, 3), (4, 4), "channels_last"), ("max", 2, (2, 8, 8, 3), (2, 4), "channels_last"),
    ("avg", 3, (2, 8, 8, 8, 3), (4, 4, 4), "channels_last"), ("max", 3, (2, 8, 8, 8, 3), (2, 4, 4), "channels_last"),
]


@pytest.mark.parametrize("mode, nd, input_shape, output_size, data_format", _ADAPTIVE_SHAPES)
def test_adaptive_pooling_shapes(mode, nd, input_shape, output_size, data_format):
    """``adaptive_pooling{1,2,3}d_test.py::test_{average,max}_pooling_{basic_shapes,channels_last,
    tuple_output_size}``: the output's shape is ``compute_output_shape(x.shape)``."""
    x = torch.randn(input_shape, generator=torch.Generator().manual_seed(0))
    got = tuple(_adaptive(mode, x, output_size, data_format).shape)
    expected = _keras_adaptive_shape(input_shape, output_size, nd, data_format)
    print(f"adaptive {mode} pool {nd}d {input_shape} -> {output_size} {data_format}: {got} (Keras: {expected})")
    assert got == expected


@pytest.mark.parametrize("mode, nd, input_shape, output_size, data_format, expected", [
    ("avg", 1, (None, 64, 3), 16, "channels_last", (None, 16, 3)),
    ("max", 1, (2, 3, 64), 16, "channels_first", (2, 3, 16)),
    ("avg", 2, (None, 64, 64, 3), 16, "channels_last", (None, 16, 16, 3)),
    ("max", 2, (2, 3, 64, 64), (8, 16), "channels_first", (2, 3, 8, 16)),
    ("avg", 3, (None, 32, 32, 32, 3), 8, "channels_last", (None, 8, 8, 8, 3)),
    ("max", 3, (2, 3, 32, 32, 32), (4, 8, 8), "channels_first", (2, 3, 4, 8, 8)),
])
def test_adaptive_pooling_compute_output_shape(mode, nd, input_shape, output_size, data_format, expected):
    """``test_{average,max}_pooling_compute_output_shape``: Keras's expected shapes, the ``None`` batch run as
    1 (the op is eager)."""
    batch = input_shape[0] or 1
    x = torch.zeros((batch, *input_shape[1:]))
    got = tuple(_adaptive(mode, x, output_size, data_format).shape)
    want = (batch, *expected[1:])
    print(f"adaptive {mode} pool {nd}d {input_shape} -> {output_size}: {got} (Keras's test: {expected})")
    assert got == want


@pytest.mark.parametrize("mode, nd, output_size, data_format, expected", [
    ("avg", 1, 32, "channels_first", (32,)), ("max", 1, 32, "channels_last", (32,)),
    ("avg", 2, 32, "channels_first", (32, 32)), ("max", 2, (8, 16), "channels_last", (8, 16)),
    ("avg", 3, 16, "channels_first", (16, 16, 16)), ("max", 3, (8, 16, 16), "channels_last", (8, 16, 16)),
])
def test_adaptive_pooling_get_config(mode, nd, output_size, data_format, expected):
    """``test_{average,max}_pooling_get_config``: ``config["output_size"]`` (a tuple, an int repeated) and
    ``config["data_format"]``, here the layer's attributes."""
    layer = getattr(tnn, f"Adaptive{'Average' if mode == 'avg' else 'Max'}Pooling{nd}D")(output_size, data_format)
    print(f"adaptive {mode} pool {nd}d({output_size!r}, {data_format}): output_size {layer.output_size}, "
          f"data_format {layer.data_format} (Keras's test: {expected}, {data_format})")
    assert layer.output_size == expected and layer.data_format == data_format


_ADAPTIVE_2D_IN = [[[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0],
                     [13.0, 14.0, 15.0, 16.0]]]]
_ADAPTIVE_3D_IN = [[[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]]]


@pytest.mark.parametrize("mode, inputs, output_size, expected", [
    ("avg", [[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]], 2, [[[2.0, 5.0]]]),
    ("max", [[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]], 2, [[[3.0, 6.0]]]),
    ("avg", _ADAPTIVE_2D_IN, 2, [[[[3.5, 5.5], [11.5, 13.5]]]]),
    ("max", _ADAPTIVE_2D_IN, 2, [[[[6.0, 8.0], [14.0, 16.0]]]]),
    ("avg", _ADAPTIVE_3D_IN, 2, _ADAPTIVE_3D_IN),
    ("max", _ADAPTIVE_3D_IN, 2, _ADAPTIVE_3D_IN),
])
def test_adaptive_pooling_numerical(mode, inputs, output_size, expected):
    """``test_{average,max}_pooling{,2d,3d}_numerical``: ``data_format="channels_first"``, ``atol=1e-4``."""
    x = torch.tensor(inputs, dtype=F32)
    got = _adaptive(mode, x, output_size, "channels_first")
    assert got.dtype == F32
    _close(f"adaptive {mode} pool {x.dim() - 2}d numerical", got, np.array(expected, np.float32), atol=1e-4)


# ============================================================================== generator_data_adapter_test.py


def _example_generator(x, y, sample_weight=None, batch_size=32):
    """Upstream's ``example_generator``."""
    def make():
        for i in range(math.ceil(len(x) / batch_size)):
            low = i * batch_size
            high = min(low + batch_size, len(x))
            if sample_weight is not None:
                yield x[low:high], y[low:high], sample_weight[low:high]
            else:
                yield x[low:high], y[low:high]
    return make


def _read_pass(adapter, need_y: bool = True) -> list:
    """One epoch as ``fit`` reads it: :class:`EpochIterator` steps, each batch checked against the first batches'
    signature and converted by fit's ``_Batches`` (train mode): ``[(raw batch, (x, y, sample_weight, rows))]``."""
    conv = _Batches(adapter, None, F32, torch.device("cpu"), train=True, need_y=need_y)
    epoch = EpochIterator(adapter)
    seen = []
    with epoch.catch_stop_iteration():
        for step, iterator in epoch:
            batch = next(iterator)
            seen.append((batch, conv.convert(batch, step)))
    return seen


@pytest.mark.parametrize("use_sample_weight", [True, False])
@pytest.mark.parametrize("generator_type", ["np", "torch"])
def test_generator_basic_flow(use_sample_weight, generator_type):
    """``GeneratorDataAdapterTest::test_basic_flow``: 34 samples in batches of 16: 3 batches of (16, 4)/(16, 2),
    (16, 4)/(16, 2), (2, 4)/(2, 2), 2 or 3 parts, each a tensor (Keras on TensorFlow: ``tf.Tensor``; what fit
    feeds here: ``torch.Tensor``) of float32, the samples in order (``y[:, 0]`` = 0..33)."""
    rng = np.random.default_rng(0)
    x = rng.random((34, 4)).astype("float32")
    y = np.array([[i, i] for i in range(34)], dtype="float32")
    sw = rng.random((34,)).astype("float32")
    if generator_type == "torch":
        x, y, sw = torch.as_tensor(x), torch.as_tensor(y), torch.as_tensor(sw)
    gen = _example_generator(x, y, sample_weight=sw if use_sample_weight else None, batch_size=16)()
    assert data_kind(gen) == "generator"
    adapter = data_adapter(gen, "generator")
    assert adapter.num_batches is None
    seen = _read_pass(adapter)
    sample_order = []
    for i, (raw, (bx, by, bsw, rows)) in enumerate(seen):
        assert len(raw) == (3 if use_sample_weight else 2)
        assert isinstance(bx, torch.Tensor) and isinstance(by, torch.Tensor)
        assert bx.dtype == by.dtype == F32 and "float32" in str(bx.dtype)
        want = ((16, 4), (16, 2)) if i < 2 else ((2, 4), (2, 2))
        assert (tuple(bx.shape), tuple(by.shape)) == want and rows == want[0][0]
        if use_sample_weight:
            assert isinstance(bsw, torch.Tensor) and bsw.dtype == F32 and tuple(bsw.shape) == (want[0][0],)
        else:
            assert bsw is None
        sample_order += [float(v) for v in by[:, 0]]
    print(f"{generator_type} generator, sample weights {use_sample_weight}: batches "
          f"{[tuple(b[1][0].shape) for b in seen]}")
    assert len(seen) == 3
    _close("generator sample order", sample_order, list(range(34)))


def test_generator_sample_weights_reach_the_loss():
    """The ``(x, y, sample_weight)`` batches of ``test_basic_flow`` end to end: ``evaluate``'s loss equals the
    float64 oracle of Keras's, ``sum_i sw_i mse_i / 34`` (each batch ``sum(sw l) / n_b``, averaged over batches
    weighted by ``n_b``); ``predict`` on the ``(x,)`` batches gives 34 rows in order; ``fit`` trains on all 3."""
    rng = np.random.default_rng(0)
    x = rng.random((34, 4)).astype("float32")
    y = np.array([[i, i] for i in range(34)], dtype="float32") / 34
    sw = rng.random((34,)).astype("float32")
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    w, b = model.weight.detach().double().numpy(), model.bias.detach().double().numpy()
    pred = x.astype(np.float64) @ w.T + b
    oracle = float(np.sum(sw * np.mean((pred - y) ** 2, axis=1)) / 34)
    got = evaluate(model, _example_generator(x, y, sw, batch_size=16)(), loss="mse")["loss"]
    _close("evaluate(generator (x, y, sw)) loss vs float64 oracle", got, oracle, atol=0, rtol=1e-6)
    out = predict(model, ((x[i:i + 16],) for i in range(0, 34, 16)))
    _close("predict(generator (x,)) rows", out, pred, atol=1e-6, rtol=1e-6)
    sizes = []
    model.register_forward_hook(lambda m, inp, o: sizes.append(inp[0].shape[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fit's default shuffle=True on a generator: Keras's warning
        fit(model, _example_generator(x, y, sw, batch_size=16)(), loss="mse", optimizer="sgd", verbose=0)
    _show("fit(generator) batch sizes", sizes, [16, 16, 2])
    assert sizes == [16, 16, 2]


def test_generator_empty_raises_clear_error():
    """``test_empty_generator_raises_clear_error``."""
    def generator():
        if False:
            yield

    with pytest.raises(ValueError, match="the generator must yield at least one batch") as err:
        data_adapter(generator(), "generator")
    print("empty generator:", err.value)


def test_generator_with_different_shapes():
    """``test_with_different_shapes``: batches (16, 4), (16, 5), (2, 6): the first two disagree on the last
    dimension, so it is free (TensorFlow's signature ``(None, None)``) and the third batch passes."""
    def generator():
        yield np.ones([16, 4], "float32"), np.ones([16, 2], "float32")
        yield np.ones([16, 5], "float32"), np.ones([16, 2], "float32")
        yield np.ones([2, 6], "float32"), np.ones([2, 2], "float32")

    seen = _read_pass(data_adapter(generator(), "generator"))
    got = [(tuple(bx.shape), tuple(by.shape)) for _, (bx, by, _, _) in seen]
    print("different shapes:", got)
    assert all(len(raw) == 2 and bx.dtype == by.dtype == F32 for raw, (bx, by, _, _) in seen)
    assert got == [((16, 4), (16, 2)), ((16, 5), (16, 2)), ((2, 6), (2, 2))]


def test_generator_with_unexpected_shapes():
    """``test_with_unexpected_shapes`` (TensorFlow-only upstream, which is the backend torch_impl follows): a third
    batch with ``y`` of shape (16, 3) where the first two fixed (None, 2) raises, naming both shapes and the first
    two batches (upstream's regex ``shape \\(16, 3\\).* shape \\(None, 2\\) was expected.*first two batches``)."""
    def generator():
        yield np.ones([16, 4], "float32"), np.ones([16, 2], "float32")
        yield np.ones([16, 5], "float32"), np.ones([16, 2], "float32")
        yield np.ones([16, 6], "float32"), np.ones([16, 3], "float32")

    with pytest.raises(ValueError, match=r"shape \(16, 3\).* shape \(None, 2\) was expected.*first two batches") as e:
        _read_pass(data_adapter(generator(), "generator"))
    print("unexpected shapes:", e.value)


# ========================================================================== torch_data_loader_adapter_test.py


def test_torch_basic_dataloader():
    """``TestTorchDataLoaderAdapter::test_basic_dataloader``: 34 samples, ``batch_size=16``: ``num_batches`` 3;
    batches (16, 4)/(16, 2), (16, 4)/(16, 2), (2, 4)/(2, 2), float32 tensors (``batch_size`` /
    ``has_partial_batch`` / ``partial_batch_size``: GAPS)."""
    torch.manual_seed(0)
    x = torch.normal(2, 3, size=(34, 4))
    y = torch.normal(1, 3, size=(34, 2))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    assert data_kind(loader) == "torch DataLoader"
    adapter = data_adapter(loader, "torch DataLoader")
    seen = _read_pass(adapter)
    got = [(tuple(bx.shape), tuple(by.shape)) for _, (bx, by, _, _) in seen]
    print(f"DataLoader: num_batches {adapter.num_batches} (Keras's test: 3), batches {got}")
    assert adapter.num_batches == 3
    assert got == [((16, 4), (16, 2))] * 2 + [((2, 4), (2, 2))]
    assert all(len(raw) == 2 and isinstance(bx, torch.Tensor) and bx.dtype == by.dtype == F32
               for raw, (bx, by, _, _) in seen)
    _close("DataLoader batches == data", torch.cat([b[1][0] for b in seen]), x)
    sizes = []  # end to end: fit reads the 3 batches each epoch
    model = torch.nn.Linear(4, 2)
    model.register_forward_hook(lambda m, inp, o: sizes.append(inp[0].shape[0]))
    fit(model, loader, loss="mse", optimizer="sgd", epochs=2, shuffle=False, verbose=0)
    _show("fit(DataLoader, epochs=2) batch sizes", sizes, [16, 16, 2] * 2)
    assert sizes == [16, 16, 2] * 2


class _IterableDataset(torch.utils.data.IterableDataset):
    """Upstream's ``TestIterableDataset``: 10 samples, each ``(x (16, 4), y (16, 2))``."""

    def __init__(self):
        self.x = torch.normal(2, 3, size=(16, 4))
        self.y = torch.normal(1, 3, size=(16, 2))

    def __iter__(self):
        for _ in range(10):
            yield (self.x, self.y)


class _IterableDatasetWithLen(_IterableDataset):
    def __len__(self):
        return 10


@pytest.mark.parametrize("batch_size", [None, 3])
@pytest.mark.parametrize("implements_len", [True, False])
def test_torch_dataloader_iterable_dataset(batch_size, implements_len):
    """``test_dataloader_iterable_dataset``: ``num_batches`` ``ceil(10 / 3)`` = 4 / 10 with a length, ``None``
    without; batches ``(3, 16, 4)`` x 3 then ``(1, 16, 4)``, or ``(16, 4)`` x 10 unbatched; that many batches."""
    torch.manual_seed(0)
    ds = _IterableDatasetWithLen() if implements_len else _IterableDataset()
    adapter = data_adapter(torch.utils.data.DataLoader(ds, batch_size=batch_size), "torch DataLoader")
    want_num = (math.ceil(10 / batch_size) if batch_size else 10) if implements_len else None
    seen = _read_pass(adapter)
    print(f"iterable dataset batch_size={batch_size} len={implements_len}: num_batches {adapter.num_batches} "
          f"(Keras's test: {want_num}), {len(seen)} batches, shapes {[tuple(b[1][0].shape) for b in seen]}")
    assert adapter.num_batches == want_num
    for i, (raw, (bx, by, _, _)) in enumerate(seen):
        assert len(raw) == 2 and isinstance(bx, torch.Tensor) and bx.dtype == by.dtype == F32
        if batch_size:
            n = batch_size if i < 3 else 10 % batch_size
            assert (tuple(bx.shape), tuple(by.shape)) == ((n, 16, 4), (n, 16, 2))
        else:
            assert (tuple(bx.shape), tuple(by.shape)) == ((16, 4), (16, 2))
    assert len(seen) == (math.ceil(10 / batch_size) if batch_size else 10)


def test_torch_dataloader_with_different_shapes():
    """``test_with_different_shapes``: a ``StackDataset`` of 16 (4,), 16 (5,) and 2 (6,) rows with ``y`` (34, 2),
    ``batch_size=16``: ``num_batches`` 3; batches (16, 4), (16, 5), (2, 6) pass (the first two free the last
    dimension)."""
    x = [np.ones([4], "float32")] * 16 + [np.ones([5], "float32")] * 16 + [np.ones([6], "float32")] * 2
    y = np.ones((34, 2), "float32")
    loader = torch.utils.data.DataLoader(torch.utils.data.StackDataset(x, y), batch_size=16)
    adapter = data_adapter(loader, "torch DataLoader")
    seen = _read_pass(adapter)
    got = [(tuple(bx.shape), tuple(by.shape)) for _, (bx, by, _, _) in seen]
    print(f"StackDataset: num_batches {adapter.num_batches} (Keras's test: 3), batches {got}")
    assert adapter.num_batches == 3
    assert all(len(raw) == 2 and bx.dtype == by.dtype == F32 for raw, (bx, by, _, _) in seen)
    assert got == [((16, 4), (16, 2)), ((16, 5), (16, 2)), ((2, 6), (2, 2))]
