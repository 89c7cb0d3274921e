"""A Keras-semantics training loop for a torch model: ``fit``, ``evaluate``, ``History``.

What it reproduces from ``keras.Model.fit`` (Keras 3):

* batching: ``ceil(N / batch_size)`` batches per epoch, the last one partial;
  ``shuffle=True`` with ``seed=`` (the Keras script's ``keras.utils.set_random_seed(seed)``) feeds the
  samples in Keras's own order (:func:`torch_impl.utils.keras_shuffle_order`: TensorFlow's ``RandomShuffle``;
  Keras 3.15.1 repeats it every epoch), as without ``seed`` after
  :func:`torch_impl.keras_random.set_random_seed` (Keras's ``fit`` follows the global seed); else one NumPy
  permutation per epoch from ``generator`` (a NumPy generator or seed), an order to share with a Keras run by hand;
* an optimizer given by name or config (``optimizer="adam"``) is made on the first ``fit`` and kept on the
  model: later ``fit`` calls with the same name continue it (its moments and step count), as Keras's
  ``compile(optimizer="adam")`` once and ``fit`` many times does; pass an optimizer object for a fresh one
  (what a second ``compile`` gives);
* ``class_weight`` becomes the per-sample weight by Keras's rule
  (:mod:`torch_impl.class_weight`), from the training labels as given (float
  labels cast to ``floatx`` first only with ``validation_split``, as Keras's
  split does), for a single output only (Keras's error for several); ``val_loss`` is not class-weighted;
  ``sample_weight`` and ``class_weight`` are mutually exclusive, as in Keras;
* the epoch ``loss`` is the batch losses averaged with the batch sizes as
  weights (Keras's loss tracker ``Mean.update_state(loss, sample_weight=batch_size)``),
  each batch loss computed before that batch's update;
* metrics as Keras's ``compile(metrics=[...], weighted_metrics=[...])`` takes
  them (none by default: the loss alone is logged, as with Keras's
  ``compile(metrics=None)``; each metric object is reset when ``fit`` or
  ``evaluate`` starts, and at each epoch) (:mod:`torch_impl.metrics`): names (``"AUC"``, ``"precision"``,
  ``"mse"``, ``"binary_crossentropy"``...), metric objects
  (``metrics.Recall(name="rec")``) and functions of per-sample values;
  ``"accuracy"`` (or ``"acc"``, any case) resolves from the first batch like
  Keras: binary (threshold 0.5) when the output has one unit, sparse
  categorical when the labels have one value per sample, categorical
  otherwise. Metrics see the activated output (probabilities); the
  crossentropy metrics take the logits behind a sigmoid/softmax output, as
  Keras's do. Averaged metrics average as Keras's ``Mean`` does (per sample
  first: the pixels or timesteps of ``(N, H, W, C)`` / ``(N, T, C)`` outputs,
  then over the samples); logged under Keras's names (the string given, else
  the object's ``name``; a repeated name gets ``_1``...). ``weighted_metrics``
  are weighted with ``sample_weight`` (class weights included, and
  per-timestep weights such as a padding mask), as Keras's; one also in
  ``metrics`` is logged as ``weighted_<name>``. Keras's loss and mean metrics also
  honour an ``Embedding(mask_zero=True)`` mask: mark the model's output with it
  (:func:`torch_impl.utils.set_keras_mask`), which the loss and metrics read as
  Keras's do. The class axis is the loss's ``axis``, so a
  torch-layout ``(N, C, H, W)`` output with ``axis=1`` gets the figures
  Keras computes for the channels-last model. Unknown names raise
  ``ValueError`` rather than vanish;
* a model whose output layer is softmax or sigmoid trains on the logits behind
  it: Keras's crossentropy ops find the logits on the activation's output
  (``_keras_logits``) and use them whatever ``from_logits`` says. Build the
  model to return logits and say which activation Keras would apply
  (``output_activation``, set by :func:`torch_impl.nn.build_model`);
  :func:`compiled_loss` does the substitution exactly where Keras does. Keras
  makes it only when the loss's dtype (its ``dtype=``, else ``floatx``) is the
  output's: its loss casts the output to that dtype, and a cast output has no
  logits. Here ``floatx`` is ``torch.get_default_dtype()`` (as for the learning
  rate and class weights), so a float64 model under the float32 default trains
  like a Keras model of ``dtype="float64"`` layers under float32 ``floatx``: on
  the clipped probabilities, in float32 (``fit`` warns). Mixed precision the
  same: a bfloat16 softmax output trains on its probabilities, as Keras's
  ``mixed_bfloat16`` softmax layer does; for Keras's advice (a float32 output
  activation layer) return float32 logits (``z.float()``). Nor does Keras find
  the logits when its loss remakes the output first: with ``ignore_class``,
  and with labels one rank below the output (``(N, T)`` labels, ``(N, T, 1)``
  sigmoid); those train on the probabilities here too;
* validation at the end of each epoch in evaluation mode (``val_loss``,
  ``val_accuracy``), ``validation_split`` taken from the end of the data (and
  of ``sample_weight``, which then weighs ``val_loss``) before shuffling;
* ``batch_size=None`` means 32, or with ``steps_per_epoch`` (``validation_steps``, ``steps=``) on arrays
  ``ceil(N / steps)``, as Keras's array adapter; on arrays ``steps_per_epoch`` reads that many batches an epoch
  from a pass continued across epochs (a used-up pass ends its epoch early, warning "Your input ran out of
  data", and the next starts a new pass, in Keras's order with ``seed``), ``validation_steps`` / ``steps`` the
  first batches of a pass (measured in ``parity_tests/test_fit_steps_keras.py``);
* data given as batches, as Keras 3's ``fit`` takes it: ``x`` a Python generator (or any other iterator), a
  ``torch.utils.data.DataLoader`` (or any other re-iterable object), or a ``keras.utils.PyDataset`` (told by duck
  typing: ``__getitem__`` giving batch ``i`` and ``__len__``, optionally ``on_epoch_begin``/``on_epoch_end``; no
  Keras needed), each batch ``(x, y)`` or ``(x, y, sample_weight)`` (``x``, ``y`` lists or dicts for several inputs
  or outputs), with ``steps_per_epoch``, ``validation_data`` / ``validation_steps`` of the same kinds,
  ``evaluate(steps=)`` and ``predict(steps=)``, by Keras's rules on TensorFlow (``EpochIterator``, the data
  adapters; measured in ``parity_tests/test_fit_iterables_keras.py``): without ``steps_per_epoch`` a generator is
  read to its end in the first epoch, and every later epoch gets the two batches Keras read ahead for its
  ``tf.data`` signature (Keras 3.15.1 warns ``Your input ran out of data`` each time; later Keras, and this, do
  not: keras-team/keras#23360); with it a generator, a DataLoader or a
  PyDataset is continued across epochs, a new pass starting only when one is used up (an epoch may end early); a
  step whose input runs out still advances the optimizer's step count, the dropout seeds and the per-batch means
  (as Keras's compiled step does); a DataLoader is read once more before training (its ``shuffle=True`` orders are
  Keras's); a PyDataset is shuffled with Python's ``random`` when ``shuffle=True`` (fit's default) and its
  ``on_epoch_end`` is called once first and after each pass; ``class_weight`` weighs each PyDataset batch (Keras
  refuses it for a generator or a DataLoader); ``y``, ``sample_weight`` and ``validation_split`` raise Keras's
  errors, ``batch_size`` is ignored, ``shuffle=True`` warns that it is ignored. Each batch is checked against the
  first two (structure, rank, the non-batch dimensions they agree on). Not reproduced: tf.data's read-ahead, whose
  dropped batches make Keras's figures timing-dependent when a generator validates with ``validation_steps`` over
  two (``fit`` warns; up to two, every validation reads the two replayed batches, in both);
* several outputs, as Keras's ``compile``/``fit`` for ``keras.Model(inp, [out_a, out_b])`` or a dict of outputs
  (:class:`_MultiOutput`): the model returns a list/tuple or a dict of logits; ``y`` (and ``sample_weight``,
  ``validation_data``) holds one array per output, as a list or a dict keyed by output name (one
  ``sample_weight`` array weighs every output; without a loss, as Keras's ``CompileMetrics`` alone, fewer arrays
  label the first outputs, the others' metrics unlogged, and a dict missing an output raises ``KeyError`` when
  metrics are given). The outputs' names are a dict's keys, or ``output_names=``
  (else the model's ``output_names`` attribute): Keras's output layers' names, which name the logs. ``loss`` is
  one loss (for every output), a list or a dict (``None``: no loss on that output); ``loss_weights`` a list or
  dict (one weight with one loss); ``metrics`` / ``weighted_metrics`` a list with one entry per output (a metric
  or a list) or a dict (Keras 3 takes a list of exactly one metric per output as one per output, and refuses a
  list of another length); ``output_activation`` one, a list or a dict. Lists follow the outputs' order: a dict
  of outputs is in sorted key order, as Keras flattens it (a list ``y`` too: its outputs are named by the keys
  once the model has run; ``sample_weight`` with it raises, as in Keras 3.15.1). The logs are Keras's: ``loss``
  (``sum(w_i * loss_i)`` plus the regularization penalties once, each batch weighted by its size), ``<name>_loss`` (each
  output's unweighted loss when more than one has a loss, averaged over the batches *without* their sizes, as
  Keras's tracker, which sees no batch size in its traced step, does: with a partial last batch they do not add
  up to ``loss``), ``<name>_<metric>`` (``<name>_weighted_<metric>`` for a weighted metric whose name is
  taken), and their ``val_`` forms. Outputs without names (no dict, no ``output_names``: Keras's subclassed
  model) log ``<loss name>_loss`` (one key for two outputs of the same loss: the last one's) and unprefixed
  metrics. ``predict`` returns a list or a dict of arrays; ``evaluate`` the dict of Keras's
  ``return_dict=True``; ``class_weight`` raises Keras's error.

Example:
    >>> import numpy as np, torch
    >>> from torch_impl import fit, losses, optim
    >>> from torch_impl.nn import build_model
    >>> spec = {"input_dim": 4, "layers": [{"type": "dense", "units": 3, "activation": "softmax"}]}
    >>> model = build_model(spec)
    >>> x = np.random.default_rng(0).normal(size=(64, 4)); y = (x[:, 0] > 0).astype(int)
    >>> hist = fit.fit(model, x, y, loss=losses.SparseCategoricalCrossentropy(),
    ...                optimizer=optim.Adam(model.parameters(), learning_rate=0.05),
    ...                batch_size=16, epochs=3, generator=0, verbose=0, metrics=["accuracy"])
    >>> sorted(hist.history), len(hist.history["loss"])
    (['accuracy', 'loss'], 3)
"""

from __future__ import annotations

import collections.abc
import copy
import inspect
import math
import numbers
import sys
import time
import warnings
import weakref
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch
import torch.utils.data

from torch_impl import losses as L
from torch_impl import metrics as M
from torch_impl.callbacks import CallbackList
from torch_impl.class_weight import class_weight_to_sample_weight
from torch_impl.data_adapters import (PEEKED, EpochIterator, arrays_per_output, batch_rows, data_adapter, data_kind,
                                      summary, unpack, unsupported_arg)
from torch_impl.nn import ACTIVATIONS, keras_embedding_gradients
from torch_impl.reduction import apply_mask
from torch_impl.regularizers import Penalties
from torch_impl._tf_random import global_seed
from torch_impl.utils import keras_shuffle_order

__all__ = ["History", "compiled_loss", "keras_loss_dtype", "fit", "evaluate", "predict", "accuracy",
           "resolve_metrics"]


class History:
    """Keras's ``History``: ``history`` maps metric names to per-epoch values (floats; a list of floats per
    epoch for a metric with one value per threshold or class, e.g. ``TruePositives(thresholds=[0.3, 0.5])``)."""

    def __init__(self):
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def append(self, epoch: int, logs: dict) -> None:
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(list(map(float, v)) if isinstance(v, (list, tuple)) else float(v))

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


_LOGIT_LOSSES = (L.CategoricalCrossentropy, L.SparseCategoricalCrossentropy, L.BinaryCrossentropy)


def compiled_loss(loss: L.Loss, output_activation: Optional[str]) -> Callable:
    """``f(y_true, logits, sample_weight)`` computing what Keras's compiled loss computes.

    For a softmax/sigmoid output, Keras's categorical, sparse categorical and
    binary crossentropy use the activation's logits (``from_logits`` or not);
    binary focal crossentropy with ``from_logits=False`` uses them for its
    crossentropy term (a sigmoid crossentropy of them, also behind a softmax)
    and the activated output for the focal factor. ``from_logits=True`` on such an
    output warns, as Keras does, and trains on the logits. Anything else
    sees the activated output. Keras finds the logits only on the activation's
    own output tensor, so they are lost (and the loss runs on the activated
    output, as its ``from_logits`` says) where Keras's loss makes a new tensor
    of it first: ``ignore_class`` (``where(valid, y_pred, 0)``), and labels one
    rank below the output, e.g. ``(N, T)`` against a ``(N, T, 1)`` sigmoid
    (``squeeze_or_expand_to_same_rank`` squeezes ``y_pred``).
    """
    act = output_activation or "linear"
    activation = ACTIVATIONS[act]
    if isinstance(loss, _CrossentropyByShapes):  # the loss Keras picks from the first batch's shapes
        picked = {}

        def by_shapes(y, z, sw=None):
            if "fn" not in picked:
                picked["fn"] = compiled_loss(loss.resolve(y, z), output_activation)
            return picked["fn"](y, z, sw)

        return by_shapes

    def on_output(y, z, sw=None):
        out = activation(z)
        if act in ("softmax", "sigmoid") and out.dtype == keras_loss_dtype(loss):
            out._keras_logits = z  # as Keras's activation: a crossentropy inside a custom loss finds them
            out._keras_activation = act  # (binary focal behind a softmax takes its factor from the output)
        return loss(y, _keep_mask(out.to(keras_loss_dtype(loss)), z), sw)

    if act in ("softmax", "sigmoid"):
        if getattr(loss, "from_logits", False) and isinstance(loss, _LOGIT_LOSSES + (L.BinaryFocalCrossentropy,)):
            warnings.warn(f"`{type(loss).__name__}` received `from_logits=True`, but the model's output is produced "
                          f"by a {act} activation (output_activation={act!r}) and thus does not represent logits: "
                          "Keras warns the same and trains on the logits behind it. Was this intended?",
                          UserWarning, stacklevel=3)
        focal = isinstance(loss, L.BinaryFocalCrossentropy) and not loss.from_logits
        if focal and act == "softmax":  # Keras's mix: the sigmoid crossentropy of the logits, the factor from p
            return on_output
        if focal or isinstance(loss, _LOGIT_LOSSES):
            on_logits = copy.copy(loss)
            on_logits.from_logits = True

            def keras_compiled(y, z, sw=None):
                if z.dtype != keras_loss_dtype(loss):  # Keras's loss casts the output: no logits behind it
                    return on_output(y, z, sw)
                if _keras_reshapes_output(loss, y, z):  # a new tensor: no logits behind it either
                    return on_output(y, z, sw)
                return on_logits(y, z, sw)

            return keras_compiled
    return on_output


