"""Keras 3's image augmentation layers as TensorFlow computes them, for torch: the same images for the same seed.

:class:`RandomRotation`, :class:`RandomZoom` and :class:`RandomTranslation` draw Keras's random transforms from the
layer's ``SeedGenerator`` stream (TensorFlow's stateless uniform, :mod:`torch_impl._tf_random`) and resample the
images as ``keras.ops.image.affine_transform`` does on the TensorFlow backend: TensorFlow's
``ImageProjectiveTransformV3`` CPU kernel (``tensorflow/core/kernels/image/image_ops.h``), replayed operation by
operation in float32:

* the transform ``[a0, a1, a2, b0, b1, b2, c0, c1]`` (float32) maps the output pixel ``(x, y)`` to the input point
  ``((a0 x + a1 y) + a2) / k``, ``((b0 x + b1 y) + b2) / k``, ``k = (c0 x + c1 y) + 1``, each product and sum
  rounded to float32 (no fused multiply-add: TensorFlow's wheel is built without FMA); ``k == 0`` gives the fill;
* ``fill_mode`` maps a point outside the image as scipy's ``ndimage``: ``"reflect"`` about the edge of the last
  pixel, ``"wrap"`` (TensorFlow's: the shift is the image size, the period ``size - 1``), ``"nearest"`` clamps,
  ``"constant"`` keeps it; the coordinate is then clamped to ``[0, size - 1]`` (not in ``"constant"``);
* ``"nearest"`` interpolation reads the pixel at ``std::round`` (half away from zero) of each coordinate;
  ``"bilinear"`` reads the four neighbours *as float32* and weights them
  ``(x1 - x) f(x0) + (x - x0) f(x1)`` along x, then the same along y, in float32: a float64 image is resampled in
  float32 and widened back (nearest interpolation keeps float64 pixels); any neighbour outside the image reads the
  fill value (``fill_value`` rounded to float32, then to the image dtype), so in ``"constant"`` mode the border
  pixels blend with it.

The transforms are Keras's: a rotation's matrix in floatx about the image centre (``cos``/``sin`` as TensorFlow
computes them: float64 through the C library, float32 through Eigen's AVX polynomial for each full packet of 8
angles and the C library's ``sinf``/``cosf`` for the rest, both replayed exactly), a zoom's and a translation's in
float32; Keras's uniform ``minval``/``maxval`` are Python floats that ``tf.cast`` rounds to float32 first (a float64
model's ``RandomZoom(0.1)`` draws in ``[float32(0.9), float32(1.1))``). Keras 3.15's ``RandomRotation`` cannot
train in float64 (its ``pi / 180`` is a float32 tensor: TensorFlow raises after the draw); the port raises too.

:class:`RandomBrightness` adds ``uniform(factor) * (max - min)`` of the value range and clips; :class:`RandomContrast`
scales about the per-image, per-channel mean as Keras's (Keras 3's ``RandomContrast(f)`` draws its contrast factor in
``[1, 1 + f]``: its ``factor`` is bounded by ``(0, 1)`` so the lower bound of a single number is ``0``), its mean
summed in the order of TensorFlow's Eigen reduction for channels-last images.

Every layer draws nothing in eval mode and is the identity there; an unbatched image ``(C, H, W)`` is one draw; an
unseeded layer draws its seed from Python's ``random`` when made (Keras's ``SeedGenerator(None)``), which
:func:`torch_impl.nn.keras_init_` ``(seed=...)`` replays. Images are torch's ``(N, C, H, W)``
(``data_format="channels_first"``, the default here) or Keras's ``(N, H, W, C)`` (``"channels_last"``); either
gives the numbers of Keras's default channels-last layer on the same images. Integer images become torch's default
dtype (Keras casts to its compute dtype), except in ``RandomBrightness``, which keeps them integer as Keras's does; Keras's own numbers need images in torch's default dtype (its floatx),
which is also the dtype of the random draws. The gradient through the resampling is torch's (the exact adjoint of
the interpolation), not TensorFlow's. Keras augments whenever ``training`` is not False: ``model(x)`` draws,
``model.predict`` does not; here ``module.train()``/``module.eval()`` decide.

Replayed for TensorFlow's x86-64 CPU wheel (Eigen with AVX, no FMA). Not replayed: Eigen's tree summation of a
contrast mean over more than 8192 (float32; 4096 float64) single-channel pixels in one row or column (the sum is
then within float rounding), and half-precision images' means.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
from torch import nn

from torch_impl._eigen_math import tf_sincos
from torch_impl._ops import tf_cast
from torch_impl._tf_random import SeedGenerator as _SeedGenerator
from torch_impl._tf_random import stateless_uniform

__all__ = ["affine_transform", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomBrightness",
           "RandomContrast", "ImageDataGenerator", "NumpyArrayIterator", "DirectoryIterator"]

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")
_AFFINE_FILL_MODES = ("constant", "nearest", "wrap", "reflect")  # keras.ops.image.affine_transform's order
_F32 = torch.float32


# ---------------------------------------------------------------------------------------------------------------
# ImageProjectiveTransformV3
# ---------------------------------------------------------------------------------------------------------------

def _int_times(k: torch.Tensor, m: int) -> torch.Tensor:
    """``m * static_cast<int64>(k)`` converted back to float32 (``k`` a float32 tensor of whole numbers)."""
    return (k.double() * m).to(_F32)


def _map_coordinate(c: torch.Tensor, size: int, mode: str) -> torch.Tensor:
    """TensorFlow's ``MapCoordinate<mode>`` of float32 input coordinates along an axis of ``size`` pixels."""
    if mode == "constant":
        return c
    top = float(size - 1)
    if mode == "nearest":
        return c.clamp(0.0, top)
    if size <= 1:
        inside = (c >= 0) & (c <= top)
        return torch.where(inside, c, torch.zeros_like(c)).clamp(0.0, top)
    below, above = c < 0, c > top
    if mode == "reflect":
        sz2 = 2 * size
        k = torch.trunc(-c / torch.full_like(c, float(sz2)))
        low = _int_times(k, sz2) + c
        low = torch.where(low < -size, low + float(sz2), -low - 1.0)
        k = torch.trunc(c / torch.full_like(c, float(sz2)))
        high = c - _int_times(k, sz2)
        high = torch.where(high >= size, (float(sz2) - high) - 1.0, high)
    else:  # wrap
        period = torch.full_like(c, float(size - 1))
        low = c + _int_times(torch.trunc(-c / period) + 1.0, size)
        high = c - _int_times(torch.trunc(c / period), size)
    return torch.where(below, low, torch.where(above, high, c)).clamp(0.0, top)


