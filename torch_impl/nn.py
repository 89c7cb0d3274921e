"""Keras-default layers for PyTorch models: initialisation, BatchNormalization,
weights in Keras layout, and models built from a framework-neutral spec.

* :func:`keras_init_` gives ``Linear``/``Conv``/``ConvTranspose`` layers Keras's defaults:
  ``glorot_uniform`` kernels (``U(-l, l)``, ``l = sqrt(6 / (fan_in + fan_out))``)
  and zero biases (torch's default is Kaiming-uniform weights and non-zero biases);
  a module with parameters it has no Keras default for raises (``strict=False`` skips it).
* :class:`BatchNormalization` is Keras's layer: momentum 0.99 for the moving
  statistics (``moving = moving * 0.99 + batch * 0.01``; torch's momentum is
  the complement), epsilon 1e-3, the moving variance from the *biased* batch
  variance (torch uses the unbiased one), and TensorFlow's normalisation
  ``x * (gamma * rsqrt(var + eps)) + (beta - mean * gamma * rsqrt(var + eps))``,
  computed in at least float32 as Keras does (half inputs are upcast, the output cast back).
* :data:`ACTIVATIONS` / :class:`Activation`: every ``keras.activations`` name (but
  ``threshold``) with TensorFlow's numerics (``leaky_relu`` slope 0.2, exact ``gelu``,
  TensorFlow's softplus threshold and its gradients at kinks and NaN inputs).
* :class:`GaussianDropout`, :class:`AlphaDropout` (TensorFlow's random streams, as :class:`Dropout`), :class:`ReLU`
  (``max_value``, ``negative_slope``, ``threshold``), :class:`Softmax` (with Keras's ``mask``) and
  :class:`LayerNormalization` (TensorFlow's order of operations; the deprecated ``rms_scaling``): Keras's layers
  with its numbers; :func:`activation` and :data:`ACTIVATIONS` return a callable as it is.
* :class:`GroupNormalization` (any channel axis, epsilon 1e-3; ``torch.nn.GroupNorm`` is channels-first, 1e-5) and
  :class:`SpectralNormalization` (Keras's wrapper: the kernel itself rescaled at each training call) are Keras's.
* :func:`load_keras_weights` loads ``model.get_weights()``-style arrays
  (Dense kernel ``(in, out)``; Conv kernels ``(*k, in, out)``; Embedding;
  BatchNormalization gamma, beta, moving mean, moving variance; LayerNorm;
  LSTM, GRU, SimpleRNN, stacked and bidirectional) into a torch model, with a
  clear error on any count or shape mismatch; :func:`keras_weights` is the
  reverse.
* :class:`LSTM`, :class:`GRU`, :class:`SimpleRNN` (from :mod:`torch_impl.rnn`) are torch's recurrent layers
  with Keras's ``dropout``/``recurrent_dropout`` and their masks; :class:`ConvLSTM1D`, :class:`ConvLSTM2D`,
  :class:`ConvLSTM3D` (from :mod:`torch_impl.conv_lstm`) are Keras's ``ConvLSTM1D``/``2D``/``3D``.
* :func:`tf_same_padding` / :class:`TFSamePadding` pad a channels-first tensor as TensorFlow's ``padding="same"``
  does (the odd pad at the end, strides and dilation included), in front of a ``'valid'`` torch conv;
  :class:`MaxPooling1D`/``2D``/``3D`` and :class:`AveragePooling1D`/``2D``/``3D`` are Keras's pooling layers
  (``strides`` default to ``pool_size``; ``'same'`` as TensorFlow: never a max, left out of an average's count).
* :func:`build_model` builds ``torch.nn.Sequential`` from the layer spec that
  ``keras_impl.models.build_model`` also reads, e.g.
  ``{"input_dim": 4, "layers": [{"type": "dense", "units": 8, "activation": "relu"},
  {"type": "batchnorm"}, {"type": "dense", "units": 3, "activation": "softmax"}]}``.
  The model returns the output layer's *logits*; ``model.output_activation``
  names the activation Keras would apply (a Keras model ending in softmax or
  sigmoid hands its crossentropy those logits, see :mod:`torch_impl.fit`).

Example:
    >>> import torch
    >>> from torch_impl.nn import BatchNormalization, keras_init_
    >>> layer = keras_init_(torch.nn.Linear(4, 3))
    >>> bool((layer.bias == 0).all())
    True
    >>> bn = BatchNormalization(3)
    >>> bn.momentum, bn.epsilon
    (0.99, 0.001)
"""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from torch_impl import _ops
from torch_impl import keras_backend as _K
from torch_impl._tf_random import SeedGenerator as _SeedGenerator
from torch_impl._tf_random import stateless_normal, stateless_uniform
from torch_impl.attention import AdditiveAttention, Attention, MultiHeadAttention
from torch_impl.constraints import constrain
from torch_impl.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D, _ConvLSTM
from torch_impl.image import (RandomBrightness, RandomContrast, RandomRotation, RandomTranslation, RandomZoom,
                              _KerasImageLayer)
from torch_impl.regularizers import regularize
from torch_impl.rnn import GRU, LSTM, SimpleRNN
from torch_impl.utils import set_keras_mask

__all__ = ["glorot_uniform_", "keras_init_", "BatchNormalization", "BatchNorm1d", "BatchNorm2d", "Activation",
           "Normalization",
           "Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ReLU", "Softmax", "LayerNormalization",
           "keras_relu", "RandomFlip", "Rescaling", "Masking", "LSTM", "GRU", "SimpleRNN", "LeakyReLU", "ELU",
           "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D",
           "Attention", "AdditiveAttention",
           "MultiHeadAttention", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast",
           "RandomBrightness",
           "tf_same_padding", "TFSamePadding", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
           "AveragePooling2D", "AveragePooling3D", "global_average_pooling", "global_max_pooling",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalMaxPooling1D",
           "GlobalMaxPooling2D", "GlobalMaxPooling3D", "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D",
           "AdaptiveAveragePooling3D", "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
           "activation",
           "group_normalization", "GroupNormalization", "SpectralNormalization",
           "KerasSequential", "build_model",
           "load_keras_weights", "keras_weights", "keras_embedding_gradients", "ACTIVATIONS"]


def _fans(weight: torch.Tensor) -> tuple[int, int]:
    """Keras's ``compute_fans`` for a torch-layout weight ``(out, in, *kernel)`` (rank 0 and 1 as Keras)."""
    if weight.dim() == 0:
        return 1, 1
    if weight.dim() == 1:
        return weight.shape[0], weight.shape[0]
    receptive = math.prod(weight.shape[2:]) if weight.dim() > 2 else 1
    return weight.shape[1] * receptive, weight.shape[0] * receptive  # torch layout: (out, in, *kernel)


@torch.no_grad()
def glorot_uniform_(weight: torch.Tensor, generator: Optional[torch.Generator] = None,
                    fans: Optional[tuple] = None) -> torch.Tensor:
    """Keras's ``glorot_uniform`` on a torch-layout weight ``(out, in, *kernel)``: ``U(-l, l)``,
    ``l = sqrt(6 / (fan_in + fan_out))`` (the limit needs only the sum of the fans, so a transposed
    convolution's ``(in, out, *kernel)`` gives Keras's limit too); ``fans`` overrides them (a depthwise kernel's
    are Keras's ``(*kernel, C, m)``'s)."""
    fan_in, fan_out = _fans(weight) if fans is None else fans
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return weight.uniform_(-limit, limit, generator=generator)


_KERNEL_MODULES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
                   nn.ConvTranspose3d)
_NORM_MODULES = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


@torch.no_grad()
def keras_init_(module: nn.Module, generator: Optional[torch.Generator] = None, strict: bool = True,
                seed: Optional[int] = None) -> nn.Module:
    """Keras's default initialisation for every layer inside ``module``.

    With ``seed``: Keras's own initial values, those of the same layers built in the same order after
    ``keras.utils.set_random_seed(seed)`` (Keras draws one seed per random initializer from Python's
    ``random`` as each layer is made: a Dense/Conv kernel, an Embedding, an LSTM/GRU/SimpleRNN layer's kernel,
    recurrent kernel and dropout seed generator, a Dropout without seed; a :class:`SpectralNormalization` its
    ``vector_u``'s when built: inside an ``nn.Sequential`` after all of its layers, as Keras's ``Sequential``
    builds, elsewhere right after its wrapped layer, as a functional model). Uniform draws (kernels, embeddings)
    equal Keras's bit for bit; the orthogonal recurrent kernels within float rounding of the QR
    (:mod:`torch_impl.initializers`). A :class:`Dropout` made without ``seed`` takes its seed from the same
    sequence (then its masks are those of Keras's unseeded Dropout too); one made with a seed, like Keras's,
    draws none. The model must hold only the layers :func:`load_keras_weights` knows. The order is that of
    construction, not of the calls: in ``Dense(32)(Dropout(0.1)(h))`` Python makes the Dense first, so declare
    the torch modules in that order (or seed the Keras Dropout); the same modules in another order get other
    values, and nothing can tell.

    * ``Linear``, ``Conv{1,2,3}d``, ``ConvTranspose{1,2,3}d``: ``glorot_uniform`` kernel, zero bias (Keras's
      ``Dense``, ``Conv*D`` and ``Conv*DTranspose``);
    * :class:`BatchNormalization`, torch's ``BatchNorm``/``InstanceNorm``, ``LayerNorm``, ``GroupNorm``: gamma
      1, beta 0, moving mean 0, moving variance 1;
    * ``Embedding``: ``U(-0.05, 0.05)`` (Keras's ``"uniform"``); ``PReLU``: alpha 0 (Keras's ``"zeros"``);
    * ``MultiheadAttention``: Keras's ``MultiHeadAttention``: ``glorot_uniform`` kernels over its
      ``EinsumDense`` fans (query/key/value: the input width and ``heads * head_dim``), zero biases;
    * ``LSTM``, ``GRU``, ``RNN`` (and :mod:`torch_impl.rnn`'s, whose dropout streams ``seed=`` seeds as Keras's
      cells' generators): Keras's ``LSTM``/``GRU``/``SimpleRNN``: ``glorot_uniform`` kernels,
      ``orthogonal`` recurrent kernels, zero biases, LSTM's forget-gate bias 1 (``unit_forget_bias``);
      LSTM's and RNN's ``bias_hh`` stays 0 and stops requiring a gradient (Keras's layer has one bias);
    * :class:`ConvLSTM2D` (and ``1D``/``3D``): Keras's ``ConvLSTM2D`` (its ``reset_parameters``; with ``seed=``,
      Keras's draws: the cell's dropout generator, the kernel, the recurrent kernel).

    A module holding parameters of any other type (an RNN, attention, your own layer's ``nn.Parameter``)
    has no Keras default known here: ``ValueError`` naming it, or, with ``strict=False``, it keeps torch's
    initialisation (a skip that is asked for, not a silent one).
    """
    if seed is not None:
        _check_seeded(module, seed)
    unknown = [f"{name or '<root>'!r} ({type(m).__name__}: "
               f"{', '.join(n for n, _ in m.named_parameters(recurse=False))})"
               for name, m in module.named_modules()
               if not isinstance(m, _KNOWN_MODULES) and any(True for _ in m.parameters(recurse=False))]
    if unknown and strict:  # checked before anything is changed
        raise ValueError(f"keras_init_: no Keras default initialiser known for {'; '.join(unknown)}; they hold "
                         "parameters of their own. Initialise them yourself, or pass strict=False to leave them "
                         "at torch's initialisation.")
    from torch_impl.initializers import _fill

    attention_parts = _attention_outputs(module)
    for m in module.modules():
        if id(m) in attention_parts:
            continue  # an attention's output projection: its Keras kernel is (heads, head_dim, E), below
        if isinstance(m, nn.MultiheadAttention):
            _keras_attention_init_(m, generator)
        elif isinstance(m, (MultiHeadAttention, Attention)):
            m.reset_parameters(generator)
        elif isinstance(m, _KERNEL_MODULES):
            if hasattr(m.weight, "_keras_initializer"):  # given by torch_impl.initializers.initialize
                _fill(m.weight, m.weight._keras_initializer)
            else:
                glorot_uniform_(m.weight, generator, _depthwise_fans(m) if _is_depthwise(m) else None)
            if m.bias is not None:
                if hasattr(m.bias, "_keras_initializer"):
                    _fill(m.bias, m.bias._keras_initializer)
                else:
                    m.bias.zero_()
        elif isinstance(m, (BatchNormalization,) + _NORM_MODULES):
            if getattr(m, "weight", None) is not None:  # gamma (scale=False / affine=False: none)
                m.weight.fill_(1.0)
            if getattr(m, "bias", None) is not None:  # beta (center=False: none)
                m.bias.zero_()
            if getattr(m, "running_mean", None) is not None:  # none with track_running_stats=False
                m.running_mean.zero_()
            if getattr(m, "running_var", None) is not None:
                m.running_var.fill_(1.0)
        elif isinstance(m, nn.Embedding):
            if hasattr(m.weight, "_keras_initializer"):
                _fill(m.weight, m.weight._keras_initializer)
            else:
                m.weight.uniform_(-0.05, 0.05, generator=generator)
        elif isinstance(m, nn.PReLU):
            m.weight.zero_()
        elif isinstance(m, _ConvLSTM):  # glorot_uniform, orthogonal, zeros + unit_forget_bias
            m.reset_parameters(generator)
        elif isinstance(m, _RNN_MODULES):
            if getattr(m, "proj_size", 0):
                raise ValueError("keras_init_: an LSTM with proj_size has no Keras counterpart (Keras's LSTM has "
                                 "no projection)")
            _mark_gru_biases(m)
            for pname, p in m.named_parameters(recurse=False):
                if pname.startswith("weight_ih"):  # Keras's kernel (in, gates * units): glorot_uniform
                    glorot_uniform_(p, generator)
                elif pname.startswith("weight_hh"):  # recurrent_kernel (units, gates * units): orthogonal
                    nn.init.orthogonal_(p, generator=generator)
                else:
                    p.zero_()
                    if isinstance(m, nn.LSTM) and pname.startswith("bias_ih"):  # unit_forget_bias
                        p[m.hidden_size:2 * m.hidden_size] = 1.0
                    two_biases = isinstance(m, nn.GRU) and getattr(m, "reset_after", True)
                    if pname.startswith("bias_hh") and not two_biases:
                        p.requires_grad_(False)  # Keras's LSTM/SimpleRNN have one bias (GRU's has two)
    if seed is not None:
        _keras_seeded_init(module, seed)
    return module


def _check_seeded(module: nn.Module, seed) -> None:
    """``keras_init_(seed=)``'s checks, before anything is changed: an integer seed Keras's ``set_random_seed``
    takes, and only the layers whose weights :func:`load_keras_weights` maps."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ValueError(f"keras_init_: seed must be an integer in [0, 2**32 - 1], as keras.utils.set_random_seed "
                         f"takes; got {seed!r}")
    try:
        _weight_slots(module)
    except ValueError as e:
        raise ValueError(f"keras_init_(seed=...): {e}") from None


def _keras_seeded_init(module: nn.Module, seed: int) -> None:
    """Keras's seeded draws for :func:`keras_init_` (``seed=``), in its layer-construction order."""
    import random

    from torch_impl import initializers

    draws = random.Random(seed)  # keras.utils.set_random_seed(seed) seeds Python's random with it

    def draw() -> int:
        return draws.randint(1, int(1e9))  # keras.src.random.seed_generator.make_default_seed

    def replayed(param, default):
        """The parameter's initializer as Keras's layer makes it: an unseeded random one (or the default, when
        ``initialize`` gave none) takes the next seed; a seeded or constant one draws none."""
        init = getattr(param, "_keras_initializer", None) if param is not None else None
        if init is None:
            return None if default is None else default(seed=draw())
        if isinstance(init, initializers._Random) and init._init_seed is None:
            init = type(init).from_config({**init.get_config(), "seed": draw()})
            param._keras_initializer = init  # later calls give these values, as the layer's own initializer
        return init

    values = {}
    attention_parts = _attention_outputs(module)
    for name, m in _keras_draw_order(module):
        if id(m) in attention_parts:
            continue
        if isinstance(m, SpectralNormalization):  # built: vector_u's TruncatedNormal(stddev=0.02), unseeded
            values[f"{name}.vector_u"] = initializers.TruncatedNormal(stddev=0.02, seed=draw())
        elif isinstance(m, (MultiHeadAttention, Attention)):  # initializers, Dropout seeds: torch_impl/attention.py
            values.update(m._keras_replay(name, draw))
        elif isinstance(m, nn.MultiheadAttention):
            # Keras's layer draws for its own kernel initializer when made, then each of its four projections
            # clones that initializer (a draw each) when built: query, key, value, output (between the value and
            # the output projection it makes its attention Dropout: unseeded, one draw; torch's module has no
            # seed and drops other units)
            draw()
            for part, (_, _, axes) in zip(("query", "key", "value", "attention_output"), MultiHeadAttention.PARTS):
                if part == "attention_output" and m.dropout > 0:
                    draw()
                values[f"{name}.{part}.kernel"] = initializers.GlorotUniform(seed=draw(), input_axes=axes[0],
                                                                             output_axes=axes[1])
        elif isinstance(m, (nn.Linear,) + _CONV_MODULES):
            values[f"{name}.kernel"] = replayed(m.weight, initializers.GlorotUniform)
            bias = replayed(m.bias, None)
            if bias is not None:
                values[f"{name}.bias"] = bias
        elif isinstance(m, nn.Embedding):
            values[f"{name}.embeddings"] = replayed(m.weight, initializers.RandomUniform)
        elif isinstance(m, _ConvLSTM):  # ConvLSTMCell draws its SeedGenerator's seed, the kernel's, the recurrent's
            if m.seed is None:
                m.stream.state = (draw(), 0)
                m.stream._initial_seed = m.stream.state[0]
            values[f"{name}.kernel"] = initializers.GlorotUniform(seed=draw())
            values[f"{name}.recurrent_kernel"] = initializers.Orthogonal(seed=draw())
        elif isinstance(m, _RNN_MODULES):
            # per Keras layer: LSTMCell/GRUCell draw the kernel, the recurrent kernel, then their dropout
            # SeedGenerator; SimpleRNNCell the SeedGenerator first
            # (a Bidirectional layer first makes the wrapped layer, then a forward and a backward copy of it)
            # (torch_impl.rnn's layers keep that generator's seed: the masks of their Keras dropout; a seeded one,
            # like Keras's, draws none)
            # Keras's SimpleRNN config drops its `seed`: a Bidirectional's copies of a seeded one draw seeds anew
            simple = not isinstance(m, (nn.LSTM, nn.GRU))
            streams = getattr(m, "streams", None)
            seeded = getattr(m, "seed", None) is not None
            copies_seeded = seeded and not (simple and m.bidirectional)

            def generator(k: int) -> None:
                if copies_seeded:
                    return
                value = draw()
                if streams is not None:
                    streams[k].state = (value, 0)
                    streams[k]._initial_seed = value

            k = 0  # the layer and direction: torch_impl.rnn's streams[k]
            for desc, _, _ in _rnn_slots(name, m):
                if desc.endswith(".kernel") and not desc.endswith("recurrent_kernel"):
                    if m.bidirectional and ".backward_" not in desc:
                        for _ in range(3 - seeded):
                            draw()  # the wrapped layer's own draws, unused
                    if simple:
                        generator(k)
                    values[desc] = initializers.GlorotUniform(seed=draw())
                elif desc.endswith(".recurrent_kernel"):
                    values[desc] = initializers.Orthogonal(seed=draw())
                    if not simple:
                        generator(k)
                    k += 1
        elif isinstance(m, Dropout):
            if m.seed is None and m.rate > 0:  # Keras's unseeded Dropout draws its generator's seed (none at 0)
                m.state = (draw(), 0)
                m._initial_seed = m._seed_value
        elif isinstance(m, (RandomFlip, _KerasImageLayer)):
            if m.seed is None:  # Keras's layer makes SeedGenerator(None): one draw
                m.state = (draw(), 0)
                m._initial_seed = m._seed_value
        elif isinstance(m, GaussianNoise):
            if m.seed is None and m.stddev > 0:  # so does an unseeded GaussianNoise (none at stddev 0)
                m.state = (draw(), 0)
                m._initial_seed = m._seed_value
        elif isinstance(m, (GaussianDropout, AlphaDropout)):
            if m.seed is None and m.rate > 0:  # an unseeded one with rate > 0 makes SeedGenerator(None)
                m.state = (draw(), 0)
                m._initial_seed = m._seed_value
        elif isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0:
            # Keras's Dropout, SpatialDropout1D/2D/3D, AlphaDropout draw one each (torch's own cannot take
            # Keras's masks; GaussianDropout/GaussianNoise draw too and have no torch counterpart)
            draw()
    weights = keras_weights(module)
    for i, (desc, tensor, _) in enumerate(_weight_slots(module)):
        if desc in values:
            weights[i] = _numpy(values[desc](weights[i].shape, dtype=_keras_value_dtype(tensor)))
    load_keras_weights(module, weights)