def _keep_mask(out: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """``out`` carrying ``source``'s Keras mask (:func:`torch_impl.utils.set_keras_mask`), as Keras's layers
    propagate a padding mask to the output the loss and the metrics read."""
    mask = getattr(source, "_keras_mask", None)
    if mask is not None and out is not source:
        out._keras_mask = mask
    return out


def _keras_reshapes_output(loss, y, z) -> bool:
    """Whether Keras's loss hands its crossentropy op a new tensor made from the model's output (which carries
    no ``_keras_logits``): ``sparse_categorical_crossentropy`` with ``ignore_class`` masks ``y_pred`` with
    ``ops.where``; ``LossFunctionWrapper.call`` squeezes ``y_pred``'s trailing 1-dim when the labels are one rank
    lower (and not rank 1), or expands a rank-1 ``y_pred`` against ``(N, 1)`` labels."""
    if getattr(loss, "ignore_class", None) is not None:
        return True
    ry, rz = getattr(y, "ndim", 0), z.dim()
    squeezed = rz == ry + 1 and z.shape[-1] == 1 and ry != 1
    expanded = ry == rz + 1 and rz == 1 and y.shape[-1] == 1
    return squeezed or expanded


def keras_loss_dtype(loss) -> torch.dtype:
    """The dtype a Keras loss casts its predictions to: its ``dtype=``, else ``floatx``
    (``torch.get_default_dtype()``). A bfloat16/float16 output (mixed precision) is cast too, so it trains on
    its probabilities unless the model returns float32 logits (Keras: a float32 output activation layer)."""
    dtype = getattr(loss, "dtype", None)
    return torch.get_default_dtype() if dtype is None else dtype


class _CrossentropyByShapes(L.Loss):
    """``compile(loss="crossentropy")`` (or ``"ce"``): Keras's ``get_loss`` picks the crossentropy from the shapes
    of the first batch's labels and predictions: binary for one output unit, sparse categorical for labels of a
    lower rank or one label per sample against several units, categorical otherwise (the functional form, with
    its defaults). :func:`compiled_loss` resolves it on its first call."""

    def __init__(self, name: str = "crossentropy"):
        super().__init__(name=name)

    @staticmethod
    def resolve(y_true, y_pred) -> L.Loss:
        """Keras's ``is_binary_or_sparse_categorical`` rule, as the loss Keras builds."""
        y_true = torch.as_tensor(y_true) if not isinstance(y_true, torch.Tensor) else y_true
        binary = y_pred.shape[-1] == 1
        sparse = y_true.dim() < y_pred.dim() or (y_true.shape[-1] == 1 and y_pred.shape[-1] > 1)
        if binary:
            return L.make("binary_crossentropy")
        return L.make("sparse_categorical_crossentropy" if sparse else "categorical_crossentropy")

    def call(self, y_true, y_pred):
        return self.resolve(y_true, y_pred).values_and_mask(y_true, y_pred)


def as_loss(loss) -> L.Loss:
    """What Keras's ``compile(loss=...)`` makes of ``loss``: a :class:`~torch_impl.losses.Loss` as is; a name
    (``"categorical_crossentropy"``) or one of the functional losses as that loss with default options (on a
    softmax/sigmoid output it then takes the logits, as Keras's does); another callable
    ``fn(y_true, y_pred)`` wrapped in :class:`~torch_impl.losses.LossFunctionWrapper`."""
    if isinstance(loss, L.Loss):
        return loss
    if isinstance(loss, str) and loss.lower() in ("crossentropy", "ce"):
        return _CrossentropyByShapes(loss)
    if isinstance(loss, str):
        return L.make(loss)
    if callable(loss):
        try:
            return L.make(loss)  # one of the functional losses
        except ValueError:
            return L.LossFunctionWrapper(loss)
    raise ValueError(f"loss must be a torch_impl loss, a Keras loss name or a callable, got {loss!r}")


def _compile(model: torch.nn.Module, loss, output_activation: Optional[str]):
    """:func:`compiled_loss` for ``model``, knowing the metrics' class axis and the activation Keras applies
    (``class_axis``, ``activation_name``)."""
    act = output_activation if output_activation is not None else getattr(model, "output_activation", None)
    loss = as_loss(loss)
    if act is None:
        _warn_activation_module(model, loss)
    fn = compiled_loss(loss, act)
    fn.class_axis = _class_axis(loss)  # the metrics' class axis
    fn.activation_name = act or "linear"
    return fn


def _warn_activation_module(model: torch.nn.Module, loss) -> None:
    """The usual hand port ends the model in ``nn.Softmax``/``nn.Sigmoid`` with ``from_logits=False``: Keras
    would train such an output on the logits behind it; this one trains on the clipped probabilities."""
    last = None
    for last in model.modules():
        pass
    if isinstance(last, (torch.nn.Softmax, torch.nn.Sigmoid)) and isinstance(
            loss, _LOGIT_LOSSES + (L.BinaryFocalCrossentropy,)) and not loss.from_logits:
        name = "softmax" if isinstance(last, torch.nn.Softmax) else "sigmoid"
        warnings.warn(
            f"torch_impl.fit: the model ends in {type(last).__name__} and the loss takes probabilities. Keras "
            f"trains a {name} output on the logits behind it (its crossentropy finds them on the output), so on "
            f"saturated outputs this run differs from Keras's. Drop the {type(last).__name__} and pass "
            f"output_activation='{name}' (examples/softmax_output_models.py). (Not for a Keras model whose {name} "
            "sits inside TimeDistributed or before a Reshape: Keras loses the logits there and trains on the "
            "probabilities, as this run does.)", UserWarning, stacklevel=4)


def _optimized(optimizer: torch.optim.Optimizer) -> set:
    """The ids of the parameters ``optimizer`` steps."""
    return {id(p) for group in optimizer.param_groups for p in group["params"]}


def _warn_dense_embedding(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """Keras on TensorFlow gives an ``Embedding`` a row-sparse gradient (``tf.IndexedSlices``, one row per token
    occurrence), and Adam, AdamW, RMSprop and the clipping options step on it differently from the dense
    gradient (e.g. Adam's second moment from the occurrences' squares). ``nn.Embedding(sparse=True)`` gives
    torch_impl.optim those rows; a dense one trains differently from Keras wherever a token repeats."""
    from torch_impl.optim import SGD, KerasOptimizer  # fit needs no optim otherwise
    if not isinstance(optimizer, KerasOptimizer) or optimizer.gradient_accumulation_steps:
        return  # accumulation densifies Keras's slices too
    if isinstance(optimizer, SGD) and not (optimizer.clipnorm or optimizer.global_clipnorm or optimizer.clipvalue):
        return  # linear in the gradient: the same step to rounding
    params = _optimized(optimizer)
    dense = [name for name, m in model.named_modules() if isinstance(m, torch.nn.Embedding) and not m.sparse
             and m.weight.requires_grad and id(m.weight) in params]
    if dense and not optimizer._row_slices:
        warnings.warn(
            f"torch_impl.fit: Keras on TensorFlow gives an Embedding one gradient row per token occurrence "
            f"(IndexedSlices), and its {type(optimizer).__name__} steps on those rows differently from the dense "
            f"gradient of nn.Embedding {', '.join(repr(n) for n in dense)} wherever a token repeats in a batch; "
            "torch_impl reproduces that row-sparse step for every optimizer but Adafactor.",
            UserWarning, stacklevel=3)
        return
    if dense:
        warnings.warn(
            f"torch_impl.fit: nn.Embedding {', '.join(repr(n) for n in dense)} has a dense gradient; Keras on "
            f"TensorFlow gives an Embedding one row per token occurrence (IndexedSlices), and "
            f"{type(optimizer).__name__} steps on those rows differently wherever a token repeats in a batch. "
            "Build it with nn.Embedding(..., sparse=True) (or set .sparse = True) for Keras's step.",
            UserWarning, stacklevel=3)


def _warn_second_rnn_bias(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """Keras's LSTM and SimpleRNN have one bias; torch's ``bias_ih`` + ``bias_hh`` both trained take twice
    Keras's bias step (``load_keras_weights`` and ``keras_init_`` freeze ``bias_hh`` at 0)."""
    params = _optimized(optimizer)
    trained = [f"{name}.{pname}" for name, m in model.named_modules() if isinstance(m, (torch.nn.LSTM, torch.nn.RNN))
               for pname, p in m.named_parameters(recurse=False)
               if pname.startswith("bias_hh") and p.requires_grad and id(p) in params]
    if trained:
        warnings.warn(f"torch_impl.fit: {', '.join(trained)} trains a second bias; Keras's LSTM/SimpleRNN have one, "
                      "so the bias steps here are twice Keras's. load_keras_weights and keras_init_ freeze it at 0 "
                      "(or call .requires_grad_(False) on it).", UserWarning, stacklevel=3)


# the loss functions whose Keras op takes the logits behind a sigmoid/softmax output (_keras_logits)
_LOGIT_FUNCTIONS = (L.binary_crossentropy, L.categorical_crossentropy, L.sparse_categorical_crossentropy,
                    L.binary_focal_crossentropy)
_ACCURACY_FNS = {"binary": M.binary_accuracy, "categorical": M.categorical_accuracy,
                 "sparse": M.sparse_categorical_accuracy}
_ACCURACY_CLASSES = {"binary": M.BinaryAccuracy, "categorical": M.CategoricalAccuracy,
                     "sparse": M.SparseCategoricalAccuracy}


def _as_metric_list(metrics) -> list:
    if metrics is None:
        return []
    if isinstance(metrics, (str, M.Metric)) or (callable(metrics) and not isinstance(metrics, (list, tuple))):
        return [metrics]  # a bare name: Keras's compile raises; taken as a one-element list here
    if isinstance(metrics, dict):
        raise ValueError("metrics: y is one array (one output): pass a list of metrics; a dict keys metrics by "
                         "output name, for a model of several outputs")
    return list(metrics)


def _metric_name(identifier) -> str:
    """The name Keras's ``get_metric`` gives: the string itself; an object's ``name`` (a metric, a loss); a
    metric class's default name; a function's ``__name__`` in snake case (a lambda: ``"lambda"``)."""
    if isinstance(identifier, str):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, M.Metric):
        return identifier().name
    name = getattr(identifier, "name", None)
    if isinstance(name, str):
        return name
    return M._snake_case(getattr(identifier, "__name__", type(identifier).__name__))


def _check_metric(identifier) -> None:
    """Fails at the call, before training, for an identifier Keras's ``compile`` would not take."""
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        return
    try:
        M.get(identifier)
    except ValueError as e:
        raise ValueError(f"metrics: {e}") from None


def resolve_metrics(metrics) -> list[tuple[str, object]]:
    """``(name, identifier)`` per metric of ``compile(metrics=...)``: a name (``"accuracy"``/``"acc"``, any
    case, resolved from the shapes like Keras; ``"AUC"``, ``"precision"``, ``"mse"``... as
    :func:`torch_impl.metrics.get`), a :class:`torch_impl.metrics.Metric` or a function
    ``fn(y_true, y_pred)`` of per-sample values (averaged as Keras's ``MeanMetricWrapper``). Anything else
    raises ``ValueError``."""
    out = []
    for m in _as_metric_list(metrics):
        _check_metric(m)
        out.append((_metric_name(m), m))
    return out


class _CompiledMetrics:
    """Keras's ``CompileMetrics`` for one output: ``metrics`` and ``weighted_metrics`` made into metric objects
    on the first batch (``"accuracy"`` resolved from its shapes), logged under Keras's names (a repeated name
    gets ``_1``, ``_2``...; a weighted metric whose name is taken is logged as ``weighted_<name>``), reset at each
    epoch and before validation. The class axis of the loss is moved last first, so a channels-first output gets
    the figures of the channels-last model Keras trains; the crossentropy metrics take the logits Keras finds
    behind a sigmoid/softmax output."""

    def __init__(self, metrics, weighted_metrics, class_axis: int, activation: Optional[str],
                 prefix: Optional[str] = None, names_itself: bool = True):
        self._specs = [(n, m, False) for n, m in resolve_metrics(metrics)] + \
                      [(n, m, True) for n, m in resolve_metrics(weighted_metrics)]
        self.class_axis, self.activation = class_axis, activation or "linear"
        # an output's name, which prefixes its logs (several outputs); a multi-output model names its outputs'
        # metrics together (_name_entries), after every output has built its own
        self.prefix, self._names_itself = prefix, names_itself
        self.entries: Optional[list] = None  # [log name, metric, weighted] once built

    def __bool__(self) -> bool:
        return bool(self._specs)

    def _build(self, y_true: torch.Tensor, y_prob: torch.Tensor) -> None:
        entries = []
        for name, identifier, weighted in self._specs:  # metrics first, then weighted_metrics
            if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
                metric = _ACCURACY_CLASSES[_accuracy_kind(y_true, y_prob)](name=name)
            else:
                metric = M.get(identifier)
                if not isinstance(metric, M.Metric):
                    metric = M.MeanMetricWrapper(metric, name=name)
                metric.name = name
            metric.reset_state()  # Keras's fit and evaluate reset every metric first (a user's object too)
            entries.append([None, metric, weighted])
        self.entries = entries
        if self._names_itself:
            _name_entries([self])

    def directions(self) -> dict:
        """Each metric object's name and Keras's ``_direction`` (``"up"``, ``"down"`` or ``None``), for the
        callbacks' ``mode="auto"``."""
        return {m.name: getattr(m, "_direction", None) for _, m, _ in self.entries or ()}

    def reset(self) -> None:
        for _, m, _ in self.entries or ():
            m.reset_state()

    def update(self, y_true: torch.Tensor, z: torch.Tensor, sample_weight) -> None:
        z = _keep_mask(z.detach(), z)
        if self.class_axis % z.dim() != z.dim() - 1:
            if y_true.dim() == z.dim():
                y_true = y_true.movedim(self.class_axis, -1)
            z = _keep_mask(z.movedim(self.class_axis, -1), z)
        y_prob = _keep_mask(ACTIVATIONS[self.activation](z), z)
        if self.activation in ("softmax", "sigmoid"):
            y_prob._keras_logits = z  # a crossentropy inside a custom metric function finds them, as in Keras
        if self.entries is None:
            self._build(y_true, y_prob)
        mask = getattr(z, "_keras_mask", None)
        for _, metric, weighted in self.entries:
            sw = sample_weight if weighted else None
            values = self._loss_values(metric, y_true, z)
            if values is not None:
                if mask is not None:  # Keras's MeanMetricWrapper: the prediction's mask weighs the values
                    sw = apply_mask(None if sw is None else sw.to(metric.dtype), mask, metric.dtype, "sum")
                metric.update_values(values, sw)
            else:
                metric.update_state(y_true, y_prob, sw)

    def _loss_values(self, metric: M.Metric, y_true: torch.Tensor, z: torch.Tensor) -> Optional[torch.Tensor]:
        """A metric wrapping a loss (a crossentropy metric, a loss function, a loss object) evaluated where
        Keras's crossentropy finds the logits behind a sigmoid/softmax output, whatever ``from_logits`` says, by
        the rule of :func:`compiled_loss`; ``None`` for any other metric (it gets the probabilities). The
        functional forms keep Keras's own errors for labels of another rank, and ``ignore_class`` its mask."""
        fn = getattr(metric, "_fn", None)
        if isinstance(fn, L.Loss):  # Keras's MeanMetricWrapper(loss): one reduced value per batch (the loss
            return compiled_loss(fn, self.activation)(y_true, z)  # object reads the prediction's mask itself)
        if fn not in _LOGIT_FUNCTIONS or self.activation not in ("softmax", "sigmoid"):
            return None
        kwargs = metric._fn_kwargs
        if kwargs.get("ignore_class") is not None or \
                (y_true.dim() != z.dim() and fn is not L.sparse_categorical_crossentropy):
            return None
        # a function does not read the prediction's mask (update weighs its values by it)
        return compiled_loss(L.make(fn, reduction=None, **kwargs), self.activation)(y_true, z.view_as(z))

    def results(self) -> dict:
        """The logs: each metric's result as a float (a list of floats for one per threshold or class)."""
        out = {}
        for log, metric, _ in self.entries or ():
            r = metric.result().detach().cpu()
            out[log] = float(r) if r.numel() == 1 else r.numpy().tolist()
        return out


def _name_entries(outputs: Sequence[_CompiledMetrics]) -> None:
    """Keras's ``CompileMetrics.result`` names: every output's ``metrics``, then every output's
    ``weighted_metrics``, each as ``<output name>_<metric name>`` (the metric name alone for one output, or for
    outputs without names); a repeated name gets ``_1``, ``_2``...; a weighted metric whose name is taken becomes
    ``<output name>_weighted_<metric name>``."""
    counters: dict[str, int] = {}

    def unique(name: str) -> str:
        if name not in counters:
            counters[name] = 1
            return name
        counters[name] += 1
        return f"{name}_{counters[name] - 1}"

    for weighted_pass in (False, True):
        for out in outputs:
            prefix = f"{out.prefix}_" if out.prefix else ""
            for entry in out.entries or ():
                if entry[2] != weighted_pass:
                    continue
                name = prefix + entry[1].name
                if weighted_pass and name in counters:
                    name = f"{prefix}weighted_{entry[1].name}"
                entry[0] = unique(name)


def _accuracy_kind(y_true: torch.Tensor, y_prob: torch.Tensor) -> str:
    """Keras's ``is_binary_or_sparse_categorical``: binary for a one-unit output, sparse for labels of lower
    rank (or one label per sample against several units), categorical otherwise."""
    if y_prob.shape[-1] == 1:
        return "binary"
    if y_true.dim() < y_prob.dim() or (y_true.shape[-1] == 1 and y_prob.shape[-1] > 1):
        return "sparse"
    return "categorical"


def accuracy(y_true: torch.Tensor, y_prob: torch.Tensor, kind: Optional[str] = None, axis: int = -1) -> torch.Tensor:
    """Keras's ``"accuracy"`` matches for these shapes (``kind`` ``None``), or its ``"binary"``,
    ``"categorical"`` or ``"sparse"`` categorical accuracy (:mod:`torch_impl.metrics`' functions).

    ``axis`` is the class axis of ``y_prob`` (and of one-hot, or ``(N, 1, H, W)`` sparse, labels): Keras's
    metrics take the last; a channels-first output (``(N, C, H, W)`` with ``axis=1``, the loss's axis) gives
    the matches of the channels-last model Keras trains."""
    if kind is not None and kind not in _ACCURACY_FNS:
        raise ValueError(f"accuracy kind must be None, 'binary', 'categorical' or 'sparse', got {kind!r}")
    if axis % y_prob.dim() != y_prob.dim() - 1 and kind != "binary":
        if y_true.dim() == y_prob.dim():
            y_true = y_true.movedim(axis, -1)
        y_prob = y_prob.movedim(axis, -1)
    return _ACCURACY_FNS[kind or _accuracy_kind(y_true, y_prob)](y_true, y_prob)


def _class_axis(loss) -> int:
    """The class axis of a categorical loss (its ``axis``), for the accuracies; -1 for any other loss."""
    categorical = (L.CategoricalCrossentropy, L.SparseCategoricalCrossentropy, L.CategoricalFocalCrossentropy)
    return loss.axis if isinstance(loss, categorical) else -1


def _param_info(model: torch.nn.Module) -> tuple[torch.dtype, torch.device]:
    p = next(model.parameters(), None)
    return (p.dtype, p.device) if p is not None else (torch.get_default_dtype(), torch.device("cpu"))


def _check_arrays(a, name: str) -> None:
    """An array part of the data must be an array: a generator, an iterator, a DataLoader or a Dataset here (as
    ``y``, or inside a batch) raises with what fit takes instead."""
    if inspect.isgenerator(a) or isinstance(a, collections.abc.Iterator) or \
            isinstance(a, (torch.utils.data.DataLoader, torch.utils.data.Dataset)):
        raise ValueError(f"fit/evaluate take `{name}` as an array or tensor here, got a {type(a).__name__}. Data "
                         "given as batches goes in `x` alone, as Keras's fit takes it: a generator, an iterator or a "
                         "torch DataLoader yielding (x, y) or (x, y, sample_weight) batches, or a PyDataset.")


def _from_numpy(a) -> torch.Tensor:
    """``a`` (an array-like) as a tensor; a read-only array (a NumPy view such as ``sliding_window_view``, which
    Keras takes silently) is copied, as torch warns on it otherwise."""
    arr = np.asarray(a)
    return torch.as_tensor(arr if arr.flags.writeable else arr.copy())


def _as_tensor(a, dtype, device) -> torch.Tensor:
    """An input as the model takes it: arrays cast to the model's dtype (Keras's ``Input`` is float by default);
    a torch integer tensor kept (token ids for an ``nn.Embedding``, Keras's ``Input(dtype="int32")``)."""
    _check_arrays(a, "x")
    if isinstance(a, torch.Tensor) and not (a.is_floating_point() or a.is_complex()):
        return a.to(device)
    t = _from_numpy(a) if not isinstance(a, torch.Tensor) else a
    return t.to(dtype).to(device)


class _Inputs:
    """The inputs of a multi-input model, as Keras's ``fit`` takes them: a list or tuple of arrays (the model is
    called with them in order, ``model(x1, x2)``) or a dict of arrays (called with them as keyword arguments,
    ``model(numeric=..., categorical=...)``, Keras's named ``Input`` layers). Sliced together, as one array."""

    def __init__(self, parts, keys: Optional[list]):
        self.parts, self.keys = parts, keys
        n = {int(p.shape[0]) if p.dim() else None for p in parts}
        if len(n) != 1 or None in n:
            sizes = ", ".join(f"{k}: {tuple(p.shape)}" for k, p in zip(keys or range(len(parts)), parts))
            raise ValueError(f"Data cardinality is ambiguous: the inputs have different numbers of samples ({sizes}).")
        self.shape = (n.pop(),)

    def __getitem__(self, idx) -> "_Inputs":
        return _Inputs([p[idx] for p in self.parts], self.keys)


def _as_inputs(x, dtype, device):
    """``x`` as one tensor, or as :class:`_Inputs` for a dict of arrays or a list/tuple of arrays or tensors (a
    list of plain rows, or of numbers, stays one array)."""
    if isinstance(x, _Inputs):  # fit's validation split of them
        return x
    if isinstance(x, dict):
        return _Inputs([_as_tensor(v, dtype, device) for v in x.values()], [str(k) for k in x])
    if isinstance(x, (list, tuple)) and x and all(isinstance(p, (np.ndarray, torch.Tensor)) and p.ndim >= 1
                                                  for p in x):
        return _Inputs([_as_tensor(p, dtype, device) for p in x], None)
    return _as_tensor(x, dtype, device)


def _call(model: torch.nn.Module, x) -> torch.Tensor:
    """``model`` on one input tensor or on :class:`_Inputs` (in order, or by keyword for a dict)."""
    if not isinstance(x, _Inputs):
        return model(x)
    return model(**dict(zip(x.keys, x.parts))) if x.keys is not None else model(*x.parts)


def _labels(y, dtype, device) -> torch.Tensor:
    """Targets as the loss gets them: float (and bool) ones in the model's dtype; for a float16/bfloat16 model in
    floatx (``torch.get_default_dtype()``), as Keras's data adapter gives ``y`` in floatx and only the layers cast
    their inputs to the half type (rounding the targets to it moved a float16 step by an ulp)."""
    _check_arrays(y, "y")
    t = y if isinstance(y, torch.Tensor) else _from_numpy(y)
    if t.is_floating_point() or t.dtype == torch.bool:
        t = t.to(torch.get_default_dtype() if dtype in (torch.float16, torch.bfloat16) else dtype)
    return t.to(device)


# ----------------------------------------------------------------------------------------------------------------
# several outputs: Keras's CompileLoss and CompileMetrics for a model that returns a list/tuple or a dict of outputs
# ----------------------------------------------------------------------------------------------------------------


class _PerOutput:
    """One array per output (labels, or sample weights: ``None`` for an unweighted output), in the outputs' order,
    sliced together as one array."""

    def __init__(self, parts: list, what: str):
        self.parts, self.what = parts, what
        n = {int(p.shape[0]) if p.dim() else None for p in parts if p is not None}
        if len(n) != 1 or None in n:
            sizes = ", ".join(str(tuple(p.shape)) for p in parts if p is not None)
            raise ValueError(f"Data cardinality is ambiguous: the {what} have different numbers of samples ({sizes}).")
        self.shape = (n.pop(),)

    # labels only: ``missing``, a dict y's missing outputs (Keras's KeyError, raised at the first step, see
    # _MultiOutput.check); ``for_metrics``, the metrics' labels where they are not the loss's (see _MultiOutput.labels)
    missing, for_metrics = None, None
    # ``names``: the outputs' names the parts were placed by, before a model returning a dict named its outputs (see
    # _MultiOutput.aligned); sample weights only: ``positional``, how many arrays Keras's adapter gave the weights,
    # which its CompileLoss looks up by each output's index (see _MultiOutput.__call__)
    names, positional = None, None

    def __getitem__(self, idx) -> "_PerOutput":
        out = _PerOutput([None if p is None else p[idx] for p in self.parts], self.what)
        out.missing, out.names, out.positional = self.missing, self.names, self.positional
        if self.for_metrics is not None:
            out.for_metrics = [None if p is None else p[idx] for p in self.for_metrics]
        return out


def _n_samples(x) -> Optional[int]:
    """The number of samples of ``x`` as given (one array, a list or a dict of arrays), ``None`` if unknown."""
    try:
        if isinstance(x, dict):
            x = next(iter(x.values()))
        elif arrays_per_output(x):
            x = x[0]
        return int(x.shape[0]) if hasattr(x, "shape") else len(x)
    except (TypeError, IndexError, StopIteration):
        return None


def _output_names(model: torch.nn.Module, output_names) -> Optional[list]:
    """The names given (``output_names=``, else the model's ``output_names`` attribute), as strings."""
    names = output_names if output_names is not None else getattr(model, "output_names", None)
    if names is None:
        return None
    if isinstance(names, str) or not isinstance(names, (list, tuple)) or not names:
        raise ValueError(f"output_names must be a list of the outputs' names, got {names!r}")
    return [str(n) for n in names]  # repeated (two outputs of one Keras layer): Keras's logs tell them apart


def _several_outputs(model, x, y, loss, output_names) -> Optional[tuple[list, bool]]:
    """``(names, keyed)`` when ``y`` holds one array per output (a dict, or a list/tuple of arrays), else ``None``
    (one output: ``fit`` as before). ``names`` are the outputs' names in the outputs' order: ``output_names=`` (or
    the model's ``output_names``: Keras's output layers' names), else the sorted keys of a dict ``y`` (Keras
    flattens a dict of outputs in sorted key order; ``keyed``: the model returns a dict; the ``output_names`` as a tuple
    when the keys of ``y`` are not among them: Keras's ``CompileMetrics`` then takes a dict of outputs' keys, and
    the model must return one), else ``None`` per
    output (Keras's subclassed model: its per-output losses are named after the losses, its metrics unprefixed).
    A list of arrays is one array per output when each has a row per sample and the list is not as long as
    ``x`` (then it could be one array given row by row), or when several output names or a list/dict of losses
    say so."""
    names = _output_names(model, output_names)
    partial = _partial_labels(y, loss, names)
    if partial is not None:  # y only for the outputs with a loss (Keras's CompileLoss spreads it)
        if names is not None and len(names) != partial:
            raise ValueError(f"`loss` has {partial} entries for a model of {len(names)} outputs {names}: give one "
                             "per output (None for an output without a loss).")
        return (names if names is not None else [None] * partial), False
    if isinstance(y, dict):
        if names is None:
            return sorted(str(k) for k in y), True
        if not {str(k) for k in y} <= set(names):  # Keras names a dict of outputs by its keys, whatever the
            return sorted(str(k) for k in y), tuple(names)  # output_names (a model returning a list: Keras raises)
    elif arrays_per_output(y):
        n = _n_samples(x)
        hint = (names is not None and len(names) > 1) or isinstance(loss, (list, tuple, dict))
        if not (hint or (n is not None and len(y) != n and all(t.shape[0] == n for t in y))):
            return None
        if names is None:
            return [None] * len(y), False
    else:
        if names is not None and len(names) > 1:
            if loss is None:  # Keras's CompileMetrics alone zips the flat y with the outputs: the first one's labels
                return names, False
            raise ValueError(f"The model has {len(names)} outputs ({names}): give y as a list with one array per "
                             "output or a dict keyed by output name.")
        return None
    return names, False


def _partial_labels(y, loss, names: Optional[list] = None) -> Optional[int]:
    """The number of outputs when ``y`` holds labels only for the outputs that have a loss: ``loss`` a list/tuple
    with ``None`` entries (or, the outputs' ``names`` known, a dict of fewer outputs or with ``None`` values),
    ``y`` one array (one loss not ``None``) or a list of arrays, one per loss not ``None`` (Keras's
    ``CompileLoss`` then places them in the losses' flat order); else ``None``."""
    if isinstance(loss, dict) and names is not None and None not in names and {str(k) for k in loss} <= set(names):
        by_name = {str(k): v for k, v in loss.items()}
        loss = [by_name.get(n) for n in names]
    if not isinstance(loss, (list, tuple)) or isinstance(y, dict) or y is None:
        return None
    with_loss = sum(1 for v in loss if v is not None)
    given = len(y) if arrays_per_output(y) else 1
    if None in loss and 0 < with_loss == given < len(loss):
        return len(loss)
    return None


def _keyed_by_the_model(model, y, loss, output_names, others: tuple) -> Optional[Union[list, bool]]:
    """A ``loss`` dict, ``y`` only for the outputs it gives a loss and no ``output_names``: the model must return a
    dict, whose keys name its outputs (Keras's ``CompileLoss`` packs such a ``y`` into the loss dict's structure,
    its flat order the sorted keys, and finds each output by its key: ``compile_utils.py:766-786``, 565-582).
    Which outputs the model has is known once it has run; for ``y`` one array or a list of arrays the provisional
    names until then: the keys the compile arguments' dicts (``others``) name, and an unnamed one for the others
    (see :class:`_MultiOutput` ``_resolve``); ``True`` for a dict ``y`` of the loss's keys (named by them until the
    model has run); else ``None``."""
    if not isinstance(loss, dict) or y is None or _output_names(model, output_names) is not None:
        return None
    loss_weights, metrics, weighted_metrics, output_activation = others
    if any(isinstance(m, (list, tuple)) and m for m in (metrics, weighted_metrics)) or \
            isinstance(output_activation, (list, tuple)):  # per output in order: the number of outputs needed
        return None
    with_loss = sorted(str(k) for k, v in loss.items() if v is not None)
    if isinstance(y, dict):
        return True if with_loss and sorted(map(str, y)) == with_loss else None
    if not with_loss or (len(y) if arrays_per_output(y) else 1) != len(with_loss):
        return None
    return ["\x00"] + sorted({str(k) for v in (loss,) + others if isinstance(v, dict) for k in v})


def _by_output(value, names: list, what: str) -> list:
    """``value`` as one entry per output: a list/tuple by position (as long as the outputs), a dict by output name
    (unknown keys raise; a missing output gets ``None``)."""
    if isinstance(value, dict):
        if any(n is None for n in names):
            raise ValueError(f"`{what}` is a dict, but the outputs have no names: return a dict of outputs, or name "
                             "them with output_names=[...] (Keras's output layers' names).")
        unknown = [k for k in value if str(k) not in names]
        if unknown:
            raise ValueError(f"`{what}` names outputs {unknown} the model does not have; its outputs: {names}.")
        by_name = {str(k): v for k, v in value.items()}
        return [by_name.get(n) for n in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"`{what}` has {len(value)} entries for a model of {len(names)} outputs"
                             f"{' ' + str(names) if names[0] is not None else ''}: give one per output (or a dict "
                             "keyed by output name).")
        return list(value)
    raise TypeError(f"`{what}` for a model of {len(names)} outputs must be a list or a dict, got {value!r}")


def _structure(value) -> Optional[tuple]:
    """``("dict", keys)`` / ``("list", length)`` of a per-output container; ``None`` for an array (or ``None``)."""
    if isinstance(value, dict):
        return ("dict", tuple(sorted(map(str, value))))
    if isinstance(value, (list, tuple)):
        return ("list", len(value))
    return None


def _describe_structure(structure: tuple) -> str:
    kind, what = structure
    return f"a dict of {list(what)}" if kind == "dict" else f"a list of {what}"


def _loss_log_name(identifier, loss: L.Loss) -> str:
    """Keras's ``get_loss`` name, which names an unnamed output's loss: a function's name given as a string
    (``"mse"``) is kept; a loss object's or class's name; a function's name in snake case."""
    if isinstance(identifier, str):
        return loss.name if identifier in L._CLASSES else identifier
    if isinstance(identifier, L.Loss):
        return identifier.name
    return M._snake_case(getattr(identifier, "__name__", type(identifier).__name__))


class _MissingLabels(KeyError, ValueError):
    """Keras's ``KeyError: '<output name>'`` for a dict ``y`` without an output's labels (``args[0]`` the name),
    with a readable message; also a ``ValueError``, as torch_impl's other data errors."""

    def __init__(self, name: str, message: str):
        super().__init__(name)
        self.message = message

    def __str__(self) -> str:
        return self.message


class _ShortSampleWeights(IndexError, ValueError):
    """Keras 3.15.1's ``IndexError: tuple index out of range`` at the first step: ``y`` a shorter list (only for
    the outputs with a loss) with ``sample_weight`` as a list or one array, which its array adapter gives ``y``'s
    structure, while its ``CompileLoss`` looks each loss's weights up at its output's index
    (``array_data_adapter.py:61-64``, ``compile_utils.py:826-827``); a ``ValueError`` as torch_impl's other data
    errors."""


def _one_loss_path_error(z, given: int) -> _MissingLabels:
    """Keras's ``KeyError`` for one loss on a model of several outputs (a dict or a list ``z``) and a ``y`` of fewer
    arrays (``given``): its ``CompileLoss`` gives the loss to every output and finds no labels for the first
    (``compile_utils.py:565-574``); ``args[0]`` Keras's message, ``str()`` with the fix."""
    path = (sorted(map(str, z))[0],) if isinstance(z, dict) else (0,)
    keras = (f"The path: {path} in the `loss` argument, can't be found in either the model's output (`y_pred`) or "
             "in the labels (`y_true`).")
    outputs = f"{len(z)} outputs {sorted(map(str, z))}" if isinstance(z, dict) else f"a list of {len(z)} outputs"
    return _MissingLabels(keras, f"{keras} (Keras 3.15.1's KeyError: one loss for a model returning {outputs} "
                                 f"and y of {given} array(s); the loss goes to every output, each needing its "
                                 "labels. Give y as a dict keyed by output name or a list with one array per output; "
                                 "for y only for some outputs, a dict loss naming them.)")


def _stars(value, leaf: str):
    """Keras's ``tree.map_structure(lambda _: leaf, value)`` of a flat output structure, as its messages print it
    (a dict's keys in its order)."""
    if isinstance(value, dict):
        return {str(k): leaf for k in value}
    if isinstance(value, (list, tuple)):
        return type(value)(leaf for _ in value)
    return leaf


class _DifferentStructures(ValueError):
    """A dict ``y`` without the labels of an output that has a loss (a ``loss`` dict naming it, or a list): Keras
    3.15.1's ``CompileLoss`` raises ``ValueError: y_true and y_pred have different structures.`` at the first step
    (after ``on_train_batch_begin``, before any update; ``compile_utils.py:764-798``), its message printing the
    model's outputs: :meth:`at` makes it from them (``keys``: the keys of ``y``). One loss for every output
    (``one_loss``) and a ``y`` of one key: Keras's ``KeyError`` instead, for the model's first output, whichever labels ``y`` lacks (its
    ``CompileLoss`` takes such a ``y`` as one array, ``compile_utils.py:771-790``, then finds no labels by key,
    565-574)."""

    def __init__(self, keys: list, one_loss: bool = False):
        super().__init__(keys)
        self.keys, self.one_loss = keys, one_loss

    def at(self, z) -> ValueError:
        # one loss and a one-key y: Keras takes y as that loss's one array (compile_utils.py 766-785), then finds
        # no labels by key; a y of more keys gets its structure error
        if self.one_loss and len(self.keys) == 1 and isinstance(z, (dict, list, tuple)) and len(z):
            keras = (f"The path: {(next(iter(z)) if isinstance(z, dict) else 0,)} in the `loss` argument, can't be "
                     "found in either the model's output (`y_pred`) or in the labels (`y_true`).")
            return _MissingLabels(keras, f"{keras} (Keras 3.15.1's KeyError at the first step: one loss for every "
                                         f"output, and y a dict of {sorted(self.keys)} alone. Give every output's "
                                         "labels, or a loss dict naming the outputs y labels.)")
        return ValueError("y_true and y_pred have different structures.\n"
                          f"y_true: {_stars(dict.fromkeys(sorted(self.keys)), '*')}\ny_pred: {_stars(z, '*')}\n")


def _lists_to_tuples(value):
    if isinstance(value, dict):
        return {k: _lists_to_tuples(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_lists_to_tuples(v) for v in value)
    return value


def _metrics_key_error(what: str, metrics: dict, z, output_names: Optional[list]) -> ValueError:
    """Keras 3.15.1's ``ValueError`` at the first step for a ``metrics`` (``weighted_metrics``) dict naming an
    output the model lacks: its ``CompileMetrics.build`` matches the dict to the outputs' structure
    (``tree.map_structure_up_to``, optree's message) and says how to give it (``compile_utils.py:315-336``)."""
    if isinstance(z, dict):
        expected, got = sorted(map(str, z)), sorted(map(str, metrics))
        cause = (f"dictionary key mismatch; expected key(s): {expected}, got key(s): {got}, missing key(s): "
                 f"{sorted(set(expected) - set(got))}, extra key(s): {sorted(set(got) - set(expected))}; dict: "
                 f"{_lists_to_tuples(metrics)}.")
    else:
        cause = f"Expected an instance of tuple, got {_lists_to_tuples(metrics)}."
    names = (f"either be a dict or a list matching the output names of the functional model {output_names} or "
             if output_names else "")
    return ValueError(f"{cause}\nInvalid `{what}`. `{what}` should contain metrics objects and {names}match the "
                      f"output structure of the model: {_stars(z, 'X')}.\nReceived: {what}={metrics}")


class _MultiOutput:
    """``compile(loss, loss_weights, metrics, weighted_metrics)`` of a model with several outputs, as Keras's
    ``CompileLoss`` and ``CompileMetrics`` (``keras/src/trainers/compile_utils.py``): both the loss ``fit`` trains
    on and its metrics object.

    The loss is ``sum(loss_weight_i * loss_i)`` over the outputs that have one (each output's loss cast to
    ``floatx``, by the single-output rule of :func:`compiled_loss` with its own ``output_activation``); ``fit``
    adds the regularization penalties once, to the sum. With more than one loss, each output's unweighted loss is
    logged as ``<name>_loss``: the plain mean of its batch values (Keras's tracker gets ``sample_weight=None``
    from the unknown batch size of its traced step, so a partial last batch counts as much as a full one, while
    ``loss`` weighs each batch by its size)."""

    def __init__(self, model, names: list, keyed: bool, loss, loss_weights, metrics, weighted_metrics,
                 output_activation, listed: bool = False, partial: bool = False, by_keys=None):
        # ``by_keys``: a loss dict, y only for its outputs and no output_names (see _keyed_by_the_model): the dict the
        # model returns names the outputs once it has run (`_resolve`); ``names`` provisional until then
        self._by_keys, self._pending = by_keys is not None, by_keys
        # ``listed``: y is a list, so the outputs' names are known once the model has run: a model returning a dict
        # takes the list in its keys' sorted order and names its outputs by them (Keras packs y_true into y_pred's
        # structure, ``compile_utils.py:756``), whatever the output_names; the outputs are renamed then (`flat`)
        self._config = (model, loss, loss_weights, metrics, weighted_metrics, output_activation)
        self.listed, self._deferred = listed, None
        # no loss: Keras's CompileMetrics alone, made when metrics or weighted_metrics is given (an empty list too);
        # `_labelled`: how many leading outputs a y of fewer arrays labels (see labels)
        self._metrics_only = loss is None and any(m is not None and m != () for m in (metrics, weighted_metrics))
        self._labelled = None
        self._unless_dict = None  # raised if the model does not return a dict (see flat)
        self._y_partial = False  # the last y only for the outputs with a loss (see labels, sample_weights)
        # the outputs' names as given (output_names), before any provisional ones: Keras's metrics error names them
        self._given_names = list(names) if names and names[0] is not None and not keyed else None
        self._step_error = None  # an error Keras's CompileLoss.build raises at the first step (see _build, flat)
        if keyed is True and by_keys is None and isinstance(loss, dict):  # a dict y without a loss dict's outputs:
            lacking = {str(k) for k, v in loss.items() if v is not None} - set(names)  # Keras's structure error at
            if lacking:  # the first step (see _parts)
                names = sorted(set(names) | lacking)
        if by_keys is True:  # a dict y: metrics naming other outputs of the model, looked up in y at the first step
            named = {str(k) for m in (metrics, weighted_metrics) if isinstance(m, dict) for k in m} - set(names)
            if named and (not isinstance(loss_weights, dict) or {str(k) for k in loss_weights} <= set(names)):
                names = sorted(set(names) | named)  # provisional until the model has run (see _resolve)
        try:
            self._build(names, keyed)
        except ValueError as error:  # maybe dict arguments keyed by the dict the model returns: known when it has run
            if partial and isinstance(loss, dict):  # y only for a dict loss's outputs: Keras's error is for a model
                self._unless_dict = error  # returning a list (its CompileLoss fills a dict loss in by output names)
                self._build(names, keyed, check_keys=False)
                return
            keys = sorted({str(k) for v in self._config[1:] if isinstance(v, dict) for k in v})
            if not listed or not keys or len(keys) > len(names):
                raise
            self._deferred = error  # raised if the model does not return a dict; until then, provisional names
            try:
                self._build(keys + [f"\x00{i}" for i in range(len(names) - len(keys))], True)
            except ValueError:
                raise error from None

    def _build(self, names: list, keyed: bool, check_keys: bool = True) -> None:
        model, loss, loss_weights, metrics, weighted_metrics, output_activation = self._config
        self.names, self.keyed = names, keyed
        n = len(names)
        several = isinstance(loss, (list, tuple, dict))
        idents = _by_output(loss, names, "loss") if several else [loss] * n
        if isinstance(loss, dict) and not keyed and check_keys:
            missing = [k for k, v in zip(names, idents) if v is None and k not in loss]
            if missing:  # Keras fills in a dict of losses by the output layers' names, all of them
                raise ValueError(f"Expected keys {names} in loss dict, but found loss.keys()={list(loss)}")
        if loss is not None and all(i is None for i in idents):  # loss None: metrics only (the added losses)
            raise ValueError("No loss to compute: every output's loss is None.")
        acts = output_activation if output_activation is not None else getattr(model, "output_activation", None)
        acts = _by_output(acts, names, "output_activation") if isinstance(acts, (list, tuple, dict)) else [acts] * n
        for a in acts:
            if a is not None and a not in ACTIVATIONS:
                raise ValueError(f"output_activation: unknown activation {a!r}; known: {sorted(ACTIVATIONS)}")
        self.losses = [None if i is None else as_loss(i) for i in idents]
        self.loss_fns = [None if l is None else compiled_loss(l, a) for l, a in zip(self.losses, acts)]
        # Keras's compile makes no CompileLoss for loss=None: loss_weights are then ignored
        self._step_error = None
        try:
            self.weights = [None] * n if loss is None else self._weights(loss, loss_weights, several)
        except ValueError as error:  # Keras's CompileLoss.build pairs loss_weights with the losses at the first step
            self.weights, self._step_error = [None] * n, error
        with_loss = [i for i in range(n) if self.losses[i] is not None]
        # Keras sums a dict of losses on a dict of outputs in the dict's order, otherwise in the outputs' order
        self.order = [names.index(str(k)) for k, v in loss.items() if v is not None] \
            if isinstance(loss, dict) and keyed else with_loss
        self.loss_logs = {}
        if len(with_loss) > 1:  # Keras's per-output loss trackers
            self.loss_logs = {i: f"{names[i] if names[i] is not None else _loss_log_name(idents[i], self.losses[i])}"
                                 f"_loss" for i in with_loss}
        self._trackers = {i: _LossTracker(weighted=False) for i in self.loss_logs}
        per_metrics = self._metrics(metrics, "metrics")
        per_weighted = self._metrics(weighted_metrics, "weighted_metrics")
        self.metrics = [_CompiledMetrics(m, w, _class_axis(l) if l is not None else -1, a,
                                         prefix=name if n > 1 else None, names_itself=False)
                        for m, w, l, a, name in zip(per_metrics, per_weighted, self.losses, acts, names)]
        if self._labelled is not None:
            self._drop_unlabelled_metrics()
        self._named = False

    def _drop_unlabelled_metrics(self) -> None:
        """Keras builds no metrics for the outputs a shorter y leaves unlabelled, those from ``_labelled`` on (its
        ``CompileMetrics`` zips ``tree.flatten(y)`` with the outputs at the first batch): they are neither updated
        nor logged."""
        for i in range(self._labelled, len(self.names)):
            self.metrics[i] = _CompiledMetrics(None, None, -1, None, prefix=self.names[i], names_itself=False)

    def _weights(self, loss, loss_weights, several: bool) -> list:
        """Each output's loss weight (``None``: not multiplied), as Keras pairs ``loss_weights`` with the losses."""
        n = len(self.names)
        if loss_weights is None:
            return [None] * n
        n_losses = len(loss) if several else 1
        if not several:  # one loss for every output: Keras takes one weight for all of them, nothing else
            flat = list(loss_weights.values()) if isinstance(loss_weights, dict) else \
                list(loss_weights) if isinstance(loss_weights, (list, tuple)) else [loss_weights]
            if len(flat) != 1:
                raise ValueError(f"`loss_weights` must match the number of losses, got 1 losses and {len(flat)} "
                                 "weights. (Keras: one loss for every output takes one weight; give the loss once "
                                 "per output to weight the outputs apart.)")
            return [float(flat[0])] * n
        if isinstance(loss_weights, dict) and isinstance(loss, dict) and \
                {str(k) for k in loss} != {str(k) for k in loss_weights}:
            # Keras's CompileLoss.build (compile_utils.py:617-629): dicts of other keys are paired flat, each in its
            # sorted keys' order, when they are as long; otherwise its ValueError (at the first step, see _build)
            if len(loss) != len(loss_weights):
                raise ValueError(f"`loss_weights` must match the number of losses, got {len(loss)} losses and "
                                 f"{len(loss_weights)} weights.")
            paired = dict(zip(sorted(map(str, loss)), (loss_weights[k] for k in sorted(loss_weights, key=str))))
            weights = [paired.get(nm) for nm in self.names]
        elif isinstance(loss_weights, dict):
            weights = _by_output(loss_weights, self.names, "loss_weights")
            if isinstance(loss, (list, tuple)):
                if len(set(self.names)) < n:  # repeated output names: Keras pairs the dict's fewer values in order
                    raise ValueError(f"`loss_weights` must match the number of losses, got {n_losses} losses and "
                                     f"{len(loss_weights)} weights.")
                keras_pairs = [loss_weights[k] for k in sorted(loss_weights)]
                if len(keras_pairs) == n and keras_pairs != weights:
                    warnings.warn(
                        "torch_impl.fit: `loss_weights` is a dict and `loss` a list: Keras 3.15.1 pairs the dict's "
                        f"values in sorted key order with the losses in order ({keras_pairs}), not by output name as "
                        f"here ({weights}). Give both as lists, or both as dicts, for the same run on both sides.",
                        UserWarning, stacklevel=5)
        elif isinstance(loss_weights, (list, tuple)):
            with_loss = [i for i in range(n) if self.losses[i] is not None]
            if len(loss_weights) == n:
                weights = list(loss_weights)
            elif len(loss_weights) == len(with_loss):  # a dict of losses for some outputs: paired in order
                weights = [None] * n
                for i, w in zip(with_loss, loss_weights):
                    weights[i] = w
            else:
                raise ValueError(f"`loss_weights` must match the number of losses, got {n_losses} losses and "
                                 f"{len(loss_weights)} weights.")
        else:
            raise ValueError(f"`loss_weights` must match the number of losses, got {n_losses} losses and 1 weights.")
        missing = [self.names[i] if self.names[i] is not None else i for i in range(n)
                   if self.losses[i] is not None and weights[i] is None]
        if missing:
            raise ValueError(f"`loss_weights` must match the number of losses: no weight for outputs {missing}.")
        return [None if w is None else float(w) for w in weights]

    def _metrics(self, metrics, what: str) -> list:
        """``compile(metrics=...)`` of several outputs, as Keras takes it: a list with one entry per output (a
        metric, a list of metrics, or ``None``) or a dict keyed by output name."""
        n = len(self.names)
        if metrics is None or (isinstance(metrics, (list, tuple, dict)) and not metrics):
            return [None] * n
        if not isinstance(metrics, (list, tuple, dict)):
            raise ValueError(f"Expected `{what}` argument to be a list, tuple, or dict. Received instead: "
                             f"{what}={metrics} of type {type(metrics)}")
        if isinstance(metrics, (list, tuple)) and len(metrics) != n:
            raise ValueError(
                f"`{what}` has {len(metrics)} entries for a model of {n} outputs: give one entry per output (a "
                f"metric or a list of metrics, e.g. {what}=[['accuracy'], ['mae']]) or a dict keyed by output "
                "name. Keras 3 does not apply one list of metrics to every output (and takes a list of exactly "
                "one metric per output as one per output).")
        if isinstance(metrics, dict) and None not in self.names:  # keys the model lacks: Keras's error at the first
            metrics = {k: v for k, v in metrics.items() if str(k) in self.names}  # step (see _unknown_metrics)
        return _by_output(metrics, self.names, what)

    def _unknown_metrics(self, z) -> Optional[ValueError]:
        """Keras's ``ValueError`` for a ``metrics`` (or ``weighted_metrics``) dict naming an output the model lacks,
        raised as its ``CompileMetrics`` is built at the first step (before any update in Keras's traced step)."""
        outputs = [str(k) for k in z] if isinstance(z, dict) else self._given_names \
            if isinstance(z, (list, tuple)) else None
        if outputs is None:
            return None
        for what, metrics in (("metrics", self._config[3]), ("weighted_metrics", self._config[4])):
            if isinstance(metrics, dict) and metrics and not {str(k) for k in metrics} <= set(outputs):
                names = self._given_names or (sorted(outputs) if isinstance(z, dict) else None)
                return _metrics_key_error(what, metrics, z, names)
        return None

    # ------------------------------------------------------------------ data
    def _parts(self, value, what: str, convert, shared: bool) -> Optional[_PerOutput]:
        if value is None or isinstance(value, _PerOutput):
            return value
        unweighted = what == "sample_weight" and isinstance(value, (list, tuple)) and \
            any(v is None for v in value) and arrays_per_output([v for v in value if v is not None])  # [w, None]
        if isinstance(value, dict) or arrays_per_output(value) or unweighted:
            if isinstance(value, dict) and self.names[0] is None:
                raise ValueError(f"`{what}` is a dict, but the outputs have no names: give it as a list, or name "
                                 "the outputs with output_names=[...].")
            parts = _by_output(value, self.names, what)
            if what == "y" and isinstance(value, dict) and any(p is not None for p in parts) and \
                    any(p is None and l is not None for p, l in zip(parts, self.losses)):
                out = _PerOutput([None if p is None else convert(p) for p in parts], what)
                out.missing = _DifferentStructures([str(k) for k in value], not isinstance(  # raised at the first
                    self._config[1], (list, tuple, dict)))  # step (__call__)
                return out
            if what == "y":  # a dict y of a model returning a dict: metrics' missing labels at the step (_unlabelled)
                self._check_labels(parts, metrics=not (isinstance(value, dict) and (
                    self._by_keys or self._unless_dict is not None)))
        elif shared:  # one sample_weight array: Keras weighs every output's loss and weighted metrics with it
            parts = [value] * len(self.names)
        else:
            raise ValueError(f"The model has {len(self.names)} outputs: give {what} as a list with one array per "
                             "output or a dict keyed by output name.")
        if all(p is None for p in parts):
            return None
        return _PerOutput([None if p is None else convert(p) for p in parts], what)

    def labels(self, y, dtype, device) -> _PerOutput:
        self._y_structure = _structure(y)  # what the next sample_weights must match, as Keras's data adapter
        self._y_partial = False
        leading = self._leading_labels(y)
        if leading is not None:
            if self._labelled is None:  # the training y, as Keras's CompileMetrics builds on the first batch
                self._labelled = sum(p is not None for p in leading)
                self._drop_unlabelled_metrics()
            return _PerOutput([None if p is None else _labels(p, dtype, device) for p in leading], "y")
        if isinstance(y, dict) and self._metrics_only and self.names[0] is not None:
            missing = [nm for nm in self.names if nm not in {str(k) for k in y}]
            if missing:  # Keras raises it at the first step (after on_train_begin): check raises it then
                error = _MissingLabels(missing[0], f"y has no labels for outputs {missing}: without a loss, Keras "
                                                   "3.15.1's CompileMetrics looks every output's name up in a dict "
                                                   f"y (KeyError: {missing[0]!r} at the first step); the model's "
                                                   f"outputs: {self.names}.")
                parts = _by_output(y, self.names, "y")
                if all(p is None for p in parts):
                    raise error
                labels = _PerOutput([None if p is None else _labels(p, dtype, device) for p in parts], "y")
                labels.missing = error
                return labels
        if not isinstance(y, (dict, _PerOutput)) and (self._by_keys or
                                                      _partial_labels(y, self.losses) == len(self.names)):
            # Keras's CompileLoss: y only for the outputs with a loss, placed in its flat losses' order (a dict
            # loss's sorted keys); its CompileMetrics zips the same flat y with the outputs in order, whatever the
            # losses (compile_utils.py:766-786 and 344-352): the metrics of the outputs past it are not built
            given = [_labels(p, dtype, device) for p in (y if arrays_per_output(y) else [y])]
            parts = [None] * len(self.names)
            for i, p in zip(self._loss_order(), given):
                parts[i] = p
            self._check_labels(parts, metrics=False)
            if self._labelled is None:  # the training y
                self._labelled = len(given)
                self._drop_unlabelled_metrics()
            labels = _PerOutput(parts, "y")
            labels.for_metrics = given + [None] * (len(self.names) - len(given))
            labels.names = tuple(self.names) if self._by_keys else None
            self._y_partial = True
            return labels
        labels = self._parts(y, "y", lambda a: _labels(a, dtype, device), shared=False)
        if self._by_keys and labels is not None:  # a dict y: placed by its keys until the model has run
            labels.names = tuple(self.names)
        elif self._unless_dict is not None and isinstance(y, dict) and labels is not None:  # output_names given
            labels.missing = self._unlabelled(labels)
        return labels

    def _loss_order(self) -> list:
        """The outputs with a loss in Keras's flat order of ``loss`` (a dict's sorted keys, else the outputs')."""
        loss = self._config[1]
        if isinstance(loss, dict) and self.names[0] is not None:
            return [self.names.index(k) for k in sorted(str(k) for k, v in loss.items() if v is not None)]
        return [i for i, l in enumerate(self.losses) if l is not None]

    def _leading_labels(self, y) -> Optional[list]:
        """Without a loss, ``y`` as fewer arrays than outputs (a shorter list or tuple, or one array), one per
        output with ``None`` for the rest: Keras's ``CompileMetrics`` zips ``tree.flatten(y)`` with the outputs
        (``compile_utils.py`` ``_build_metrics_set``, ``update_state``), so the arrays label the first outputs in
        order and the other outputs' metrics are not built (nor logged). ``None`` for any other ``y``."""
        if any(l is not None for l in self.losses) or y is None or isinstance(y, (dict, _PerOutput)):
            return None
        flat = list(y) if arrays_per_output(y) else [y]
        if isinstance(y, (list, tuple)) and not arrays_per_output(y) or len(flat) >= len(self.names):
            return None
        return flat + [None] * (len(self.names) - len(flat))

    def _check_labels(self, parts: list, metrics: bool = True) -> None:
        """Each output with a loss or (``metrics``) metrics has labels (Keras: an output without a loss needs
        none)."""
        missing = [nm if nm is not None else i for i, (nm, p) in enumerate(zip(self.names, parts))
                   if p is None and (self.losses[i] is not None or metrics and self.metrics[i])]
        if missing:
            raise ValueError(f"y has no labels for outputs {missing} (which have a loss or metrics); the model's "
                             f"outputs: {self.names}.")

    def sample_weights(self, sw, convert) -> Optional[_PerOutput]:
        # Keras's array adapter: a nested sample_weight must have y's structure (a dict for a dict, a list as long
        # as y's), else ValueError; one array weighs every output
        theirs, ours = getattr(self, "_y_structure", None), _structure(sw)
        if theirs is not None and ours is not None and theirs != ours:
            raise ValueError("You should provide one `sample_weight` array per output in `y`. The two structures did "
                             f"not match: y is {_describe_structure(theirs)}, sample_weight "
                             f"{_describe_structure(ours)} (Keras raises the same ValueError).")
        if self._labelled is not None and self._metrics_only and arrays_per_output(sw) and len(sw) == self._labelled:
            return _PerOutput([convert(a) for a in sw] + [None] * (len(self.names) - len(sw)),  # the labelled
                              "sample_weight")  # outputs' weights
        listed = isinstance(sw, (list, tuple)) and arrays_per_output([a for a in sw if a is not None])
        if sw is not None and self._y_partial and (listed or theirs is not None and
                                                                       theirs[0] == "list" and ours is None):
            # y only for the outputs with a loss, and sample_weight a list (or one array with a list y, which Keras's
            # adapter repeats in y's list structure): Keras's CompileLoss looks each output's weights up at its index
            # (a dict model's at its key), compile_utils.py:826-827, failing at the first step (see __call__)
            flat = list(sw) if listed else [sw] * theirs[1]
            parts = [None if a is None else convert(a) for a in flat[:len(self.names)]]
            if any(p is not None for p in parts):
                out = _PerOutput(parts + [None] * (len(self.names) - len(parts)), "sample_weight")
                out.positional, out.names = len(flat), tuple(self.names) if self._by_keys else None
                return out
        out = self._parts(sw, "sample_weight", convert, shared=True)
        if self._by_keys and out is not None:
            out.names = tuple(self.names)
        return out

    def _resolve(self, z) -> None:
        """At the model's first call, for a loss dict with y only for its outputs and no output_names (see
        :func:`_keyed_by_the_model`): the outputs named by the keys of the dict the model returns, sorted (Keras's
        flat order), the labels and weights placed by name from then on (:meth:`aligned`)."""
        pending, self._pending = self._pending, None
        loss = self._config[1]
        if not isinstance(z, dict) and pending is True:  # a dict y for a model returning a list: as before (flat)
            return
        if not isinstance(z, dict):
            what = f"a list of {len(z)} outputs" if isinstance(z, (list, tuple)) else "one output (a tensor)"
            raise ValueError(f"`loss` is a dict naming the outputs {list(map(str, loss))} and y holds labels for them "
                             f"alone, without output_names: the model must return a dict (Keras's CompileLoss finds "
                             f"each loss's output by its key), but it returns {what}. Name its outputs: "
                             "output_names=[...] (Keras's output layers' names).")
        keys = sorted(str(k) for k in z)
        absent = [str(k) for k, v in loss.items() if v is not None and str(k) not in keys]
        if absent:  # Keras's CompileLoss._build_nested, compile_utils.py:568-574
            keras = (f"The path: {(absent[0],)} in the `loss` argument, can't be found in either the model's output "
                     "(`y_pred`) or in the labels (`y_true`).")
            raise _MissingLabels(keras, f"{keras} (Keras 3.15.1's KeyError: the model returns the outputs {keys}.)")
        if pending is True and not set(self.names) < set(keys):  # a dict y: the outputs it names, or flat's error
            return
        self._build(keys, True)

    def aligned(self, part: Optional[_PerOutput]) -> Optional[_PerOutput]:
        """Labels or sample weights placed by the provisional names (made before the model named its outputs, see
        :meth:`_resolve`) placed by the outputs' names; the metrics' labels (a flat y) stay in order. A dict y
        without an output's labels, with metrics: Keras's ``KeyError`` (its ``CompileMetrics`` looks every output's
        name up in it, ``compile_utils.py:339-341``), raised at the step."""
        if part is None or part.names is None:
            return part
        if part.names != tuple(self.names):
            at = dict(zip(part.names, part.parts))
            out = _PerOutput([at.get(k) for k in self.names], part.what)
            out.missing, out.positional, out.names = part.missing, part.positional, tuple(self.names)
            if part.for_metrics is not None:
                out.for_metrics = (part.for_metrics + [None] * len(self.names))[:len(self.names)]
            part = out
        if part.what == "y" and part.for_metrics is None and part.missing is None:
            part.missing = self._unlabelled(part)
        return part

    def _unlabelled(self, part: _PerOutput) -> Optional[_MissingLabels]:
        """Keras's ``KeyError`` for a dict y without some outputs' labels when metrics are given (its
        ``CompileMetrics`` looks every output's name up in it, ``compile_utils.py:339-341``), ``None`` otherwise."""
        if not any(m is not None and m != () for m in self._config[3:5]):  # no metrics (as _metrics_only)
            return None
        missing = [k for k, p in zip(self.names, part.parts) if p is None]
        if not missing:
            return None
        return _MissingLabels(missing[0], f"y has no labels for outputs {missing}: with metrics, Keras 3.15.1's "
                                          "CompileMetrics looks every output's name up in a dict y (KeyError: "
                                          f"{missing[0]!r} at the first step); the model's outputs: {self.names}.")

    def flat(self, z) -> list:
        """The model's outputs in the outputs' order."""
        if self._pending is not None:
            self._resolve(z)
        if self.listed:  # the first outputs of a list y: a dict names the outputs by its sorted keys
            self.listed = False
            if isinstance(z, dict) and len(z) == len(self.names):
                with warnings.catch_warnings():  # warned once already, at compile
                    warnings.simplefilter("ignore")
                    self._build(sorted(str(k) for k in z), True)
                self._renamed = True
            elif isinstance(z, dict) and len(z) > len(self.names) and isinstance(self._config[1], dict):
                raise ValueError(f"The model returns the outputs {sorted(map(str, z))}, y has {len(self.names)} "
                                 "array(s) and `loss` is a dict: Keras's CompileLoss gives y to the outputs the loss "
                                 "dict names (in its sorted keys' order), which takes the model's other outputs, "
                                 "known here only once it has run: name them with "
                                 f"output_names={sorted(map(str, z))} (or give y as a dict keyed by output name).")
            elif self._deferred is not None:
                raise self._unknown_metrics(z) or self._deferred
            elif isinstance(z, (dict, list, tuple)) and len(z) > len(self.names) and self._config[1] is not None \
                    and not isinstance(self._config[1], (list, tuple, dict)):  # one loss and a shorter y
                raise _one_loss_path_error(z, len(self.names))
        if self._unless_dict is not None and not isinstance(z, dict):
            raise self._unless_dict
        if isinstance(z, dict) and self._config[1] is not None and not isinstance(self._config[1], (
                list, tuple, dict)) and self.names[0] is not None and set(self.names) < set(map(str, z)):
            raise _DifferentStructures(self.names, one_loss=True).at(z)  # one loss, a dict y of fewer outputs
        if self._step_error is not None:  # Keras's CompileLoss.build, then its CompileMetrics.build
            raise self._step_error
        unknown = self._unknown_metrics(z)
        if unknown is not None:
            raise unknown
        n = len(self.names)
        if isinstance(self.keyed, tuple) and not isinstance(z, dict):  # y keyed apart from the output_names
            unknown = [k for k in self.names if k not in self.keyed]
            raise ValueError(f"`y` names outputs {unknown} the model does not have; its outputs: {list(self.keyed)} "
                             "(only a model returning a dict is named by its keys, whatever its output_names).")
        if isinstance(z, dict):
            if self._metrics_only and self.names[0] is not None and set(self.names) < set(map(str, z)):
                missing = sorted(set(map(str, z)) - set(self.names))  # Keras: the dict's keys, sorted
                raise _MissingLabels(missing[0], f"y has no labels for outputs {missing}: without a loss, Keras "
                                                 "3.15.1's CompileMetrics looks every output's name up in a dict y "
                                                 f"(KeyError: {missing[0]!r} at the first step); the model's "
                                                 f"outputs: {sorted(map(str, z))}.")
            if self.names[0] is None or set(map(str, z)) != set(self.names):
                raise ValueError(f"The model returns the outputs {list(z)}, but y and the compile arguments name "
                                 f"{self.names if self.names[0] is not None else str(n) + ' unnamed outputs'}: "
                                 "give y as a dict keyed by the model's output names.")
            by_name = {str(k): v for k, v in z.items()}
            return [by_name[k] for k in self.names]
        if isinstance(z, (list, tuple)) and len(z) == n:
            return list(z)
        if isinstance(z, torch.Tensor) and n == 1:
            return [z]
        got = f"{len(z)} outputs" if isinstance(z, (list, tuple)) else "one output (a tensor)"
        raise ValueError(f"The model returns {got}, and y has {n} per-output arrays.")

    # ------------------------------------------------------------------ loss
    def __call__(self, y: _PerOutput, z, sw: Optional[_PerOutput] = None) -> torch.Tensor:
        if isinstance(y.missing, _DifferentStructures):  # Keras's CompileLoss: before anything else
            raise y.missing.at(z)
        outs = self.flat(z)
        if sw is not None and sw.positional is not None:
            self._check_positional(z, sw.positional)
        y, sw = self.aligned(y), self.aligned(sw)
        if y.missing is not None:
            raise y.missing
        if sw is not None and getattr(self, "_renamed", False):
            raise TypeError("sample_weight with y as a list, for a model returning a dict: Keras 3.15.1 fails here "
                            "(TypeError: tuple indices must be integers or slices, not str; its CompileLoss looks the "
                            "dict's keys up in the sample weights, which its data adapter gave y's list structure). "
                            "Give y and sample_weight as dicts keyed by the model's keys.")
        floatx = torch.get_default_dtype()
        total = 0
        for i in self.order:
            value = self.loss_fns[i](y.parts[i], outs[i], None if sw is None else sw.parts[i]).to(floatx)
            if i in self._trackers:
                self._trackers[i].update(value)
            if self.weights[i] is not None:
                value = value * self.weights[i]
            total = total + value
        return total

    def _check_positional(self, z, n: int) -> None:
        """Keras's error at the first step for y only for the outputs with a loss and ``n`` sample weights in a list
        (see :meth:`sample_weights`): a model returning a dict, ``TypeError``; a list, ``IndexError`` for an output
        with a loss at an index past the ``n`` weights."""
        if isinstance(z, dict):
            raise TypeError("tuple indices must be integers or slices, not str (Keras 3.15.1's TypeError at the first "
                            "step: y for the outputs with a loss of a model returning a dict, with sample_weight a "
                            "list, or one array with a list y, which its data adapter gives y's list structure; its "
                            "CompileLoss looks the weights up by the dict's keys, compile_utils.py:826-827). Give y "
                            "and sample_weight as dicts keyed by the model's keys, or both as one array.")
        short = [self.names[i] if self.names[i] is not None else i for i in self.order if i >= n]
        if short:
            raise _ShortSampleWeights(f"tuple index out of range (Keras 3.15.1's IndexError at the first step: y holds "
                                      f"labels for the outputs with a loss alone, sample_weight {n} array(s) in y's "
                                      "structure (one array is repeated in a list y), and Keras's CompileLoss looks "
                                      "each loss's weights up at its output's index: none for outputs "
                                      f"{short}). Give y and sample_weight as one array each (for one output with a "
                                      "loss), or y with one array per output.")

    # ------------------------------------------------------------------ metrics
    def __bool__(self) -> bool:
        return any(self.metrics)

    def check(self, y: Optional[_PerOutput], z) -> None:
        """Without a loss, at the first step, before any update: the errors Keras's metrics raise as its step is
        traced (the outputs that do not match, a dict y's missing outputs)."""
        self.flat(z)
        if y is not None and y.missing is not None:
            raise y.missing

    def update(self, y: _PerOutput, z, sw: Optional[_PerOutput]) -> None:
        if y.missing is not None:
            raise y.missing
        outs = self.flat(z)
        y, sw = self.aligned(y), self.aligned(sw)
        if y.missing is not None:
            raise y.missing
        labels = y.parts if y.for_metrics is None else y.for_metrics
        for i, compiled in enumerate(self.metrics):
            if compiled and labels[i] is not None:  # (a validation y may label fewer outputs, as Keras's zip)
                compiled.update(labels[i], outs[i], None if sw is None else sw.parts[i])
        if not self._named:
            _name_entries(self.metrics)
            self._named = True

    def reset(self) -> None:
        for compiled in self.metrics:
            compiled.reset()
        self._trackers = {i: _LossTracker(weighted=False) for i in self.loss_logs}

    def results(self) -> dict:
        """The metrics' logs, then each output's loss (Keras's ``get_metrics_result`` order)."""
        out = {}
        for compiled in self.metrics:
            out.update(compiled.results())
        for i, log in self.loss_logs.items():
            out[log] = self._trackers[i].result()
        return out

    def directions(self) -> dict:
        out = {}
        for compiled in self.metrics:
            out.update(compiled.directions())
        return out



class _LossTracker:
    """Keras's loss tracker: a ``Mean`` in floatx (torch's default dtype) updated with each batch's loss and
    ``sample_weight=batch_size`` (``weighted=False``: the plain mean of the batch values, as the per-output loss
    trackers of a model with several outputs, which see no batch size). ``result()`` is 0.0 before any update."""

    def __init__(self, weighted: bool = True):
        self.mean, self.weighted = M.Mean(name="loss"), weighted

    def update(self, value: torch.Tensor, n: Optional[int] = None) -> None:
        value = value.detach()
        if self.weighted:
            self.mean.update_state(value, sample_weight=torch.tensor(float(n), device=value.device))
        else:
            self.mean.update_state(value)

    def result(self) -> float:
        return float(self.mean.result())


def _progress(verbose: int, total: int, desc: str):
    """``verbose=1``: a progress bar over the run (``verbose=2`` prints a line per epoch instead, as Keras)."""
    if verbose != 1:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                 TextColumn("{task.fields[logs]}"), transient=False)
    p.start()
    p.add_task(desc, total=total, logs="")
    return p


def predict(model: torch.nn.Module, x, *, batch_size: Optional[int] = None,
            output_activation: Union[None, str, Sequence, dict] = None,
            output_names: Optional[Sequence[str]] = None, steps: Optional[int] = None,
            verbose: Union[int, str] = "auto", callbacks: Sequence = ()):
    """Keras's ``predict``: the model's outputs in evaluation mode (Dropout off, BatchNormalization on its moving
    statistics), batch by batch, with the activation Keras's output layer applies (``output_activation``, default
    ``model.output_activation``, else none), as a NumPy array.

    A model of several outputs gives a list of arrays (it returns a list or tuple) or a dict of arrays (it returns a
    dict), as Keras's; ``output_activation`` is then one activation for every output, a list (one per output) or a
    dict keyed by output name (the dict's keys, else ``output_names`` / ``model.output_names``). A dict of outputs
    is returned keyed by the model's keys, in the model's order, whatever its ``output_names`` (as Keras's).

    ``x`` may give the inputs as batches, as :func:`fit` takes them: a generator of ``(x,)``, ``(x, y)`` or ``(x, y,
    sample_weight)`` tuples (Keras refuses a generator of bare arrays; any other iterator may yield them), a
    DataLoader, a PyDataset (whose ``__getitem__`` may give the bare array); only ``x`` is used. ``steps`` reads
    that many batches (default: the whole pass; on arrays batches of ``batch_size``, else ``ceil(N / steps)``,
    else 32, as Keras's).

    ``verbose``: Keras's argument and default: ``"auto"`` (or ``1``) shows Keras's progress bar over the batches,
    ``2`` Keras's one line at the end (``"3/3 - 0s - 2ms/step"``), ``0`` nothing (:class:`_Progbar`).

    ``callbacks``: :mod:`torch_impl.callbacks`, called as Keras's ``predict`` calls them: ``on_predict_begin``,
    per batch ``on_predict_batch_begin(batch)`` and ``on_predict_batch_end(batch, {"outputs": ...})`` with the
    batch's activated outputs (a NumPy array, as Keras's; a model of several outputs: a list of tensors, or a
    dict's outputs as keys of the logs, as Keras's log flattening gives them), ``on_predict_end``; ``params``
    ``{"verbose": verbose, "epochs": 1, "steps": batches}``; ``self.model.stop_predicting = True`` ends the
    run after that batch (the outputs so far are returned).

    Example:
        >>> import numpy as np, torch
        >>> net = torch.nn.Linear(3, 2)
        >>> predict(net, np.zeros((5, 3)), output_activation="softmax", verbose=0).sum(axis=1).round(6).tolist()
        [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    batch_size = None if batch_size is None else _batch_size(batch_size)
    steps = _steps(steps, "steps")
    dtype, device = _param_info(model)
    kind = _data_kind(x)
    if kind is None:
        xt = _as_inputs(x, dtype, device)
        batch_size = _steps_batch_size(batch_size, xt.shape[0], steps)  # Keras's array adapter
    else:
        adapter = data_adapter(x, kind)  # Keras's predict: no shuffle, no reset
        batches = _Batches(adapter, None, dtype, device, train=False, need_y=False)
        epoch_iterator = EpochIterator(adapter, steps)
    act = output_activation if output_activation is not None else getattr(model, "output_activation", None)
    total = (steps or math.ceil(xt.shape[0] / batch_size) if kind is None else epoch_iterator.num_batches)
    progress = _progbar(verbose, total)
    callbacks = CallbackList(callbacks, model, None, {"verbose": verbose, "epochs": 1, "steps": total})
    was_training = model.training
    model.eval()
    outs = []  # each batch's outputs after the output activation (Keras's batch outputs)
    activate = None

    def step(b: int, xb) -> bool:
        """One batch; whether a callback stopped the run."""
        nonlocal activate
        z = _call(model, xb)
        if activate is None:
            activate = _output_activations(model, z, act, output_names)
        outs.append(activate(z))
        _advance(progress)
        if callbacks:
            callbacks.on_predict_batch_end(b, {"outputs": outs[-1]})
            return model.stop_predicting
        return False

    try:
        if callbacks:
            model.stop_predicting = False  # Keras's: a batch hook may set it to end the run
            callbacks.on_predict_begin()
        with torch.no_grad():
            if kind is None:
                # an empty x: the model on the empty batch, for the output's shape and dtype (Keras 3.15.1 itself
                # fails there with an UnboundLocalError)
                num_batches = max(math.ceil(xt.shape[0] / batch_size), 1)
                for b in range(_capped_batches(num_batches, steps)):
                    if callbacks:
                        callbacks.on_predict_batch_begin(b)
                    if step(b, xt[b * batch_size:(b + 1) * batch_size]):
                        break
                else:
                    _ran_out(num_batches, steps)
            else:
                with epoch_iterator.catch_stop_iteration():
                    for b, iterator in epoch_iterator:
                        if callbacks:
                            callbacks.on_predict_batch_begin(b)  # Keras: before the batch is read
                        if step(b, batches.convert(next(iterator), b)):
                            break
        if callbacks:
            callbacks.on_predict_end()
    finally:
        model.train(was_training)
        _finish(progress, {})
    Penalties(model).clear()  # predict adds no loss
    first = outs[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(outs).cpu().numpy()
    if isinstance(first, dict):
        return {k: torch.cat([o[k] for o in outs]).cpu().numpy() for k in first}  # the model's order, as Keras's
    return [torch.cat([o[i] for o in outs]).cpu().numpy() for i in range(len(first))]


def _output_activations(model, first, act, output_names) -> Callable:
    """``predict``'s output activation, from the first batch's outputs: a function of a batch's outputs giving
    them activated, in the model's structure (a tensor; a list for a list or tuple; a dict in the model's key
    order)."""
    if isinstance(first, torch.Tensor):
        return ACTIVATIONS[act or "linear"]
    if isinstance(first, dict):
        keys = list(first)
        names = _output_names(model, output_names)
        if names is None or set(names) != {str(k) for k in keys}:
            # Keras names a dict of outputs by its keys, in its flat (sorted) order, whatever its output_names
            # (a functional model's are its output layers' names), as fit does
            names = sorted(str(k) for k in keys)
        order = [next(k for k in keys if str(k) == nm) for nm in names]
    elif isinstance(first, (list, tuple)):
        order = list(range(len(first)))
        names = _output_names(model, output_names) or [None] * len(order)
        if len(names) != len(order):
            raise ValueError(f"output_names has {len(names)} names for the model's {len(order)} outputs")
    else:
        raise TypeError(f"predict: the model returned a {type(first).__name__}, not a tensor, a list/tuple or a "
                        "dict of tensors")
    acts = _by_output(act, names, "output_activation") if isinstance(act, (list, tuple, dict)) else [act] * len(order)
    by_output = {k: ACTIVATIONS[a or "linear"] for k, a in zip(order, acts)}
    if isinstance(first, dict):
        return lambda z: {k: by_output[k](z[k]) for k in keys}
    return lambda z: [by_output[i](z[i]) for i in order]


def evaluate(model: torch.nn.Module, x, y=None, *, loss: Union[None, L.Loss, str, Callable, Sequence, dict] = None,
             batch_size: Optional[int] = None, sample_weight=None, metrics: Sequence = (),
             output_activation: Union[None, str, Sequence, dict] = None, weighted_metrics: Sequence = (),
             loss_weights: Union[None, float, Sequence[float], dict] = None,
             output_names: Optional[Sequence[str]] = None, steps: Optional[int] = None,
             verbose: Union[int, str] = "auto", return_dict: bool = True, callbacks: Sequence = ()):
    """Keras's ``evaluate(..., return_dict=True)``: loss (batch-size-weighted mean of batch losses) and metrics,
    in eval mode; ``weighted_metrics`` are weighted by ``sample_weight``. For several outputs ``y`` (and
    ``sample_weight``) hold one array per output and ``loss``, ``loss_weights``, ``metrics`` and
    ``output_activation`` are given as :func:`fit` takes them; the dict then has Keras's keys (``<name>_loss``,
    ``<name>_<metric>``). ``loss=None`` (the default): the loss is the model's added losses (as :func:`fit`'s), ``y``
    optional without ``metrics``; with several outputs a ``y`` of fewer arrays labels the first outputs and a dict
    ``y`` without an output raises ``KeyError`` when metrics are given, as in :func:`fit` (Keras's
    ``CompileMetrics``).

    ``x`` alone may give the data as batches ``(x, y)`` / ``(x, y, sample_weight)`` (a generator, a DataLoader, a
    PyDataset, as :func:`fit` takes them); ``steps`` reads that many batches (also of arrays, in batches of
    ``batch_size``, else ``ceil(N / steps)``, else 32, as Keras's; default: the whole pass; a
    generator read to its end ends the pass; Keras 3.15.1 warns ``Your input ran out of data`` there, later Keras
    (keras-team/keras#23360) and this only when ``steps`` was given).

    ``return_dict=False`` gives Keras's default return instead: the loss alone as a float when nothing else is
    logged, else a list in Keras's order (``model.metrics_names``: ``loss``, the compiled metrics' own names, the
    per-output losses, then the remaining keys sorted; a weighted metric logged as ``weighted_<name>`` thus
    repeats ``<name>``'s value, as Keras 3.15.1's list does), so ``loss, acc = model.evaluate(x, y)`` ports as
    ``loss, acc = evaluate(..., return_dict=False)``. ``verbose``: as :func:`predict`'s (Keras's ``"auto"`` by
    default: a progress bar with the running loss and metrics; ``2`` Keras's one line of logs,
    ``"3/3 - 0s - 2ms/step - accuracy: 0.5000 - loss: 1.3933"``; ``0`` nothing).

    ``callbacks``: :mod:`torch_impl.callbacks` (your own :class:`~torch_impl.callbacks.Callback`), called as
    Keras's ``evaluate`` calls them: ``on_test_begin``, per batch ``on_test_batch_begin(batch)`` and
    ``on_test_batch_end(batch, logs)`` with the running loss and metrics, ``on_test_end(logs)`` with the results;
    ``params`` ``{"verbose": verbose, "epochs": 1, "steps": batches}``; ``self.model.stop_evaluating = True``
    ends the evaluation after that batch (the results so far are returned).

    Example:
        >>> import torch
        >>> net = torch.nn.Linear(3, 2)
        >>> batches = ((torch.zeros(4, 3), torch.zeros(4, dtype=torch.long)) for _ in range(5))
        >>> logs = evaluate(net, batches, loss="sparse_categorical_crossentropy", steps=2, verbose=0)
        >>> sorted(logs)
        ['loss']
    """
    batch_size = None if batch_size is None else _batch_size(batch_size)
    steps = _steps(steps, "steps")
    dtype, device = _param_info(model)
    kind = _data_kind(x)
    if kind is not None:  # data given as batches: Keras's data adapters
        adapter = data_adapter(x, kind, y=y, sample_weight=sample_weight)
        x, y, _ = unpack(adapter.first_batch, kind)
        if y is None and loss is not None:
            raise ValueError(f"The {kind}'s batches hold no targets ({summary(adapter.first_batch)}): evaluate "
                             "takes batches (x, y) or (x, y, sample_weight).")
        loss_fn, compiled, multi = _compile_all(model, x, y, loss, loss_weights, metrics, weighted_metrics,
                                                output_activation, output_names)
        epoch_iterator = EpochIterator(adapter, steps)
        progress = _progbar(verbose, epoch_iterator.num_batches)
        callbacks = CallbackList(callbacks, model, None, {"verbose": verbose, "epochs": 1,
                                                          "steps": epoch_iterator.num_batches}, compiled.directions)
        logs = _evaluate_iterator(model, epoch_iterator, _Batches(adapter, multi, dtype, device, train=False,
                                                                  optional_y=loss_fn is None),
                                  loss_fn, compiled, Penalties(model), callbacks, progress=progress)
        _finish(progress, logs)
        return dict(sorted(logs.items())) if return_dict else _keras_results_list(logs, compiled)
    loss_fn, compiled, multi = _compile_all(model, x, y, loss, loss_weights, metrics, weighted_metrics,
                                            output_activation, output_names)
    xt = _as_inputs(x, dtype, device)
    if multi is None:
        yt = None if y is None else _labels(y, dtype, device)
        sw = None if sample_weight is None else _as_tensor(sample_weight, dtype, device)
    else:
        yt = multi.labels(y, dtype, device)
        sw = multi.sample_weights(sample_weight, lambda a: _as_tensor(a, dtype, device))
    batch_size = _steps_batch_size(batch_size, xt.shape[0], steps)  # Keras's array adapter
    shown = steps or math.ceil(xt.shape[0] / batch_size)  # Keras's params["steps"]: `steps` when given
    progress = _progbar(verbose, shown)
    callbacks = CallbackList(callbacks, model, None, {"verbose": verbose, "epochs": 1, "steps": shown},
                             compiled.directions)
    logs = _evaluate_tensors(model, xt, yt, sw, loss_fn, compiled, Penalties(model), batch_size, callbacks,
                             progress=progress, steps=steps)
    _finish(progress, logs)
    # Keras's pythonify_logs sorts the keys of evaluate's dict
    return dict(sorted(logs.items())) if return_dict else _keras_results_list(logs, compiled)


def _test_step(model, xb, yb, w, rows: int, loss_fn, compiled, penalties: Penalties, tracker: "_LossTracker") -> None:
    """Keras's ``test_step`` on one batch: the loss (with the regularization penalties) into ``tracker``, weighted
    by the batch's ``rows``, and the compiled metrics."""
    penalties.clear()
    z = _call(model, xb) if isinstance(compiled, _MultiOutput) else _one_output(_call(model, xb))
    if isinstance(yb, _PerOutput) and yb.missing is not None:  # Keras's KeyError, metrics or not (an empty list)
        raise yb.missing
    tracker.update(_compute_loss(penalties, loss_fn, yb, z, w), rows)
    if compiled:
        compiled.update(yb, z, w)