def _round_half_away(v: torch.Tensor) -> torch.Tensor:
    """``std::round`` of float32 values: halves away from zero (``torch.round`` rounds them to even)."""
    whole = torch.trunc(v)
    frac = v - whole  # exact
    return whole + torch.where(frac.abs() >= 0.5, torch.sign(v), torch.zeros_like(v))


class _Reader:
    """The pixels of ``(N, C, H, W)`` or ``(N, H, W, C)`` images at integral float coordinates ``(B, H', W')``, the
    fill value outside (TensorFlow's ``read_with_fill_value``)."""

    def __init__(self, images: torch.Tensor, channels_last: bool, fill: torch.Tensor):
        self.images, self.channels_last, self.fill = images, channels_last, fill
        if channels_last:
            self.n, self.h, self.w, self.c = images.shape
            self.flat = images.reshape(self.n, self.h * self.w, self.c)
        else:
            self.n, self.c, self.h, self.w = images.shape
            self.flat = images.reshape(self.n, self.c, self.h * self.w)

    def spread(self, v: torch.Tensor) -> torch.Tensor:
        """A per-pixel ``(B, H', W')`` tensor shaped to broadcast against :meth:`read`'s output."""
        v = v.reshape(v.shape[0], -1)
        return v.unsqueeze(-1) if self.channels_last else v.unsqueeze(1)

    def read(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        valid = (y >= 0) & (y < self.h) & (x >= 0) & (x < self.w)
        index = torch.where(valid, y * self.w + x, torch.zeros_like(x)).to(torch.int64)
        index = index.reshape(index.shape[0], -1).expand(self.n, -1)
        if self.channels_last:
            values = self.flat.gather(1, index.unsqueeze(-1).expand(-1, -1, self.c))
        else:
            values = self.flat.gather(2, index.unsqueeze(1).expand(-1, self.c, -1))
        return torch.where(self.spread(valid), values, self.fill)


def affine_transform(images: torch.Tensor, transform, interpolation: str = "bilinear", fill_mode: str = "constant",
                     fill_value: float = 0.0, data_format: str = "channels_first") -> torch.Tensor:
    """``keras.ops.image.affine_transform`` on the TensorFlow backend (``ImageProjectiveTransformV3``), bit for bit.

    Args:
        images: ``(N, C, H, W)`` or ``(C, H, W)`` (``data_format="channels_first"``, the default here), or
            ``(N, H, W, C)``/``(H, W, C)`` (``"channels_last"``, Keras's default).
        transform: ``(8,)`` or ``(N, 8)`` (or ``(1, 8)`` for all images): ``[a0, a1, a2, b0, b1, b2, c0, c1]``
            mapping the output pixel ``(x, y)`` to the input point ``((a0 x + a1 y + a2) / k,
            (b0 x + b1 y + b2) / k)``, ``k = c0 x + c1 y + 1``; rounded to float32 as Keras does.
        interpolation: ``"nearest"`` or ``"bilinear"``.
        fill_mode: ``"constant"``, ``"nearest"``, ``"wrap"`` or ``"reflect"``.
        fill_value: the value read outside the image (``"constant"`` mode, and bilinear's neighbours past an edge).

    Example:
        >>> image = torch.arange(1.0, 5.0).reshape(1, 1, 4)  # one channel, one row
        >>> affine_transform(image, [1, 0, 0.5, 0, 1, 0, 0, 0], fill_value=-1.0).flatten().tolist()
        [1.5, 2.5, 3.5, 1.5]
        >>> affine_transform(image, [1, 0, -1, 0, 1, 0, 0, 0], fill_mode="reflect").flatten().tolist()
        [1.0, 1.0, 2.0, 3.0]
    """
    if interpolation not in _INTERPOLATIONS:
        raise ValueError("Invalid value for argument `interpolation`. Expected of one "
                         f"{_INTERPOLATIONS}. Received: interpolation={interpolation}")
    if fill_mode not in _AFFINE_FILL_MODES:
        raise ValueError("Invalid value for argument `fill_mode`. Expected of one "
                         f"{_AFFINE_FILL_MODES}. Received: fill_mode={fill_mode}")
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
                         f"Received: data_format={data_format}")
    if images.dim() not in (3, 4):
        raise ValueError("Invalid images rank: expected rank 3 (single image) or rank 4 (batch of images). "
                         f"Received input with shape: images.shape={tuple(images.shape)}")
    t = torch.as_tensor(transform).to(dtype=_F32, device=images.device)
    if t.dim() not in (1, 2):
        raise ValueError("Invalid transform rank: expected rank 1 (single transform) or rank 2 (batch of "
                         f"transforms). Received input with shape: transform.shape={tuple(t.shape)}")
    unbatched = images.dim() == 3
    x4 = images.unsqueeze(0) if unbatched else images
    t = t.unsqueeze(0) if t.dim() == 1 else t
    channels_last = data_format == "channels_last"
    height, width = (x4.shape[1], x4.shape[2]) if channels_last else (x4.shape[2], x4.shape[3])
    device = x4.device
    ox = torch.arange(width, dtype=_F32, device=device).reshape(1, 1, width)
    oy = torch.arange(height, dtype=_F32, device=device).reshape(1, height, 1)
    a0, a1, a2, b0, b1, b2, c0, c1 = (t[:, i].reshape(-1, 1, 1) for i in range(8))
    projection = (c0 * ox + c1 * oy) + 1.0
    projection = projection.expand(t.shape[0], height, width)
    in_x = ((a0 * ox + a1 * oy) + a2) / projection
    in_y = ((b0 * ox + b1 * oy) + b2) / projection
    x = _map_coordinate(in_x, width, fill_mode)
    y = _map_coordinate(in_y, height, fill_mode)
    fill = torch.tensor(np.float32(fill_value), dtype=_F32, device=device).to(x4.dtype)  # static_cast<T>(float)
    reader = _Reader(x4, channels_last, fill)
    if interpolation == "nearest":
        out = reader.read(_round_half_away(y), _round_half_away(x))
    else:
        reader.fill = fill.to(_F32)
        reader.flat = reader.flat.to(_F32)  # static_cast<float> of each neighbour
        y0, x0 = torch.floor(y), torch.floor(x)
        y1, x1 = y0 + 1.0, x0 + 1.0
        wx0, wx1 = reader.spread(x1 - x), reader.spread(x - x0)
        top = wx0 * reader.read(y0, x0) + wx1 * reader.read(y0, x1)
        bottom = wx0 * reader.read(y1, x0) + wx1 * reader.read(y1, x1)
        out = (reader.spread(y1 - y) * top + reader.spread(y - y0) * bottom).to(x4.dtype)
    out = torch.where(reader.spread(projection == 0), fill, out)
    shape = (x4.shape[0], height, width, x4.shape[3]) if channels_last else (x4.shape[0], x4.shape[1], height, width)
    out = out.reshape(shape)
    return out.squeeze(0) if unbatched else out