def _keras_draw_order(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """``named_modules()`` with each :class:`SpectralNormalization` moved to where Keras builds it, which draws
    ``vector_u``'s seed (``spectral_normalization.py:69-75``): inside an ``nn.Sequential``, after every layer of
    that Sequential (Keras's ``Sequential`` makes all its layers, then builds them); elsewhere (a functional
    model: each layer called as it is made) right after its wrapped layer."""
    order, seen = [], set()

    def walk(name: str, m: nn.Module, deferred: Optional[list]) -> None:
        if id(m) in seen:
            return
        seen.add(id(m))
        wrapper = isinstance(m, SpectralNormalization)
        if not wrapper:
            order.append((name, m))
        inner = [] if isinstance(m, nn.Sequential) else deferred
        for child_name, child in m.named_children():
            walk(f"{name}.{child_name}" if name else child_name, child, inner)
        if wrapper:
            (order if deferred is None else deferred).append((name, m))
        if isinstance(m, nn.Sequential):
            order.extend(inner)

    walk("", module, None)
    return order


def _keras_value_dtype(tensor) -> torch.dtype:
    t = tensor[0] if isinstance(tensor, tuple) else tensor
    return t.dtype


_HALF = (torch.float16, torch.bfloat16)


class BatchNormalization(nn.Module):
    """Keras's ``BatchNormalization`` for inputs ``(N, C)`` or channels-first ``(N, C, ...)``.

    Args:
        num_features: C.
        momentum: Keras's momentum (0.99): ``moving = moving * momentum + batch * (1 - momentum)``.
        epsilon: 1e-3 as in Keras.
        axis: the feature axis (1 for torch layouts; -1 for channels-last inputs).

    Parameters and buffers use torch's names (``weight`` = gamma, ``bias`` =
    beta, ``running_mean``, ``running_var``) so checkpoints and
    ``nn.BatchNorm`` tooling keep working.

    ``bn.trainable = False`` is Keras's frozen BatchNormalization (fine-tuning):
    gamma and beta stop requiring gradients and the layer runs in inference
    mode (moving statistics, no update) even in ``train()`` mode.
    """

    def __init__(self, num_features: int, momentum: float = 0.99, epsilon: float = 1e-3, axis: int = 1,
                 center: bool = True, scale: bool = True, dtype: Optional[torch.dtype] = None, device=None):
        super().__init__()
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
        self.num_features, self.momentum, self.epsilon, self.axis = num_features, momentum, epsilon, axis
        kw = dict(dtype=dtype, device=device)
        self.weight = nn.Parameter(torch.ones(num_features, **kw)) if scale else None
        self.bias = nn.Parameter(torch.zeros(num_features, **kw)) if center else None
        self.register_buffer("running_mean", torch.zeros(num_features, **kw))
        self.register_buffer("running_var", torch.ones(num_features, **kw))
        self._trainable = True

    @property
    def trainable(self) -> bool:
        """Keras's ``layer.trainable``; ``False`` freezes gamma/beta and forces inference mode."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for p in (self.weight, self.bias):
            if p is not None:
                p.requires_grad_(self._trainable)

    def extra_repr(self) -> str:
        return f"{self.num_features}, momentum={self.momentum}, epsilon={self.epsilon}, axis={self.axis}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not -x.dim() <= self.axis < x.dim():
            raise ValueError(f"BatchNormalization axis {self.axis} is out of bounds for input of shape {tuple(x.shape)}")
        axis = self.axis % x.dim()
        if x.shape[axis] != self.num_features:
            raise ValueError(f"BatchNormalization({self.num_features}) got input of shape {tuple(x.shape)} "
                             f"with {x.shape[axis]} features on axis {self.axis}")
        # Keras's dtypes: a layer casts a floating input of another dtype to its own (the buffers' dtype here),
        # except half inputs to a float32 layer (Keras's mixed_float16/mixed_bfloat16 policy keeps them); the
        # statistics and the normalisation compute in at least float32 (in half precision the squares overflow
        # from |x - mean| > 256) and the output is cast back.
        layer_dtype = self.running_mean.dtype
        if x.dtype != layer_dtype and not (x.dtype in _HALF and layer_dtype == torch.float32):
            x = x.to(layer_dtype)
        out_dtype = x.dtype
        x = x.to(torch.promote_types(x.dtype, torch.float32))
        reduce = [d for d in range(x.dim()) if d != axis]
        view = [1] * x.dim()
        view[axis] = self.num_features
        if self.training and self._trainable:
            # tf.nn.moments: the variance uses stop_gradient(mean)
            mean = x.mean(dim=reduce, keepdim=True)
            variance = torch.square(x - mean.detach()).mean(dim=reduce, keepdim=True)
            with torch.no_grad():
                m, v = mean.reshape(-1), variance.reshape(-1)
                self.running_mean.copy_(self.running_mean.to(x.dtype) * self.momentum + m * (1.0 - self.momentum))
                self.running_var.copy_(self.running_var.to(x.dtype) * self.momentum + v * (1.0 - self.momentum))
        else:
            mean = self.running_mean.reshape(view).to(x.dtype)
            variance = self.running_var.reshape(view).to(x.dtype)
        # tf.nn.batch_normalization
        inv = torch.rsqrt(variance + self.epsilon)
        if self.weight is not None:
            inv = inv * self.weight.reshape(view).to(x.dtype)
        offset = -mean * inv if self.bias is None else self.bias.reshape(view).to(x.dtype) - mean * inv
        return (x * inv + offset).to(out_dtype)


#: the modules keras_init_ knows a Keras default for
_KNOWN_MODULES = _KERNEL_MODULES + _NORM_MODULES + (nn.Embedding, nn.PReLU, BatchNormalization, nn.LSTM, nn.GRU,
                                                     nn.RNN, nn.MultiheadAttention, MultiHeadAttention, _ConvLSTM,
                                                     Attention)


@torch.no_grad()
def _keras_attention_init_(m: nn.MultiheadAttention, generator: Optional[torch.Generator]) -> None:
    """Keras's ``MultiHeadAttention`` defaults: each kernel ``glorot_uniform`` with the fans its ``EinsumDense``
    gives (query/key/value ``(in, heads, head_dim)``: fan in ``in``, fan out ``heads * head_dim``; output
    ``(heads, head_dim, E)``: ``heads * head_dim`` and ``E``), zero biases."""
    if m.bias_k is not None or m.add_zero_attn:
        raise ValueError("keras_init_: MultiheadAttention with add_bias_kv or add_zero_attn has no Keras "
                         "counterpart")
    for desc, tensor, layout in _attention_slots("", m):
        if desc.endswith(".bias"):
            tensor.zero_()
            continue
        shape = _rules(layout).keras_shape(tuple(tensor.shape))
        fan_in, fan_out = (shape[0] * shape[1], shape[2]) if isinstance(layout, _HeadsOutput) else \
            (shape[0], shape[1] * shape[2])
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        values = torch.empty(shape, dtype=tensor.dtype).uniform_(-limit, limit, generator=generator)
        tensor.copy_(torch.as_tensor(_rules(layout).to_torch(values.numpy())[0], dtype=tensor.dtype))


class BatchNorm1d(BatchNormalization):
    """Keras-semantics BatchNormalization for ``(N, C)`` or ``(N, C, L)`` inputs (torch naming)."""


class BatchNorm2d(BatchNormalization):
    """Keras-semantics BatchNormalization for ``(N, C, H, W)`` inputs (torch naming)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"BatchNorm2d expects (N, C, H, W) input, got shape {tuple(x.shape)}")
        return super().forward(x)


class Normalization(nn.Module):
    """Keras's ``keras.layers.Normalization(axis=-1, mean=None, variance=None, invert=False)``: ``(x - mean) /
    max(sqrt(variance), 1e-7)`` (``invert``: ``mean + x * max(...)``), with :meth:`adapt` computing the
    statistics as Keras's does.

    ``axis`` names the axes that keep their own statistics (default the last: one mean per feature); the others
    are reduced. :meth:`adapt` takes the whole data as Keras's ``adapt``: a NumPy array with NumPy's
    ``mean``/``var`` (Keras's own path for arrays, so the same numbers); a tensor or an iterable of batches
    with Keras's batch-by-batch update of the mean and variance. The statistics are held in the layer's dtype
    (``torch.get_default_dtype()`` when made, Keras's float32 weights under the default floatx), as Keras
    rounds them into its weights. Called before :meth:`adapt` without ``mean``/``variance``, it builds itself as
    Keras's does, with mean 0 and variance 1: it returns its input (in its dtype), until :meth:`adapt`.

    Example:
        >>> import numpy as np
        >>> norm = Normalization()
        >>> norm.adapt(np.array([[1., 10.], [3., 30.]]))
        >>> norm(torch.tensor([[2., 20.]]))
        tensor([[0., 0.]])
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert: bool = False, dtype=None):
        super().__init__()
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        else:
            axis = tuple(int(a) for a in axis)
        self.axis, self.invert = axis, bool(invert)
        self.dtype = dtype or torch.get_default_dtype()
        if (mean is None) != (variance is None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be set. Received: "
                             f"mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError("When setting values directly, `mean` and `variance` must have the same shape. "
                                 f"Received: mean shape {np.shape(mean)} and variance shape {np.shape(variance)}")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(f"The rank of `mean` must be less than or equal to the number of axes "
                                 f"({len(self.axis)}). Received: mean shape {np.shape(mean)} for axis {self.axis}")
        self._given = None if mean is None else (np.asarray(mean), np.asarray(variance))
        self._loaded = None  # Keras's adapted statistics from load_keras_weights, broadcast at the next call
        self.register_buffer("mean", None)
        self.register_buffer("variance", None)

    def _axes(self, ndim: int) -> tuple:
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError("All `axis` values must be in the range [-ndim, ndim). Received inputs with "
                             f"ndim={ndim}, while axis={self.axis}")
        keep = tuple(sorted(a % ndim for a in self.axis))
        return keep, tuple(d for d in range(ndim) if d not in keep)

    def _set(self, mean: np.ndarray, variance: np.ndarray, shape: tuple, keep: tuple) -> None:
        broadcast = [shape[d] if d in keep else 1 for d in range(len(shape))]
        expanded = [1] * len(shape)
        for i in range(1, np.ndim(mean) + 1):
            expanded[keep[-i]] = np.shape(mean)[-i]
        as_t = lambda a: torch.as_tensor(np.broadcast_to(np.reshape(a, expanded), broadcast).copy(),
                                         dtype=self.dtype)  # noqa: E731
        self.mean, self.variance = as_t(mean), as_t(variance)

    def adapt(self, data) -> None:
        """Keras's ``adapt``: the mean and variance of ``data`` over the reduced axes."""
        if not isinstance(data, (np.ndarray, torch.Tensor, list, tuple)) and hasattr(data, "__array__"):
            data = np.asarray(data)  # a pandas DataFrame (iterating one would give its column names)
        if isinstance(data, np.ndarray) or isinstance(data, torch.Tensor):
            array = data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else data
            keep, reduce = self._axes(array.ndim)
            if isinstance(data, np.ndarray):  # Keras's path for arrays: NumPy itself
                mean, var = np.mean(array, axis=reduce), np.var(array, axis=reduce)
            else:
                t = data.to(self.dtype)
                mean = t.mean(dim=reduce).cpu().numpy() if reduce else t.cpu().numpy()
                var = t.var(dim=reduce, unbiased=False).cpu().numpy() if reduce else np.zeros_like(mean)
            shape = array.shape
        else:
            batches = iter(data)
            total_mean = total_var = None
            count = 0
            shape = None
            for batch in batches:
                batch = batch[0] if isinstance(batch, (tuple, list)) else batch
                if shape is None and not hasattr(batch, "shape"):  # Keras checks the first batch
                    raise TypeError("adapt() expects an iterable that yields arrays or tensors with a `.shape` "
                                    "attribute (e.g. numpy arrays or backend tensors). Got an element of type "
                                    f"{type(batch).__name__}. Ensure each yielded element is array-like with a "
                                    "`.shape` attribute.")
                b = torch.as_tensor(np.asarray(batch) if not isinstance(batch, torch.Tensor) else batch,
                                    dtype=self.dtype)
                keep, reduce = self._axes(b.dim())
                if shape is not None and any(b.shape[d] != shape[d] for d in keep):
                    raise ValueError(f"adapt() yielded a batch with incompatible shape. Expected {shape}, got "
                                     f"{tuple(b.shape)}.")
                shape = tuple(b.shape)
                batch_mean = b.mean(dim=reduce) if reduce else b
                batch_var = b.var(dim=reduce, unbiased=False) if reduce else torch.zeros_like(b)
                batch_count = math.prod(b.shape[d] for d in reduce) if reduce else 1
                count += batch_count
                weight = float(batch_count) / count
                existing = 1.0 - weight
                if total_mean is None:
                    total_mean, total_var = torch.zeros_like(batch_mean), torch.zeros_like(batch_var)
                new_mean = total_mean * existing + batch_mean * weight
                total_var = (total_var + (total_mean - new_mean) ** 2) * existing + \
                    (batch_var + (batch_mean - new_mean) ** 2) * weight
                total_mean = new_mean
            if total_mean is None:
                raise ValueError("adapt() received an empty iterable (no batches).")
            mean, var = total_mean.numpy(), total_var.numpy()
            keep, _ = self._axes(len(shape))
        if self.mean is not None and any(shape[d] != self.mean.shape[d] for d in keep):  # Keras's built check
            built = tuple(self.mean.shape[d] if d in keep else None for d in range(self.mean.dim()))
            raise ValueError(f"The layer was built with input_shape={built}, but adapt() is being called with data "
                             f"with an incompatible shape, data.shape={tuple(shape)}")
        self._set(mean, var, shape, keep)
        self._loaded = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mean is None:
            stats = self._given if self._given is not None else self._loaded
            keep, _ = self._axes(x.dim())
            if stats is None:  # not adapted: Keras's build makes its weights zeros and ones (the identity)
                kept = tuple(x.shape[d] for d in keep)
                stats = (np.zeros(kept), np.ones(kept))
            self._set(*stats, tuple(x.shape), keep)
        x = x.to(self.mean.dtype)
        mean, variance = self.mean.to(x.device), self.variance.to(x.device)
        scale = torch.clamp_min(_ops.tf_sqrt(variance), _ops.EPSILON)
        return mean + x * scale if self.invert else (x - mean) / scale

    def extra_repr(self) -> str:
        return f"axis={self.axis}, invert={self.invert}"


class Activation(nn.Module):
    """A Keras activation by name (``keras.activations.get(name)``): see :data:`ACTIVATIONS`; or a function of the
    input (``Activation(fn)``, as Keras's layer takes one)."""

    def __init__(self, name):
        super().__init__()
        if not callable(name):  # Keras's Activation also takes a function
            activation(name)  # raises on an unknown name
        self.name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.name(x) if callable(self.name) else ACTIVATIONS[self.name](x)

    def extra_repr(self) -> str:
        return str(self.name)