def _compute_loss(penalties: Penalties, loss_fn, y, z, w) -> torch.Tensor:
    """Keras's ``compute_loss`` (:meth:`Penalties.add`): the compiled loss plus the added losses; without a compiled
    loss (``loss_fn`` ``None``) the added losses alone (``keras/src/trainers/trainer.py`` ``compute_loss``)."""
    if isinstance(z, (dict, list, tuple)) and loss_fn is not None and not isinstance(loss_fn, _MultiOutput):
        raise _one_loss_path_error(z, 1)  # several outputs and one array y
    return penalties.add(None if loss_fn is None else loss_fn(y, z, w))


def _one_output(z):
    """A model's output as one-output ``fit`` takes it: a dict or a list/tuple of one tensor is that tensor, as
    Keras's ``CompileLoss`` packs a ``y`` that is one array into the output's structure when it has one entry
    (``compile_utils.py:743-748``) and its ``CompileMetrics`` applies every metric to it, unprefixed."""
    if isinstance(z, (dict, list, tuple)) and len(z) == 1:
        return next(iter(z.values())) if isinstance(z, dict) else z[0]
    return z


def _keras_results_list(logs: dict, compiled):
    """Keras's ``evaluate(return_dict=False)``: ``_flatten_metrics_in_order`` over ``model.metrics`` (the loss
    tracker, the compiled metrics by their own names, metrics before weighted metrics, then the per-output loss
    trackers), then the other keys sorted; one value alone as itself."""
    groups = compiled.metrics if isinstance(compiled, _MultiOutput) else [compiled]
    names = ["loss"]
    for weighted in (False, True):
        names += [m.name for g in groups for _, m, w in (g.entries or ()) if w == weighted]
    if isinstance(compiled, _MultiOutput):
        names += [compiled.loss_logs[i] for i in compiled.order if i in compiled.loss_logs]
    results = [logs[n] for n in names if n in logs]
    results += [logs[k] for k in sorted(logs) if k not in names]
    return results[0] if len(results) == 1 else results


