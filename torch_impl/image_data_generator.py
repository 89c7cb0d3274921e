"""Keras's legacy ``ImageDataGenerator`` (``keras.preprocessing.image``, Keras 3.15.1's
``keras/src/legacy/preprocessing/image.py``) without Keras: the same augmented batches, bit for bit, for the same
``seed`` or the same NumPy global random state.

Keras's generator is NumPy and SciPy code, and so is this one: each image draws its transform from NumPy's global
``np.random`` in Keras's order (rotation, height shift, width shift, shear, the two zooms, *always* two flip coins,
channel shift, brightness), is resampled by ``scipy.ndimage.affine_transform`` channel by channel with Keras's
matrix (rotation, shift, shear, zoom composed in that order about the image centre, rows and columns swapped), then
channel-shifted, flipped and brightness-scaled (through PIL, as Keras does), and standardized (``preprocessing_function``,
``rescale``, sample-wise then feature-wise centring and scaling, ZCA). The float32 and float64 batches equal
Keras's exactly (``parity_tests/test_image_data_generator_keras.py``).

:meth:`ImageDataGenerator.flow` gives a :class:`NumpyArrayIterator`, shaped as Keras's (a ``keras.utils.PyDataset``:
``__len__``, ``__getitem__``, ``on_epoch_end``), which :func:`torch_impl.fit.fit` reads as Keras's ``fit`` reads
Keras's; its batches are NumPy arrays ``(x, y[, sample_weight])`` (``x`` alone without ``y``), as Keras's are
(``torch.as_tensor`` them in a hand-written loop). The iterator's order of images is Keras's: batch ``i`` of an
epoch is slice ``i`` of an index array, a permutation drawn from ``np.random`` (``shuffle=True``; after
``np.random.seed(seed + batches_read_so_far)`` for the first batch, then from the global state at each
``on_epoch_end``), the last batch partial; each ``__getitem__`` first seeds ``np.random`` with ``seed +`` the count
of batches read so far (``seed=None``: no seeding). Used as a Python iterator (``next(it)``), it follows Keras's
``_flow_index``: the permutation is redrawn at the start of every pass, after that seeding.

Example:

>>> import numpy as np
>>> from torch_impl.image import ImageDataGenerator
>>> x = np.random.default_rng(0).uniform(0, 255, (10, 8, 8, 3))
>>> gen = ImageDataGenerator(rescale=1. / 255, rotation_range=20, horizontal_flip=True)
>>> it = gen.flow(x, np.arange(10), batch_size=4, seed=1)
>>> len(it), [b[0].shape[0] for b in (it[0], it[1], it[2])]
(3, [4, 4, 2])
"""

from __future__ import annotations

import functools
import io
import math
import os
import warnings

import numpy as np

from torch_impl.keras_backend import floatx as _floatx
from torch_impl.keras_backend import image_data_format as _image_data_format

__all__ = ["ImageDataGenerator", "NumpyArrayIterator", "DirectoryIterator", "apply_affine_transform",
           "apply_channel_shift", "apply_brightness_shift", "flip_axis"]


# ---------------------------------------------------------------------------------------------------------------
# the transforms (functional core)
# ---------------------------------------------------------------------------------------------------------------


def flip_axis(x, axis: int):
    """The image ``x`` reversed along ``axis`` (a view)."""
    return np.flip(np.asarray(x), axis)


def _centred(matrix, height: int, width: int):
    """``matrix`` conjugated by the shift to the image centre ``((h - 1) / 2, (w - 1) / 2)``, as Keras composes
    it (``offset . matrix . offset^-1``, NumPy ``dot`` in float64)."""
    cy, cx = float(height) / 2 - 0.5, float(width) / 2 - 0.5
    to_centre = np.array([[1, 0, cy], [0, 1, cx], [0, 0, 1]])
    from_centre = np.array([[1, 0, -cy], [0, 1, -cx], [0, 0, 1]])
    return np.dot(np.dot(to_centre, matrix), from_centre)


def _affine_factors(theta, tx, ty, shear, zx, zy) -> list:
    """The 3x3 factors Keras multiplies left to right: rotation (degrees), shift, shear (degrees), zoom; each only
    when it is not the identity."""
    factors = []
    if theta != 0:
        a = np.deg2rad(theta)
        factors.append(np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]]))
    if tx != 0 or ty != 0:
        factors.append(np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]]))
    if shear != 0:
        s = np.deg2rad(shear)
        factors.append(np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]]))
    if zx != 1 or zy != 1:
        factors.append(np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]]))
    return factors