def _check_dropout_rate(rate) -> None:
    if not 0 <= rate <= 1:
        raise ValueError("Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                         f"Received: rate={rate}")


def _full_noise_shape(noise_shape: Optional[tuple], shape: tuple) -> tuple:
    """Keras's ``noise_shape``: ``None`` entries (or no noise shape) take the input's sizes."""
    if noise_shape is None:
        return shape
    return tuple(shape[i] if d is None else d for i, d in enumerate(noise_shape))


class Dropout(_SeedGenerator, nn.Module):
    """Keras's ``Dropout(rate, noise_shape, seed)`` on the TensorFlow backend: the same masks for the same seed.

    In training mode each call draws TensorFlow's ``tf.nn.experimental.stateless_dropout`` mask from the
    seed pair of Keras's ``SeedGenerator``: ``state = [seed, counter]``, ``counter`` advancing by one per
    training call, both reduced ``mod 2**31 - 2`` (Keras's ``_cast_seed``) and scrambled to a Philox key and
    counter as ``StatelessRandomGetKeyCounter`` does. An element is kept where its uniform draw (in the
    input's dtype) is ``>= rate`` and becomes ``x * (1 / (1 - rate))`` (the factor rounded to the input's
    dtype), else ``0``: TensorFlow's ``where(u >= rate, x * scale, 0)``, values and gradients bit for bit.
    ``noise_shape`` (``None`` entries take the input's size) draws a mask of that shape, broadcast to the input.
    ``rate == 1`` gives zeros and ``rate == 0`` the input, neither advancing the counter (as Keras).
    In eval mode the layer is the identity and the counter stays put, as Keras's ``training=False``
    (``evaluate``/``predict``) leaves its seed state.

    The stream is that of TensorFlow's CPU kernels (the kernels TensorFlow's GPU ops also use fill the
    same blocks in the same order, but Keras compiles ``fit`` with XLA on a GPU, whose random bits differ).

    ``seed=None`` draws the seed as Keras's ``make_default_seed`` does (``random.randint(1, 10**9)`` from
    Python's ``random`` module): equal to Keras's only when Python's random state and the order of every
    draw are the same on both sides; for parity give both layers the same integer seed.

    ``state`` is the ``(seed, counter)`` pair (Keras's ``layer.seed_generator.state``); assign it, or
    :meth:`reset`, to replay or continue a stream. It is a plain attribute (in no ``state_dict``), as Keras
    keeps seed states out of ``model.weights``.

    Example:
        >>> import torch
        >>> drop = Dropout(0.5, seed=1)
        >>> x = torch.ones(2, 4)
        >>> first = drop(x)  # keras.layers.Dropout(0.5, seed=1)(x, training=True), the first call
        >>> first
        tensor([[2., 0., 2., 0.],
                [0., 0., 0., 2.]])
        >>> drop.state  # the next training call draws with seed pair (1, 1)
        (1, 1)
        >>> drop.eval()(x).equal(x), drop.state  # eval mode: identity, the counter stays
        (True, (1, 1))
        >>> _ = drop.train().reset()  # back to state (1, 0): the first mask again
        >>> drop(x).equal(first)
        True
    """

    def __init__(self, rate: float, noise_shape: Optional[Sequence[Optional[int]]] = None,
                 seed: Optional[int] = None):
        super().__init__()
        _check_dropout_rate(rate)
        self.rate = rate
        self.seed = seed
        self.noise_shape = self._validate_noise_shape(noise_shape)
        self._init_seed(seed, draws=rate > 0)  # Keras makes no generator for rate 0

    @staticmethod
    def _validate_noise_shape(noise_shape):
        if noise_shape is None:
            return None
        if isinstance(noise_shape, str):
            raise ValueError("Invalid value received for argument `noise_shape`. Expected a tuple or list of "
                             f"integers. Received: noise_shape={noise_shape}")
        try:
            noise_shape = tuple(noise_shape)
        except TypeError:
            raise ValueError("Invalid value received for argument `noise_shape`. Expected an iterable of integers "
                             f"(e.g., a tuple or list). Received: noise_shape={noise_shape}") from None
        for i, dim in enumerate(noise_shape):
            if dim is not None:
                if not isinstance(dim, int):
                    raise ValueError("Invalid value received for argument `noise_shape`. Expected all elements to "
                                     f"be integers or None. Received element at index {i}: {dim} "
                                     f"(type: {type(dim).__name__})")
                if dim <= 0:
                    raise ValueError("Invalid value received for argument `noise_shape`. Expected all dimensions "
                                     "to be positive integers or None. "
                                     f"Received negative or zero value at index {i}: {dim}")
        return noise_shape

    def extra_repr(self) -> str:
        ns = "" if self.noise_shape is None else f", noise_shape={self.noise_shape}"
        return f"rate={self.rate}{ns}, seed={self.seed}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        if self.rate == 1:
            return torch.zeros_like(x)  # tf.zeros_like: no gradient reaches x, and no seed is drawn
        if not x.is_floating_point():
            raise ValueError(f"`x.dtype` must be a floating point tensor as `x` will be scaled. Received: {x.dtype}")
        noise_shape = _full_noise_shape(self.noise_shape, tuple(x.shape))
        u = stateless_uniform(noise_shape, self._next_seed(), x.dtype, x.device)
        scale = torch.tensor(1 / (1 - self.rate), dtype=x.dtype, device=x.device)
        keep = u >= torch.tensor(self.rate, dtype=x.dtype, device=x.device)
        return torch.where(keep, x * scale, torch.zeros((), dtype=x.dtype, device=x.device))


class GaussianNoise(_SeedGenerator, nn.Module):
    """Keras's ``GaussianNoise(stddev, seed)`` on the TensorFlow backend: in training mode ``x + noise`` with
    ``noise = stddev * z``, ``z`` TensorFlow's ``stateless_normal`` from the layer's ``SeedGenerator`` (the
    stream of :class:`Dropout`; an unseeded layer with ``stddev > 0`` draws its seed from Python's ``random``,
    which :func:`keras_init_` ``(seed=...)`` replays); the identity in eval mode and for ``stddev == 0``.
    TensorFlow's normal goes through glibc's ``logf``/``sincosf``: replayed bit for bit on Linux, elsewhere within
    an ulp of ``z`` on about 1% of the draws (:mod:`torch_impl._tf_random`).

    Example:
        >>> noise = GaussianNoise(0.1, seed=3)
        >>> noise(torch.zeros(2, 2)).abs().max().item() < 1.0, noise.state
        (True, (3, 1))
    """

    def __init__(self, stddev: float, seed: Optional[int] = None):
        super().__init__()
        if not (isinstance(stddev, (int, float)) and not isinstance(stddev, bool) and 0 <= stddev
                and math.isfinite(stddev)):
            raise ValueError("Invalid value received for argument `stddev`. Expected a float value between 0 and "
                             f"inf. Received: stddev={stddev}")
        self.stddev, self.seed = float(stddev), seed
        self._init_seed(seed, draws=stddev > 0)  # Keras makes the generator only for stddev > 0

    def extra_repr(self) -> str:
        return f"stddev={self.stddev}, seed={self.seed}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.stddev == 0:
            return x
        return x + stateless_normal(tuple(x.shape), self._next_seed(), x.dtype, x.device, mean=0.0,
                                    stddev=self.stddev)


class GaussianDropout(_SeedGenerator, nn.Module):
    """Keras's ``GaussianDropout(rate, seed)`` on the TensorFlow backend: in training mode ``x * noise`` with
    ``noise = z * sqrt(rate / (1 - rate)) + 1``, ``z`` TensorFlow's ``stateless_normal`` in the input's dtype from
    the layer's ``SeedGenerator`` (the stream of :class:`Dropout`, one draw per training call; the factor is a
    Python float rounded to the input's dtype, as ``tf.random.stateless_normal(mean=1.0, stddev=...)`` does); the
    identity in eval mode and for ``rate == 0`` (which makes no generator, as Keras). ``rate == 1`` raises
    ``ZeroDivisionError`` at a training call, as Keras's ``sqrt(rate / (1 - rate))`` does. An unseeded layer with
    ``rate > 0`` draws its seed from Python's ``random`` (Keras's ``make_default_seed``), which :func:`keras_init_` ``(seed=...)`` replays. The normal goes
    through glibc's ``log``/``sincos`` on TensorFlow's side: within an ulp of Keras's values on a few draws (measured
    9.6e-8 relative in float32, 7.3e-16 in float64).

    Example:
        >>> import torch
        >>> drop = GaussianDropout(0.2, seed=3)  # keras.layers.GaussianDropout(0.2, seed=3)
        >>> y = drop(torch.ones(2, 3, dtype=torch.float64))  # training call: 1 + 0.5 * z
        >>> drop.state, drop.eval()(torch.ones(1)).item()  # eval: the identity, the counter stays
        ((3, 1), 1.0)
    """

    def __init__(self, rate: float, seed: Optional[int] = None):
        super().__init__()
        _check_dropout_rate(rate)
        self.rate, self.seed = rate, seed
        self._init_seed(seed, draws=rate > 0)  # Keras makes the generator only for rate > 0

    def extra_repr(self) -> str:
        return f"rate={self.rate}, seed={self.seed}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        stddev = math.sqrt(self.rate / (1.0 - self.rate))  # rate 1: ZeroDivisionError, as Keras's call
        return x * stateless_normal(tuple(x.shape), self._next_seed(), x.dtype, x.device, mean=1.0, stddev=stddev)


class AlphaDropout(_SeedGenerator, nn.Module):
    """Keras's ``AlphaDropout(rate, noise_shape, seed)`` on the TensorFlow backend (the dropout of SELU networks):
    in training mode a unit is kept where TensorFlow's ``stateless_uniform`` draw (of ``noise_shape``, ``None``
    entries the input's size, broadcast to the input) is ``>= rate``, else set to ``alpha_p = -alpha * scale``
    (SELU's negative saturation); then the affine ``a * x + b`` with ``a = ((1 - rate) (1 + rate alpha_p^2))^-1/2``
    and ``b = -a alpha_p rate`` keeps the mean and variance: ``a * (x * keep + alpha_p * (1 - keep)) + b``, each
    Python constant rounded to the input's dtype as TensorFlow does. The uniform draw is in floatx (torch's default
    dtype; Keras's ``ops.random.uniform`` default), not the input's dtype: a float32 default dtype with float64
    inputs draws float32 uniforms, as Keras with floatx float32 does. One draw of the layer's ``SeedGenerator`` per
    training call (the stream of :class:`Dropout`); the identity in eval mode and for ``rate == 0`` (no generator
    then, as Keras). ``torch.nn.AlphaDropout`` draws torch's masks and keeps units with probability ``1 - p``
    too, but from another stream.

    Example:
        >>> import torch
        >>> drop = AlphaDropout(0.5, seed=1)  # keras.layers.AlphaDropout(0.5, seed=1)
        >>> y = drop(torch.zeros(2, 4))  # dropped units: a * alpha_p + b, kept: b
        >>> sorted({round(v, 4) for v in y.flatten().tolist()}), drop.state
        ([-0.7792, 0.7792], (1, 1))
    """

    def __init__(self, rate: float, noise_shape: Optional[Sequence[Optional[int]]] = None,
                 seed: Optional[int] = None):
        super().__init__()
        _check_dropout_rate(rate)
        self.rate, self.seed = rate, seed
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self._init_seed(seed, draws=rate > 0)

    def extra_repr(self) -> str:
        ns = "" if self.noise_shape is None else f", noise_shape={self.noise_shape}"
        return f"rate={self.rate}{ns}, seed={self.seed}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        noise_shape = _full_noise_shape(self.noise_shape, tuple(x.shape))
        floatx = torch.get_default_dtype()
        u = stateless_uniform(noise_shape, self._next_seed(), floatx, x.device)
        kept = (u >= torch.tensor(self.rate, dtype=floatx, device=x.device)).to(x.dtype)
        alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
        alpha_p = -alpha * scale
        a = ((1 - self.rate) * (1 + self.rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * self.rate

        def c(v: float) -> torch.Tensor:
            return torch.tensor(v, dtype=x.dtype, device=x.device)

        out = x * kept + c(alpha_p) * (c(1.0) - kept)
        return c(a) * out + c(b)


class RandomFlip(_SeedGenerator, nn.Module):
    """Keras's ``RandomFlip(mode, seed)`` on the TensorFlow backend: in training mode each image of the batch is
    flipped where its draw of ``uniform((N, 1, 1, 1))`` (floatx: torch's default dtype; TensorFlow's stateless
    uniform from the layer's ``SeedGenerator``, as :class:`Dropout`'s) is ``<= 0.5``; ``"horizontal_and_vertical"``
    flips both axes of the same images (one draw). Eval mode is the identity and draws nothing, as Keras's
    ``training=False``. Images are torch's ``(N, C, H, W)`` (``data_format="channels_first"``, the default here)
    or Keras's ``(N, H, W, C)`` (``"channels_last"``); an unbatched image is one draw of ``(1, 1, 1)``. An
    unseeded layer draws its seed from Python's ``random`` when made (Keras's ``SeedGenerator(None)``), which
    :func:`keras_init_` ``(seed=...)`` replays.

    Example:
        >>> flip = RandomFlip("horizontal", seed=3)
        >>> flip(torch.arange(4.0).reshape(1, 1, 1, 4)).flatten().tolist(), flip.state
        ([3.0, 2.0, 1.0, 0.0], (3, 1))
    """

    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode: str = "horizontal_and_vertical", seed: Optional[int] = None,
                 data_format: str = "channels_first"):
        super().__init__()
        if mode not in self._MODES:
            raise ValueError(f"RandomFlip layer {mode!r} expects `mode` to be one of {', '.join(self._MODES)}")
        if data_format not in ("channels_first", "channels_last"):
            raise ValueError(f"data_format must be 'channels_first' or 'channels_last', got {data_format!r}")
        self.mode, self.seed, self.data_format = mode, seed, data_format
        self._init_seed(seed, draws=True)  # Keras's layer always makes its generator

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, seed={self.seed}, data_format={self.data_format!r}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        if x.dim() not in (3, 4):
            raise ValueError(f"RandomFlip takes images (N, C, H, W) or one image (C, H, W); got {x.dim()}-D")
        unbatched = x.dim() == 3
        images = x.unsqueeze(0) if unbatched else x
        draws = stateless_uniform((images.shape[0], 1, 1, 1), self._next_seed(), torch.get_default_dtype(),
                                  x.device)
        flips = draws <= 0.5
        width, height = (-1, -2) if self.data_format == "channels_first" else (-2, -3)
        out = images
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            out = torch.where(flips, out.flip(width), out)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            out = torch.where(flips, out.flip(height), out)
        return out.squeeze(0) if unbatched else out


class Rescaling(nn.Module):
    """Keras's ``Rescaling(scale, offset=0.0)``: ``x * scale + offset`` in the input's float dtype, with a Python
    ``scale``/``offset`` rounded to float32 first as Keras's ``backend.cast`` of a Python float does (a float64
    model's ``Rescaling(1 / 255)`` multiplies by ``float32(1 / 255)``: ``x * (1 / 255)`` is 1.4e-10 off its
    history). A sequence of per-channel scales applies along ``axis`` (1: torch's channels; -1 for
    channels-last tensors). Integer inputs become torch's default dtype.

    Example:
        >>> Rescaling(1.0 / 255)(torch.tensor([255.0], dtype=torch.float64)).item()
        1.0000000591389835
    """

    def __init__(self, scale, offset=0.0, axis: int = 1):
        super().__init__()
        self.scale, self.offset, self.axis = scale, offset, axis

    def _along_axis(self, value, x: torch.Tensor, dtype) -> torch.Tensor:
        """``value`` Keras-cast to ``dtype``, a per-channel sequence shaped to apply along ``axis``."""
        t = _ops.tf_cast(value, dtype, x.device)  # a Python float (or list of them) through float32
        if t.dim() == 1:
            shape = [1] * x.dim()
            shape[self.axis] = -1
            t = t.reshape(shape)
        return t

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()
        return x.to(dtype) * self._along_axis(self.scale, x, dtype) + self._along_axis(self.offset, x, dtype)


class Masking(nn.Module):
    """Keras's ``Masking(mask_value=0.0)``: a step whose features all equal ``mask_value`` is masked. The output is
    ``x`` with the masked steps set to 0 (Keras's ``where(mask, x, 0)``; no gradient there) carrying the ``(N,
    steps)`` mask ``(x != mask_value).any(-1)`` (:func:`torch_impl.utils.set_keras_mask`), which :class:`LSTM`,
    :class:`GRU`, :class:`SimpleRNN`, :class:`GlobalAveragePooling1D`, the losses and :func:`torch_impl.fit.fit`
    read. A Python ``mask_value`` is compared as Keras's ``ops.not_equal`` compares it: rounded to float32 first
    (a float64 ``Masking(0.1)`` masks no step of float64 0.1s, in Keras too).

    Example:
        >>> x = torch.tensor([[[1.0, 2.0], [-1.0, -1.0], [3.0, -1.0]]])
        >>> y = Masking(mask_value=-1.0)(x)       # keras.layers.Masking(mask_value=-1.0)
        >>> y.tolist(), y._keras_mask.tolist()
        ([[[1.0, 2.0], [0.0, 0.0], [3.0, -1.0]]], [[True, False, True]])
    """

    def __init__(self, mask_value=0.0):
        super().__init__()
        self.mask_value = mask_value

    def extra_repr(self) -> str:
        return f"mask_value={self.mask_value!r}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keep = (x != _ops.tf_cast(self.mask_value, x.dtype, x.device)).any(-1, keepdim=True)
        return set_keras_mask(torch.where(keep, x, torch.zeros((), dtype=x.dtype, device=x.device)),
                              keep.squeeze(-1))


_KERAS_BASE_LAYER_KEYS = ("name", "trainable", "dtype")  # keras.layers.Layer's own config keys


class LeakyReLU(nn.Module):
    """Keras's ``LeakyReLU(negative_slope=0.3)``: ``tf.nn.leaky_relu``, whose slope is a float32 attribute, so a
    float64 model computes with ``float32(0.3)`` (``torch.nn.LeakyReLU(0.3)`` is 4e-8 off on every negative
    input there); the gradient ``negative_slope`` at 0, as TensorFlow's.

    Example:
        >>> LeakyReLU()(torch.tensor([-3.0], dtype=torch.float64)).item()
        -0.9000000357627869
    """

    def __init__(self, negative_slope: float = 0.3):
        super().__init__()
        if negative_slope is None or isinstance(negative_slope, bool) or not negative_slope >= 0:
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None or negative, "
                             f"Expected a float. Received: negative_slope={negative_slope}")
        self.negative_slope = float(negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, float(np.float32(self.negative_slope)))


class ELU(nn.Module):
    """Keras's ``ELU(alpha=1.0)``: TensorFlow's ``elu`` (``exp(x) - 1`` below 0, not torch's ``expm1``), scaled by
    ``alpha`` where ``x <= 0`` when ``alpha != 1``, with TensorFlow's gradient ``g (y + 1)`` below 0 (``torch.nn.ELU``
    computes ``expm1`` and differentiates ``exp``: an ulp apart here and there).

    Example:
        >>> ELU(alpha=0.5)(torch.tensor([-1.0, 2.0])).tolist()
        [-0.31606027483940125, 2.0]
    """

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        if alpha is None:  # Keras 3 fails only at the call (ValueError); this is tf-keras's check
            raise ValueError("Alpha of an ELU layer cannot be None, expecting a float. Received: None")
        self.alpha = float(alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"

    def get_config(self) -> dict:
        """Keras's ``ELU.get_config()`` argument: ``alpha``."""
        return {"alpha": self.alpha}

    @classmethod
    def from_config(cls, config: dict) -> "ELU":
        """The layer from :meth:`get_config`'s dict, or from Keras's (``name``, ``trainable``, ``dtype`` dropped)."""
        return cls(**{k: v for k, v in config.items() if k not in _KERAS_BASE_LAYER_KEYS})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = _elu(x)
        if self.alpha == 1:
            return res
        return torch.where(x > 0, res, torch.tensor(self.alpha, dtype=res.dtype, device=res.device) * res)


def keras_relu(x: torch.Tensor, negative_slope: float = 0.0, max_value: Optional[float] = None,
               threshold: float = 0.0) -> torch.Tensor:
    """``keras.activations.relu(x, negative_slope, max_value, threshold)`` as Keras's ``ReLU.static_call`` computes
    it on TensorFlow, branch for branch: a slope alone is ``tf.nn.leaky_relu`` (its slope a float32 attribute, even
    in float64); otherwise ``relu`` (``relu6`` when ``max_value == 6`` and no threshold: zero gradient at 6),
    ``where(x > threshold, x, 0)`` with a threshold, ``clip_by_value(0, max_value)`` (gradient passing at the
    bounds) and ``- negative_slope * relu(-x + threshold)``; the constants are rounded to ``x``'s dtype."""

    def c(v: float) -> torch.Tensor:
        return torch.tensor(v, dtype=x.dtype, device=x.device)

    negative_part = None
    if negative_slope != 0.0:
        if max_value is None and threshold == 0:
            return F.leaky_relu(x, float(np.float32(negative_slope)))  # tf.nn.leaky_relu's float32 alpha
        negative_part = _relu(-x + c(threshold)) if threshold != 0 else _relu(-x)
    clip_max = max_value is not None
    if threshold != 0:
        out = torch.where(x > c(threshold), x, torch.zeros((), dtype=x.dtype, device=x.device))
    elif max_value == 6:
        out = _relu6(x)
        clip_max = False
    else:
        out = _relu(x)
    if clip_max:
        out = torch.clamp(out, c(0.0), c(max_value))  # tf.clip_by_value: the gradient passes at the bounds
    if negative_part is not None:
        out = out - c(negative_slope) * negative_part
    return out


class ReLU(nn.Module):
    """Keras's ``ReLU(max_value=None, negative_slope=0.0, threshold=0.0)`` layer: :func:`keras_relu`, Keras's
    argument checks (``ValueError`` for a negative ``max_value``, a ``None`` or negative ``negative_slope`` or
    ``threshold``). Below ``threshold`` the output is ``negative_slope * (x - threshold)``, above it ``x``, clipped
    at ``max_value``. ``torch.nn.ReLU`` has no arguments; ``nn.LeakyReLU`` differs in float64 by the float32 slope
    of TensorFlow's kernel, and the gradients at the kinks follow TensorFlow (``max_value=6``: 0 at 6; any other
    ``max_value``: 1 there).

    Example:
        >>> import torch
        >>> ReLU(max_value=5.0, negative_slope=0.5, threshold=1.0)(torch.tensor([-1.0, 0.5, 3.0, 9.0])).tolist()
        [-1.0, -0.25, 3.0, 5.0]
    """

    def __init__(self, max_value: Optional[float] = None, negative_slope: float = 0.0, threshold: float = 0.0):
        super().__init__()
        if max_value is not None and max_value < 0.0:
            raise ValueError(f"max_value of a ReLU layer cannot be a negative value. Received: max_value={max_value}")
        if negative_slope is None or negative_slope < 0.0:
            raise ValueError("negative_slope of a ReLU layer cannot be None or a negative value. Received: "
                             f"negative_slope={negative_slope}")
        if threshold is None or threshold < 0.0:
            raise ValueError("threshold of a ReLU layer cannot be None or a negative value. Received: "
                             f"threshold={threshold}")
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def extra_repr(self) -> str:
        return f"max_value={self.max_value}, negative_slope={self.negative_slope}, threshold={self.threshold}"

    def get_config(self) -> dict:
        """Keras's ``ReLU.get_config()`` arguments: ``max_value``, ``negative_slope``, ``threshold``."""
        return {"max_value": self.max_value, "negative_slope": self.negative_slope, "threshold": self.threshold}

    @classmethod
    def from_config(cls, config: dict) -> "ReLU":
        """The layer from :meth:`get_config`'s dict, or from Keras's (its base-layer keys ``name``, ``trainable``
        and ``dtype`` are dropped); the arguments are checked as the constructor does."""
        return cls(**{k: v for k, v in config.items() if k not in _KERAS_BASE_LAYER_KEYS})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return keras_relu(x, negative_slope=self.negative_slope, max_value=self.max_value, threshold=self.threshold)


class Softmax(nn.Module):
    """Keras's ``Softmax(axis=-1)`` layer, with its optional ``mask`` (``forward(x, mask=None)``): a boolean mask
    (or numbers, kept where ``> 0.5``) broadcastable to ``x`` (no more dimensions, each 1 or the input's size: a
    ``ValueError`` otherwise) replaces the masked logits by ``-1e9`` (``-3e4`` for float16), takes the softmax,
    and then zeroes the masked positions: an entirely masked row gives zeros (its softmax would be uniform), and
    the masked logits get no gradient. A tuple/list of several axes normalises over them together as
    ``exp(x - logsumexp(x, axes))``. Without a mask (and over one axis) the output carries its logits
    (``_keras_logits``) as Keras's does, so a :mod:`torch_impl.losses` crossentropy of it uses them; with a mask
    it does not (Keras's ``where`` makes a new tensor).

    Example:
        >>> import torch
        >>> Softmax()(torch.tensor([[1.0, 2.0, 1.0]]), mask=torch.tensor([[True, True, False]])).tolist()
        [[0.2689414322376251, 0.7310585975646973, 0.0]]
    """

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = axis

    def extra_repr(self) -> str:
        return f"axis={self.axis}"

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if mask is not None:
            mask = torch.as_tensor(mask, device=x.device)
            if mask.dim() > x.dim():
                raise ValueError("The `mask` must be broadcastable to `inputs` and must not have more dimensions. "
                                 f"Received: inputs.shape={tuple(x.shape)}, mask.shape={tuple(mask.shape)}")
            for m_dim, i_dim in zip(tuple(mask.shape)[::-1], tuple(x.shape)[::-1]):
                if m_dim != 1 and m_dim != i_dim:
                    raise ValueError("The `mask` must be broadcastable to `inputs`. Each mask dimension must be 1 "
                                     "or match the corresponding input dimension. Received: "
                                     f"inputs.shape={tuple(x.shape)}, mask.shape={tuple(mask.shape)}")
            if mask.dtype != torch.bool:
                mask = mask > torch.tensor(0.5, dtype=mask.dtype if mask.is_floating_point() else torch.float32,
                                           device=mask.device)
            large_negative = -3e4 if x.dtype == torch.float16 else -1e9
            x = torch.where(mask, x, torch.tensor(large_negative, dtype=x.dtype, device=x.device))
        axis = self.axis
        if isinstance(axis, (tuple, list)) and len(axis) > 1:
            dims = tuple(axis)
            out = torch.exp(x - torch.logsumexp(x, dim=dims, keepdim=True))
        else:
            dim = axis[0] if isinstance(axis, (tuple, list)) else axis
            _ops.warn_softmax_of_size_one(x, dim)
            out = torch.softmax(x, dim)
            if mask is None:
                out._keras_logits = x  # Keras's activations.softmax caches its logits
        if mask is not None:
            out = torch.where(mask, out, torch.zeros((), dtype=out.dtype, device=out.device))
        return out


class LayerNormalization(nn.LayerNorm):
    """Keras's ``LayerNormalization(axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False)`` over the
    trailing ``normalized_shape`` dimensions (torch's convention; Keras's ``axis`` ``[-k, ..., -1]``), with
    TensorFlow's order of operations: ``mean, var = tf.nn.moments`` (no gradient through the mean inside the
    variance), ``inv = rsqrt(var + epsilon) * gamma``, ``x * inv + (beta - mean * inv)``, in at least float32 and
    cast back (``torch.nn.LayerNorm`` computes ``(x - mean) * rstd * w + b``: an ulp apart, its ``eps`` 1e-5).
    ``scale=False`` has no gamma, ``center=False`` no beta. The deprecated ``rms_scaling=True`` is Keras's formula,
    not an RMS norm (``torch.nn.RMSNorm`` / ``keras.layers.RMSNormalization``): ``x * rsqrt(var(x) + epsilon) *
    gamma``, the *centred* variance (Keras's own warning says so) dividing the uncentred ``x``, with a gamma and no
    beta whatever ``center``/``scale`` say (Keras warns; so does this layer). A ``torch.nn.LayerNorm``:
    :func:`keras_init_` (gamma 1, beta 0), :func:`load_keras_weights` and :func:`keras_weights` take its Keras
    weights (gamma then beta, each of shape ``normalized_shape``).

    Example:
        >>> import torch
        >>> ln = LayerNormalization(3)  # keras.layers.LayerNormalization()
        >>> ln(torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)).detach().tolist()
        [[-1.2238273448265007, 0.0, 1.2238273448265007]]
        >>> LayerNormalization(3, center=False).bias is None  # no beta
        True
    """

    def __init__(self, normalized_shape, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 rms_scaling: bool = False, device=None, dtype=None):
        super().__init__(normalized_shape, eps=epsilon, elementwise_affine=True, bias=True, device=device,
                         dtype=dtype)
        if rms_scaling:
            warnings.warn("You passed `rms_scaling=True`, which is deprecated. This argument incorrectly scales the "
                          "input by the variance, not the root mean square. To correctly use RMS Normalization, "
                          "please use `keras.layers.RMSNormalization` instead.", stacklevel=2)
        self.center, self.scale, self.rms_scaling = bool(center), bool(scale), bool(rms_scaling)
        if not (scale or rms_scaling):
            self.weight = None
        if not center or rms_scaling:
            self.bias = None

    def extra_repr(self) -> str:
        return (f"{tuple(self.normalized_shape)}, epsilon={self.eps}, center={self.center}, scale={self.scale}, "
                f"rms_scaling={self.rms_scaling}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from torch_impl._keras_ops_nn_image import layer_normalization

        k = len(self.normalized_shape)
        if tuple(x.shape[x.dim() - k:]) != tuple(self.normalized_shape):
            raise ValueError(f"LayerNormalization{tuple(self.normalized_shape)}: got an input of shape "
                             f"{tuple(x.shape)}")
        return layer_normalization(x, self.weight, self.bias, axis=tuple(range(-k, 0)) if k > 1 else -1,
                                   epsilon=self.eps, rms_scaling=self.rms_scaling)


# TensorFlow's "same" padding and Keras's pooling for channels-first torch conv nets (the arithmetic and the
# pooling are keras_backend's: one implementation for K, keras_ops and these modules)
def _spatial_rank(x: torch.Tensor, where: str) -> int:
    nd = x.dim() - 2
    if nd not in (1, 2, 3):
        raise ValueError(f"{where} takes a (N, C, *spatial) input with 1 to 3 spatial axes, got {tuple(x.shape)}")
    return nd


def tf_same_padding(x: torch.Tensor, kernel_size, strides=1, dilation_rate=1, value: float = 0.0) -> torch.Tensor:
    """TensorFlow's ``padding="same"`` on a channels-first ``(N, C, *spatial)`` tensor (1 to 3 spatial axes): along
    each axis ``max((ceil(n / s) - 1) s + (k - 1) d + 1 - n, 0)`` values in all, the odd one at the end (right,
    bottom, back), so that a ``'valid'`` convolution or pooling of the result gives ``ceil(n / s)`` outputs where
    TensorFlow's ``'same'`` does. ``kernel_size``/``strides``/``dilation_rate``: an int for every axis or one per
    axis. ``value=-inf`` before a max pooling (TensorFlow's padding never wins a max; :class:`MaxPooling2D` does
    it for you). torch's ``padding="same"`` refuses strides, and ``padding=k // 2`` pads both ends alike: with
    stride 2 on an even size that shifts every window by one.

    Example:
        >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
        >>> tf_same_padding(x, 3, strides=2).shape     # (2 - 1) * 2 + 3 - 4 = 1 pad: bottom and right only
        torch.Size([1, 1, 5, 5])
        >>> conv = torch.nn.Conv2d(1, 2, 3, stride=2)  # Keras's Conv2D(2, 3, strides=2, padding="same")
        >>> conv(tf_same_padding(x, 3, strides=2)).shape
        torch.Size([1, 2, 2, 2])
    """
    nd = _spatial_rank(x, "tf_same_padding")
    pads = _K._same_pads(x.shape[2:], _K._tuple(kernel_size, nd, "kernel_size"), _K._tuple(strides, nd, "strides"),
                         _K._tuple(dilation_rate, nd, "dilation_rate"))
    if not any(p != (0, 0) for p in pads):
        return x
    return F.pad(x, _K._torch_pad(pads), value=value)


class TFSamePadding(nn.Module):
    """:func:`tf_same_padding` as a module, to put in front of a ``'valid'`` (``padding=0``) torch convolution or
    pooling: Keras's ``Conv2D(f, k, strides=s, dilation_rate=d, padding="same")`` is
    ``nn.Sequential(TFSamePadding(k, s, d), nn.Conv2d(c, f, k, stride=s, dilation=d))`` (channels first; 1-D and
    3-D alike, depthwise ``groups=c`` too). The padding depends on the input's size, so one module serves every
    image size.

    Example:
        >>> conv = torch.nn.Sequential(TFSamePadding(3, strides=2), torch.nn.Conv2d(3, 8, 3, stride=2))
        >>> conv(torch.zeros(1, 3, 32, 32)).shape       # 0 pads on top/left, 1 at the bottom/right
        torch.Size([1, 8, 16, 16])
    """

    def __init__(self, kernel_size, strides=1, dilation_rate=1, value: float = 0.0):
        super().__init__()
        self.kernel_size, self.strides, self.dilation_rate, self.value = kernel_size, strides, dilation_rate, value

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, strides={self.strides}, dilation_rate={self.dilation_rate}, "
                f"value={self.value}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return tf_same_padding(x, self.kernel_size, self.strides, self.dilation_rate, self.value)


class _KerasPooling(nn.Module):
    """Keras's ``MaxPooling*D``/``AveragePooling*D`` (TensorFlow backend) on channels-first tensors."""

    nd: int = 2
    mode: str = "max"

    def __init__(self, pool_size=2, strides=None, padding: str = "valid", data_format: str = "channels_first"):
        super().__init__()
        self.pool_size = _K._tuple(pool_size, self.nd, "pool_size")
        self.strides = self.pool_size if strides is None else _K._tuple(strides, self.nd, "strides")
        self.padding = _K._padding_mode(str(padding).lower())
        self.data_format = _K._data_format(data_format)

    def extra_repr(self) -> str:
        return (f"pool_size={self.pool_size}, strides={self.strides}, padding={self.padding!r}, "
                f"data_format={self.data_format!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != self.nd + 2:
            raise ValueError(f"{type(self).__name__} takes a rank-{self.nd + 2} input, got {tuple(x.shape)}")
        return _K._pool(x, self.pool_size, self.strides, self.padding, self.data_format, self.mode, self.nd)


class MaxPooling1D(_KerasPooling):
    """Keras's ``MaxPooling1D(pool_size=2, strides=None, padding="valid")`` on ``(N, C, L)`` (``data_format=
    "channels_last"`` takes ``(N, L, C)``): ``strides`` default to ``pool_size``; ``'same'`` gives ``ceil(L / s)``
    outputs, padded as TensorFlow pads (the odd pad at the end, never winning the max). A NaN never wins a window
    (TensorFlow's rule; torch's ``max_pool`` gives NaN), values and gradients: see ``keras_backend._TfMaxPool``.

    Example:
        >>> MaxPooling1D(2, padding="same")(torch.tensor([[[1.0, -3.0, -2.0]]])).tolist()
        [[[1.0, -2.0]]]
    """

    nd, mode = 1, "max"


class MaxPooling2D(_KerasPooling):
    """Keras's ``MaxPooling2D(pool_size=(2, 2), strides=None, padding="valid")`` on ``(N, C, H, W)``
    (``torch.nn.MaxPool2d(k, s, padding=p)`` pads both ends alike, so ``MaxPooling2D(3, 2, padding="same")`` is
    not ``MaxPool2d(3, 2, padding=1)`` on an even size). See :class:`MaxPooling1D`.

    Example:
        >>> MaxPooling2D((3, 3), strides=(2, 2), padding="same")(torch.zeros(1, 8, 10, 10)).shape
        torch.Size([1, 8, 5, 5])
    """

    nd, mode = 2, "max"


class MaxPooling3D(_KerasPooling):
    """Keras's ``MaxPooling3D(pool_size=(2, 2, 2), strides=None, padding="valid")`` on ``(N, C, D, H, W)``. See
    :class:`MaxPooling1D`."""

    nd, mode = 3, "max"


class _AveragePooling(_KerasPooling):
    """Keras's average pooling layers take no default ``pool_size``."""

    mode = "avg"

    def __init__(self, pool_size, strides=None, padding: str = "valid", data_format: str = "channels_first"):
        super().__init__(pool_size, strides, padding, data_format)


class AveragePooling1D(_AveragePooling):
    """Keras's ``AveragePooling1D(pool_size=2, strides=None, padding="valid")`` on ``(N, C, L)``: with ``'same'``
    TensorFlow leaves the padding out of each window's count (``torch.nn.AvgPool1d``'s default
    ``count_include_pad=True`` counts it, and pads both ends alike).

    Example:
        >>> AveragePooling1D(2, padding="same")(torch.tensor([[[1.0, 3.0, 5.0]]])).tolist()
        [[[2.0, 5.0]]]
    """

    nd, mode = 1, "avg"


class AveragePooling2D(_AveragePooling):
    """Keras's ``AveragePooling2D(pool_size=(2, 2), strides=None, padding="valid")`` on ``(N, C, H, W)``. See
    :class:`AveragePooling1D`."""

    nd, mode = 2, "avg"


class AveragePooling3D(_AveragePooling):
    """Keras's ``AveragePooling3D(pool_size=(2, 2, 2), strides=None, padding="valid")`` on ``(N, C, D, H, W)``.
    See :class:`AveragePooling1D`."""

    nd, mode = 3, "avg"


# Keras's global and adaptive pooling layers (keras/src/layers/pooling/global_*_pooling*d.py,
# base_adaptive_pooling.py), on channels-first tensors by default as the pooling classes above
def _global_axes(x: torch.Tensor, data_format: str, where: str) -> tuple:
    nd = x.dim() - 2
    if nd not in (1, 2, 3):
        raise ValueError(f"{where} takes a rank-3 to rank-5 input (batch, 1 to 3 spatial axes, channels), got "
                         f"{tuple(x.shape)}")
    return tuple(range(1, nd + 1)) if _K._data_format(data_format) == "channels_last" else tuple(range(2, nd + 2))


class _TfHalfSum(torch.autograd.Function):
    """TensorFlow's float16 ``reduce_sum`` along ``axis`` on an x86 CPU: float16 adds in Eigen's order (half
    packets of 8, ``_ops._tf_sum_axis``), bitwise; the gradient ``g`` broadcast over the axis."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis, ctx.shape = axis, x.shape
        with np.errstate(over="ignore", invalid="ignore"):  # a sum past 65504 is inf, as TensorFlow's
            out = _ops._tf_sum_axis(x.detach().numpy(), axis, 8)
        return torch.from_numpy(np.array(out, dtype=np.float16, order="C"))

    @staticmethod
    def backward(ctx, g):
        return g.unsqueeze(ctx.axis).expand(ctx.shape), None


def global_average_pooling(x: torch.Tensor, data_format: str = "channels_first", keepdims: bool = False,
                           mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Keras's ``GlobalAveragePooling1D/2D/3D`` call: the mean over the spatial axes of ``(N, C, *spatial)``
    (``data_format="channels_last"``: ``(N, *spatial, C)``), ``keepdims`` keeping them with length 1; half types
    average in float32 and round back, integers give float32 (``ops.mean``). ``mask`` (1-D only: ``(N, steps)``,
    any dtype, nonzero = valid; Keras's ``Embedding(mask_zero=True)``/``Masking`` mask) gives Keras's masked mean
    ``sum(where(mask, x, 0)) / sum(mask)`` over the valid steps, in ``x``'s dtype (integers: float64, TensorFlow's
    ``truediv``; float16: summed in float16 in TensorFlow's (Eigen's) order on an x86 CPU, bitwise its sums)
    (``global_average_pooling1d.py:70-83``): a row with every step masked is ``0 / 0 = NaN`` (Keras's number; its
    entries get a zero gradient), not the mean of the padding that ``x.mean(1)`` or
    ``torch.nn.AdaptiveAvgPool1d(1)`` give.

    Example:
        >>> x = torch.tensor([[[1.0], [3.0], [8.0]]])                  # (N, steps, C), the last step padding
        >>> global_average_pooling(x, "channels_last", mask=torch.tensor([[1, 1, 0]])).tolist()
        [[2.0]]
        >>> global_average_pooling(x, "channels_last").tolist()        # x.mean(1): the padding counted
        [[4.0]]
    """
    from torch_impl import keras_ops as _ko

    x = torch.as_tensor(x)
    axes = _global_axes(x, data_format, "global_average_pooling")
    if mask is None:
        return _ko.mean(x, axis=axes, keepdims=keepdims)
    if len(axes) != 1:
        raise TypeError("Keras's GlobalAveragePooling2D/3D take no mask (only GlobalAveragePooling1D does)")
    mask = torch.as_tensor(mask, device=x.device)
    if mask.dim() != 2:
        raise ValueError(f"global_average_pooling: the mask is (batch, steps), got {tuple(mask.shape)} for an "
                         f"input of shape {tuple(x.shape)}")
    if mask.shape[1] != x.shape[axes[0]] or mask.shape[0] not in (1, x.shape[0]):  # Keras broadcasts a batch of 1
        raise ValueError(f"global_average_pooling: the mask {tuple(mask.shape)} is not (batch, steps) = "
                         f"{(x.shape[0], x.shape[axes[0]])} of the input {tuple(x.shape)} in data_format="
                         f"{data_format!r} (steps on axis {axes[0]}; Keras's (N, steps, C) is 'channels_last')")
    m = mask.to(torch.bool).unsqueeze(2 if axes == (1,) else 1)
    x = torch.where(m, x, torch.zeros((), dtype=x.dtype, device=x.device))
    if x.dtype == torch.float16 and x.device.type == "cpu" and _ops._PACKET[torch.float32] == 8:
        total, count = _TfHalfSum.apply(x, axes[0]), _TfHalfSum.apply(m.to(x.dtype), axes[0])
        if keepdims:
            total, count = total.unsqueeze(axes[0]), count.unsqueeze(axes[0])
        return total / count
    total, count = _ko.sum(x, axis=axes, keepdims=keepdims), _ko.sum(m.to(x.dtype), axis=axes, keepdims=keepdims)
    if not total.is_floating_point():  # TensorFlow's truediv of the integer sums: float64
        total, count = total.double(), count.double()
    return total / count


def global_max_pooling(x: torch.Tensor, data_format: str = "channels_first", keepdims: bool = False
                       ) -> torch.Tensor:
    """Keras's ``GlobalMaxPooling1D/2D/3D`` call: ``ops.max`` over the spatial axes of ``(N, C, *spatial)``
    (``"channels_last"``: ``(N, *spatial, C)``): NaN propagates, and so does its gradient (NaN for the whole
    window, as ``tf.reduce_max``'s); ties share the gradient (``x.amax``; ``x.max(dim)`` gives it to one entry).
    Keras's ``GlobalMaxPooling1D`` takes no mask: after ``Embedding(mask_zero=True)`` the padded steps take part
    in the max.

    Example:
        >>> x = torch.tensor([[[1.0, 5.0, 5.0]]], requires_grad=True)   # (N, C, L)
        >>> y = global_max_pooling(x)
        >>> y.sum().backward()
        >>> y.tolist(), x.grad.tolist()
        ([[5.0]], [[[0.0, 0.5, 0.5]]])
    """
    from torch_impl import keras_ops as _ko

    x = torch.as_tensor(x)
    return _ko.max(x, axis=_global_axes(x, data_format, "global_max_pooling"), keepdims=keepdims)


class _GlobalPooling(nn.Module):
    """Keras's ``Global{Average,Max}Pooling*D`` (channels-first by default, as torch's layout)."""

    nd: int = 1
    mode: str = "avg"

    def __init__(self, data_format: str = "channels_first", keepdims: bool = False):
        super().__init__()
        self.data_format = _K._data_format(data_format)
        self.keepdims = bool(keepdims)

    def extra_repr(self) -> str:
        return f"data_format={self.data_format!r}, keepdims={self.keepdims}"

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != self.nd + 2:
            raise ValueError(f"{type(self).__name__} takes a rank-{self.nd + 2} input, got {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        if getattr(x, "_keras_mask", None) is not None:  # torch_impl.utils.set_keras_mask
            warnings.warn(f"{type(self).__name__} was passed an input with a mask attached to it. However, this "
                          "layer does not support masking and will therefore destroy the mask information "
                          "(Keras's warning: the masked steps are pooled too).", stacklevel=2)
        if self.mode == "max":
            return global_max_pooling(x, self.data_format, self.keepdims)
        return global_average_pooling(x, self.data_format, self.keepdims)


class GlobalAveragePooling1D(_GlobalPooling):
    """Keras's ``GlobalAveragePooling1D(data_format, keepdims=False)`` on ``(N, C, steps)`` (``data_format=
    "channels_last"``: ``(N, steps, C)``, Keras's default layout and ``torch.nn.Embedding``'s output), with its
    ``mask``: ``forward(x, mask=None)`` takes the ``(N, steps)`` mask (nonzero = valid) or, without one, the mask
    ``x`` carries (:func:`torch_impl.utils.set_keras_mask`, as Keras's ``Embedding(mask_zero=True)`` /
    ``Masking`` output carries its own), and averages over the valid steps only: ``sum(where(mask, x, 0)) /
    sum(mask)``; a row with every step masked gives NaN, as Keras's (zero gradient). The output carries no mask
    (Keras's ``compute_mask`` returns ``None``). ``torch.nn.AdaptiveAvgPool1d(1)`` and ``x.mean(1)`` average the
    padding too. See :func:`global_average_pooling`.

    Example:
        >>> emb = torch.nn.Embedding(10, 4)
        >>> tokens = torch.tensor([[3, 7, 0, 0], [5, 0, 0, 0]])      # Keras: Embedding(10, 4, mask_zero=True)
        >>> pooled = GlobalAveragePooling1D("channels_last")(emb(tokens), mask=tokens != 0)
        >>> torch.allclose(pooled[1], emb.weight[5])                  # the one valid step
        True
    """

    nd, mode = 1, "avg"

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        self._check(x)
        mask = getattr(x, "_keras_mask", None) if mask is None else mask
        return global_average_pooling(x, self.data_format, self.keepdims, mask)


class GlobalAveragePooling2D(_GlobalPooling):
    """Keras's ``GlobalAveragePooling2D(data_format, keepdims=False)`` on ``(N, C, H, W)`` (``"channels_last"``:
    ``(N, H, W, C)``): ``x.mean((2, 3))`` (half types in float32). Keras's takes no mask (it warns and drops an
    attached one; so does this). See :func:`global_average_pooling`.

    Example:
        >>> GlobalAveragePooling2D(keepdims=True)(torch.ones(2, 3, 4, 5)).shape
        torch.Size([2, 3, 1, 1])
    """

    nd, mode = 2, "avg"


class GlobalAveragePooling3D(_GlobalPooling):
    """Keras's ``GlobalAveragePooling3D(data_format, keepdims=False)`` on ``(N, C, D, H, W)``. See
    :class:`GlobalAveragePooling2D`."""

    nd, mode = 3, "avg"


class GlobalMaxPooling1D(_GlobalPooling):
    """Keras's ``GlobalMaxPooling1D(data_format, keepdims=False)`` on ``(N, C, steps)`` (``"channels_last"``:
    ``(N, steps, C)``). Keras's takes no mask: after ``Embedding(mask_zero=True)`` it warns, drops the mask and
    takes the max over the padded steps too (so does this, with the same warning when ``x`` carries a mask).
    Ties share the gradient, NaN propagates (:func:`global_max_pooling`).

    Example:
        >>> GlobalMaxPooling1D("channels_last")(torch.tensor([[[1.0, 2.0], [3.0, -1.0]]])).tolist()
        [[3.0, 2.0]]
    """

    nd, mode = 1, "max"


class GlobalMaxPooling2D(_GlobalPooling):
    """Keras's ``GlobalMaxPooling2D(data_format, keepdims=False)`` on ``(N, C, H, W)``: ``x.amax((2, 3))``. See
    :class:`GlobalMaxPooling1D`."""

    nd, mode = 2, "max"


class GlobalMaxPooling3D(_GlobalPooling):
    """Keras's ``GlobalMaxPooling3D(data_format, keepdims=False)`` on ``(N, C, D, H, W)``. See
    :class:`GlobalMaxPooling1D`."""

    nd, mode = 3, "max"


class _AdaptivePooling(nn.Module):
    """Keras's ``Adaptive{Average,Max}Pooling*D(output_size, data_format)`` (channels-first by default)."""

    nd: int = 1
    mode: str = "average"

    def __init__(self, output_size, data_format: str = "channels_first"):
        super().__init__()
        names = {2: "(height, width)", 3: "(depth, height, width)"}
        if isinstance(output_size, int):
            size = (output_size,) * self.nd
        elif isinstance(output_size, (tuple, list)) and (self.nd == 1 or len(output_size) == self.nd):
            if len(output_size) != self.nd:
                raise ValueError(f"For 1D input, `output_size` tuple must have length 1. Received: {output_size}")
            size = tuple(output_size)
        else:  # Keras's checks and messages
            raise TypeError(f"`output_size` must be an integer or "
                            f"{'tuple of 1 integer' if self.nd == 1 else names[self.nd] + ' tuple'}. "
                            f"Received: {output_size} of type {type(output_size)}")
        self.output_size = size
        self.data_format = _K._data_format(data_format)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, data_format={self.data_format!r}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from torch_impl import keras_ops as _ko

        if x.dim() != self.nd + 2:
            raise ValueError(f"{type(self).__name__} takes a rank-{self.nd + 2} input, got {tuple(x.shape)}")
        op = _ko.adaptive_average_pool if self.mode == "average" else _ko.adaptive_max_pool
        return op(x, output_size=self.output_size, data_format=self.data_format)


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Keras's ``AdaptiveAveragePooling1D(output_size)`` on ``(N, C, L)`` (``"channels_last"``: ``(N, L, C)``):
    output ``i`` of ``o`` averages ``[floor(i L / o), ceil((i + 1) L / o))`` (torch's
    ``nn.AdaptiveAvgPool1d`` windows; ``keras_ops.adaptive_average_pool``).

    Example:
        >>> AdaptiveAveragePooling1D(2)(torch.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]])).tolist()
        [[[2.0, 5.0]]]
    """

    nd, mode = 1, "average"


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Keras's ``AdaptiveAveragePooling2D(output_size)`` on ``(N, C, H, W)`` (an int: the same for both). See
    :class:`AdaptiveAveragePooling1D`."""

    nd, mode = 2, "average"


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Keras's ``AdaptiveAveragePooling3D(output_size)`` on ``(N, C, D, H, W)``. See
    :class:`AdaptiveAveragePooling1D`."""

    nd, mode = 3, "average"


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """Keras's ``AdaptiveMaxPooling1D(output_size)`` on ``(N, C, L)``: the windows of
    :class:`AdaptiveAveragePooling1D`, with TensorFlow's max-pool rule (a NaN never wins a window; torch's
    ``nn.AdaptiveMaxPool1d`` gives NaN; ``keras_ops.adaptive_max_pool``).

    Example:
        >>> AdaptiveMaxPooling1D(2)(torch.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]])).tolist()
        [[[3.0, 6.0]]]
    """

    nd, mode = 1, "max"


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """Keras's ``AdaptiveMaxPooling2D(output_size)`` on ``(N, C, H, W)``. See :class:`AdaptiveMaxPooling1D`."""

    nd, mode = 2, "max"


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """Keras's ``AdaptiveMaxPooling3D(output_size)`` on ``(N, C, D, H, W)``. See :class:`AdaptiveMaxPooling1D`."""

    nd, mode = 3, "max"