def _verbosity(verbose) -> int:
    """Keras's ``verbose``: ``"auto"`` is 1."""
    if verbose == "auto":
        return 1
    if isinstance(verbose, bool) or not isinstance(verbose, int) or verbose not in (0, 1, 2):
        raise ValueError(f'verbose must be 0, 1, 2 or "auto", got {verbose!r}')
    return verbose


class _Progbar:
    """What Keras's ``ProgbarLogger`` prints for ``evaluate`` and ``predict`` (``keras/src/utils/progbar.py``,
    ``unit_name="step"``, every log shown as it is): ``verbose=1`` a bar redrawn in place (``\\r``, at most every
    0.05 s) with the running logs, its last state kept on its line; ``verbose=2`` one line at the end,
    ``"3/3 - 0s - 16ms/step - accuracy: 0.5000 - loss: 1.3933"``; the logs in sorted order (TensorFlow's). The
    counts end at the planned steps, also when a callback stops the run early (as Keras's); ``target`` ``None``
    (a generator of unknown length): ``"<n>/Unknown"``, then the steps read."""

    def __init__(self, target: Optional[int], verbose: int):
        self.target, self.verbose = target, verbose
        self.seen, self._width, self._last = 0, 0, 0.0
        self._start = time.time()
        self._after_first: Optional[float] = None

    def _per_step(self, current: int, now: float) -> float:  # Keras's _estimate_step_duration
        if not current:
            return 0.0
        if self._after_first is not None and current > 1:
            per = (now - self._after_first) / (current - 1)
        else:
            per = (now - self._start) / current
        if current == 1:
            self._after_first = now
        return per

    @staticmethod
    def _time(per: float) -> str:
        if per >= 1 or per == 0:
            return f" {per:.0f}s/step"
        return f" {per * 1e3:.0f}ms/step" if per >= 1e-3 else f" {per * 1e6:.0f}us/step"

    @staticmethod
    def _value(v, verbose: int) -> str:
        v = float(np.mean(v))
        return f" {v:.4f}" if (abs(v) if verbose == 1 else v) > 1e-3 else f" {v:.4e}"

    def update(self, logs=None, finalize: bool = False) -> None:
        """One more step (or the end: ``finalize``); ``logs`` a dict, or a function giving it (called only when
        the bar is drawn)."""
        if finalize:
            if self.target is None:
                self.target = self.seen
            current = self.target
        else:
            self.seen += 1
            current = self.seen
        now = time.time()
        per = self._per_step(current, now)
        if self.verbose == 1 and (finalize or now - self._last >= 0.05):
            logs = logs() if callable(logs) else (logs or {})
            message = "\b" * self._width + "\r"
            if self.target:
                digits = int(math.log10(self.target)) + 1
                filled = int(20 * current / self.target)
                bar = (f"\x1b[1m{current:{digits}d}/{self.target}\x1b[0m "
                       + (f"\33[32m{'━' * filled}\x1b[0m" if filled > 0 else "")
                       + f"\33[37m{'━' * (20 - filled)}\x1b[0m")
                special = 8 + (9 if filled > 0 else 0) + 9
            else:
                bar, special = f"{current:7d}/Unknown", 0
            if self.target and not finalize:
                eta = per * (self.target - current)
                eta = (f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}" if eta > 3600
                       else f"{int(eta // 60)}:{int(eta % 60):02d}" if eta > 60 else f"{int(eta)}s")
                info = f" \x1b[1m{eta}\x1b[0m"
            else:
                info = f" \x1b[1m{now - self._start:.0f}s\x1b[0m"
            info += self._time(per) + "".join(f" - {k}:{self._value(v, 1)}" for k, v in sorted(logs.items()))
            width = len(bar) + len(info) - special - 8
            message += bar + info + " " * max(self._width - width, 0) + ("\n" if finalize else "")
            sys.stdout.write(message)
            sys.stdout.flush()
            self._width, self._last = width, now
        elif self.verbose == 2 and finalize and self.target:
            logs = logs() if callable(logs) else (logs or {})
            digits = int(math.log10(self.target)) + 1
            sys.stdout.write(f"{current:{digits}d}/{self.target} - {now - self._start:.0f}s -{self._time(per)}"
                             + "".join(f" - {k}:{self._value(v, 2)}" for k, v in sorted(logs.items())) + "\n")
            sys.stdout.flush()