# ---------------------------------------------------------------------------------------------------------------
# Keras's random draws
# ---------------------------------------------------------------------------------------------------------------

def _keras_uniform(shape, seed: tuple, minval, maxval, dtype: torch.dtype) -> torch.Tensor:
    """``keras.random.uniform(shape, minval, maxval, dtype, seed)`` on TensorFlow (CPU): ``u * (max - min) + min``."""
    lo, hi = tf_cast(minval, dtype), tf_cast(maxval, dtype)
    return stateless_uniform(tuple(shape), seed, dtype) * (hi - lo) + lo


def _is_number(value) -> bool:
    return isinstance(value, (int, float))  # Keras's isinstance check: bool and np.float64 pass too


def _base_factor(factor, bounds: tuple) -> tuple:
    """``BaseImagePreprocessingLayer._set_factor``: ``(lower, upper)``, Keras's ValueError for a bad factor."""
    message = ("The `factor` argument should be a number (or a list of two numbers) in the range "
               f"[{bounds[0]}, {bounds[1]}]. Received: factor={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(message)
        lower, upper = sorted(factor)
    elif _is_number(factor):
        if factor < bounds[0] or factor > bounds[1]:
            raise ValueError(message)
        factor = abs(factor)
        lower, upper = max(-factor, bounds[0]), factor
    else:
        raise ValueError(message)
    return lower, upper


def _check_data_format(data_format: str) -> str:
    data_format = str(data_format).lower()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
                         f"Received: data_format={data_format}")
    return data_format