# Keras 3 activations as TensorFlow computes them (keras/src/backend/tensorflow/nn.py), where torch's own
# function differs: TensorFlow's select-based gradients (a NaN input gets a zero gradient from relu, relu6,
# hard_tanh, celu), its clip gradients at the boundaries, its softplus threshold, the float32 0.2 of
# tf.nn.leaky_relu and gelu's erfc form. ``torch.where(mask, x, f(x.detach()))`` is f's value with
# TensorFlow's gradient (x's where ``mask``, zero elsewhere).
_F32_POINT_TWO = float(np.float32(0.2))  # tf.nn.leaky_relu's alpha is a float32 attribute, even for float64
# tf.nn.gelu multiplies by math_ops.cast(0.7071067811865476, dtype): a float32 constant, even for float64
_F32_SQRT1_2 = float(np.float32(0.7071067811865476))
_SELU_SCALE, _SELU_SCALE_ALPHA = 1.0507009873554804934193349852946, 1.7580993408473768599402175208123


def _relu(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x > 0, x, torch.relu(x.detach()))


def _relu6(x: torch.Tensor) -> torch.Tensor:
    return torch.where((x > 0) & (x < 6), x, torch.clamp(x.detach(), 0.0, 6.0))


def _softplus(x: torch.Tensor) -> torch.Tensor:
    # tf.math.softplus: x above -log(eps) - 2 (34.04 in float64, 13.94 in float32; torch's default threshold,
    # 20, returns x from 20: 1.6e-9 off Keras at x = 20.25), exp(x) below log(eps) + 2, log1p(exp(x)) between
    return _ops.tf_softplus(x)