def _progbar(verbose, total: Optional[int]) -> Optional[_Progbar]:
    """``evaluate``/``predict``'s :class:`_Progbar` for Keras's ``verbose`` (``None`` for 0)."""
    verbose = _verbosity(verbose)
    return _Progbar(total, verbose) if verbose else None


def _advance(progress: Optional[_Progbar], logs=None) -> None:
    if progress is not None:
        progress.update(logs)


def _finish(progress: Optional[_Progbar], logs: dict) -> None:
    """End ``predict``/``evaluate``'s bar with the logs (Keras's ``verbose=1``), or print Keras's ``verbose=2``
    line."""
    if progress is not None:
        progress.update(logs, finalize=True)


def _evaluate_tensors(model, xt, yt, sw, loss_fn, compiled, penalties: Penalties, batch_size: int,
                      callbacks: Optional[CallbackList] = None, progress=None, steps: Optional[int] = None) -> dict:
    """:func:`evaluate` on converted data with the compiled loss (what ``fit`` validates with every epoch,
    calling the callbacks' ``on_test_*`` hooks as Keras's validation does); ``steps``: the first ``steps`` batches
    (Keras's ``steps`` / ``validation_steps`` on arrays; a validation starts its pass anew)."""
    was_training = model.training
    model.eval()
    tracker = _LossTracker()
    compiled.reset()
    if callbacks:
        model.stop_evaluating = False  # Keras's: a batch hook may set it to end the evaluation
        callbacks.on_test_begin()
    num_batches = math.ceil(xt.shape[0] / batch_size)
    with torch.no_grad():
        for b in range(_capped_batches(num_batches, steps)):
            if callbacks:
                callbacks.on_test_batch_begin(b)
            sl = slice(b * batch_size, (b + 1) * batch_size)
            xb, yb, w = xt[sl], None if yt is None else yt[sl], None if sw is None else sw[sl]
            _test_step(model, xb, yb, w, xb.shape[0], loss_fn, compiled, penalties, tracker)
            if callbacks:
                callbacks.on_test_batch_end(b, {"loss": tracker.result(), **compiled.results()})
            _advance(progress, lambda: {"loss": tracker.result(), **compiled.results()})
            if callbacks and model.stop_evaluating:
                break
        else:
            _ran_out(num_batches, steps)
    model.train(was_training)
    logs = {"loss": tracker.result(), **compiled.results()}
    if callbacks:
        callbacks.on_test_end(logs)
    return logs