class _KerasImageLayer(_SeedGenerator, nn.Module):
    """A Keras image augmentation layer: its ``SeedGenerator`` (one draw of Python's ``random`` when unseeded, as
    Keras's), the layout, Keras's rank check; subclasses draw and transform in :meth:`_augment`."""

    data_format = "channels_first"
    #: integer images stay integer (RandomBrightness: Keras casts its delta to the image dtype); otherwise they
    #: become torch's default dtype, as Keras casts them to its compute dtype
    keeps_integers = False
    #: Keras's RandomBrightness/RandomContrast raise "Expected the input image to be rank 3 or 4." (their
    #: get_random_transformation), the other layers the base layer's message
    _KERAS_RANK_MESSAGE = False

    def _init_layer(self, seed: Optional[int], data_format: str) -> None:
        self.seed = seed
        self._init_seed(seed, draws=True)  # Keras's layers always make their SeedGenerator
        self.data_format = _check_data_format(data_format)

    def _images(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() not in (3, 4):
            if self._KERAS_RANK_MESSAGE:  # RandomBrightness/RandomContrast check the rank in their own words
                raise ValueError("Expected the input image to be rank 3 or 4. Received "
                                 f"inputs.shape={tuple(x.shape)}")
            raise ValueError("Expected image tensor to have rank 3 (single image) or 4 (batch of images). "
                             f"Received: data.shape={tuple(x.shape)}")
        return x if x.is_floating_point() or self.keeps_integers else x.to(torch.get_default_dtype())

    def _height_width(self, x4: torch.Tensor) -> tuple:
        return (x4.shape[1], x4.shape[2]) if self.data_format == "channels_last" else (x4.shape[2], x4.shape[3])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        images = self._images(x)
        if not self.training:
            return images  # Keras's training=False: nothing drawn
        unbatched = images.dim() == 3
        x4 = images.unsqueeze(0) if unbatched else images
        out = self._augment(x4)
        return out.squeeze(0) if unbatched else out

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class _AffineLayer(_KerasImageLayer):
    """The resampling arguments of Keras's ``RandomRotation``/``RandomZoom``/``RandomTranslation``."""

    def _init_affine(self, fill_mode: str, interpolation: str, fill_value: float) -> None:
        if fill_mode not in _FILL_MODES:
            raise NotImplementedError(f"Unknown `fill_mode` {fill_mode}. Expected of one {_FILL_MODES}.")
        if interpolation not in _INTERPOLATIONS:
            raise NotImplementedError(f"Unknown `interpolation` {interpolation}. Expected of one "
                                      f"{_INTERPOLATIONS}.")
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value

    def _affine_repr(self) -> str:
        return (f"fill_mode={self.fill_mode!r}, interpolation={self.interpolation!r}, seed={self.seed}, "
                f"fill_value={self.fill_value}, data_format={self.data_format!r}")

    def _init_height_width(self, height_factor, width_factor, zoom: bool) -> None:
        """``RandomZoom``/``RandomTranslation``'s two factors as ``(lower, upper)`` (a zoom's lowest bound is open,
        and its ``width_factor`` may be None: the height's zoom then applies to both)."""
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_lower, self.height_upper = _range_factor(height_factor, "height_factor", self._MESSAGE, zoom)
        if width_factor is not None or not zoom:
            self.width_lower, self.width_upper = _range_factor(width_factor, "width_factor", self._MESSAGE, zoom)

    def _height_width_repr(self) -> str:
        return f"height_factor={self.height_factor}, width_factor={self.width_factor}, " + self._affine_repr()

    def _resample(self, images: torch.Tensor, transform: torch.Tensor) -> torch.Tensor:
        return affine_transform(images, transform.to(images.device), self.interpolation, self.fill_mode,
                                self.fill_value, self.data_format)


class RandomRotation(_AffineLayer):
    """Keras's ``RandomRotation(factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0)``
    on the TensorFlow backend: each image rotated about its centre by ``uniform(factor) * 360`` degrees (positive:
    counter-clockwise), one floatx draw of shape ``(N,)`` per training call.

    ``factor``: a number ``f`` in ``[-1, 1]`` (``[-|f|, |f|]``) or ``(low, high)``, fractions of a full turn.

    Example:
        >>> rot = RandomRotation(0.25, seed=1, fill_mode="constant")
        >>> rot(torch.ones(2, 1, 5, 5)).shape, rot.state
        (torch.Size([2, 1, 5, 5]), (1, 1))
    """

    def __init__(self, factor, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: Optional[int] = None, fill_value: float = 0.0, data_format: str = "channels_first"):
        super().__init__()
        self.factor = _base_factor(factor or 0.0, (-1, 1))
        self._init_layer(seed, data_format)
        self._init_affine(fill_mode, interpolation, fill_value)

    def extra_repr(self) -> str:
        return f"factor={self.factor}, " + self._affine_repr()

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        floatx = torch.get_default_dtype()
        height, width = self._height_width(images)
        n = images.shape[0]
        angle = _keras_uniform((n,), self._next_seed(), self.factor[0] * 360.0, self.factor[1] * 360.0, floatx)
        if floatx != _F32:
            # Keras 3.15's _compute_affine_matrix multiplies the floatx angles by convert_to_tensor(pi / 180), a
            # float32 tensor: TensorFlow refuses the mixed product after the angles are drawn
            raise TypeError(f"Keras's RandomRotation cannot run in training mode with floatx {str(floatx)[6:]}: "
                            "it multiplies the angles by a float32 pi / 180 and TensorFlow raises "
                            "InvalidArgumentError (the draw is spent: the layer's counter has advanced, as Keras's). "
                            "Use float32 (torch.set_default_dtype(torch.float32)).")
        return self._resample(images, _rotation_matrix(angle, height, width).to(_F32))


def _rotation_matrix(angle: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``BaseImagePreprocessingLayer._compute_affine_matrix`` of a rotation about ``(0.5, 0.5)`` of the image
    (no translation, shear or scale), in ``angle``'s dtype, as TensorFlow evaluates it."""
    dt = angle.dtype
    n = angle.shape[0]
    to_radians = torch.tensor(math.pi / 180.0, dtype=dt)
    zeros, ones = torch.zeros(n, dtype=dt), torch.ones(n, dtype=dt)
    angle = angle * to_radians
    shear_x, shear_y = zeros * to_radians, zeros * to_radians  # tan(0) = 0 below
    cx = 0.5 * (torch.tensor(float(width), dtype=dt) - 1)
    cy = 0.5 * (torch.tensor(float(height), dtype=dt) - 1)
    cos, sin = tf_sincos(angle, sine=False), tf_sincos(angle, sine=True)
    shear_x, shear_y = torch.tan(shear_x), torch.tan(shear_y)
    scale, translate_x, translate_y = ones, zeros, zeros
    a0 = scale * (cos + shear_x * sin)
    a1 = scale * (-sin + shear_x * cos)
    a2 = translate_x + cx - cx * a0 - cy * a1
    b0 = scale * (shear_y * cos + sin)
    b1 = scale * (shear_y * -sin + cos)
    b2 = translate_y + cy - cx * b0 - cy * b1
    return torch.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], dim=1)