def _elu(x: torch.Tensor) -> torch.Tensor:
    return _ops.tf_elu(x)  # exp(x) - 1 below 0 (not expm1), TensorFlow's EluGrad g * (y + 1)


def _selu(x: torch.Tensor) -> torch.Tensor:
    # TensorFlow's SeluGrad picks the branch from the output: slope `scale` at 0 (torch: scale * alpha)
    neg = _SELU_SCALE_ALPHA * (torch.exp(torch.clamp_max(x, 0.0)) - 1.0)
    return torch.where(neg < 0, neg, _SELU_SCALE * x)


def _softsign(x: torch.Tensor) -> torch.Tensor:
    # x / (1 + |x|); TensorFlow's SoftsignGrad g / (1 + |x|)^2 is 0 at +-inf (the value is NaN there), the
    # differentiated quotient NaN: the infinite entries take no gradient
    inf = torch.isinf(x)
    safe = torch.where(inf, torch.zeros_like(x), x)
    return torch.where(inf, torch.full_like(x, math.nan), safe / (1.0 + safe.abs()))


def _hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return _relu6(x + 3.0) / 6.0


def _celu(x: torch.Tensor) -> torch.Tensor:
    # max(x, 0) + expm1(min(x, 0)): TensorFlow's max/min pass the gradient on ties, so the slope at 0 is 2
    pos = torch.where(x >= 0, x, torch.clamp_min(x.detach(), 0.0))
    neg = torch.where(x <= 0, x, torch.clamp_max(x.detach(), 0.0))
    return pos + torch.expm1(neg)