def _batch_size(batch_size) -> int:
    if batch_size is None:
        return 32  # Keras's default for arrays
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    return int(batch_size)


def _warn_dtype(model_dtype: torch.dtype, loss) -> None:
    half = (torch.float16, torch.bfloat16)
    default = torch.get_default_dtype()
    if getattr(loss, "dtype", None) is None and model_dtype != default and model_dtype not in half:
        name = str(model_dtype).replace("torch.", "")
        warnings.warn(
            f"torch_impl.fit: the model is {model_dtype} and torch's default dtype (Keras's floatx here) is "
            f"{default}: like Keras with {name} layers under that floatx, the loss computes in the default dtype "
            "(a softmax/sigmoid output then trains on its clipped probabilities, not its logits), and the "
            f"learning rate and class weights are stored in it. To match a Keras run with floatx='{name}', call "
            f"torch.set_default_dtype({model_dtype}) first.", UserWarning, stacklevel=3)


#: the optimizer fit made from a name or config, per model (out of the model: its checkpoints stay as they were)
_NAMED_OPTIMIZERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _optimizer(optimizer, model: torch.nn.Module):
    """``fit``'s optimizer: a name or a serialized Keras optimizer made on the model's named parameters (Keras's
    ``compile(optimizer="adam")``), or an optimizer with ``step`` and ``zero_grad``."""
    if isinstance(optimizer, (str, dict)):
        from torch_impl import optim  # fit needs no optim otherwise

        # Keras's compile makes it once and every fit continues it: kept on the model for the same identifier
        # and the same parameters
        key = (repr(optimizer) if isinstance(optimizer, str) else _config_key(optimizer),
               tuple(id(p) for p in model.parameters()))
        made = _NAMED_OPTIMIZERS.get(model)
        if made is not None and made[0] == key:
            return made[1]
        named = list(model.named_parameters())
        # a model without parameters: Keras's optimizer is built on no variables (fit warns "The model does not
        # have any trainable weights." and takes no step); torch refuses an empty list, not a group without any
        opt = optim.get(optimizer, named if named else [{"params": []}])
        _NAMED_OPTIMIZERS[model] = (key, opt)
        return opt
    if not (callable(getattr(optimizer, "step", None)) and callable(getattr(optimizer, "zero_grad", None))):
        raise TypeError(f"fit: `optimizer` must be a torch optimizer (e.g. torch_impl.optim.Adam(model.parameters())), "
                        f"an optimizer name such as 'adam', or a serialized Keras optimizer; got {optimizer!r}")
    return optimizer


def _config_key(config: dict) -> str:
    """A serialized optimizer as a comparable string."""
    import json

    return json.dumps(config, sort_keys=True, default=repr)


def _train_weights(sample_weight, device) -> torch.Tensor:
    """``fit``'s ``sample_weight`` as a tensor (its dtype kept)."""
    return (_from_numpy(sample_weight) if not isinstance(sample_weight, torch.Tensor) else sample_weight).to(device)


def _weighted(loss_fn, loss_weights):
    """One output's loss times ``loss_weights`` (a number, or a list/dict of one), as Keras's compiled loss
    multiplies it."""
    if loss_weights is None:
        return loss_fn
    flat = list(loss_weights.values()) if isinstance(loss_weights, dict) else \
        list(loss_weights) if isinstance(loss_weights, (list, tuple)) else [loss_weights]
    if len(flat) != 1:
        raise ValueError(f"`loss_weights` must match the number of losses, got 1 losses and {len(flat)} weights.")
    weight = float(flat[0])

    def weighted(y, z, sw=None):
        return loss_fn(y, z, sw) * weight

    weighted.class_axis, weighted.activation_name = loss_fn.class_axis, loss_fn.activation_name
    return weighted


def _compile_all(model, x, y, loss, loss_weights, metrics, weighted_metrics, output_activation, output_names):
    """``(loss_fn, compiled metrics, multi)``: for one output the compiled loss and :class:`_CompiledMetrics`
    (``multi`` ``None``); for several outputs (``y`` one array per output) one :class:`_MultiOutput` as all three."""
    if loss is None:  # compile(optimizer) alone: the added losses are the loss (Keras's compute_loss)
        several = None if y is None else _several_outputs(model, x, y, loss, output_names)
        if several is not None:  # y per output: Keras's CompileMetrics alone, each output's metrics on its y
            multi = _MultiOutput(model, *several, None, loss_weights, metrics, weighted_metrics, output_activation,
                                 isinstance(y, (list, tuple)) and not several[1])
            return None, multi, multi
        if y is None and (metrics or weighted_metrics):  # Keras raises at the first step (a TensorFlow error)
            raise ValueError("`metrics` need targets: fit/evaluate got no y (Keras 3.15.1 raises `None values not "
                             "supported.` at the first step).")
        act = output_activation if output_activation is not None else getattr(model, "output_activation", None)
        return None, _CompiledMetrics(metrics, weighted_metrics, -1, act), None
    if y is None:  # Keras's compiled loss on y=None: `None values not supported.` at the first step
        raise ValueError("`loss` needs targets: fit/evaluate got no y (give y, or no `loss` for a model whose only "
                         "loss is added with `torch_impl.regularizers.add_loss`).")
    by_keys = _keyed_by_the_model(model, y, loss, output_names, (loss_weights, metrics, weighted_metrics,
                                                                output_activation))
    if isinstance(by_keys, list):  # y for a loss dict's outputs alone: a model returning a dict names them
        multi = _MultiOutput(model, by_keys, True, loss, loss_weights, metrics, weighted_metrics, output_activation,
                             by_keys=by_keys)
        return multi, multi, multi
    several = _several_outputs(model, x, y, loss, output_names)
    if several is None:
        if isinstance(loss, (list, tuple, dict)):
            raise ValueError(f"`loss` is a {type(loss).__name__} of per-output losses, but y is one array: give y as "
                             "a list with one array per output, or a dict keyed by output name." +
                             (" For y only for the outputs the loss dict names (Keras's CompileLoss gives it to "
                              "them, in its sorted keys' order), name the outputs: output_names=[...] (the keys of "
                              "the dict the model returns)." if isinstance(loss, dict) else ""))
        loss_fn = _weighted(_compile(model, loss, output_activation), loss_weights)
        return loss_fn, _CompiledMetrics(metrics, weighted_metrics, loss_fn.class_axis, loss_fn.activation_name), None
    partial = _partial_labels(y, loss, several[0]) is not None
    listed = isinstance(y, (list, tuple)) and not several[1] and not partial
    fewer = isinstance(y, dict) and several[1] is False and {str(k) for k in y} < set(several[0])  # output_names
    multi = _MultiOutput(model, *several, loss, loss_weights, metrics, weighted_metrics, output_activation, listed,
                         partial or fewer, by_keys)
    return multi, multi, multi