def apply_affine_transform(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, row_axis=1, col_axis=2, channel_axis=0,
                           fill_mode="nearest", cval=0.0, order=1):
    """``keras.preprocessing.image.apply_affine_transform``: the 3D image ``x`` resampled by
    ``scipy.ndimage.affine_transform`` (spline ``order``, ``fill_mode``, ``cval``) channel by channel under the
    rotation ``theta`` (degrees), shift ``tx`` / ``ty``, ``shear`` (degrees) and zoom ``zx`` / ``zy``, about the
    image centre. Returns ``x`` itself when every parameter is the identity. As in Keras, the swap of the matrix's
    axes moves the offset too: ``tx`` (which :meth:`ImageDataGenerator.get_random_transform` draws from
    ``height_shift_range``, times the height) shifts the image along its *columns*, ``ty`` along its rows.

    Example:

    >>> import numpy as np
    >>> img = np.arange(16.).reshape(4, 4, 1)
    >>> apply_affine_transform(img, tx=1, row_axis=0, col_axis=1, channel_axis=2)[0, :, 0]
    array([1., 2., 3., 3.])
    """
    if len({row_axis, col_axis, channel_axis}) != 3:
        raise ValueError("'row_axis', 'col_axis', and 'channel_axis' must be distinct")
    if not {row_axis, col_axis, channel_axis} <= {0, 1, 2}:
        raise ValueError(f"Invalid axis' indices: {set([row_axis, col_axis, channel_axis]) - {0, 1, 2}}")
    if x.ndim != 3:
        raise ValueError("Input arrays must be multi-channel 2D images.")
    if channel_axis not in (0, 2):
        raise ValueError("Channels are allowed and the first and last dimensions.")
    factors = _affine_factors(theta, tx, ty, shear, zx, zy)
    if not factors:
        return x
    import scipy.ndimage

    m = _centred(functools.reduce(np.dot, factors), x.shape[row_axis], x.shape[col_axis])
    if col_axis > row_axis:  # Keras's matrix is in (x, y) = (row, column) order swapped: P M P
        m = m[[1, 0, 2]][:, [1, 0, 2]]
    planes = np.moveaxis(x, channel_axis, 0)
    out = np.stack([scipy.ndimage.affine_transform(p, m[:2, :2], m[:2, 2], order=order, mode=fill_mode, cval=cval)
                    for p in planes])
    return np.moveaxis(out, 0, channel_axis)


def apply_channel_shift(x, intensity, channel_axis=0):
    """``keras.preprocessing.image.apply_channel_shift``: ``intensity`` added to every channel of the 3D image
    ``x``, each clipped to the image's own minimum and maximum."""
    planes = np.moveaxis(x, channel_axis, 0)
    low, high = np.min(planes), np.max(planes)
    return np.moveaxis(np.stack([np.clip(p + intensity, low, high) for p in planes]), 0, channel_axis)


def _array_to_pil(x, scale: bool, data_format=None):
    """``keras.utils.array_to_img``, in floatx, with Keras's global data format unless ``data_format`` is given
    (torch_impl's settings here)."""
    from PIL import Image

    x = np.asarray(x, dtype=_floatx())
    if x.ndim != 3:
        raise ValueError(f"Expected image array to have rank 3 (single image). Got array with shape: {x.shape}")
    if (data_format or _image_data_format()) == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        peak = np.max(x)
        if peak != 0:
            x /= peak
        x *= 255
    channels = x.shape[2]
    if channels in (3, 4):
        return Image.fromarray(x.astype("uint8"), "RGB" if channels == 3 else "RGBA")
    if channels == 1:
        if np.max(x) > 255:
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"Unsupported channel number: {channels}")


def _pil_to_array(img):
    """``keras.utils.img_to_array`` with Keras's global data format and floatx (torch_impl's here)."""
    x = np.asarray(img, dtype=_floatx())
    first = _image_data_format() == "channels_first"
    if x.ndim == 3:
        return x.transpose(2, 0, 1) if first else x
    if x.ndim == 2:
        return x.reshape((1,) + x.shape if first else x.shape + (1,))
    raise ValueError(f"Unsupported image shape: {x.shape}")


