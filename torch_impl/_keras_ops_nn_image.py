"""Part of :mod:`torch_impl.keras_ops` (import the functions from there)."""

from __future__ import annotations

__all__: list = []

import torch  # noqa: E402

from torch_impl import keras_ops as _ko  # noqa: E402,F401