class _ClassWeightWithoutTargets(ValueError, IndexError):
    """``fit(x, class_weight=...)`` without ``y``: Keras 3.15.1 raises ``IndexError`` (its
    ``class_weight_to_sample_weights`` indexes the shape of ``None``); a ``ValueError`` as the other data errors."""


def _class_weight_labels(y, split: Optional[int]):
    """The labels Keras derives the class ids from: ``y`` as given (not ``yt``, which is cast to the model's
    dtype: float64 0.5000000001 would round to class 0 as float32 0.5, class 1 in Keras), only the training part
    (``val_loss`` is unweighted); with ``validation_split`` Keras's split casts float labels to ``floatx``
    (here ``torch.get_default_dtype()``) first."""
    labels = y if isinstance(y, torch.Tensor) else np.asarray(y)
    if split is None:
        return labels
    labels = labels[:split]
    floating = labels.is_floating_point() if isinstance(labels, torch.Tensor) else labels.dtype.kind == "f"
    return torch.as_tensor(labels).to(torch.get_default_dtype()) if floating else labels


def _data_kind(x) -> Optional[str]:
    """:func:`torch_impl.data_adapters.data_kind`; fit's own split of several inputs (:class:`_Inputs`) is arrays."""
    return None if isinstance(x, _Inputs) else data_kind(x)


# ----------------------------------------------------------------------------------------------------------------
# training on batches (see torch_impl.data_adapters)
# ----------------------------------------------------------------------------------------------------------------


def _seed_streams(model: torch.nn.Module) -> list:
    """The model's Keras seed generators (``Dropout``, ``GaussianNoise``, the RNN layers' dropout ``streams``...)."""
    from torch_impl._tf_random import SeedGenerator

    found, seen = [], set()
    for m in model.modules():
        for s in [m] + list(getattr(m, "streams", None) or ()):
            if isinstance(s, SeedGenerator) and id(s) not in seen:
                seen.add(id(s))
                found.append(s)
    return found


class _PhantomStep:
    """What Keras on TensorFlow does at a training step whose input runs out (``next`` raises): its compiled train
    function starts, and the ops that need no data run before the missing batch stops it. Measured with Keras
    3.15.1 (graph mode, the default): the optimizer's step count advances (``iterations``: Adam's bias correction
    of the next steps), so does every seed generator the step draws from (a ``Dropout``'s), and every ``Mean`` that
    counts one per batch (its count: a per-output ``<name>_loss``, a loss object given as a metric, a metric function
    returning one value per batch) while its total stays: that epoch's figure is its sum over one batch more. Here:
    the ``iterations`` of a :class:`torch_impl.optim.KerasOptimizer`, each seed stream by its draws in the last step
    taken, and the count of each metric whose last step counted exactly one for a batch of several samples
    (unweighted)."""

    def __init__(self, model: torch.nn.Module, optimizer, compiled):
        from torch_impl.optim import KerasOptimizer  # fit needs no optim otherwise

        self.optimizer = optimizer if isinstance(optimizer, KerasOptimizer) else None
        self.compiled = compiled
        self.streams = _seed_streams(model)
        self.draws = [0] * len(self.streams)
        self.per_batch: set = set()  # the metrics counting one per batch
        self._seeds, self._counts = None, None

    def _means(self) -> list:
        """``(key, Mean, weighted)`` of the compiled metrics and per-output loss trackers (made anew at each epoch)."""
        out = []
        if isinstance(self.compiled, _MultiOutput):
            out += [(("loss", i), t.mean, False) for i, t in self.compiled._trackers.items()]
            groups = self.compiled.metrics
        else:
            groups = [self.compiled]
        for j, c in enumerate(groups):
            out += [(("metric", j, k), e[1], e[2]) for k, e in enumerate(c.entries or ())]
        return [(key, m, w) for key, m, w in out if isinstance(m, M.Mean)]

    def before_step(self) -> None:
        if self.streams:
            self._seeds = [s.state[1] for s in self.streams]
        self._counts = {key: m.count for key, m, _ in self._means()}

    def after_step(self, rows: int, weighted: bool) -> None:
        if self.streams:
            self.draws = [s.state[1] - c for s, c in zip(self.streams, self._seeds)]
        if rows > 1:  # (one sample: a count of one says nothing)
            self.per_batch = {key for key, m, w in self._means() if key in self._counts and not (w and weighted)
                              and float(m.count - self._counts[key]) == 1.0}

    def next_batch(self, iterator):
        """``next(iterator)``; where the input runs out, the step still runs its data-free part (``self()``)
        before the ``StopIteration`` ends the epoch."""
        try:
            return next(iterator)
        except StopIteration:
            self()
            raise

    def __call__(self) -> None:
        if self.optimizer is not None:
            for group in self.optimizer.param_groups:
                group["iterations"] += 1
        for s, d in zip(self.streams, self.draws):
            s.state = (s.state[0], s.state[1] + d)
        for key, m, _ in self._means():
            if key in self.per_batch:
                m.count = m.count + 1


class _Batches:
    """Converts each batch of an adapter as ``fit`` / ``evaluate`` use it: checked against the first batches'
    signature, unpacked, each part converted as the arrays of ``fit`` would be."""

    def __init__(self, adapter, multi, dtype, device, train: bool, need_y: bool = True, optional_y: bool = False):
        # optional_y: batches without targets taken (no compiled loss: the model's added losses are the loss)
        self.adapter, self.multi, self.dtype, self.device = adapter, multi, dtype, device
        self.train, self.need_y, self.optional_y = train, need_y, optional_y

    def first(self) -> tuple:
        """The first batch's ``(x, y, sample_weight)`` as given (for ``compile``'s choices)."""
        return unpack(self.adapter.first_batch, self.adapter.kind)

    def convert(self, batch, step: int):
        kind = self.adapter.kind
        self.adapter.spec.check(batch, step)
        x, y, sw = unpack(batch, kind)
        if not self.need_y:
            return _as_inputs(x, self.dtype, self.device)
        if y is None and not self.optional_y:
            raise ValueError(f"Batch {step} of the {kind} holds no targets ({summary(batch)}): to train or evaluate, "
                             "give batches (x, y) or (x, y, sample_weight).")
        sizes = {n for n in (batch_rows(x), batch_rows(y), batch_rows(sw)) if n is not None}
        if len(sizes) > 1:
            raise ValueError(f"Data cardinality is ambiguous: batch {step} of the {kind} holds "
                             f"x {summary(x)}, y {summary(y)}" + (f", sample_weight {summary(sw)}" if sw is not None
                                                                   else "") +
                             ": make sure all arrays of a batch contain the same number of samples.")
        xb = _as_inputs(x, self.dtype, self.device)
        if y is None:
            yb = None
        elif self.multi is None:
            yb = _labels(y, self.dtype, self.device)
        else:
            yb = self.multi.labels(y, self.dtype, self.device)
        wb = None
        if sw is not None:
            if self.train:
                convert = lambda a: _train_weights(a, self.device)  # noqa: E731
            else:
                convert = lambda a: _as_tensor(a, self.dtype, self.device)  # noqa: E731
            wb = convert(sw) if self.multi is None else self.multi.sample_weights(sw, convert)
        return xb, yb, wb, xb.shape[0]


class _ArrayPasses:
    """Keras's ``ArrayDataAdapter`` as its ``EpochIterator`` reads it (:class:`EpochIterator` here): ``fit`` on
    arrays with ``steps_per_epoch``. Each pass is ``ceil(n / batch_size)`` batches of sample indices from a new
    order (``new_order()``: Keras 3.15.1 shuffles each pass as the first, ``keras_shuffle_order``); a pass is
    continued across epochs and one that is used up ends its epoch (with Keras's "ran out of data" warning)."""

    kind = "arrays"

    def __init__(self, n: int, batch_size: int, new_order: Callable):
        self.num_batches, self.batch_size, self.new_order = math.ceil(n / batch_size), batch_size, new_order

    def get_iterator(self):
        order = self.new_order()  # drawn at the pass's first batch
        for b in range(self.num_batches):
            yield order[b * self.batch_size:(b + 1) * self.batch_size]

    def on_epoch_begin(self) -> None:
        pass

    def on_epoch_end(self) -> None:
        pass


def _steps_batch_size(batch_size: Optional[int], n: int, steps: Optional[int]) -> int:
    """Keras's ``ArrayDataAdapter`` batch size: ``batch_size`` as given, else ``ceil(n / steps)`` with ``steps``
    (``steps_per_epoch``, ``validation_steps``, ``steps=``), else 32."""
    if batch_size is not None:
        return batch_size
    return max(1, math.ceil(n / steps)) if steps else 32


def _capped_batches(num_batches: int, steps: Optional[int]) -> int:
    """The batches an ``evaluate`` / ``predict`` / validation on arrays reads with ``steps``: ``steps``, at most the
    pass (Keras then warns "Your input ran out of data": :func:`_ran_out`)."""
    return num_batches if steps is None else min(steps, num_batches)


def _ran_out(num_batches: int, steps: Optional[int]) -> None:
    """Keras's ``EpochIterator`` warning when ``steps`` asked for more batches than the arrays hold (given once the
    pass is read, as Keras's)."""
    if steps is not None and steps > num_batches:
        EpochIterator._interrupted_warning()


def _steps(value, name: str) -> Optional[int]:
    """``steps_per_epoch`` / ``validation_steps`` / ``steps``: ``None`` (or 0, which Keras takes as ``None``) or a
    positive integer."""
    if value is None or (not isinstance(value, bool) and isinstance(value, numbers.Integral) and value == 0):
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral)):  # Keras: range(5.0)
        raise _StepsTypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer (`{name}` must "
                              f"be a positive integer or None, got {value!r}: Keras 3.15.1 raises this TypeError)")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"`{name}` must be a positive integer or None, got {value!r}")
    return int(value)


class _StepsTypeError(TypeError, ValueError):
    """A float step count: Keras's ``TypeError`` (its epoch iterator's ``range(steps)``), also a ``ValueError``."""


def _validation_kind(validation_data) -> tuple:
    """``(kind, (x, y, sample_weight))`` of ``fit``'s ``validation_data`` given as batches (itself, or as the
    first entry of a tuple, as Keras unpacks it); ``(None, None)`` for arrays."""
    if validation_data is None:
        return None, None
    kind = _data_kind(validation_data)
    if kind is not None:
        return kind, (validation_data, None, None)
    if isinstance(validation_data, (tuple, list)) and validation_data:
        kind = _data_kind(validation_data[0])
        if kind is not None:
            return kind, unpack(tuple(validation_data), "validation_data")
    return None, None


def _evaluate_iterator(model, epoch_iterator: EpochIterator, batches: _Batches, loss_fn, compiled,
                       penalties: Penalties, callbacks: Optional[CallbackList] = None, progress=None) -> dict:
    """Keras's ``evaluate`` on an :class:`EpochIterator` (what ``fit`` validates on, its cached validation
    iterator, when ``validation_data`` is given as batches): ``reset()`` first (a PyDataset's ``on_epoch_end``;
    a new pass), then ``steps`` batches or the whole pass. A step whose input runs out counts as in training
    (:class:`_PhantomStep`: Keras's test function starts on the missing batch), without an optimizer."""
    was_training = model.training
    model.eval()
    epoch_iterator.reset()
    tracker = _LossTracker()
    compiled.reset()
    phantom = _PhantomStep(model, None, compiled)
    if callbacks:
        model.stop_evaluating = False
        callbacks.on_test_begin()
    try:
        with torch.no_grad(), epoch_iterator.catch_stop_iteration():
            for b, iterator in epoch_iterator:
                if callbacks:
                    callbacks.on_test_batch_begin(b)
                xb, yb, w, rows = batches.convert(phantom.next_batch(iterator), b)  # Keras's test function too
                phantom.before_step()
                _test_step(model, xb, yb, w, rows, loss_fn, compiled, penalties, tracker)
                phantom.after_step(rows, w is not None)
                if callbacks:
                    callbacks.on_test_batch_end(b, {"loss": tracker.result(), **compiled.results()})
                _advance(progress, lambda: {"loss": tracker.result(), **compiled.results()})
                if callbacks and model.stop_evaluating:
                    break
    finally:
        model.train(was_training)
    logs = {"loss": tracker.result(), **compiled.results()}
    if callbacks:
        callbacks.on_test_end(logs)
    return logs