def apply_brightness_shift(x, brightness, scale=True):
    """``keras.preprocessing.image.apply_brightness_shift``: the image made a PIL image (8 bits, min-max scaled
    to 0..255 when ``scale`` or when its values leave 0..255), brightened by PIL's ``ImageEnhance.Brightness``
    by the factor ``brightness``, and read back (in floatx; scaled back to the image's range when ``scale`` is
    False and it was scaled). As in Keras the global image data format decides the channel axis."""
    from PIL import ImageEnhance

    lo, hi = np.min(x), np.max(x)
    out_of_range = (lo < 0) or (hi > 255)
    img = ImageEnhance.Brightness(_array_to_pil(x, scale=out_of_range or scale)).enhance(brightness)
    y = _pil_to_array(img)
    if out_of_range and not scale:
        y = y / 255 * (hi - lo) + lo
    return y


def _shift_draw(spec, size):
    """One shift in pixels, drawn as Keras draws it: from the values of an int or a list (times a random sign),
    else uniform in ``(-spec, spec)``; a fraction of ``size`` when every value is below 1."""
    try:
        t = np.random.choice(spec)  # an int n: 0..n-1; a float raises before drawing
        t *= np.random.choice([-1, 1])
    except ValueError:
        t = np.random.uniform(-spec, spec)
    if np.max(spec) < 1:
        t *= size
    return t


# ---------------------------------------------------------------------------------------------------------------
# ImageDataGenerator
# ---------------------------------------------------------------------------------------------------------------