def _hard_tanh(x: torch.Tensor) -> torch.Tensor:
    return torch.where((x >= -1) & (x <= 1), x, torch.clamp(x.detach(), -1.0, 1.0))


def _sparsemax(x: torch.Tensor) -> torch.Tensor:
    # keras/src/backend/tensorflow/nn.py::sparsemax, axis -1
    srt = torch.sort(x, dim=-1, descending=True).values
    cum = torch.cumsum(srt, dim=-1)
    r = torch.arange(1, x.shape[-1] + 1, dtype=x.dtype, device=x.device)
    support = srt - (cum - 1) / r > 0
    k = support.to(x.dtype).sum(-1, keepdim=True)
    tau = (torch.where(support, cum, torch.zeros_like(cum)).sum(-1, keepdim=True) - 1) / k
    return torch.clamp_min(x - tau, 0.0)


def _glu(x: torch.Tensor) -> torch.Tensor:
    if x.shape[-1] % 2:
        raise ValueError(f"glu halves the last axis: its size must be even, got shape {tuple(x.shape)}")
    a, b = x.chunk(2, dim=-1)
    return a * torch.sigmoid(b)


def _softmax(x: torch.Tensor) -> torch.Tensor:
    _ops.warn_softmax_of_size_one(x, -1)
    return torch.softmax(x, -1)


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


class _Activations(dict):
    """The name -> function table; a callable key is its own entry (``keras.activations.get(fn)`` returns ``fn``)."""

    def __missing__(self, key):
        if callable(key):
            return key
        raise KeyError(key)


ACTIVATIONS = _Activations({
    None: _identity,
    "linear": _identity,
    "relu": _relu,
    "relu6": _relu6,
    "leaky_relu": lambda x: F.leaky_relu(x, _F32_POINT_TWO),  # Keras 3's slope 0.2 (torch's default is 0.01)
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": _softmax,
    "log_softmax": lambda x: torch.log_softmax(x, -1),
    "sparsemax": _sparsemax,
    "elu": _elu,
    "selu": _selu,
    "celu": _celu,
    "gelu": lambda x: 0.5 * x * torch.erfc(-x * _F32_SQRT1_2),  # Keras: approximate=False, tf.nn.gelu's erfc form
    "silu": F.silu,
    "swish": F.silu,
    "softplus": _softplus,
    "softsign": _softsign,
    "log_sigmoid": lambda x: -_softplus(-x),
    "mish": lambda x: x * torch.tanh(_softplus(x)),
    "exponential": torch.exp,
    "hard_sigmoid": _hard_sigmoid,  # Keras 3: relu6(x + 3) / 6 (Keras 2 had 0.2 x + 0.5)
    "hard_silu": lambda x: x * _hard_sigmoid(x),
    "hard_swish": lambda x: x * _hard_sigmoid(x),
    "hard_tanh": _hard_tanh,
    "hard_shrink": lambda x: torch.where(x.abs() > 0.5, x, torch.zeros_like(x)),
    "soft_shrink": lambda x: torch.where(x > 0.5, x - 0.5, torch.where(x < -0.5, x + 0.5, torch.zeros_like(x))),
    "tanh_shrink": lambda x: x - torch.tanh(x),
    "sparse_plus": lambda x: torch.where(x <= -1, torch.zeros_like(x),
                                         torch.where(x < 1, 0.25 * torch.square(x + 1), x)),
    "sparse_sigmoid": lambda x: torch.where(x <= -1, torch.zeros_like(x),
                                            torch.where(x >= 1, torch.ones_like(x), 0.5 * (x + 1))),
    "squareplus": lambda x: (x + torch.sqrt(torch.square(x) + 4.0)) / 2,
    "glu": _glu,  # halves the last axis
    # a softmax written out by hand: the loss sees probabilities, not logits (no Keras logits shortcut)
    "manual_softmax": _softmax,
})
"""Keras activation names (``keras.activations.get``) -> torch functions with TensorFlow's numerics. Keras's
``threshold`` needs arguments and is not available by name; ``manual_softmax`` is this project's softmax
without Keras's logits shortcut. A callable looks up as itself (``ACTIVATIONS[fn] is fn``), as
``keras.activations.get(fn)`` returns ``fn``."""


def activation(name):
    """The torch function for a Keras activation name; a callable (your function, a :class:`ReLU`) is returned as
    it is, as ``keras.activations.get(fn)`` does; ``ValueError`` naming the known ones otherwise.

    Example:
        >>> import torch
        >>> activation("leaky_relu")(torch.tensor([-1.0])).tolist()  # Keras 3's slope 0.2
        [-0.20000000298023224]
        >>> activation(torch.tanh) is torch.tanh
        True
    """
    if callable(name):
        return name
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(k for k in ACTIVATIONS if k))
        raise ValueError(f"Unknown activation {name!r}; known: {known}") from None


class KerasSequential(nn.Sequential):
    """A Sequential built from a spec; returns logits, ``output_activation`` says what Keras applies."""

    output_activation: Optional[str] = None

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """The Keras model's output: the output activation applied to the logits."""
        return ACTIVATIONS[self.output_activation](self(x))


_SPEC_KEYS = {"dense": {"type", "units", "activation", "use_bias", "kernel_regularizer", "bias_regularizer",
                        "kernel_constraint", "bias_constraint", "kernel_initializer", "bias_initializer"},
              "batchnorm": {"type", "momentum", "epsilon"}, "dropout": {"type", "rate", "seed"},
              "activation": {"type", "activation"}}


def _check_spec_activation(act: Optional[str], hidden: bool, where: str) -> None:
    try:
        activation(act)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    if act == "glu" and hidden:
        raise ValueError(f"{where}: glu halves the features, but Keras's Dense and Activation layers report the "
                         "width unchanged, so a Keras model with glu before another layer fails at its first call; "
                         "glu is only usable as the output activation")


def build_model(spec: dict, dtype: Optional[torch.dtype] = None, device=None) -> KerasSequential:
    """``torch.nn.Sequential`` from a framework-neutral layer spec (see the module docstring).

    Layers: ``dense`` (``units``, ``activation``, ``use_bias``, ``kernel_initializer``, ``bias_initializer``:
    :mod:`torch_impl.initializers`; ``kernel_regularizer``, ``bias_regularizer`` as Keras's layer arguments take them, e.g. ``"l2"`` or ``{"class_name": "L2", "config": {"l2": 1e-4}}``;
    :mod:`torch_impl.regularizers`; ``kernel_constraint``, ``bias_constraint``: :mod:`torch_impl.constraints`),
    ``dropout`` (``rate``, ``seed``: :class:`Dropout`, Keras's masks), ``batchnorm``
    (``momentum``, ``epsilon``), ``activation`` (``activation``); an activation is any Keras name in
    :data:`ACTIVATIONS`. Weights get Keras's defaults; load shared weights with :func:`load_keras_weights`.
    A key the layer does not take, or an unknown activation, raises ``ValueError`` naming the layer.
    """
    if "layers" not in spec or "input_dim" not in spec:
        raise ValueError("a model spec needs 'input_dim' and 'layers'")
    mods: list[nn.Module] = []
    width = int(spec["input_dim"])
    layers = list(spec["layers"])
    if not layers or layers[-1].get("type") != "dense":
        raise ValueError("the last layer of a model spec must be a dense layer (the output layer)")
    for i, layer in enumerate(layers):
        kind = layer.get("type")
        where = f"model spec layer {i} ({kind})"
        if kind not in _SPEC_KEYS:
            raise ValueError(f"unknown layer type {kind!r} in model spec (dense, batchnorm, activation, dropout)")
        extra = sorted(set(layer) - _SPEC_KEYS[kind])
        if extra:
            raise ValueError(f"{where}: unknown key(s) {extra}; a {kind} layer takes {sorted(_SPEC_KEYS[kind])}")
        if kind == "dense":
            dense = nn.Linear(width, int(layer["units"]), bias=layer.get("use_bias", True), dtype=dtype, device=device)
            regularize(dense, kernel_regularizer=layer.get("kernel_regularizer"),
                       bias_regularizer=layer.get("bias_regularizer"))
            if layer.get("kernel_initializer") is not None or layer.get("bias_initializer") is not None:
                from torch_impl.initializers import initialize

                initialize(dense, kernel_initializer=layer.get("kernel_initializer"),
                           bias_initializer=layer.get("bias_initializer"))
            mods.append(constrain(dense, kernel_constraint=layer.get("kernel_constraint"),
                                  bias_constraint=layer.get("bias_constraint")))
            act = layer.get("activation")
            _check_spec_activation(act, i < len(layers) - 1, where)
            width = int(layer["units"])
            if i < len(layers) - 1 and act not in (None, "linear"):
                mods.append(Activation(act))
        elif kind == "dropout":
            if "rate" not in layer or "seed" not in layer:
                raise ValueError(f"{where}: needs 'rate' and 'seed' (the same seed gives Keras's masks)")
            mods.append(Dropout(layer["rate"], seed=layer["seed"]))
        elif kind == "batchnorm":
            mods.append(BatchNormalization(width, momentum=layer.get("momentum", 0.99),
                                           epsilon=layer.get("epsilon", 1e-3), dtype=dtype, device=device))
        else:
            if "activation" not in layer:
                raise ValueError(f"{where}: needs 'activation'")
            _check_spec_activation(layer["activation"], True, where)
            mods.append(Activation(layer["activation"]))
    model = KerasSequential(*mods)
    model.output_activation = layers[-1].get("activation") or "linear"
    keras_init_(model)
    return model


class keras_embedding_gradients:
    """Keep every lookup's rows in the sparse gradients of ``model``'s ``nn.Embedding(sparse=True)`` tables,
    as Keras on TensorFlow keeps them (``tf.IndexedSlices`` of several lookups are concatenated).

    torch sums the sparse gradients of two lookups of one table in a forward pass (a siamese encoder, a
    table shared by two inputs), which merges their rows: ``torch_impl.optim``'s Adam, RMSprop and
    clipping then square or clip the merged rows, not Keras's occurrences. While installed, hooks record
    each lookup's ids and output gradient and rebuild the table's gradient from them after torch has
    accumulated it (appending to a gradient they built before, as repeated ``backward`` calls accumulate).
    A table that also gets a dense gradient (used in a matmul, e.g. tied output weights) keeps torch's: Keras
    densifies that sum too. :func:`torch_impl.fit.fit` installs it for the run; for your own loop::

        with keras_embedding_gradients(model):
            ...  # forward, backward, optimizer.step()

    Tables with ``scale_grad_by_freq`` are left as torch computes them (Keras has no such option).
    """

    def __init__(self, model: nn.Module):
        self._handles: list = []
        self._pending: dict = {}  # id(weight) -> [(ids, rows)] of this backward
        self._prior: dict = {}  # id(weight) -> (grad before this accumulation, incoming gradient is sparse)
        self._ours: dict = {}  # id(weight) -> the gradient built last
        for m in model.modules():
            if not (isinstance(m, nn.Embedding) and m.sparse and not m.scale_grad_by_freq and m.weight.requires_grad):
                continue
            w = m.weight
            if id(w) not in self._pending:
                self._pending[id(w)] = []
                self._handles.append(w.register_hook(lambda g, w=w: self._before_accumulation(w, g)))
                self._handles.append(w.register_post_accumulate_grad_hook(self._after_accumulation))
            self._handles.append(m.register_forward_hook(self._record))

    def _record(self, module: nn.Embedding, inputs, output) -> None:
        if not (torch.is_grad_enabled() and output.requires_grad):
            return
        ids, key, padding = inputs[0].reshape(-1), id(module.weight), module.padding_idx

        def hook(grad: torch.Tensor) -> None:
            rows = grad.detach().reshape(-1, grad.shape[-1])
            if padding is not None:  # torch's sparse gradient leaves the padding row out
                keep = ids != padding
                self._pending[key].append((ids[keep], rows[keep]))
            else:
                self._pending[key].append((ids, rows))

        output.register_hook(hook)

    def _before_accumulation(self, w: torch.Tensor, grad: torch.Tensor) -> None:
        prior = w.grad
        if prior is not None and prior is self._ours.get(id(w)):  # copied: torch may accumulate into it in place
            prior = (prior._indices()[0].clone(), prior._values().clone())
        elif prior is not None:
            prior = False  # a gradient these hooks did not build
        self._prior[id(w)] = (prior, grad.is_sparse)

    def _after_accumulation(self, w: torch.Tensor) -> None:
        key = id(w)
        pending, self._pending[key] = self._pending[key], []
        prior, sparse = self._prior.pop(key, (None, False))
        if prior is False or not (sparse and pending and w.grad is not None and w.grad.is_sparse):
            return  # leave torch's gradient
        if prior is not None:
            pending.insert(0, prior)
        ids = torch.cat([i.to(w.device) for i, _ in pending])
        rows = torch.cat([r for _, r in pending]).to(w.grad.dtype)
        w.grad = self._ours[key] = torch.sparse_coo_tensor(ids[None], rows, w.shape, check_invariants=False)

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    @staticmethod
    @contextlib.contextmanager
    def hooks_removed(model: nn.Module):
        """``model`` without the forward hooks of any ``keras_embedding_gradients`` on it, put back (same order)
        after: what saving the whole model needs (``torch.save`` cannot pickle them; a saved model holds none
        of the run's machinery, as Keras's)."""
        stripped = []
        for m in model.modules() if isinstance(model, nn.Module) else ():
            hooks = m._forward_hooks
            ours = [k for k, h in hooks.items() if isinstance(getattr(h, "__self__", None), keras_embedding_gradients)]
            if ours:
                stripped.append((hooks, dict(hooks)))
                for k in ours:
                    del hooks[k]
        try:
            yield model
        finally:
            for hooks, original in stripped:
                hooks.clear()
                hooks.update(original)

    def __enter__(self) -> "keras_embedding_gradients":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


_RNN_MODULES = (nn.LSTM, nn.GRU, nn.RNN)
# Keras's Conv*D kernel (*k, in, out) and Conv*DTranspose kernel (*k, out, in) read as torch's (out, in, *k) and
# (in, out, *k) with the same permutation
_CONV_MODULES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def _gru_gates(a: np.ndarray, axis: int) -> np.ndarray:
    """Keras's GRU gate blocks ``[z, r, h]`` as torch's ``[r, z, n]`` along ``axis`` (the swap is its own
    inverse)."""
    z, r, h = np.split(a, 3, axis=axis)
    return np.concatenate([r, z, h], axis=axis)


def _mark_gru_biases(m: nn.Module) -> None:
    """A GRU's ``bias_ih`` and ``bias_hh`` (per layer and direction) are ONE Keras variable, the ``(2, 3 units)``
    bias: ``torch_impl.optim``'s ``clipnorm`` clips them by their joint norm, as Keras clips that variable."""
    if isinstance(m, nn.GRU) and m.bias and getattr(m, "reset_after", True):  # reset_after=False: one bias
        for name, p in m.named_parameters(recurse=False):
            if name.startswith("bias_ih"):
                key = (id(m), name[len("bias_ih"):])  # layer and direction
                p._keras_variable = getattr(m, name.replace("bias_ih", "bias_hh"))._keras_variable = key


def _rnn_slots(name: str, m: nn.Module) -> list:
    """One Keras layer's weights per torch layer and direction (a multi-layer torch RNN is Keras's stack of
    layers; a bidirectional one Keras's ``Bidirectional``: forward weights, then backward)."""
    if getattr(m, "proj_size", 0):
        raise ValueError(f"load_keras_weights: {name} is an LSTM with proj_size; Keras's LSTM has no projection")
    gru = isinstance(m, nn.GRU)
    slots = []
    for layer in range(m.num_layers):
        for suffix in ("", "_reverse")[:2 if m.bidirectional else 1]:
            tag = f"l{layer}{suffix}"
            keras = f"{name}.{'backward_' if suffix else ''}layer{layer}"
            slots.append((f"{keras}.kernel", getattr(m, f"weight_ih_{tag}"), "gru_kernel" if gru else "transpose"))
            slots.append((f"{keras}.recurrent_kernel", getattr(m, f"weight_hh_{tag}"),
                          "gru_kernel" if gru else "transpose"))
            if m.bias:
                slots.append((f"{keras}.bias", (getattr(m, f"bias_ih_{tag}"), getattr(m, f"bias_hh_{tag}")),
                              ("gru_bias" if getattr(m, "reset_after", True) else "gru_input_bias") if gru
                              else "rnn_bias"))
    return slots