def fit(
    model: torch.nn.Module,
    x,
    y=None,
    *,
    loss: Union[None, L.Loss, str, Callable, Sequence, dict] = None,
    optimizer: Union[torch.optim.Optimizer, str, dict],
    batch_size: Optional[int] = None,
    epochs: int = 1,
    shuffle: Union[bool, str] = True,
    generator: Union[None, int, np.random.Generator] = None,
    seed: Optional[int] = None,
    class_weight: Optional[dict] = None,
    sample_weight=None,
    validation_data: Optional[tuple] = None,
    validation_split: float = 0.0,
    metrics: Sequence = (),
    weighted_metrics: Sequence = (),
    output_activation: Union[None, str, Sequence, dict] = None,
    loss_weights: Union[None, float, Sequence[float], dict] = None,
    output_names: Optional[Sequence[str]] = None,
    verbose: Union[int, str] = 1,
    on_batch_end: Optional[Callable[[int, int, dict], None]] = None,
    on_epoch_end: Optional[Callable[[int, dict], None]] = None,
    callbacks: Sequence = (),
    initial_epoch: int = 0,
    validation_freq: Union[int, Sequence[int]] = 1,
    validation_batch_size: Optional[int] = None,
    steps_per_epoch: Optional[int] = None,
    validation_steps: Optional[int] = None,
) -> History:
    """Train ``model`` the way ``keras.Model.fit`` would (see the module docstring).

    Args:
        model: returns logits (a list/tuple or a dict of them for several outputs); ``output_activation``
            (default ``model.output_activation``) is the activation Keras applies (one per output: a list or a
            dict keyed by output name; one name applies to every output).
        x, y: arrays or tensors (labels: integer ids, one-hot, or binary; for several outputs a list or a dict of
            them, one per output, or, as Keras takes them, only for the outputs whose loss is not ``None``: one
            array or a list in the losses' order); ``x`` of a multi-input model as
            Keras's: a list of arrays (``model(x1, x2)``) or a dict of arrays (``model(**x)``: keyword
            arguments named as Keras's ``Input`` layers). Arrays are cast to the model's dtype (Keras's default
            float ``Input``); give token ids for an ``nn.Embedding`` as a torch integer tensor, which is kept
            (Keras's ``Input(dtype="int32")``; a float32 cast would also round ids above 2**24).
            Or ``x`` alone (``y=None``) gives the data as batches ``(x, y)`` / ``(x, y, sample_weight)``: a
            generator or iterator, a ``DataLoader`` or other iterable, a PyDataset-like object (module docstring);
            ``batch_size`` is then ignored, ``shuffle`` only shuffles a PyDataset's batch order (with Python's
            ``random``), and ``y``, ``sample_weight``, ``validation_split``, ``seed``, ``generator`` raise.
        loss: a :mod:`torch_impl.losses` loss, a Keras loss name or a callable, as Keras's
            ``compile(loss=...)`` takes it (:func:`as_loss`); ``"crossentropy"`` / ``"ce"`` picks binary, sparse
            or categorical crossentropy from the first batch's shapes, as Keras's ``compile`` does. ``None``
            (Keras's ``compile(optimizer)`` without a loss, the Keras 2-era VAE): the loss is the sum of the losses
            the model adds (:func:`torch_impl.regularizers.add_loss`, its regularizers); ``y`` (and the targets of
            ``validation_data``: ``(x_val,)``, ``(x_val, None)`` or ``x_val``) may then be left out, unless
            ``metrics`` need them (several outputs: ``y`` per output, a dict or a list, feeds each output's
            ``metrics``, logged ``<name>_<metric>`` as Keras's); with nothing added Keras's ``ValueError`` ("No loss
            to compute") at the first batch, where Keras raises it.
        optimizer: built on ``model.parameters()`` (e.g. :class:`torch_impl.optim.Adam`), or as Keras's
            ``compile(optimizer=...)`` takes it: a name (``"adam"``: Keras's defaults) or a serialized Keras
            optimizer, made on ``model.named_parameters()`` (:func:`torch_impl.optim.get`).
        shuffle: as Keras's: ``True`` shuffles the samples each epoch, ``"batch"`` keeps the batches in order and
            shuffles the samples inside each (as Keras's ``shuffle="batch"``), ``False`` keeps the order.
        generator: NumPy generator or seed for the per-epoch permutations.
        seed: the Keras run's ``keras.utils.set_random_seed(seed)``: ``shuffle=True`` (or ``"batch"``) then takes
            Keras's order (the same every epoch, as Keras 3.15.1's); not with ``generator``. Without ``seed`` and
            ``generator``, the seed of :func:`torch_impl.keras_random.set_random_seed` if one was set (as Keras's
            ``fit`` follows ``keras.utils.set_random_seed``), else fresh NumPy permutations.
        metrics, weighted_metrics: as ``compile``'s: names, :mod:`torch_impl.metrics` objects or
            ``fn(y_true, y_pred)`` functions; ``weighted_metrics`` weighted by ``sample_weight`` / ``class_weight``.
        class_weight: ``{class id: weight}``, each training sample weighted by its label's (Keras's rule), one
            output only; as Keras's array adapter, before training, ``sample_weight`` beside it or a ``y`` per
            output raise ``ValueError``, and no ``y`` a ``ValueError`` that is also Keras's ``IndexError``.
        verbose: ``0`` silent, ``1`` or ``"auto"`` (Keras's default) a progress bar, ``2`` a line per epoch.
        on_batch_end: ``f(epoch, batch, logs)`` after each optimizer step.
        on_epoch_end: ``f(epoch, logs)`` after each epoch, with the epoch's
            figures (e.g. :meth:`torch_impl.diagnose.TrainingDoctor.on_epoch_end`).
        callbacks: Keras-style :mod:`torch_impl.callbacks` (``EarlyStopping``,
            ``ReduceLROnPlateau``, ``TerminateOnNaN``, your own ``Callback``), called
            where ``keras.Model.fit`` calls them; ``model.stop_training = True``
            stops training.
        initial_epoch, validation_freq, validation_batch_size: as Keras's ``fit``: epochs run from
            ``initial_epoch`` to ``epochs``; validation after every ``validation_freq``-th epoch (or the
            1-based epochs listed); validation batches of ``validation_batch_size`` (default ``batch_size``).
        validation_data: ``(x, y)`` or ``(x, y, sample_weight)`` arrays, or batches as ``x`` takes them (a
            generator, a DataLoader, a PyDataset), read as Keras reads them: a new pass at each validation, a
            generator's two first batches replayed once it ran out.
        steps_per_epoch, validation_steps: the batches per epoch / per validation (as Keras's: the training pass
            is continued across epochs, a used-up pass ending its epoch; a validation restarts its input), for
            arrays too (without ``batch_size`` / ``validation_batch_size`` their batches are then
            ``ceil(N / steps)`` samples). ``None``: a whole pass.
        loss_weights: as ``compile``'s: a number for one output (or one loss for every output); a list or a dict
            keyed by output name for several.
        output_names: the names of a model's list/tuple outputs (Keras's output layers' names), which name the
            per-output logs and key the dicts of ``loss``, ``metrics``, ``y``...; default
            ``model.output_names``. A model returning a dict is named by its keys. See "several outputs" in the
            module docstring.
    Returns:
        :class:`History`.
    """
    # as given (None: Keras's array adapter makes it ceil(N / steps_per_epoch) with steps_per_epoch, else 32)
    given_batch_size = None if batch_size is None else _batch_size(batch_size)
    batch_size = given_batch_size or 32
    validation_batch_size = given_batch_size if validation_batch_size is None else \
        _batch_size(validation_batch_size)
    if not (isinstance(shuffle, (bool, np.bool_, int)) or shuffle == "batch"):
        raise ValueError(f'fit: `shuffle` must be True, False or "batch" (Keras\'s), got {shuffle!r}')
    shuffle = shuffle if shuffle == "batch" else bool(shuffle)
    if (validation_data is not None or validation_split) and not isinstance(validation_freq, (int, list)):
        # Keras's _should_eval: an int (True counts as 1) or a list, checked when there is validation data (Keras
        # raises at the first epoch's end, after training it; here before training)
        raise ValueError("Expected `validation_freq` to be a list or int. Received: "
                         f"validation_freq={validation_freq} of the type {type(validation_freq)}.")
    steps_per_epoch = _steps(steps_per_epoch, "steps_per_epoch")
    validation_steps = _steps(validation_steps, "validation_steps")
    kind = _data_kind(x)
    val_kind, val_parts = _validation_kind(validation_data)
    optimizer = _optimizer(optimizer, model)
    adapter = array_iterator = None
    if kind is not None:  # data given as batches: Keras's data adapters
        if validation_split and validation_data is None:  # Keras's train_validation_split
            raise ValueError("Argument `validation_split` is only supported for tensors or NumPy arrays."
                             f"Found incompatible type in the input: [{type(x)}]")
        if seed is not None or generator is not None:
            raise ValueError(f"fit: `seed` and `generator` order the samples of arrays; a {kind} gives its batches in "
                             "its own order (a PyDataset's is shuffled with Python's `random` module, which "
                             "keras.utils.set_random_seed seeds: call random.seed(...) for it).")
        adapter = data_adapter(x, kind, y=y, sample_weight=sample_weight, class_weight=class_weight, shuffle=shuffle)
        x, y, _ = unpack(adapter.first_batch, kind)  # compile's choices from the first batch, as Keras builds
        if y is None and loss is not None:
            raise ValueError(f"The {kind}'s batches hold no targets ({summary(adapter.first_batch)}): fit trains on "
                             "batches (x, y) or (x, y, sample_weight).")
    if class_weight is not None and kind is None:  # Keras's array adapter, made before training and any step
        if sample_weight is not None:
            raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
        # Keras: tree.is_nested(y), a loss or not (a list of rows as long as x is taken as one y here, as before)
        if isinstance(y, dict) or (arrays_per_output(y) and len(y) != _n_samples(x)):
            raise ValueError("`class_weight` is only supported for Models with a single output. (Keras refuses it "
                             "too: give each output's class weights as its sample_weight, "
                             "class_weight_to_sample_weight(y_i, class_weight_i).)")
        if y is None:  # Keras 3.15.1: IndexError from class_weight_to_sample_weights(None, ...)
            raise _ClassWeightWithoutTargets("`class_weight` weighs the samples by their targets: fit got no y "
                                             "(Keras 3.15.1 raises IndexError: tuple index out of range).")
    loss_fn, compiled, multi = _compile_all(model, x, y, loss, loss_weights, metrics, weighted_metrics,
                                            output_activation, output_names)
    penalties = Penalties(model)  # the regularizers, found once
    if class_weight is not None and sample_weight is not None:
        raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
    if class_weight is not None and multi is not None and (isinstance(y, dict) or arrays_per_output(y)):
        raise ValueError("`class_weight` is only supported for Models with a single output. (Keras refuses it too: "
                         "give each output's class weights as its sample_weight, "
                         "class_weight_to_sample_weight(y_i, class_weight_i).)")
    dtype, device = _param_info(model)
    if loss is not None:
        _warn_dtype(dtype, loss if multi is None else next(l for l in multi.losses if l is not None))
    _warn_dense_embedding(model, optimizer)
    _warn_second_rnn_bias(model, optimizer)
    if adapter is not None:
        train_batches = _Batches(adapter, multi, dtype, device, train=True, optional_y=loss_fn is None)
        epoch_iterator = EpochIterator(adapter, steps_per_epoch)
        epoch_iterator.reset()  # Keras's fit starts so: a PyDataset's on_epoch_end is called once first
        steps = epoch_iterator.num_batches
        phantom = _PhantomStep(model, optimizer, compiled)
    else:
        xt = _as_inputs(x, dtype, device)
        yt = None if y is None else _labels(y, dtype, device) if multi is None else multi.labels(y, dtype, device)
        if yt is not None and xt.shape[0] != yt.shape[0]:
            raise ValueError(f"Data cardinality is ambiguous: x has {xt.shape[0]} samples, y has {yt.shape[0]}.")
        sw = None
        if sample_weight is not None:
            sw = _train_weights(sample_weight, device) if multi is None else \
                multi.sample_weights(sample_weight, lambda a: _train_weights(a, device))
            n_sw = sw.shape[0] if isinstance(sw, _PerOutput) or sw.dim() else None
            if n_sw != xt.shape[0]:
                raise ValueError(f"sample_weight has {n_sw if n_sw is not None else 'no'} entries for {xt.shape[0]} "
                                 "samples (x)")
        split = None
        if validation_split and validation_data is None:
            if not 0 < validation_split < 1:
                raise ValueError(f"validation_split must be in (0, 1), got {validation_split!r}")
            split = int(math.floor(xt.shape[0] * (1.0 - validation_split)))
            if split == 0 or split == xt.shape[0]:  # Keras's train_validation_split raises the same
                raise ValueError(f"Training data contains {xt.shape[0]} samples, which is not sufficient to split it "
                                 "into a validation and training set as specified by "
                                 f"`validation_split={validation_split}`. "
                                 "Either provide more data, or a different value for the `validation_split` argument.")
            validation_data = (xt[split:], None if yt is None else yt[split:]) + \
                ((sw[split:],) if sw is not None else ())
            xt, yt = xt[:split], None if yt is None else yt[:split]
            sw = sw[:split] if sw is not None else None
        n = xt.shape[0]
        if n == 0 and steps_per_epoch is not None:  # Keras 3.15.1: ZeroDivisionError in its array adapter
            raise ValueError(f"fit got no training samples (x holds 0) with steps_per_epoch={steps_per_epoch}.")
        batch_size = _steps_batch_size(given_batch_size, n, steps_per_epoch)  # Keras's array adapter
        if class_weight is not None:
            sw = class_weight_to_sample_weight(_class_weight_labels(y, split), class_weight, device=device)
            if multi is not None:  # one y for fewer outputs (Keras's adapter converts any y not nested): one array
                sw = multi.sample_weights(sw, lambda a: a)  # weighs every output
        if seed is None and generator is None:  # Keras's order follows keras.utils.set_random_seed's global seed
            seed = global_seed()  # (torch_impl.keras_random.set_random_seed here); None: none was set
        if seed is not None:
            if generator is not None:
                raise ValueError("fit: give `seed` (Keras's shuffle order) or `generator` (NumPy permutations), "
                                 "not both")
            if shuffle:  # shuffle=False keeps the order, seed or not (as Keras's)
                keras_order = torch.as_tensor(keras_shuffle_order(n, seed, shuffle, batch_size), device=device)
        rng = generator if isinstance(generator, np.random.Generator) else np.random.default_rng(generator)

        def new_order() -> torch.Tensor:
            """The sample order of a pass over the arrays (each epoch's; with steps_per_epoch each new pass's)."""
            if not shuffle:
                return torch.arange(n, device=device)
            if seed is not None:
                return keras_order
            if shuffle == "batch":  # the batches in order, the samples shuffled inside each (Keras's)
                return torch.as_tensor(np.concatenate([start + rng.permutation(min(batch_size, n - start))
                                                       for start in range(0, n, batch_size)] or [[]]),
                                       dtype=torch.int64, device=device)
            return torch.as_tensor(rng.permutation(n), device=device)

        steps = math.ceil(n / batch_size)
        # Keras's EpochIterator over its array adapter: with steps_per_epoch a pass is continued across epochs
        array_iterator = None if steps_per_epoch is None else \
            EpochIterator(_ArrayPasses(n, batch_size, new_order), steps_per_epoch)
        if array_iterator is not None:
            steps = steps_per_epoch
    val_iterator = None  # Keras's cached validation EpochIterator, made at the first validation
    if validation_data is not None and val_kind is None:  # converted once, not every epoch
        # Keras's unpack_x_y_sample_weight: (x, y), (x, y, sample_weight), (x,) / (x, None) / x: no targets
        vx, vy, vsw = unpack(validation_data, "validation_data")
        if vy is None and loss_fn is not None:  # Keras: `None values not supported.` at the first validation
            raise ValueError("validation_data holds no targets: with a `loss`, give (x_val, y_val) or "
                             "(x_val, y_val, sample_weight).")
        if vy is None and compiled:
            raise ValueError("validation_data holds no targets for the `metrics`: give (x_val, y_val) (Keras 3.15.1 "
                             "raises `None values not supported.` at the first validation).")
        vx = _as_inputs(vx, dtype, device)
        if vy is not None:
            vy = _labels(vy, dtype, device) if multi is None else multi.labels(vy, dtype, device)
        if vsw is not None:
            vsw = _as_tensor(vsw, dtype, device) if multi is None else \
                multi.sample_weights(vsw, lambda a: _as_tensor(a, dtype, device))
        # Keras's ValueError at the first validation (here before training); a short y_val or sample weights
        # broadcast against the predictions otherwise
        v_sizes = {"x": vx.shape[0], "y": None if vy is None else vy.shape[0],
                   "sample_weight": None if vsw is None or not (isinstance(vsw, _PerOutput) or vsw.dim())
                   else vsw.shape[0]}
        if len({s for s in v_sizes.values() if s is not None}) > 1:
            raise ValueError("Data cardinality is ambiguous: validation_data holds different numbers of samples ("
                             + ", ".join(f"{k}: {s}" for k, s in v_sizes.items() if s is not None) + ").")
    elif val_kind is not None:
        if val_parts[1] is not None:  # Keras raises these at the first validation; here before training
            unsupported_arg("y", "the targets", val_kind)
        if val_parts[2] is not None:
            unsupported_arg("sample_weights", "the sample weights", val_kind)
        if val_kind in ("generator", "Python iterator") and validation_steps is not None \
                and validation_steps > PEEKED:  # up to PEEKED steps, every validation reads the replayed batches
            warnings.warn(
                f"torch_impl.fit: validation_data is a {val_kind} with validation_steps={validation_steps}: Keras on "
                "TensorFlow restarts the validation input at each validation, replaying its first two batches and "
                "then continuing it; tf.data's prefetch drops the batches it had read ahead (a timing-dependent "
                "number, typically one per validation), so Keras's val_ figures from the second validation on vary "
                "from run to run. torch_impl drops none. For figures both sides agree on, validate on a PyDataset, a "
                "DataLoader or arrays.", UserWarning, stacklevel=2)
    # Keras's train_step differentiates optimizer.scale_loss(loss) and reports the loss itself
    scale_loss = getattr(optimizer, "scale_loss", None)
    history = History()
    callbacks = CallbackList(callbacks, model, optimizer, {"verbose": verbose, "epochs": epochs, "steps": steps},
                             compiled.directions)
    model.stop_training = False
    progress = _progress(1 if verbose == "auto" else verbose,  # Keras's ProgbarLogger: "auto" is 1
                         steps * max(epochs - initial_epoch, 0) if steps else None, "fit")
    train_logs = None
    occurrences = keras_embedding_gradients(model)  # each lookup's rows of a sparse Embedding, as Keras keeps them

    unchecked = [loss_fn is None and multi is not None]  # the outputs met by the metrics alone: before a step

    def train_step(epoch: int, b: int, xb, yb, wb, n: int, tracker: _LossTracker) -> None:
        optimizer.zero_grad(set_to_none=True)
        penalties.clear()  # Keras clears a model's added losses at each call
        z = _call(model, xb) if multi is not None else _one_output(_call(model, xb))
        if unchecked[0]:  # Keras traces its metrics with the step: their errors come before any update
            unchecked[0] = False
            multi.check(yb, z)
        value = _compute_loss(penalties, loss_fn, yb, z, wb)  # Keras's compute_loss
        if value.requires_grad:
            (scale_loss(value) if scale_loss is not None else value).backward()
            optimizer.step()
        else:  # Keras's train_step without trainable weights: no update, the optimizer's step count kept
            warnings.warn("The model does not have any trainable weights.", UserWarning, stacklevel=3)
        batch_loss = float(value.detach())
        tracker.update(value, n)
        if compiled:
            with torch.no_grad():
                compiled.update(yb, z, wb)
        if on_batch_end is not None:
            on_batch_end(epoch, b, {"loss": batch_loss})
        if callbacks:  # Keras's batch logs: the epoch's running means
            callbacks.on_train_batch_end(b, {"loss": tracker.result(), **compiled.results()})
        if progress is not None:
            progress.update(progress.task_ids[0], advance=1,
                            logs=f"epoch {epoch + 1}/{epochs} loss {tracker.result():.4f}")

    try:
        callbacks.on_train_begin()
        # Keras's `self._initial_epoch or initial_epoch`: the epoch a BackupAndRestore callback restored (kept on
        # the model, as Keras keeps it, for later fit calls too)
        initial_epoch = getattr(model, "_initial_epoch", None) or initial_epoch
        for epoch in range(initial_epoch, epochs):
            started = time.perf_counter()
            compiled.reset()  # Keras: reset_metrics(), then on_epoch_begin
            callbacks.on_epoch_begin(epoch)
            model.train()
            tracker = _LossTracker()
            done = 0  # the epoch's batches
            if adapter is None:
                if array_iterator is None:
                    order = new_order()
                    batches = ((b, order[b * batch_size:(b + 1) * batch_size]) for b in range(steps))
                else:  # Keras's EpochIterator: no more than the pass holds (it then warns, ending the epoch)
                    batches = ((b, next(iterator)) for b, iterator in array_iterator)
                for b, idx in batches:
                    xb, yb = xt[idx], None if yt is None else yt[idx]
                    wb = None if sw is None else sw[idx]
                    callbacks.on_train_batch_begin(b)
                    train_step(epoch, b, xb, yb, wb, xb.shape[0], tracker)
                    done += 1
                    if model.stop_training:
                        break
            else:
                with epoch_iterator.catch_stop_iteration():  # an input that runs out ends the epoch
                    for b, iterator in epoch_iterator:
                        callbacks.on_train_batch_begin(b)  # Keras: before the batch is read
                        # Keras's train function starts on a missing batch too (phantom.next_batch)
                        xb, yb, wb, rows = train_batches.convert(phantom.next_batch(iterator), b)
                        phantom.before_step()
                        train_step(epoch, b, xb, yb, wb, rows, tracker)
                        phantom.after_step(rows, wb is not None)
                        done += 1
                        if model.stop_training:
                            break
            logs = {"loss": tracker.result()}
            logs.update(compiled.results())
            should_validate = ((epoch + 1) % validation_freq == 0 if isinstance(validation_freq, int)
                               else epoch + 1 in validation_freq)  # Keras's _should_eval, 1-based
            if validation_data is not None and should_validate:
                if val_kind is None:
                    vlogs = _evaluate_tensors(model, vx, vy, vsw, loss_fn, compiled, penalties,
                                              _steps_batch_size(validation_batch_size, vx.shape[0], validation_steps),
                                              callbacks, steps=validation_steps)
                else:
                    if val_iterator is None:  # Keras's fit makes (and caches) it here, at the first validation
                        val_adapter = data_adapter(val_parts[0], val_kind)
                        val_iterator = EpochIterator(val_adapter, validation_steps)
                        val_batches = _Batches(val_adapter, multi, dtype, device, train=False,
                                               optional_y=loss_fn is None)
                    vlogs = _evaluate_iterator(model, val_iterator, val_batches, loss_fn, compiled, penalties,
                                               callbacks)
                logs.update({f"val_{k}": v for k, v in vlogs.items()})
            train_logs = logs
            # the history after the callbacks, as Keras's History runs last: it records what they add
            logs = callbacks.on_epoch_end(epoch, logs)
            history.append(epoch, logs)
            if verbose == 2:  # Keras's one line per epoch
                took = time.perf_counter() - started
                shown = steps if adapter is None and array_iterator is None else done
                print(f"Epoch {epoch + 1}/{epochs}\n{shown}/{shown} - {took:.0f}s - "
                      f"{1000 * took / max(shown, 1):.0f}ms/step"
                      + "".join(f" - {k}: {v:.4f}" for k, v in logs.items() if isinstance(v, (int, float))),
                      flush=True)
            if on_epoch_end is not None:
                on_epoch_end(epoch, dict(logs))
            if model.stop_training:
                break
        finalize = getattr(optimizer, "finalize_variable_values", None)
        if finalize is not None:  # Keras's fit ends with it: EMA weights, when the optimizer keeps them
            finalize()
        callbacks.on_train_end(train_logs)  # the last epoch's logs as fit made them
    finally:
        occurrences.remove()
        if progress is not None:
            progress.stop()
    return history
