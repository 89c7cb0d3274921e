"""``torch_impl._ops.tf_convert`` / ``tf_cast`` against TensorFlow's ``tf.convert_to_tensor`` / ``tf.cast``.

Every piece of torch_impl that turns a Keras hyperparameter or argument into a tensor the way Keras's
``ops.cast`` does on TensorFlow goes through these two (the optimizers' betas and decays, the schedules, the
regularizers' factors, the initializers' bounds, ``keras.random``'s ``minval``/``maxval``, the augmentation
layers' draws, ``K.moving_average_update``). The rule that bites: a Python float becomes a float32 tensor
first, so ``tf.cast(0.1, tf.float64)`` is ``0.10000000149011612``; a NumPy float64 keeps its value; a Python
int is int32, or int64 when it does not fit. The grid below: 19 inputs (Python, NumPy and list values, the
int32 edges) x 7 target dtypes, compared bit for bit (values and the inferred dtype); and Adam's float64
steps with Python and NumPy betas (equal to Keras's, 0.0 apart).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

tf = pytest.importorskip("tensorflow")

from torch_impl._ops import tf_cast, tf_convert  # noqa: E402

pytestmark = pytest.mark.keras

_INPUTS = {
    "py_float_0.1": 0.1,
    "py_float_0.99": 0.99,
    "py_float_1e-7": 1e-7,
    "py_float_big": 3.4e38 * 0.5,
    "py_float_neg": -2.5,
    "py_int_3": 3,
    "py_int32_max": 2**31 - 1,
    "py_int32_min": -(2**31),
    "py_int_2^31": 2**31,
    "py_int_2^40": 2**40,
    "py_bool": True,
    "np_float64_0.1": np.float64(0.1),
    "np_float32_0.1": np.float32(0.1),
    "np_float16_0.1": np.float16(0.1),
    "np_int64_5": np.int64(5),
    "list_floats": [0.1, 0.2, 1.0],
    "list_mixed": [1, 2.5],
    "list_ints_big": [1, 2**40],
    "nd_float64": np.array([0.1, 1e-7]),
}
_DTYPES = {
    "float16": (torch.float16, tf.float16),
    "bfloat16": (torch.bfloat16, tf.bfloat16),
    "float32": (torch.float32, tf.float32),
    "float64": (torch.float64, tf.float64),
    "int32": (torch.int32, tf.int32),
    "int64": (torch.int64, tf.int64),
    "bool": (torch.bool, tf.bool),
}


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy()


def _tf_numpy(t) -> np.ndarray:
    return tf.cast(t, tf.float32).numpy() if t.dtype == tf.bfloat16 else t.numpy()


@pytest.mark.parametrize("name", list(_INPUTS))
def test_tf_convert_infers_tensorflows_dtype(name):
    value = _INPUTS[name]
    ours, theirs = tf_convert(value), tf.convert_to_tensor(value)
    print(f"{name}: ours {ours.dtype} TensorFlow {theirs.dtype.name}")
    assert str(ours.dtype).removeprefix("torch.") == theirs.dtype.name
    np.testing.assert_array_equal(_numpy(ours), theirs.numpy())


@pytest.mark.parametrize("dtype", list(_DTYPES))
@pytest.mark.parametrize("name", list(_INPUTS))
def test_tf_cast_bit_for_bit(name, dtype):
    value = _INPUTS[name]
    if dtype.startswith("int") and isinstance(value, float) and abs(value) > 2**62:
        pytest.skip("a float outside the integer range: the cast's result is implementation-defined in both")
    torch_dt, tf_dt = _DTYPES[dtype]
    ours, theirs = tf_cast(value, torch_dt), tf.cast(value, tf_dt)
    print(f"{name} -> {dtype}: ours {_numpy(ours).tolist()} TensorFlow {_tf_numpy(theirs).tolist()}")
    assert ours.dtype == torch_dt
    np.testing.assert_array_equal(_numpy(ours), _tf_numpy(theirs))


def test_tf_cast_float32_rounding_reaches_float64():
    """The rule the helper exists for, as a number: 0.1 in float64 is not 0.1."""
    ours = tf_cast(0.1, torch.float64).item()
    print(f"tf_cast(0.1, float64) = {ours!r}")
    assert ours == float(np.float32(0.1)) == 0.10000000149011612
    assert tf_cast(np.float64(0.1), torch.float64).item() == 0.1


def test_tensors_pass_through_and_move():
    t = torch.tensor([1.5, 2.5], dtype=torch.float64)
    assert tf_convert(t) is t
    out = tf_cast(t, torch.float32, device="cpu")
    assert out.dtype == torch.float32 and out.tolist() == [1.5, 2.5]


@pytest.mark.parametrize("beta_type", ["python_float", "numpy_float64"])
def test_adam_numpy_float64_betas_keep_their_value(beta_type):
    """Keras's Adam casts ``beta_1``/``beta_2`` with ``ops.cast``: a Python 0.9 is float32-rounded in a float64
    model, a NumPy ``float64(0.9)`` is not. The two give different float64 steps; torch_impl's match each."""
    import keras

    from torch_impl import optim

    b1, b2 = (0.9, 0.999) if beta_type == "python_float" else (np.float64(0.9), np.float64(0.999))
    w0, g = np.array([0.5, -1.2, 2.0]), np.array([0.1, -0.3, 0.7])
    keras.config.set_floatx("float64")
    try:
        v = keras.Variable(w0.copy(), dtype="float64")
        k_opt = keras.optimizers.Adam(learning_rate=0.01, beta_1=b1, beta_2=b2)
        for _ in range(3):
            k_opt.apply_gradients([(tf.constant(g), v)])
    finally:
        keras.config.set_floatx("float32")
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # Keras's floatx: the learning rate's variable
    try:
        p = torch.nn.Parameter(torch.tensor(w0.copy()))
        t_opt = optim.Adam([p], learning_rate=0.01, beta_1=b1, beta_2=b2)
        for _ in range(3):
            p.grad = torch.tensor(g)
            t_opt.step()
    finally:
        torch.set_default_dtype(default)
    err = np.abs(v.numpy() - p.detach().numpy()).max()
    print(f"Adam, {beta_type} betas, float64, 3 steps: max abs difference {err:.1e}")
    assert err == 0.0