class ImageDataGenerator:
    """Keras's legacy ``ImageDataGenerator`` (same arguments, same batches for the same seed), for NumPy images.

    Args: as Keras's (``featurewise_center``, ``samplewise_center``, ``featurewise_std_normalization``,
    ``samplewise_std_normalization``, ``zca_whitening``, ``zca_epsilon``, ``rotation_range``, ``width_shift_range``,
    ``height_shift_range``, ``brightness_range``, ``shear_range``, ``zoom_range``, ``channel_shift_range``,
    ``fill_mode``, ``cval``, ``horizontal_flip``, ``vertical_flip``, ``rescale``, ``preprocessing_function``,
    ``data_format`` (default torch_impl's ``image_data_format()``, ``"channels_last"``), ``validation_split``,
    ``interpolation_order``, ``dtype`` (default torch_impl's floatx, torch's default dtype)).

    Example:

    >>> import numpy as np
    >>> x = np.random.default_rng(0).uniform(0, 255, (6, 8, 8, 1))
    >>> gen = ImageDataGenerator(featurewise_center=True, width_shift_range=0.1, validation_split=0.5)
    >>> gen.fit(x)
    >>> xb, yb = gen.flow(x, np.arange(6) % 3, batch_size=4, seed=0, subset="training")[0]
    >>> xb.shape, xb.dtype == np.dtype(gen.dtype)  # gen.dtype: floatx (torch's default dtype) when made
    ((3, 8, 8, 1), True)
    """

    def __init__(self, featurewise_center=False, samplewise_center=False, featurewise_std_normalization=False,
                 samplewise_std_normalization=False, zca_whitening=False, zca_epsilon=1e-6, rotation_range=0,
                 width_shift_range=0.0, height_shift_range=0.0, brightness_range=None, shear_range=0.0,
                 zoom_range=0.0, channel_shift_range=0.0, fill_mode="nearest", cval=0.0, horizontal_flip=False,
                 vertical_flip=False, rescale=None, preprocessing_function=None, data_format=None,
                 validation_split=0.0, interpolation_order=1, dtype=None):
        data_format = _image_data_format() if data_format is None else data_format
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError('`data_format` should be `"channels_last"` (channel after row and column) or '
                             '`"channels_first"` (channel before row and column). '
                             f"Received: {data_format}")
        if validation_split and not 0 < validation_split < 1:
            raise ValueError(f"`validation_split` must be strictly between 0 and 1.  Received: {validation_split}")
        if isinstance(zoom_range, (float, int)):
            zoom = [1 - zoom_range, 1 + zoom_range]
        elif len(zoom_range) == 2 and all(isinstance(v, (float, int)) for v in zoom_range):
            zoom = [zoom_range[0], zoom_range[1]]
        else:
            raise ValueError("`zoom_range` should be a float or a tuple or list of two floats. "
                             f"Received: {zoom_range}")
        if brightness_range is not None and (not isinstance(brightness_range, (tuple, list))
                                             or len(brightness_range) != 2):
            raise ValueError(f"`brightness_range should be tuple or list of two floats. Received: {brightness_range}")
        # the settings that imply others, with Keras's warnings
        if zca_whitening:
            if not featurewise_center:
                featurewise_center = True
                warnings.warn("This ImageDataGenerator specifies `zca_whitening`, which overrides setting of "
                              "`featurewise_center`.")
            if featurewise_std_normalization:
                featurewise_std_normalization = False
                warnings.warn("This ImageDataGenerator specifies `zca_whitening` which overrides setting of"
                              "`featurewise_std_normalization`.")
        if featurewise_std_normalization and not featurewise_center:
            featurewise_center = True
            warnings.warn("This ImageDataGenerator specifies `featurewise_std_normalization`, which overrides "
                          "setting of `featurewise_center`.")
        if samplewise_std_normalization and not samplewise_center:
            samplewise_center = True
            warnings.warn("This ImageDataGenerator specifies `samplewise_std_normalization`, which overrides "
                          "setting of `samplewise_center`.")
        self.featurewise_center, self.samplewise_center = featurewise_center, samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening, self.zca_epsilon = zca_whitening, zca_epsilon
        self.rotation_range, self.shear_range = rotation_range, shear_range
        self.width_shift_range, self.height_shift_range = width_shift_range, height_shift_range
        self.zoom_range, self.channel_shift_range, self.brightness_range = zoom, channel_shift_range, brightness_range
        self.fill_mode, self.cval, self.interpolation_order = fill_mode, cval, interpolation_order
        self.horizontal_flip, self.vertical_flip = horizontal_flip, vertical_flip
        self.rescale, self.preprocessing_function = rescale, preprocessing_function
        self.dtype = _floatx() if dtype is None else dtype
        self.data_format = data_format
        # axes of a batch (N first); an image's are one less
        self.channel_axis, self.row_axis, self.col_axis = (3, 1, 2) if data_format == "channels_last" else (1, 2, 3)
        self._validation_split = validation_split
        self.mean = self.std = self.zca_whitening_matrix = None

    # -- iterators ------------------------------------------------------------------------------------------------

    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None, save_to_dir=None,
             save_prefix="", save_format="png", ignore_class_split=False, subset=None):
        """A :class:`NumpyArrayIterator` over the images ``x`` (rank 4; or ``[x, extra_input, ...]``) and labels
        ``y``: Keras's ``flow``."""
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle, sample_weight=sample_weight,
                                  seed=seed, data_format=self.data_format, save_to_dir=save_to_dir,
                                  save_prefix=save_prefix, save_format=save_format,
                                  ignore_class_split=ignore_class_split, subset=subset, dtype=self.dtype)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb", classes=None,
                            class_mode="categorical", batch_size=32, shuffle=True, seed=None, save_to_dir=None,
                            save_prefix="", save_format="png", follow_links=False, subset=None,
                            interpolation="nearest", keep_aspect_ratio=False):
        """A :class:`DirectoryIterator` over the images in ``directory``'s class subfolders: Keras's
        ``flow_from_directory`` (PIL loads the files)."""
        return DirectoryIterator(directory, self, target_size=target_size, color_mode=color_mode, classes=classes,
                                 class_mode=class_mode, batch_size=batch_size, shuffle=shuffle, seed=seed,
                                 data_format=self.data_format, save_to_dir=save_to_dir, save_prefix=save_prefix,
                                 save_format=save_format, follow_links=follow_links, subset=subset,
                                 interpolation=interpolation, keep_aspect_ratio=keep_aspect_ratio, dtype=self.dtype)

    # -- per image ------------------------------------------------------------------------------------------------

    def standardize(self, x):
        """The normalization of one image (or a batch), in place where Keras's is: ``preprocessing_function``,
        ``rescale``, sample-wise centring and scaling, then feature-wise (the statistics of :meth:`fit`), ZCA."""
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + 1e-6
        unfit = "This ImageDataGenerator specifies `{}`, but it hasn't been fit on any training data. Fit it " \
                "first by calling `.fit(numpy_data)`."
        if self.featurewise_center:
            if self.mean is None:
                warnings.warn(unfit.format("featurewise_center"))
            else:
                x -= self.mean
        if self.featurewise_std_normalization:
            if self.std is None:
                warnings.warn(unfit.format("featurewise_std_normalization"))
            else:
                x /= self.std + 1e-6
        if self.zca_whitening:
            if self.zca_whitening_matrix is None:
                warnings.warn(unfit.format("zca_whitening"))
            else:
                x = np.reshape(x.reshape(-1, math.prod(x.shape[-3:])) @ self.zca_whitening_matrix, x.shape)
        return x

    def get_random_transform(self, img_shape, seed=None) -> dict:
        """The random parameters of one image's transform, drawn from ``np.random`` in Keras's order (after
        ``np.random.seed(seed)`` when ``seed`` is given)."""
        if seed is not None:
            np.random.seed(seed)
        uniform = np.random.uniform
        theta = uniform(-self.rotation_range, self.rotation_range) if self.rotation_range else 0
        tx = _shift_draw(self.height_shift_range, img_shape[self.row_axis - 1]) if self.height_shift_range else 0
        ty = _shift_draw(self.width_shift_range, img_shape[self.col_axis - 1]) if self.width_shift_range else 0
        shear = uniform(-self.shear_range, self.shear_range) if self.shear_range else 0
        lo, hi = self.zoom_range
        zx, zy = (1, 1) if lo == 1 and hi == 1 else uniform(lo, hi, 2)
        flip_h = (np.random.random() < 0.5) * self.horizontal_flip  # both coins are tossed, flips or not
        flip_v = (np.random.random() < 0.5) * self.vertical_flip
        shift = uniform(-self.channel_shift_range, self.channel_shift_range) if self.channel_shift_range != 0 else None
        bright = uniform(*self.brightness_range[:2]) if self.brightness_range is not None else None
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy, "flip_horizontal": flip_h,
                "flip_vertical": flip_v, "channel_shift_intensity": shift, "brightness": bright}

    def apply_transform(self, x, transform_parameters: dict):
        """One image transformed by the parameters of :meth:`get_random_transform`: affine resampling, channel
        shift, horizontal then vertical flip, brightness."""
        p = transform_parameters
        rows, cols, chans = self.row_axis - 1, self.col_axis - 1, self.channel_axis - 1
        x = apply_affine_transform(x, p.get("theta", 0), p.get("tx", 0), p.get("ty", 0), p.get("shear", 0),
                                   p.get("zx", 1), p.get("zy", 1), row_axis=rows, col_axis=cols,
                                   channel_axis=chans, fill_mode=self.fill_mode, cval=self.cval,
                                   order=self.interpolation_order)
        if p.get("channel_shift_intensity") is not None:
            x = apply_channel_shift(x, p["channel_shift_intensity"], chans)
        if p.get("flip_horizontal", False):
            x = flip_axis(x, cols)
        if p.get("flip_vertical", False):
            x = flip_axis(x, rows)
        if p.get("brightness") is not None:
            x = apply_brightness_shift(x, p["brightness"], False)
        return x

    def random_transform(self, x, seed=None):
        """One image randomly transformed (:meth:`get_random_transform` then :meth:`apply_transform`)."""
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    def fit(self, x, augment=False, rounds=1, seed=None):
        """The feature-wise statistics (``mean``, ``std``, ``zca_whitening_matrix``) of the images ``x`` (rank 4),
        after ``rescale`` (and ``rounds`` random transforms of each when ``augment``), as Keras's ``fit``."""
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError("Input to `.fit()` should have rank 4. Got array with shape: " + str(x.shape))
        if x.shape[self.channel_axis] not in (1, 3, 4):
            warnings.warn("Expected input to be images (as Numpy array) following the data format convention "
                          f'"{self.data_format}" (channels on axis {self.channel_axis}), i.e. expected either 1, 3 '
                          f"or 4 channels on axis {self.channel_axis}. However, it was passed an array with shape "
                          f"{x.shape} ({x.shape[self.channel_axis]} channels).")
        if seed is not None:
            np.random.seed(seed)
        x = np.copy(x)
        if self.rescale:
            x *= self.rescale
        if augment:
            n = x.shape[0]
            augmented = np.zeros((rounds * n,) + x.shape[1:], dtype=self.dtype)
            for k in range(rounds * n):
                augmented[k] = self.random_transform(x[k % n])
            x = augmented
        per_channel = [1, 1, 1]
        per_channel[self.channel_axis - 1] = x.shape[self.channel_axis]
        axes = (0, self.row_axis, self.col_axis)
        if self.featurewise_center:
            self.mean = np.reshape(np.mean(x, axis=axes), per_channel)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.reshape(np.std(x, axis=axes), per_channel)
            x /= self.std + 1e-6
        if self.zca_whitening:
            n = len(x)
            u, s, _ = np.linalg.svd(np.reshape(x, (n, -1)).T, full_matrices=False)
            self.zca_whitening_matrix = (u * (np.sqrt(n) / (s + self.zca_epsilon))).dot(u.T)