def _range_factor(factor, name: str, message: str, lowest_open: bool) -> tuple:
    """``RandomZoom``/``RandomTranslation._set_factor``: ``(lower, upper)``, Keras's ValueErrors."""
    def check(number):
        if number > 1.0 or (number <= -1.0 if lowest_open else number < -1.0):
            raise ValueError(message + f"Received: input_number={number}")

    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(message + f"Received: {name}={factor}")
        check(factor[0])
        check(factor[1])
        lower, upper = sorted(factor)
    elif _is_number(factor):
        check(factor)
        factor = abs(factor)
        lower, upper = -factor, factor
    else:
        raise ValueError(message + f"Received: {name}={factor}")
    return lower, upper


class RandomZoom(_AffineLayer):
    """Keras's ``RandomZoom(height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear",
    seed=None, fill_value=0.0)`` on the TensorFlow backend: each image scaled about its centre by
    ``1 + uniform(height_factor)`` vertically (``(N, 1)`` floatx draw) and ``1 + uniform(width_factor)``
    horizontally (a second draw; the vertical zoom when ``width_factor`` is None). A positive zoom samples a
    larger area (zooms *out*).

    Factors: a number ``f`` in ``(-1, 1]`` (``[-|f|, |f|]``) or ``(low, high)``.

    Example:
        >>> zoom = RandomZoom(0.2, seed=1)
        >>> zoom(torch.ones(2, 3, 4, 4)).shape, zoom.state
        (torch.Size([2, 3, 4, 4]), (1, 1))
    """

    _MESSAGE = ("The `height_factor` and `width_factor` arguments should be a number (or a list of two numbers) "
                "in the range (-1.0, 1.0]. ")

    def __init__(self, height_factor, width_factor=None, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: Optional[int] = None, fill_value: float = 0.0, data_format: str = "channels_first"):
        super().__init__()
        self._init_height_width(height_factor, width_factor, zoom=True)
        self._init_affine(fill_mode, interpolation, fill_value)
        self._init_layer(seed, data_format)

    def extra_repr(self) -> str:
        return self._height_width_repr()

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        floatx = torch.get_default_dtype()
        height, width = self._height_width(images)
        shape = (images.shape[0], 1)
        height_zoom = _keras_uniform(shape, self._next_seed(), 1.0 + self.height_lower, 1.0 + self.height_upper,
                                     floatx)
        if self.width_factor is not None:
            width_zoom = _keras_uniform(shape, self._next_seed(), 1.0 + self.width_lower, 1.0 + self.width_upper,
                                        floatx)
        else:
            width_zoom = height_zoom
        zooms = torch.cat([width_zoom, height_zoom], dim=1).to(_F32)
        x_offset = ((torch.tensor(float(width), dtype=_F32) - 1.0) / 2.0) * (1.0 - zooms[:, 0:1])
        y_offset = ((torch.tensor(float(height), dtype=_F32) - 1.0) / 2.0) * (1.0 - zooms[:, 1:])
        zero = torch.zeros_like(x_offset)
        transform = torch.cat([zooms[:, 0:1], zero, x_offset, zero, zooms[:, 1:], y_offset, zero, zero], dim=1)
        return self._resample(images, transform)