def _weight_slots(model: nn.Module) -> list[tuple[str, object, str]]:
    """(description, tensor, layout) in Keras's ``get_weights()`` order; :data:`_LAYOUTS` converts each
    layout."""
    slots = []
    attention_parts = _attention_outputs(model)
    wrapped = {id(sub) for w in model.modules() if isinstance(w, SpectralNormalization) for sub in w.layer.modules()}
    for name, m in model.named_modules():
        if id(m) in attention_parts or id(m) in wrapped:
            continue
        if isinstance(m, SpectralNormalization):  # Keras's order: the kernel, vector_u, then the layer's others
            inner = [(f"{name}.layer{desc}", t, lay) for desc, t, lay in _weight_slots(m.layer)]
            slots.extend(inner[:1] + [(f"{name}.vector_u", m.vector_u, "same")] + inner[1:])
            continue
        if isinstance(m, nn.MultiheadAttention):
            slots.extend(_attention_slots(name, m))
        elif isinstance(m, MultiHeadAttention):  # its weights are held in Keras's layout
            for part, kernel, bias, _ in m.keras_parts:  # query, key, [gate,] value, attention_output
                slots.append((f"{name}.{part}.kernel", getattr(m, kernel), "same"))
                if getattr(m, bias) is not None:
                    slots.append((f"{name}.{part}.bias", getattr(m, bias), "same"))
        elif isinstance(m, Attention):  # Keras's Attention / AdditiveAttention: scale, concat_score_weight
            slots.extend(m._keras_slots(name))
        elif isinstance(m, nn.Linear):
            slots.append((f"{name}.kernel", m.weight, "transpose"))
            if m.bias is not None:
                slots.append((f"{name}.bias", m.bias, "same"))
        elif isinstance(m, (BatchNormalization, nn.BatchNorm1d, nn.BatchNorm2d)):
            if m.weight is not None:
                slots.append((f"{name}.gamma", m.weight, "same"))
            if m.bias is not None:
                slots.append((f"{name}.beta", m.bias, "same"))
            slots.append((f"{name}.moving_mean", m.running_mean, "same"))
            slots.append((f"{name}.moving_variance", m.running_var, "same"))
        elif isinstance(m, _CONV_MODULES):
            slots.append((f"{name}.kernel", m.weight, _DepthwiseKernel(m.groups) if _is_depthwise(m) else "conv"))
            if m.bias is not None:
                slots.append((f"{name}.bias", m.bias, "same"))
        elif isinstance(m, nn.Embedding):
            slots.append((f"{name}.embeddings", m.weight, "same"))
        elif isinstance(m, (nn.LayerNorm, nn.GroupNorm)):  # GroupNormalization too
            if m.weight is not None:
                slots.append((f"{name}.gamma", m.weight, "same"))
            if m.bias is not None:
                slots.append((f"{name}.beta", m.bias, "same"))
        elif isinstance(m, _RNN_MODULES):
            slots.extend(_rnn_slots(name, m))
        elif isinstance(m, _ConvLSTM):  # Keras's kernel (kh, kw, in, 4 filters), recurrent kernel, bias
            slots.extend([(f"{name}.kernel", m.weight_ih, "conv"), (f"{name}.recurrent_kernel", m.weight_hh, "conv")]
                         + ([(f"{name}.bias", m.bias, "same")] if m.bias is not None else []))
        elif isinstance(m, nn.PReLU):  # Keras's alpha: one per feature (or (1, ..., C) with shared axes)
            slots.append((f"{name}.alpha", m.weight, _PReluAlpha()))
        elif isinstance(m, Normalization) and m._given is None:  # Keras's adapted statistics: 3 weights
            slots.extend((f"{name}.{stat}", m, f"norm_{stat}") for stat in ("mean", "variance", "count"))
        elif any(True for _ in m.parameters(recurse=False)):  # PReLU, attention, your own...
            raise ValueError("load_keras_weights supports Dense, Conv1D/2D/3D, Conv1D/2D/3DTranspose, Embedding, "
                             "BatchNormalization, GroupNormalization, SpectralNormalization, LayerNormalization, "
                             f"LSTM, GRU, SimpleRNN and ConvLSTM1D/2D/3D layers; {name or '<root>'} is a "
                             f"{type(m).__name__}")
    return slots


class _Layout:
    """How a Keras weight array maps to torch tensor(s), each rule of a layout in one place: the Keras shape of
    a torch shape, Keras array -> torch arrays, torch arrays -> Keras array. This one: the same array."""

    def keras_shape(self, shape: tuple) -> tuple:
        return shape

    def to_torch(self, a: np.ndarray) -> tuple:
        return (a,)

    def to_keras(self, arrays: list) -> np.ndarray:
        return arrays[0].copy()


class _Transposed(_Layout):
    """Dense and RNN kernels: Keras ``(in, out)``, torch ``(out, in)``."""

    def keras_shape(self, shape):
        return shape[::-1]

    def to_torch(self, a):
        return (a.T,)

    def to_keras(self, arrays):
        return arrays[0].T.copy()


class _GruKernel(_Transposed):
    """GRU kernels: transposed, and Keras's gate blocks ``[z, r, h]`` as torch's ``[r, z, n]``."""

    def to_torch(self, a):
        return (_gru_gates(a, 1).T,)

    def to_keras(self, arrays):
        return _gru_gates(arrays[0].T, 1).copy()


class _ConvKernel(_Layout):
    """Keras ``(*kernel, in, out)``, torch ``(out, in, *kernel)``."""

    def keras_shape(self, shape):
        return shape[2:] + (shape[1], shape[0])

    def to_torch(self, a):
        return (np.transpose(a, (a.ndim - 1, a.ndim - 2) + tuple(range(a.ndim - 2))),)

    def to_keras(self, arrays):
        a = arrays[0]
        return np.transpose(a, tuple(range(2, a.ndim)) + (1, 0)).copy()


def _depthwise_fans(m: nn.Module) -> tuple:
    """Keras's fans of a depthwise kernel ``(*kernel, C, m)``: ``(k C, k m)``."""
    k = math.prod(m.weight.shape[2:])
    return k * m.groups, k * (m.out_channels // m.groups)


def _is_depthwise(m: nn.Module) -> bool:
    """A convolution with one group per input channel (``groups == in_channels > 1``): Keras's
    ``DepthwiseConv1D/2D`` (or a ``SeparableConv``'s depthwise half), ``depth_multiplier = out / in``."""
    return isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) and m.groups > 1 and m.groups == m.in_channels