# ---------------------------------------------------------------------------------------------------------------
# iterators
# ---------------------------------------------------------------------------------------------------------------


class _KerasIterator:
    """Keras's legacy ``Iterator`` (a ``PyDataset``): which images make which batch, and the ``np.random`` seeding
    before each. Subclasses give ``_batch(index_array)``."""

    def _start(self, n: int, batch_size: int, shuffle: bool, seed):
        self.n, self.batch_size, self.shuffle, self.seed = n, batch_size, shuffle, seed
        self.batch_index = 0
        self.total_batches_seen = 0
        self.index_array = None
        self._indices = self._flow_index()

    def _reseed(self):
        if self.seed is not None:
            np.random.seed(self.seed + self.total_batches_seen)

    def _set_index_array(self):
        self.index_array = np.random.permutation(self.n) if self.shuffle else np.arange(self.n)

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def __getitem__(self, idx):
        if idx >= len(self):
            raise ValueError(f"Asked to retrieve element {idx}, but the Sequence has length {len(self)}")
        self._reseed()
        self.total_batches_seen += 1
        if self.index_array is None:
            self._set_index_array()
        return self._batch(self.index_array[self.batch_size * idx:self.batch_size * (idx + 1)])

    def on_epoch_end(self):
        """A new index order (``np.random``'s global state, unseeded): called by ``fit`` after each pass."""
        self._set_index_array()

    def reset(self):
        self.batch_index = 0

    def _flow_index(self):
        self.reset()
        while True:
            self._reseed()
            if self.batch_index == 0:
                self._set_index_array()
            start = 0 if self.n == 0 else (self.batch_index * self.batch_size) % self.n
            self.batch_index = self.batch_index + 1 if self.n > start + self.batch_size else 0
            self.total_batches_seen += 1
            yield self.index_array[start:start + self.batch_size]

    def __iter__(self):
        return self

    def __next__(self):
        return self._batch(next(self._indices))

    def _augment_into(self, batch_x, images):
        """``batch_x[i]`` = image ``i`` randomly transformed and standardized by the generator."""
        gen = self.image_data_generator
        for i, img in enumerate(images):
            params = gen.get_random_transform(img.shape)
            batch_x[i] = gen.standardize(gen.apply_transform(img, params))
        return batch_x

    def _save(self, batch_x, index_array, hash_high):
        for i, j in enumerate(index_array):
            img = _array_to_pil(batch_x[i], scale=True, data_format=self.data_format)
            name = f"{self.save_prefix}_{j}_{np.random.randint(hash_high)}.{self.save_format}"
            img.save(os.path.join(self.save_to_dir, name))