class RandomTranslation(_AffineLayer):
    """Keras's ``RandomTranslation(height_factor, width_factor, fill_mode="reflect", interpolation="bilinear",
    seed=None, fill_value=0.0)`` on the TensorFlow backend: each image shifted by ``uniform(height_factor) * H``
    pixels down and ``uniform(width_factor) * W`` right (two ``(N, 1)`` floatx draws, height first; the shifts
    rounded to float32).

    Factors: a number ``f`` in ``[-1, 1]`` (``[-|f|, |f|]``) or ``(low, high)``.

    Example:
        >>> shift = RandomTranslation(0.0, (0.25, 0.25), seed=1, fill_mode="constant")
        >>> shift(torch.arange(1.0, 5.0).reshape(1, 1, 1, 4)).flatten().tolist(), shift.state
        ([0.0, 1.0, 2.0, 3.0], (1, 2))
    """

    _MESSAGE = "The `factor` argument should be a number (or a list of two numbers) in the range [-1.0, 1.0]. "

    def __init__(self, height_factor, width_factor, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: Optional[int] = None, fill_value: float = 0.0, data_format: str = "channels_first"):
        super().__init__()
        self._init_height_width(height_factor, width_factor, zoom=False)
        self._init_affine(fill_mode, interpolation, fill_value)
        self._init_layer(seed, data_format)

    def extra_repr(self) -> str:
        return self._height_width_repr()

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        floatx = torch.get_default_dtype()
        height, width = self._height_width(images)
        shape = (images.shape[0], 1)
        dy = _keras_uniform(shape, self._next_seed(), self.height_lower, self.height_upper, floatx) * height
        dx = _keras_uniform(shape, self._next_seed(), self.width_lower, self.width_upper, floatx) * width
        shifts = torch.cat([dx, dy], dim=1).to(_F32)
        one, zero = torch.ones_like(shifts[:, :1]), torch.zeros_like(shifts[:, :1])
        transform = torch.cat([one, zero, -shifts[:, 0:1], zero, one, -shifts[:, 1:], zero, zero], dim=1)
        return self._resample(images, transform)


# ---------------------------------------------------------------------------------------------------------------
# Colour layers
# ---------------------------------------------------------------------------------------------------------------

def _tf_clip(x: torch.Tensor, low, high) -> torch.Tensor:
    """``tf.clip_by_value(x, low, high)``: ``maximum(minimum(x, high), low)`` (NaN kept; ``low > high`` gives
    ``low``, where ``torch.clamp`` gives ``high``)."""
    hi = torch.tensor(high, dtype=x.dtype, device=x.device)
    lo = torch.tensor(low, dtype=x.dtype, device=x.device)
    return torch.maximum(torch.minimum(x, hi), lo)


