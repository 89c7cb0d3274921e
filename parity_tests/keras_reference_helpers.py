"""Helpers of the translated Keras unit tests (``test_keras_reference_*.py``): Keras's assertion helpers and its
view of NumPy inputs, without TensorFlow.

* ``almost_equal``: ``assertAlmostEqual(x, v, decimal=3)``, ``|x - v| < 1.5 * 10**-decimal``;
* ``all_close``: ``assertAllClose``, ``np.testing.assert_allclose`` with ``atol=rtol=1e-6`` unless given;
* ``exactly_equal``: ``assertEqual`` on a loss value;
* ``config_round_trip``: the ``get_config``/``from_config`` part of ``run_class_serialization_test``;
* ``check_bf16``: a ``dtype="bfloat16"`` loss against Keras's bfloat16 figure.
"""

from __future__ import annotations

import numpy as np
import torch


def as_keras_sees(x) -> torch.Tensor:
    """A torch tensor as Keras sees the numpy input: floats float32, ints int64."""
    a = np.asarray(x)
    if a.dtype.kind == "f":
        return torch.as_tensor(a, dtype=torch.float32)
    return torch.as_tensor(a.astype(np.int64))


def to_numpy(x) -> np.ndarray:
    """A tensor as NumPy: float64 kept (so a float64 check sees float64), other dtypes as float32."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        return (x if x.dtype == torch.float64 else x.float()).numpy()
    return np.asarray(x)


def almost_equal(name: str, got, expected, decimal: int = 3) -> None:
    """Keras's ``assertAlmostEqual``: ``|got - expected| < 1.5 * 10**-decimal``."""
    got = to_numpy(got)
    print(f"{name}: got={got} expected={expected} (decimal={decimal})")
    np.testing.assert_almost_equal(got, expected, decimal=decimal)


def all_close(name: str, got, expected, atol: float = 1e-6, rtol: float = 1e-6) -> None:
    """Keras's ``assertAllClose`` (defaults ``atol=rtol=1e-6``), shapes included."""
    got = to_numpy(got)
    expected = np.asarray(expected)
    print(f"{name}: got={got} expected={expected} (atol={atol}, rtol={rtol})")
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_allclose(got, expected, atol=atol, rtol=rtol)


def exactly_equal(name: str, got, expected) -> None:
    """Keras's ``assertEqual`` on a loss value: exact equality."""
    got = to_numpy(got)
    print(f"{name}: got={got} expected={expected} (exact)")
    assert got == expected


def config_round_trip(name: str, obj, keras_config: dict) -> dict:
    """The ``get_config``/``from_config`` part of Keras's ``run_class_serialization_test`` (its Keras-object
    serialization part is Keras-internal and not translated): ``cls.from_config(obj.get_config())`` has the
    same config and the same ``dir()``. The config must also equal ``keras_config``, real Keras's
    ``get_config()`` output for the same constructor call."""
    config = obj.get_config()
    revived = type(obj).from_config(config)
    print(f"{name}: config={config} keras={keras_config}")
    assert revived.get_config() == config
    assert set(dir(revived)) == set(dir(obj))
    assert config == keras_config
    return config


def check_bf16(name: str, loss: torch.Tensor, keras_value: float) -> None:
    """A loss with dtype='bfloat16' is bfloat16 and within bfloat16 resolution of Keras 3.15.1 on TensorFlow.

    Keras rounds the inputs to bfloat16 and computes in bfloat16; torch_impl rounds the inputs, computes in
    float32 and rounds the result: the two differ by a few bfloat16 ulps at most (2**-8 relative per ulp).
    """
    err = abs(float(loss) - keras_value)
    print(f"{name} dtype_arg: {loss.dtype} {float(loss)!r}, Keras 3.15.1 (TensorFlow, bfloat16) {keras_value!r}, "
          f"abs diff {err:.2e}")
    assert loss.dtype == torch.bfloat16
    assert err <= 2 ** -6 * max(abs(keras_value), 1e-3)