class NumpyArrayIterator(_KerasIterator):
    """Keras's ``NumpyArrayIterator`` (what :meth:`ImageDataGenerator.flow` gives): ``it[i]`` is batch ``i``,
    ``(x, y[, sample_weight])`` NumPy arrays (``x`` a list ``[images, extra, ...]`` when ``flow`` got one; ``x``
    alone without ``y``), ``len(it)`` batches per epoch, the last partial; ``on_epoch_end()`` draws a new order
    (``shuffle``); ``next(it)`` goes on endlessly. ``subset="validation"`` takes the first
    ``int(len(x) * validation_split)`` images, ``"training"`` the rest.

    Example:

    >>> import numpy as np
    >>> gen = ImageDataGenerator(horizontal_flip=True)
    >>> it = gen.flow(np.zeros((5, 4, 4, 1)), np.arange(5), batch_size=2, shuffle=False)
    >>> [it[i][1].tolist() for i in range(len(it))]
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False, sample_weight=None, seed=None,
                 data_format=None, save_to_dir=None, save_prefix="", save_format="png", subset=None,
                 ignore_class_split=False, dtype=None):
        data_format = _image_data_format() if data_format is None else data_format
        self.dtype = _floatx() if dtype is None else dtype
        extras = []
        if isinstance(x, (tuple, list)):
            extras = [np.asarray(v) for v in x[1]] if isinstance(x[1], list) else [np.asarray(x[1])]
            x = x[0]
            for v in extras:
                if len(x) != len(v):
                    raise ValueError("All of the arrays in `x` should have the same length. Found a pair with: "
                                     f"len(x[0]) = {len(x)}, len(x[?]) = {len(v)}")
        if y is not None and len(x) != len(y):
            raise ValueError("`x` (images tensor) and `y` (labels) should have the same length. "
                             f"Found: x.shape = {np.asarray(x).shape}, y.shape = {np.asarray(y).shape}")
        if sample_weight is not None and len(x) != len(sample_weight):
            raise ValueError("`x` (images tensor) and `sample_weight` should have the same length. Found: x.shape = "
                             f"{np.asarray(x).shape}, sample_weight.shape = {np.asarray(sample_weight).shape}")
        if subset is not None:
            if subset not in ("training", "validation"):
                raise ValueError(f'Invalid subset name: {subset}; expected "training" or "validation".')
            cut = int(len(x) * image_data_generator._validation_split)
            if y is not None and not ignore_class_split and not np.array_equal(np.unique(y[:cut]),
                                                                               np.unique(y[cut:])):
                raise ValueError("Training and validation subsets have different number of classes after the "
                                 "split. If your numpy arrays are sorted by the label, you might want to shuffle "
                                 "them.")
            part = slice(None, cut) if subset == "validation" else slice(cut, None)
            x, extras = x[part], [np.asarray(v[part]) for v in extras]
            y = None if y is None else y[part]
        self.x = np.asarray(x, dtype=self.dtype)
        self.x_misc = extras
        if self.x.ndim != 4:
            raise ValueError("Input data in `NumpyArrayIterator` should have rank 4. You passed an array with shape "
                             f"{self.x.shape}")
        ch = 3 if data_format == "channels_last" else 1
        if self.x.shape[ch] not in (1, 3, 4):
            warnings.warn(f'NumpyArrayIterator is set to use the data format convention "{data_format}" (channels '
                          f"on axis {ch}), i.e. expected either 1, 3, or 4 channels on axis {ch}. However, it was "
                          f"passed an array with shape {self.x.shape} ({self.x.shape[ch]} channels).")
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.image_data_generator, self.data_format = image_data_generator, data_format
        self.save_to_dir, self.save_prefix, self.save_format = save_to_dir, save_prefix, save_format
        self._start(len(self.x), batch_size, shuffle, seed)

    def _batch(self, index_array):
        batch_x = self._augment_into(np.zeros((len(index_array),) + self.x.shape[1:], dtype=self.dtype),
                                     (self.x[j].astype(self.dtype) for j in index_array))
        if self.save_to_dir:
            self._save(batch_x, index_array, 1e4)
        inputs = [batch_x] + [v[index_array] for v in self.x_misc] if self.x_misc else batch_x
        if self.y is None:
            return inputs
        out = (inputs, self.y[index_array])
        return out if self.sample_weight is None else out + (self.sample_weight[index_array],)


def _files_of_class(directory, split, follow_links):
    """The image files under one class folder (walked in sorted order), cut to ``split``'s fraction."""
    found = []
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links), key=lambda w: w[0]):
        for name in sorted(files):
            if name.lower().endswith(".tiff"):
                warnings.warn('Using ".tiff" files with multiple bands will cause distortion. Please verify your '
                              "output.")
            if name.lower().endswith(DirectoryIterator.white_list_formats):
                found.append(os.path.join(root, name))
    if split:
        found = found[int(split[0] * len(found)):int(split[1] * len(found))]
    label = os.path.basename(directory)
    return [os.path.join(label, os.path.relpath(p, directory)) for p in found]