def _predux(p: torch.Tensor) -> torch.Tensor:
    """Eigen's ``predux`` (sum of a packet) for AVX: 8 floats ``((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7))``, 4
    doubles ``(a0+a2) + (a1+a3)``."""
    half = p.shape[-1] // 2
    b = p[..., :half] + p[..., half:]
    if half == 4:
        return (b[..., 0] + b[..., 2]) + (b[..., 1] + b[..., 3])
    return b[..., 0] + b[..., 1]


def _sum_innermost(x: torch.Tensor, packet: int) -> torch.Tensor:
    """Eigen's vectorised ``InnerMostDimReducer`` (sum) of the last dim of ``x`` (up to ``1024 * packet`` values;
    Eigen splits longer rows into a tree, not replayed): four packet accumulators over each ``4 * packet`` chunk,
    then single packets, the left-over values one by one, and the packet summed in (``predux``) last."""
    n = x.shape[-1]
    zeros = torch.zeros(x.shape[:-1] + (packet,), dtype=x.dtype, device=x.device)
    acc, start = zeros, 0
    if n >= 4 * packet:
        chunk = n // (4 * packet) * 4 * packet
        accs = [zeros] * 4
        for j in range(0, chunk, 4 * packet):
            accs = [accs[k] + x[..., j + k * packet:j + (k + 1) * packet] for k in range(4)]
        acc = ((accs[0] + accs[1]) + accs[2]) + accs[3]
        start = chunk
    if start <= n - packet:
        end = n // packet * packet
        for j in range(start, end, packet):
            acc = acc + x[..., j:j + packet]
        start = end
    rest = torch.zeros(x.shape[:-1], dtype=x.dtype, device=x.device)
    for j in range(start, n):
        rest = rest + x[..., j]
    return rest + _predux(acc)


