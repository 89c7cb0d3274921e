"""Run sparse crossentropy cases on Keras's torch backend (a subprocess).

TensorFlow's Keras supports sparse crossentropy on the last axis only; for a
class axis elsewhere Keras's torch backend is the reference. Keras picks its
backend at import, so this runs in its own process:
``KERAS_BACKEND=torch python keras_torch_backend_worker.py IN.pkl OUT.pkl``.
IN is a pickled list of dicts (id, loss, config, y_true, y_pred, sample_weight,
dtype, input_dtype, functional, cotangent_seed); OUT maps id -> {value, grad, error}.
"""

import os
import pickle
import sys

os.environ["KERAS_BACKEND"] = "torch"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from keras.src.backend.torch import numpy as _knp  # noqa: E402


def _divide_no_nan(x1, x2):
    # Keras 3.15.1's torch backend computes divide_no_nan in float32 even for
    # float64 operands (dtypes.result_type(float64, float64, float) is float32),
    # which rounds every float64 `sum_over_batch_size` loss to float32. Keras on
    # TensorFlow keeps float64; so does this replacement.
    x1, x2 = torch.as_tensor(x1), torch.as_tensor(x2)
    dtype = torch.promote_types(x1.dtype, x2.dtype)
    if not dtype.is_floating_point:
        dtype = torch.get_default_dtype()
    x1, x2 = x1.to(dtype), x2.to(dtype)
    safe = torch.where(x2 == 0, torch.ones_like(x2), x2)
    return torch.where(x2 == 0, torch.zeros_like(x1), x1 / safe)


_knp.divide_no_nan = _divide_no_nan

from keras.src.losses import loss as _kloss  # noqa: E402

_original_apply_mask = _kloss.apply_mask


def _apply_mask(sample_weight, mask, dtype, reduction):
    # Keras 3.15.1 folds the mask into the weight with an in-place `*=`, which on
    # the torch backend fails when the product broadcasts to a larger shape
    # (ignore_class together with a scalar or per-sample weight). TensorFlow
    # tensors are immutable, so there `*=` is an ordinary product: do that.
    if mask is None or sample_weight is None:
        return _original_apply_mask(sample_weight, mask, dtype, reduction)
    float_mask = _original_apply_mask(None, mask, dtype, reduction)
    sample_weight = keras.ops.cast(sample_weight, dtype)
    float_mask, sample_weight = _kloss.squeeze_or_expand_to_same_rank(float_mask, sample_weight)
    return sample_weight * float_mask


_kloss.apply_mask = _apply_mask


def evaluate(c: dict) -> dict:
    arr = np.asarray(c["y_pred"], np.float64)
    arr = arr.astype(np.float32) if c["input_dtype"] == "bfloat16" else arr.astype(c["input_dtype"])
    x = torch.from_numpy(arr).to(getattr(torch, c["input_dtype"])).requires_grad_(True)
    cfg = dict(c["config"])
    try:
        if c["functional"]:
            kw = {k: v for k, v in cfg.items() if k not in ("reduction", "name", "dtype")}
            value = keras.losses.sparse_categorical_crossentropy(c["y_true"], x.to(getattr(torch, c["dtype"])), **kw)
        else:
            loss = keras.losses.SparseCategoricalCrossentropy(dtype=c["dtype"], **cfg)
            value = loss(c["y_true"], x, sample_weight=c["sample_weight"])
        if value.numel():
            if value.dim() == 0 or c["cotangent_seed"] is None:
                value.sum().backward()
            else:
                cot = np.random.default_rng(c["cotangent_seed"]).normal(size=tuple(value.shape))
                value.backward(torch.as_tensor(cot, dtype=value.dtype))
    except (ValueError, TypeError, RuntimeError, IndexError) as e:
        return {"value": None, "grad": None, "error": (type(e).__name__, str(e))}
    grad = np.zeros(arr.shape) if x.grad is None else x.grad.detach().double().numpy()
    return {"value": value.detach().double().numpy(), "grad": grad, "error": None}


def main() -> None:
    cases = pickle.load(open(sys.argv[1], "rb"))
    out = {c["id"]: evaluate(c) for c in cases}
    pickle.dump(out, open(sys.argv[2], "wb"))


if __name__ == "__main__":
    main()