_PIL_RESAMPLING = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _load_image(path, color_mode, target_size, interpolation, keep_aspect_ratio):
    """``keras.utils.load_img``: the file as a PIL image in ``color_mode``, resized to ``target_size``."""
    from PIL import Image

    with open(path, "rb") as f:
        img = Image.open(io.BytesIO(f.read()))
    mode = {"grayscale": "L", "rgba": "RGBA", "rgb": "RGB"}[color_mode]
    if color_mode == "grayscale" and img.mode in ("L", "I;16", "I"):
        pass
    elif img.mode != mode:
        img = img.convert(mode)
    if target_size is not None:
        wanted = (target_size[1], target_size[0])
        if img.size != wanted:
            if interpolation not in _PIL_RESAMPLING:
                raise ValueError(f"Invalid interpolation method {interpolation} specified. Supported methods are "
                                 f"{', '.join(_PIL_RESAMPLING)}")
            resample = getattr(Image.Resampling, interpolation.upper())
            if keep_aspect_ratio:
                width, height = img.size
                crop_w = (height * target_size[1]) // target_size[0]
                crop_h = (width * target_size[0]) // target_size[1]
                crop_w, crop_h = min(width, crop_w), min(height, crop_h)
                left, top = (width - crop_w) // 2, (height - crop_h) // 2
                img = img.resize(wanted, resample, box=[left, top, left + crop_w, top + crop_h])
            else:
                img = img.resize(wanted, resample)
    return img