def _sum_preserving_inner(x: torch.Tensor, packet: int) -> torch.Tensor:
    """Eigen's reduction of the middle dim of ``(A, R, I)`` (``I > 1``): ``(A, I)``. Outputs are evaluated a packet
    at a time; a packet within one row of ``I`` sums with four accumulators (``R >= 16``: rows ``j % 4``, then
    ``((a0 + a1) + a2) + a3`` and the last ``R % 4`` rows), any other output sums the rows in order."""
    a, r, i = x.shape
    ordered = torch.zeros((a, i), dtype=x.dtype, device=x.device)
    for j in range(r):
        ordered = ordered + x[:, j]
    if r < 16:
        return ordered
    whole = r // 4 * 4
    accs = [torch.zeros((a, i), dtype=x.dtype, device=x.device)] * 4
    for j in range(0, whole, 4):
        accs = [accs[k] + x[:, j + k] for k in range(4)]
    four = ((accs[0] + accs[1]) + accs[2]) + accs[3]
    for j in range(whole, r):
        four = four + x[:, j]
    index = torch.arange(a * i, device=x.device)
    first = index // packet * packet
    in_packet = (first < (a * i) // packet * packet) & ((first % i) + packet - 1 < i)
    return torch.where(in_packet.reshape(a, i), four, ordered)


def _tf_mean(x: torch.Tensor, axis: int) -> torch.Tensor:
    """``tf.reduce_mean(x, axis, keepdims=True)`` on TensorFlow's CPU kernel for a float32/float64 ``x``: Eigen's
    sum in TensorFlow's reshaped view (size-1 dims dropped, the reduced axis between the outer and inner
    dims), divided by the count."""
    packet = 8 if x.dtype == torch.float32 else 4  # AVX packets
    shape = list(x.shape)
    outer, count, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
    out_shape = shape[:axis] + [1] + shape[axis + 1:]
    if count == 1:
        return x.reshape(out_shape)
    if inner == 1:
        total = _sum_innermost(x.reshape(outer, count), packet)
    else:
        total = _sum_preserving_inner(x.reshape(outer, count, inner), packet)
    return (total / torch.full_like(total, float(count))).reshape(out_shape)


class RandomBrightness(_KerasImageLayer):
    """Keras's ``RandomBrightness(factor, value_range=(0, 255), seed=None)`` on the TensorFlow backend: each image
    plus ``uniform(factor) * (max - min)`` (one floatx ``(N, 1, 1, 1)`` draw, cast to the image dtype), clipped to
    ``value_range``. Integer images stay integer, as Keras's (the delta truncated toward zero).

    ``factor``: a number ``f`` in ``[-1, 1]`` (``[-|f|, |f|]``) or ``(low, high)``; ``value_range`` is sorted.

    Example:
        >>> bright = RandomBrightness(0.5, value_range=(0, 1), seed=1)
        >>> bright(torch.full((2, 1, 2, 2), 0.5)).amax(dim=(1, 2, 3)).tolist(), bright.state
        ([0.8784881830215454, 0.4599802494049072], (1, 1))
    """

    _VALUE_RANGE_MESSAGE = "The `value_range` argument should be a list of two numbers. "
    _KERAS_RANK_MESSAGE = True
    keeps_integers = True  # Keras: the delta cast to the image dtype (truncated), added and clipped

    def __init__(self, factor, value_range=(0, 255), seed: Optional[int] = None,
                 data_format: str = "channels_first"):
        super().__init__()
        self.factor = _base_factor(factor or 0.0, (-1, 1))
        self._init_layer(seed, data_format)
        if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
            raise ValueError(self._VALUE_RANGE_MESSAGE + f"Received: value_range={value_range}")
        self.value_range = sorted(value_range)

    def extra_repr(self) -> str:
        return f"factor={self.factor}, value_range={self.value_range}, seed={self.seed}"

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        floatx = torch.get_default_dtype()
        low, high = self.value_range
        delta = _keras_uniform((images.shape[0], 1, 1, 1), self._next_seed(), self.factor[0], self.factor[1], floatx)
        delta = delta * torch.tensor(high - low, dtype=floatx)  # a Python number converted to the draw's dtype
        return _tf_clip(images + delta.to(images.device, images.dtype), low, high)


class RandomContrast(_KerasImageLayer):
    """Keras's ``RandomContrast(factor, value_range=(0, 255), seed=None)`` on the TensorFlow backend: each image
    becomes ``(x - mean) * c + mean``, clipped to ``value_range``, with ``c`` a floatx ``(N, 1, 1, 1)`` draw in
    ``[1 - lower, 1 + upper]`` and ``mean`` per image and channel (the mean over the height, then over the width, as
    TensorFlow's ``reduce_mean`` sums them).

    ``factor`` is bounded by ``(0, 1)`` as Keras's: a number ``f`` in ``[0, 1]`` gives ``(lower, upper) = (0, f)``,
    so Keras 3's ``RandomContrast(0.5)`` draws ``c`` in ``[1, 1.5]`` (contrast only raised); a pair ``(a, b)`` (``a
    <= 1``, ``b >= 0``) is sorted. ``keras_data_format`` is the layout of the Keras layer whose sums to replay
    (``"channels_last"``, Keras's default; its means round differently from a ``"channels_first"`` Keras layer's),
    whatever the layout of the torch images (``data_format``).

    Example:
        >>> contrast = RandomContrast(0.5, seed=1)
        >>> contrast(torch.tensor([[[[10.0, 100.0]]]])).flatten().tolist(), contrast.state  # about the mean, 55
        ([0.0, 119.76598358154297], (1, 1))
    """

    _KERAS_RANK_MESSAGE = True

    def __init__(self, factor, value_range=(0, 255), seed: Optional[int] = None,
                 data_format: str = "channels_first", keras_data_format: str = "channels_last"):
        super().__init__()
        self.factor = _base_factor(factor, (0, 1))
        self.value_range = value_range
        self._init_layer(seed, data_format)
        self.keras_data_format = _check_data_format(keras_data_format)

    def extra_repr(self) -> str:
        return f"factor={self.factor}, value_range={self.value_range}, seed={self.seed}"

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        floatx = torch.get_default_dtype()
        c = _keras_uniform((images.shape[0], 1, 1, 1), self._next_seed(), 1.0 - self.factor[0],
                           1.0 + self.factor[1], floatx).to(images.device, images.dtype)
        # the images in the Keras layer's layout, N H W C or N C H W, for the means
        keras_last = self.keras_data_format == "channels_last"
        if (self.data_format == "channels_last") == keras_last:
            k = images
        else:
            k = images.permute(0, 2, 3, 1) if keras_last else images.permute(0, 3, 1, 2)
        k = k.contiguous()
        height_axis, width_axis = (1, 2) if keras_last else (2, 3)
        mean = _tf_mean(_tf_mean(k, height_axis), width_axis)
        if keras_last != (self.data_format == "channels_last"):
            mean = mean.permute(0, 3, 1, 2) if keras_last else mean.permute(0, 2, 3, 1)
        out = (images - mean) * c + mean
        return _tf_clip(out, self.value_range[0], self.value_range[1])


# Keras's legacy ``ImageDataGenerator`` (NumPy/SciPy augmentation): torch_impl/image_data_generator.py
from torch_impl.image_data_generator import DirectoryIterator, ImageDataGenerator, NumpyArrayIterator  # noqa: E402