class _DepthwiseKernel(_ConvKernel):
    """Keras's depthwise kernel ``(*kernel, C, m)``, torch's ``(C m, 1, *kernel)`` (output channel ``c m + j``,
    Keras's too): the grouped ``Conv`` layout ``(*kernel, 1, C m)`` holds the same numbers in the same order, so
    that shape (Keras's ``Conv2D(groups=C)``) loads as well."""

    def __init__(self, groups: int):
        self.groups = groups

    def keras_shape(self, shape):
        return shape[2:] + (self.groups, shape[0] // self.groups)

    def fits(self, given: tuple, want: tuple) -> bool:
        return tuple(given) == want[:-2] + (1, want[-2] * want[-1])

    def to_torch(self, a):
        return super().to_torch(a.reshape(a.shape[:-2] + (1, a.shape[-2] * a.shape[-1])))

    def to_keras(self, arrays):
        a = super().to_keras(arrays)
        return a.reshape(a.shape[:-2] + (self.groups, a.shape[-1] // self.groups))


class _RnnBias(_Layout):
    """LSTM/SimpleRNN: Keras's one bias is torch's ``bias_ih``, with ``bias_hh`` 0 (their sum back)."""

    def to_torch(self, a):
        return a, np.zeros_like(a)

    def to_keras(self, arrays):
        return arrays[0] + arrays[1]


class _GruBias(_Layout):
    """GRU (``reset_after=True``): Keras's ``(2, 3 units)`` bias, input then recurrent, gates reordered."""

    def keras_shape(self, shape):
        return (2,) + shape

    def to_torch(self, a):
        return _gru_gates(a[0], 0), _gru_gates(a[1], 0)

    def to_keras(self, arrays):
        return np.stack([_gru_gates(arrays[0], 0), _gru_gates(arrays[1], 0)])


class _GruInputBias(_RnnBias):
    """GRU (``reset_after=False``, :class:`torch_impl.rnn.GRU`): Keras's one ``(3 units,)`` bias is ``bias_ih``
    (gates reordered), ``bias_hh`` 0 (their sum back)."""

    def to_torch(self, a):
        return _gru_gates(a, 0), np.zeros_like(a)

    def to_keras(self, arrays):
        return _gru_gates(arrays[0] + arrays[1], 0)


class _HeadsKernel(_Layout):
    """Keras's ``MultiHeadAttention`` query/key/value kernel ``(E, heads, head_dim)``: torch's ``(heads *
    head_dim, E)`` rows of the in-projection."""

    def __init__(self, heads: int):
        self.heads = heads

    def keras_shape(self, shape):
        return (shape[1], self.heads, shape[0] // self.heads)

    def to_torch(self, a):
        return (a.reshape(a.shape[0], -1).T,)

    def to_keras(self, arrays):
        w = arrays[0]
        return w.T.reshape(w.shape[1], self.heads, -1).copy()


class _HeadsBias(_HeadsKernel):
    """Its biases ``(heads, head_dim)``: torch's ``(heads * head_dim,)``."""

    def keras_shape(self, shape):
        return (self.heads, shape[0] // self.heads)

    def to_torch(self, a):
        return (a.reshape(-1),)

    def to_keras(self, arrays):
        return arrays[0].reshape(self.heads, -1).copy()


class _HeadsOutput(_HeadsKernel):
    """Its output kernel ``(heads, head_dim, E)``: torch's ``out_proj.weight`` ``(E, heads * head_dim)``."""

    def keras_shape(self, shape):
        return (self.heads, shape[1] // self.heads, shape[0])

    def to_torch(self, a):
        return (a.reshape(-1, a.shape[-1]).T,)

    def to_keras(self, arrays):
        w = arrays[0]
        return w.T.reshape(self.heads, -1, w.shape[0]).copy()


class _PReluAlpha(_Layout):
    """Keras's ``PReLU`` alpha ``(C,)``, or ``(1, ..., 1, C)`` when its ``shared_axes`` share all but the channels:
    torch's ``PReLU(C)`` weight (torch applies it along dim 1, the channels of a channels-first tensor)."""

    def fits(self, given: tuple, want: tuple) -> bool:
        return given[-1:] == want and all(d == 1 for d in given[:-1])

    def to_torch(self, a):
        return (a.reshape(-1),)


def _attention_outputs(module: nn.Module) -> set:
    """The ids of the attention modules' output projections: a ``Linear`` that is part of Keras's
    ``MultiHeadAttention`` (its output kernel ``(heads, head_dim, E)``), not a Dense of its own."""
    return {id(a.out_proj) for a in module.modules() if isinstance(a, nn.MultiheadAttention)}


def _attention_slots(name: str, m: nn.MultiheadAttention) -> list:
    """Keras's ``MultiHeadAttention(num_heads, key_dim=E // num_heads)`` weights, in its order: query, key, value
    kernels and biases, then the output kernel and bias."""
    if m.bias_k is not None or m.add_zero_attn:
        raise ValueError(f"load_keras_weights: {name or '<root>'} (MultiheadAttention) has add_bias_kv or "
                         "add_zero_attn, which Keras's MultiHeadAttention has not")
    e, heads = m.embed_dim, m.num_heads
    if m._qkv_same_embed_dim:
        kernels = [m.in_proj_weight[i * e:(i + 1) * e] for i in range(3)]
    else:
        kernels = [m.q_proj_weight, m.k_proj_weight, m.v_proj_weight]
    biases = None if m.in_proj_bias is None else [m.in_proj_bias[i * e:(i + 1) * e] for i in range(3)]
    slots = []
    for i, part in enumerate(("query", "key", "value")):
        slots.append((f"{name}.{part}.kernel", kernels[i], _HeadsKernel(heads)))
        if biases is not None:
            slots.append((f"{name}.{part}.bias", biases[i], _HeadsBias(heads)))
    slots.append((f"{name}.attention_output.kernel", m.out_proj.weight, _HeadsOutput(heads)))
    if m.out_proj.bias is not None:
        slots.append((f"{name}.attention_output.bias", m.out_proj.bias, "same"))
    return slots


_LAYOUTS = {"same": _Layout(), "transpose": _Transposed(), "gru_kernel": _GruKernel(), "conv": _ConvKernel(),
            "rnn_bias": _RnnBias(), "gru_bias": _GruBias(), "gru_input_bias": _GruInputBias()}
_NORM_STATS = ("norm_mean", "norm_variance", "norm_count")  # a Normalization's slots: the module itself


def _normalization_keras(m: "Normalization", layout: str) -> Optional[np.ndarray]:
    """A Normalization's Keras weight: its mean or variance over the kept axes (``None`` before ``adapt``, when
    its shape is unknown), or the count (Keras's ``adapt`` of an array leaves it 0; it is not used)."""
    if layout == "norm_count":
        return np.array(0, dtype=np.int64)
    if m.mean is None:  # loaded and not called since: as loaded, in the layer's dtype
        if m._loaded is None:
            return None
        return _numpy(torch.as_tensor(m._loaded[0 if layout == "norm_mean" else 1], dtype=m.dtype))
    stat = m.mean if layout == "norm_mean" else m.variance
    keep, _ = m._axes(stat.dim())
    return _numpy(stat).reshape(tuple(stat.shape[d] for d in keep))


def _load_normalization(m: "Normalization", layout: str, given: np.ndarray, name: str) -> None:
    """Keras's adapted mean/variance into ``m``: broadcast at its next call, as given statistics are."""
    if layout == "norm_count":
        if given.ndim != 0:
            raise ValueError(f"{name}: expected a scalar count (Keras's Normalization), got shape {given.shape}")
        return
    if layout == "norm_mean":
        m._pending_mean = given
        return
    if given.shape != m._pending_mean.shape:
        raise ValueError(f"{name}: a variance of shape {given.shape} for a mean of shape {m._pending_mean.shape}")
    m._loaded = (m._pending_mean, given)
    m.mean = m.variance = None
    del m._pending_mean


def _rules(layout) -> _Layout:
    """A slot's layout: a name of :data:`_LAYOUTS`, or a layout made for its module (attention heads)."""
    return layout if isinstance(layout, _Layout) else _LAYOUTS[layout]


def _tensors(tensor) -> tuple:
    """A slot's torch tensor(s): a recurrent bias is two."""
    return tensor if isinstance(tensor, tuple) else (tensor,)


@torch.no_grad()
def load_keras_weights(model: nn.Module, weights: Sequence[np.ndarray]) -> nn.Module:
    """Load Keras-layout arrays (``keras_model.get_weights()``) into ``model``, in module order.

    Layers: ``Linear`` (Dense: kernel ``(in, out)``, bias), ``Conv1d/2d/3d`` (kernel ``(*k, in, out)``),
    ``ConvTranspose1d/2d/3d`` (kernel ``(*k, out, in)``), ``MultiheadAttention`` (Keras's
    ``MultiHeadAttention(num_heads, key_dim=E // num_heads)``: query/key/value kernels ``(E, heads, head_dim)``
    and biases ``(heads, head_dim)``, output kernel ``(heads, head_dim, E)``; Keras scales the queries by
    ``float32(1 / sqrt(key_dim))`` even in float64, torch exactly: equal for a ``key_dim`` that is a power of 4,
    about 2e-8 apart in float64 otherwise; any other ``key_dim``, ``value_dim`` or ``output_shape``: Keras's layer
    itself, :class:`MultiHeadAttention`, whose weights are Keras's arrays as they are), :class:`Normalization` (an
    adapted layer's mean, variance and count), ``Embedding``, :class:`BatchNormalization` (gamma, beta, moving mean
    and variance), ``LayerNorm``
    (gamma, beta; :class:`LayerNormalization` too), ``GroupNorm`` / :class:`GroupNormalization` (gamma, beta),
    :class:`SpectralNormalization` (the wrapped layer's kernel, ``vector_u``, then its bias), :class:`ConvLSTM2D`
    (kernel ``(kh, kw, in, 4 filters)``, recurrent kernel ``(kh, kw, filters, 4 filters)``, bias; ``1D``/``3D``
    likewise), ``LSTM`` / ``RNN``
    (SimpleRNN) / ``GRU`` (Keras's
    ``reset_after=True``, gates ``[z, r, h]`` reordered to torch's ``[r, z, n]``; :class:`GRU` ``(reset_after=False)``
    takes Keras's ``(3 units,)`` bias into ``bias_ih``; the bias goes to ``bias_ih`` with ``bias_hh`` zero,
    GRU's two biases to both; LSTM's and RNN's ``bias_hh`` then stops requiring a gradient: trained, it
    would double every step of Keras's single bias; a multi-layer torch RNN is Keras's stack of layers, a
    bidirectional one Keras's ``Bidirectional``; a GRU's two biases are marked as Keras's one variable, so
    ``clipnorm`` clips them by their joint norm). Keras's channels-last ``Flatten`` before a ``Dense`` orders
    the features ``(H, W, C)``: a torch model flattening ``(C, H, W)`` must permute first (or flatten after
    ``permute(0, 2, 3, 1)``). Matched by shape, not by meaning: a Keras ``GRU(reset_after=False,
    use_bias=False)`` loads into ``nn.GRU(bias=False)`` and computes differently; Keras's
    ``padding="same"`` with stride 2 pads one more on the right/bottom than ``padding=1`` does (put
    :class:`TFSamePadding` in front of a ``padding=0`` conv); torch-only
    options (``padding_idx``, ``max_norm``, ``padding_mode``, ``torch.nn.LSTM``'s between-layer ``dropout``)
    have no Keras counterpart; Keras's ``LSTM``/``GRU``/``SimpleRNN`` ``dropout`` and ``recurrent_dropout`` are
    :class:`LSTM`/:class:`GRU`/:class:`SimpleRNN`'s (:mod:`torch_impl.rnn`).

    The arrays are matched by position: declare the modules in the order of Keras's ``get_weights()`` (for a
    functional model with several branches that is Keras's layer order, not necessarily yours). Raises
    ``ValueError`` naming the slot when the counts or a shape differ; two same-shaped layers in swapped order
    cannot be told apart. ``torch.nn.BatchNorm1d``/``2d`` take the arrays but not Keras's semantics (momentum,
    epsilon, variance): a warning says so; :class:`BatchNormalization` has them.
    """
    torch_bn = [name for name, m in model.named_modules()
                if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and not isinstance(m, BatchNormalization)]
    if torch_bn:
        warnings.warn(f"load_keras_weights: {', '.join(torch_bn)} {'is a' if len(torch_bn) == 1 else 'are'} torch "
                      "BatchNorm: it normalises and updates its running statistics unlike Keras (momentum 0.1 of "
                      "the new batch, unbiased variance, eps 1e-5); use torch_impl.nn.BatchNormalization for "
                      "Keras's training run.", UserWarning, stacklevel=3)
    # torch's default eps (1e-5) is the sign of a port that kept it; another value was chosen (1e-6 ports
    # LayerNormalization(epsilon=1e-6), the transformer recipes')
    layer_norms = [name or "<root>" for name, m in model.named_modules() if isinstance(m, nn.LayerNorm)
                   and not isinstance(m, LayerNormalization) and m.eps == 1e-5]
    if layer_norms:
        warnings.warn(f"load_keras_weights: LayerNorm {', '.join(layer_norms)} has torch's default eps=1e-5; Keras's "
                      "LayerNormalization epsilon is 1e-3 unless given: build it with the Keras layer's epsilon "
                      "for Keras's numbers.", UserWarning, stacklevel=3)
    slots = _weight_slots(model)
    weights = list(weights)
    if len(weights) != len(slots):
        raise ValueError(f"expected {len(slots)} weight arrays for this model ({', '.join(s[0] for s in slots)}), "
                         f"got {len(weights)}")
    for (name, tensor, layout), given in zip(slots, weights):
        if layout in _NORM_STATS:
            if given is not None:
                _load_normalization(tensor, layout, np.asarray(given), name)
            continue
        given = np.asarray(given)
        rules = _rules(layout)
        want = rules.keras_shape(tuple(_tensors(tensor)[0].shape))
        if tuple(given.shape) != want and not (hasattr(rules, "fits") and rules.fits(given.shape, want)):
            hint = " (a Keras GRU with reset_after=False has a (3 units,) bias: torch's GRU is reset_after=True; " \
                "use torch_impl.nn.GRU(..., reset_after=False))" if layout == "gru_bias" else ""
            raise ValueError(f"{name}: expected an array of shape {want} (Keras layout), got {tuple(given.shape)}"
                             f"{hint}")
        for t, a in zip(_tensors(tensor), rules.to_torch(given)):
            t.copy_(torch.as_tensor(np.require(a, requirements="C"), dtype=t.dtype))  # a 0-d one stays 0-d
        if layout in ("rnn_bias", "gru_input_bias"):
            tensor[1].requires_grad_(False)  # Keras's LSTM/SimpleRNN have one bias: torch's second stays 0
    for m in model.modules():
        _mark_gru_biases(m)
    return model


@torch.no_grad()
def _numpy(t: torch.Tensor) -> np.ndarray:
    """A tensor as a NumPy array; bfloat16 (which NumPy lacks) as float32, exactly."""
    t = t.detach().cpu()
    return (t.float() if t.dtype == torch.bfloat16 else t).numpy()


def keras_weights(model: nn.Module) -> list[np.ndarray]:
    """The model's weights as Keras-layout NumPy arrays (the inverse of :func:`load_keras_weights`; bfloat16
    weights come as float32 arrays, exactly)."""
    return [_normalization_keras(tensor, layout) if layout in _NORM_STATS else
            _rules(layout).to_keras([_numpy(t) for t in _tensors(tensor)]) for _, tensor, layout in _weight_slots(model)]


# Keras's GroupNormalization and SpectralNormalization (keras/src/layers/normalization/group_normalization.py,
# spectral_normalization.py)
def group_normalization(x: torch.Tensor, groups: int, gamma: Optional[torch.Tensor] = None,
                        beta: Optional[torch.Tensor] = None, axis: int = -1, epsilon: float = 1e-3) -> torch.Tensor:
    """Keras's ``GroupNormalization`` call (``group_normalization.py:158-212``): the channels on ``axis`` split into
    ``groups`` consecutive blocks, each sample's block normalised over its channels and every other non-batch axis
    with ``tf.nn.moments`` (the population variance, no gradient through the mean inside it), ``inv = rsqrt(var +
    epsilon) * gamma``, ``x * inv + (beta - mean * inv)``, computed in ``result_type(x.dtype, float32)`` (half
    inputs in float32, float64 in float64) and cast back to ``x``'s dtype. ``gamma``/``beta``: ``(C,)`` or
    ``None``. ``groups == C`` is instance normalization, ``groups == 1`` a layer normalization over all the
    non-batch axes. Differences from ``torch.nn.functional.group_norm``: any channel ``axis`` (Keras's default
    is the last, channels-last), ``epsilon`` 1e-3 (torch: 1e-5) and TensorFlow's order of operations.

    Example:
        >>> x = torch.tensor([[-1.0, 1.0, 0.0, 2.0], [1.0, 3.0, -4.0, -2.0]], dtype=torch.float64)[None]
        >>> group_normalization(x, groups=4).round(decimals=4).tolist()     # instance norm over the 2 steps
        [[[-0.9995, -0.9995, 0.9999, 0.9999], [0.9995, 0.9995, -0.9999, -0.9999]]]
    """
    x = torch.as_tensor(x)
    r = x.dim()
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"GroupNormalization: axis must be an integer (Keras's build indexes the input shape with "
                        f"it: tuple indices must be integers or slices), got {axis!r}")
    if not -r <= axis < r:
        raise IndexError(f"tuple index out of range: GroupNormalization axis {axis} for an input of shape "
                         f"{tuple(x.shape)} (Keras 3.15.1 raises IndexError from its build)")
    a = axis % r
    if a == 0:
        raise ValueError("GroupNormalization: axis 0 is the batch axis (Keras 3.15.1 reshapes it into groups and "
                         "reduces the wrong axes; no meaningful layer to match)")
    channels = x.shape[a]
    _check_groups(groups, channels)
    compute = torch.promote_types(x.dtype, torch.float32)  # backend.result_type(inputs_dtype, "float32")
    shape = list(x.shape)
    shape[a:a + 1] = [groups, channels // groups]
    xr = x.reshape(shape).to(compute)
    reduce = [d for d in range(1, r + 1) if d != a]
    mean = xr.mean(dim=reduce, keepdim=True)  # tf.nn.moments
    variance = torch.square(xr - mean.detach()).mean(dim=reduce, keepdim=True)
    view = [1] * (r + 1)
    view[a:a + 2] = [groups, channels // groups]
    inv = torch.rsqrt(variance + epsilon)
    if gamma is not None:
        inv = inv * gamma.reshape(view).to(compute)
    res = -mean * inv
    if beta is not None:
        res = res + beta.reshape(view).to(compute)
    return (xr * inv + res).to(x.dtype).reshape(x.shape)


def _check_groups(groups: int, channels: int) -> None:
    """Keras's build-time checks (``group_normalization.py:116-126``, its wording)."""
    if channels < groups:
        raise ValueError(f"Number of groups ({groups}) cannot be more than the number of channels ({channels}).")
    if channels % groups != 0:
        raise ValueError(f"Number of groups ({groups}) must be a multiple of the number of channels ({channels}).")


class GroupNormalization(nn.modules.lazy.LazyModuleMixin, nn.GroupNorm):
    """Keras's ``GroupNormalization(groups=32, axis=-1, epsilon=1e-3, center=True, scale=True)``
    (:func:`group_normalization`): the channels on ``axis`` (default the last: Keras's channels-last layout; ``axis=1``
    for torch's ``(N, C, ...)``) in ``groups`` groups, ``groups=-1`` one per channel (instance normalization).
    ``num_channels`` builds gamma (``weight``, ones, shape ``(C,)``) and beta (``bias``, zeros) now; without it
    they are made at the first call, as Keras builds (torch's lazy modules: call once before making the
    optimizer). ``scale=False`` has no gamma, ``center=False`` no beta. Keras's errors: ``groups`` not a positive
    integer or -1 (at construction), more groups than channels or channels not divisible by them (when built),
    then another rank or channel count than the first call's (Keras's ``InputSpec``). A mask the input carries
    (:func:`torch_impl.utils.set_keras_mask`) passes through unused: padded steps count in the statistics, as in
    Keras.

    Dtypes as Keras's layer (it does not autocast its input): the statistics in ``result_type(x, float32)``, the
    output in the layer's dtype (its parameters'), except that half inputs to a float32 layer stay half (Keras's
    ``mixed_float16``/``mixed_bfloat16`` policy). A ``torch.nn.GroupNorm`` is channels-first, ``eps=1e-5`` and
    has gamma and beta both or neither; this is a subclass (``keras_init_``, ``load_keras_weights`` and
    ``keras_weights`` take Keras's ``[gamma, beta]``; ``regularize``/``constrain``: ``kernel_*`` is gamma, ``bias_*``
    beta).

    Example:
        >>> gn = GroupNormalization(groups=2, dtype=torch.float64)   # keras.layers.GroupNormalization(groups=2)
        >>> x = torch.arange(8.0, dtype=torch.float64).reshape(1, 2, 4)   # (batch, steps, channels)
        >>> gn(x).detach().round(decimals=4).tolist()
        [[[-1.2125, -0.7275, -1.2125, -0.7275], [0.7275, 1.2125, 0.7275, 1.2125]]]
        >>> gn.weight.shape, GroupNormalization(4, axis=1, num_channels=8).weight.shape   # channels-first
        (torch.Size([4]), torch.Size([8]))
    """

    cls_to_become = None

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, num_channels: Optional[int] = None, dtype: Optional[torch.dtype] = None,
                 device=None):
        if not isinstance(groups, int) or (groups <= 0 and groups != -1):
            raise ValueError("Received an invalid value for argument `groups`, expected a positive integer (or `-1` "
                             f"for instance normalization). Received: groups={groups}")
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"GroupNormalization: axis must be an integer (Keras's build indexes the input shape "
                            f"with it: tuple indices must be integers or slices), got {axis!r}")
        super().__init__(1, 0, eps=epsilon, affine=False, device=device, dtype=dtype)
        self.groups, self.axis, self.epsilon = groups, axis, epsilon
        self.center, self.scale = bool(center), bool(scale)
        self.affine = self.center or self.scale
        self.register_buffer("_layer_dtype", torch.empty(0, device=device, dtype=dtype), persistent=False)
        self._ndim: Optional[int] = None
        kw = dict(device=device, dtype=dtype)
        make = (lambda: nn.parameter.UninitializedParameter(**kw)) if num_channels is None else \
            (lambda: nn.Parameter(torch.empty(num_channels, **kw)))
        self.weight = make() if self.scale else None
        self.bias = make() if self.center else None
        self.num_channels = 0
        if num_channels is not None:
            self._build(num_channels)
            self.reset_parameters()

    def _build(self, channels: int) -> None:
        if self.groups == -1:
            self.groups = channels
        _check_groups(self.groups, channels)
        self.num_groups, self.num_channels = self.groups, channels

    def reset_parameters(self) -> None:
        if self.has_uninitialized_params():
            return
        with torch.no_grad():
            if self.weight is not None:
                self.weight.fill_(1.0)
            if self.bias is not None:
                self.bias.zero_()

    def initialize_parameters(self, x: torch.Tensor, *args, **kwargs) -> None:
        if not self.num_channels:
            self._check_axis(x)
            loaded = [p for p in (self.weight, self.bias) if p is not None and not nn.parameter.is_lazy(p)]
            self._build(loaded[0].shape[0] if loaded else x.shape[self.axis])  # a state dict loaded: its channels
        if self.has_uninitialized_params():
            with torch.no_grad():
                for p in (self.weight, self.bias):
                    if p is not None:
                        p.materialize((self.num_channels,))
                self.reset_parameters()

    def _check_axis(self, x: torch.Tensor) -> None:
        if not -x.dim() <= self.axis < x.dim():
            raise IndexError(f"tuple index out of range: GroupNormalization axis {self.axis} for an input of shape "
                             f"{tuple(x.shape)} (Keras 3.15.1 raises IndexError from its build)")

    def extra_repr(self) -> str:
        return (f"groups={self.groups}, axis={self.axis}, epsilon={self.epsilon}, center={self.center}, "
                f"scale={self.scale}, num_channels={self.num_channels or None}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_axis(x)
        if not self.num_channels:  # no gamma nor beta: built here
            self._build(x.shape[self.axis])
        name = f"Input 0 of layer {type(self).__name__} is incompatible with the layer"
        if self._ndim is None:
            self._ndim = x.dim()
        elif x.dim() != self._ndim:
            raise ValueError(f"{name}: expected ndim={self._ndim}, found ndim={x.dim()}. Full shape received: "
                             f"{tuple(x.shape)}")
        if x.shape[self.axis] != self.num_channels:
            raise ValueError(f"{name}: expected axis {self.axis} of input shape to have value {self.num_channels}, "
                             f"but received input with shape {tuple(x.shape)}")
        layer_dtype = self._layer_dtype.dtype
        out_dtype = x.dtype if x.dtype in _HALF and layer_dtype == torch.float32 else layer_dtype
        out = group_normalization(x, self.groups, self.weight, self.bias, self.axis, self.epsilon).to(out_dtype)
        mask = getattr(x, "_keras_mask", None)
        if mask is not None:  # supports_masking: the mask passes through (the statistics include the padding)
            out._keras_mask = mask
        return out


def _keras_kernel(layer: nn.Module) -> torch.Tensor:
    """The layer's kernel in Keras's layout: a ``Linear`` weight transposed ``(in, out)``, a conv's ``(*k, in,
    out)``, a transposed conv's ``(*k, out, in)``, a depthwise one's ``(*k, C, multiplier)``, an ``Embedding``'s as
    it is (Keras's ``embeddings``)."""
    from torch_impl._layer_args import kernel_layout

    w = layer.weight
    if isinstance(layer, nn.Embedding):
        return w
    k = kernel_layout(layer)[0](w)
    if _is_depthwise(layer):
        k = k.reshape(tuple(k.shape[:-2]) + (layer.groups, k.shape[-1] // layer.groups))
    return k


def _keras_l2_normalize(x: torch.Tensor, epsilon: float = 1e-7) -> torch.Tensor:
    """Keras 3.15.1's ``normalize(x, axis=None)`` (``ops.nn._normalize``): ``x * minimum(rsqrt(sum(x**2)),
    1 / epsilon)``, ``epsilon = backend.epsilon()``."""
    inv = torch.rsqrt(torch.square(x).sum())
    return x * torch.minimum(inv, torch.tensor(1.0 / epsilon, dtype=x.dtype, device=x.device))


class SpectralNormalization(nn.Module):
    """Keras's ``SpectralNormalization(layer, power_iterations=1)`` wrapper of a ``Linear``, ``Conv1d/2d/3d``
    (depthwise too), ``ConvTranspose1d/2d/3d`` or ``Embedding`` (Keras's layers with a ``kernel`` or
    ``embeddings``; any other module raises Keras's ``ValueError`` here, at construction, where Keras raises at
    its first call).

    Keras's algorithm (``spectral_normalization.py:77-116``): ``vector_u`` is a ``(1, n)`` buffer, ``n`` the Keras
    kernel's last axis (a Linear's or conv's output channels, a transposed conv's *input* channels, an
    Embedding's width), drawn from ``TruncatedNormal(stddev=0.02)``. Each call in ``train()`` mode, unless the
    kernel is all zeros, runs ``power_iterations`` steps on ``W`` = the Keras kernel as ``(-1, n)``: ``v =
    normalize(u W^T)``, ``u = normalize(v W)`` (``x * min(rsqrt(sum x^2), 1e7)``), ``sigma = v W u^T``, and
    **overwrites** the kernel with ``kernel / sigma`` and ``vector_u`` with ``u`` (no gradient through sigma: the
    gradient is the wrapped layer's at the rescaled kernel, which the optimizer then steps from); then the layer
    runs, on a copy of the rescaled kernel: several training calls before one ``backward()`` (a GAN
    discriminator on the real and the fake batch, a gradient penalty) are Keras's, each rescaling the kernel
    again and keeping its own value in its graph, the kernel's gradient the sum of the calls'. In ``eval()``
    mode the layer runs on its kernel as it is. ``vector_u`` loads from Keras's weights
    (:func:`load_keras_weights` order: kernel, ``vector_u``, bias) or by ``sn.vector_u.copy_(...)``
    (``generator`` seeds torch's draw; ``keras_init_(seed=...)`` gives it Keras's draw, whose seed Keras takes
    when the wrapper is built: in a ``Sequential``, after all its layers are made).

    ``torch.nn.utils.parametrizations.spectral_norm`` is another scheme: it keeps the raw ``weight_orig`` and
    recomputes ``weight_orig / sigma`` at every forward with the gradient through sigma, runs 15 power iterations
    when registered, normalises with ``max(norm, 1e-12)``, and takes a transposed conv's matrix as ``(out, in *
    k)`` (``dim=1``), not Keras's ``(k out, in)``. Keras 3.15.1 casts the output to the input's dtype (integer
    indices give truncated embeddings); here the output keeps the layer's dtype.

    Example:
        >>> conv = torch.nn.Conv2d(1, 1, 2, bias=False)
        >>> _ = torch.nn.init.ones_(conv.weight)
        >>> sn = SpectralNormalization(conv, power_iterations=8)
        >>> sn.eval()(torch.ones(1, 1, 2, 2)).item()   # inference: the kernel as it is
        4.0
        >>> sn.train()(torch.ones(1, 1, 2, 2)).item()  # training: the kernel over its spectral norm, 2
        2.0
    """

    def __init__(self, layer: nn.Module, power_iterations: int = 1, generator: Optional[torch.Generator] = None):
        super().__init__()
        if power_iterations <= 0:
            raise ValueError("`power_iterations` should be greater than zero. Received: "
                             f"`power_iterations={power_iterations}`")
        if not isinstance(layer, _KERNEL_MODULES + (nn.Embedding,)):
            raise ValueError(f"{type(layer).__name__} object has no attribute 'kernel' nor 'embeddings'")
        self.layer, self.power_iterations = layer, power_iterations
        kernel = _keras_kernel(layer)
        u = torch.empty((1, kernel.shape[-1]), dtype=kernel.dtype, device=kernel.device)
        nn.init.trunc_normal_(u, std=0.02, a=-0.04, b=0.04, generator=generator)  # Keras: within 2 stddev
        self.register_buffer("vector_u", u)

    def extra_repr(self) -> str:
        return f"power_iterations={self.power_iterations}"

    @torch.no_grad()
    def normalized_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Keras's ``normalized_weights()``: the new ``vector_u`` and ``sigma`` (the kernel's new value is
        ``kernel / sigma``), nothing assigned."""
        kernel = _keras_kernel(self.layer)
        weights = kernel.reshape(-1, kernel.shape[-1])
        u = self.vector_u.to(weights.dtype)
        for _ in range(self.power_iterations):
            v = _keras_l2_normalize(u @ weights.T)
            u = _keras_l2_normalize(v @ weights)
        sigma = (v @ weights) @ u.T
        return u.to(self.vector_u.dtype), sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            with torch.no_grad():
                weight = self.layer.weight
                if bool((weight != 0).any()):  # Keras's cond: an all-zero kernel is left alone
                    u, sigma = self.normalized_weights()
                    self.vector_u.copy_(u)
                    weight.copy_((weight / sigma.reshape(())).to(weight.dtype))
            # the layer on a copy of the rescaled kernel (Keras reads the variable's value at each call): a second
            # training call before backward() (a GAN's real and fake batches, a gradient penalty) rescales the
            # kernel again without touching the tensor this call's graph saved; the gradients of both add up
            return torch.func.functional_call(self.layer, {"weight": self.layer.weight.clone()}, (x,))
        return self.layer(x)