class DirectoryIterator(_KerasIterator):
    """Keras's ``DirectoryIterator`` (what :meth:`ImageDataGenerator.flow_from_directory` gives): the images of
    ``directory/<class>/...`` (classes the sorted subfolders unless ``classes`` names them), loaded by PIL in
    ``color_mode``, resized to ``target_size``, augmented as :class:`NumpyArrayIterator`'s; labels by
    ``class_mode`` (``"categorical"`` one-hot, ``"binary"`` / ``"sparse"`` indices, ``"input"`` the images, ``None``
    none). ``subset`` takes the first (``"validation"``) or last (``"training"``) fraction of each class's files."""

    white_list_formats = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")
    allowed_class_modes = {"categorical", "binary", "sparse", "input", None}

    def __init__(self, directory, image_data_generator, target_size=(256, 256), color_mode="rgb", classes=None,
                 class_mode="categorical", batch_size=32, shuffle=True, seed=None, data_format=None,
                 save_to_dir=None, save_prefix="", save_format="png", follow_links=False, subset=None,
                 interpolation="nearest", keep_aspect_ratio=False, dtype=None):
        data_format = _image_data_format() if data_format is None else data_format
        self.dtype = _floatx() if dtype is None else dtype
        if color_mode not in ("rgb", "rgba", "grayscale"):
            raise ValueError(f'Invalid color mode: {color_mode}; expected "rgb", "rgba", or "grayscale".')
        if class_mode not in self.allowed_class_modes:
            raise ValueError(f"Invalid class_mode: {class_mode}; expected one of: {self.allowed_class_modes}")
        split = None
        if subset is not None:
            v = image_data_generator._validation_split
            if subset not in ("validation", "training"):
                raise ValueError(f'Invalid subset name: {subset};expected "training" or "validation"')
            split = (0, v) if subset == "validation" else (v, 1)
        self.image_data_generator, self.directory = image_data_generator, directory
        self.target_size, self.color_mode, self.data_format = tuple(target_size), color_mode, data_format
        self.keep_aspect_ratio, self.interpolation = keep_aspect_ratio, interpolation
        depth = {"rgba": 4, "rgb": 3, "grayscale": 1}[color_mode]
        self.image_shape = self.target_size + (depth,) if data_format == "channels_last" else \
            (depth,) + self.target_size
        self.save_to_dir, self.save_prefix, self.save_format = save_to_dir, save_prefix, save_format
        self.split, self.subset, self.class_mode = split, subset, class_mode
        if not classes:
            classes = [d for d in sorted(os.listdir(directory)) if os.path.isdir(os.path.join(directory, d))]
        self.num_classes = len(classes)
        self.class_indices = {c: k for k, c in enumerate(classes)}
        self.filenames, labels = [], []
        for c in classes:
            files = _files_of_class(os.path.join(directory, c), split, follow_links)
            self.filenames += files
            labels += [self.class_indices[c]] * len(files)
        self.samples = len(self.filenames)
        self.classes = np.array(labels, dtype="int32").reshape(self.samples)
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        self.filepaths = [os.path.join(directory, f) for f in self.filenames]
        self.labels = self.classes
        self.sample_weight = None
        self._start(self.samples, batch_size, shuffle, seed)

    def _read(self, path):
        img = _load_image(path, self.color_mode, self.target_size, self.interpolation, self.keep_aspect_ratio)
        x = np.asarray(img, dtype=_floatx())
        if x.ndim == 2:
            x = x.reshape(x.shape + (1,))
        if self.data_format == "channels_first":
            x = x.transpose(2, 0, 1)
        if hasattr(img, "close"):
            img.close()
        return x

    def _batch(self, index_array):
        batch_x = np.zeros((len(index_array),) + self.image_shape, dtype=self.dtype)
        images = (self._read(self.filepaths[j]) for j in index_array)
        if self.image_data_generator:
            self._augment_into(batch_x, images)
        else:
            for i, img in enumerate(images):
                batch_x[i] = img
        if self.save_to_dir:
            self._save(batch_x, index_array, 1e7)
        if self.class_mode == "input":
            return batch_x, batch_x.copy()
        if self.class_mode in ("binary", "sparse"):
            return batch_x, self.classes[index_array].astype(self.dtype)
        if self.class_mode == "categorical":
            y = np.zeros((len(batch_x), self.num_classes), dtype=self.dtype)
            y[np.arange(len(batch_x)), self.classes[index_array]] = 1.0
            return batch_x, y
        return batch_x
