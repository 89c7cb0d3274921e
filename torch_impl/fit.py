"""A Keras-semantics training loop for a torch model: ``fit``, ``evaluate``, ``History``.

What it reproduces from ``keras.Model.fit`` (Keras 3):

* batching: ``ceil(N / batch_size)`` batches per epoch, the last one partial;
  ``shuffle=True`` draws one permutation per epoch from ``generator`` (a NumPy
  generator or seed), so the batch order can be shared with a Keras run;
* ``class_weight`` becomes the per-sample weight by Keras's rule
  (:mod:`torch_impl.class_weight`); ``sample_weight`` and ``class_weight`` are
  mutually exclusive, as in Keras;
* the epoch ``loss`` is the batch losses averaged with the batch sizes as
  weights (Keras's loss tracker ``Mean.update_state(loss, sample_weight=batch_size)``),
  each batch loss computed before that batch's update;
* ``"accuracy"`` resolves like Keras: binary (threshold 0.5) when the output has
  one unit, sparse categorical when the labels have one value per sample,
  categorical otherwise; unweighted; averaged over all samples;
* a model whose output layer is softmax or sigmoid trains on the logits behind
  it: Keras's crossentropy ops find the logits on the activation's output
  (``_keras_logits``) and use them whatever ``from_logits`` says. Build the
  model to return logits and say which activation Keras would apply
  (``output_activation``, set by :func:`torch_impl.nn.build_model`);
  :func:`compiled_loss` does the substitution exactly where Keras does;
* validation at the end of each epoch in evaluation mode (``val_loss``,
  ``val_accuracy``), ``validation_split`` taken from the end of the data
  before shuffling.

Example:
    >>> import numpy as np, torch
    >>> from torch_impl import fit, losses, optim
    >>> from torch_impl.nn import build_model
    >>> spec = {"input_dim": 4, "layers": [{"type": "dense", "units": 3, "activation": "softmax"}]}
    >>> model = build_model(spec)
    >>> x = np.random.default_rng(0).normal(size=(64, 4)); y = (x[:, 0] > 0).astype(int)
    >>> hist = fit.fit(model, x, y, loss=losses.SparseCategoricalCrossentropy(),
    ...                optimizer=optim.Adam(model.parameters(), learning_rate=0.05),
    ...                batch_size=16, epochs=3, generator=0, verbose=0)
    >>> sorted(hist.history), len(hist.history["loss"])
    (['accuracy', 'loss'], 3)
"""

from __future__ import annotations

import copy
import math
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch

from torch_impl import losses as L
from torch_impl.class_weight import class_weight_to_sample_weight
from torch_impl.nn import ACTIVATIONS

__all__ = ["History", "compiled_loss", "fit", "evaluate", "accuracy"]


class History:
    """Keras's ``History``: ``history`` maps metric names to per-epoch values."""

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def append(self, epoch: int, logs: dict) -> None:
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(float(v))

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


_LOGIT_LOSSES = (L.CategoricalCrossentropy, L.SparseCategoricalCrossentropy, L.BinaryCrossentropy)


def compiled_loss(loss: L.Loss, output_activation: Optional[str]) -> Callable:
    """``f(y_true, logits, sample_weight)`` computing what Keras's compiled loss computes.

    For a softmax/sigmoid output, Keras's categorical, sparse categorical and
    binary crossentropy use the activation's logits (``from_logits`` or not);
    binary focal crossentropy with ``from_logits=False`` uses them for its
    crossentropy term (and the sigmoid for the focal factor). Anything else
    sees the activated output.
    """
    act = output_activation or "linear"
    if act in ("softmax", "sigmoid"):
        focal = isinstance(loss, L.BinaryFocalCrossentropy) and not loss.from_logits
        if focal and act == "softmax":
            raise ValueError(
                "BinaryFocalCrossentropy on a softmax output: Keras takes the crossentropy term from the softmax's "
                "logits and the focal factor from its probabilities; torch_impl does not reproduce that mix.")
        if focal or isinstance(loss, _LOGIT_LOSSES):
            on_logits = copy.copy(loss)
            on_logits.from_logits = True
            return lambda y, z, sw=None: on_logits(y, z, sw)
    activation = ACTIVATIONS[act]
    return lambda y, z, sw=None: loss(y, activation(z), sw)


def as_loss(loss) -> L.Loss:
    """What Keras's ``compile(loss=...)`` makes of ``loss``: a :class:`~torch_impl.losses.Loss` as is; a name
    (``"categorical_crossentropy"``) or one of the functional losses as that loss with default options (on a
    softmax/sigmoid output it then takes the logits, as Keras's does); another callable
    ``fn(y_true, y_pred)`` wrapped in :class:`~torch_impl.losses.LossFunctionWrapper`."""
    if isinstance(loss, L.Loss):
        return loss
    if isinstance(loss, str):
        return L.make(loss)
    if callable(loss):
        try:
            return L.make(loss)  # one of the functional losses
        except ValueError:
            return L.LossFunctionWrapper(loss)
    raise ValueError(f"loss must be a torch_impl loss, a Keras loss name or a callable, got {loss!r}")


def _compile(model: torch.nn.Module, loss, output_activation: Optional[str]):
    """(activation name, :func:`compiled_loss`, the activation Keras applies) for ``model``."""
    act = output_activation if output_activation is not None else getattr(model, "output_activation", None)
    return act, compiled_loss(as_loss(loss), act), ACTIVATIONS[act or "linear"]


def accuracy(y_true: torch.Tensor, y_prob: torch.Tensor) -> torch.Tensor:
    """Per-sample 0/1 matches of Keras's ``"accuracy"`` for these shapes."""
    binary = y_prob.shape[-1] == 1
    sparse = y_true.dim() < y_prob.dim() or (y_true.shape[-1] == 1 and y_prob.shape[-1] > 1)
    if binary:
        yt = y_true.reshape(y_prob.shape) if y_true.dim() < y_prob.dim() else y_true
        return (yt.to(y_prob.dtype) == (y_prob > 0.5).to(y_prob.dtype)).to(y_prob.dtype).mean(-1)
    pred = y_prob.argmax(-1)
    if sparse:
        yt = y_true.reshape(pred.shape) if y_true.dim() == y_prob.dim() else y_true
        return (yt.to(pred.dtype) == pred).to(y_prob.dtype)
    return (y_true.argmax(-1) == pred).to(y_prob.dtype)


def _param_info(model: torch.nn.Module) -> tuple[torch.dtype, torch.device]:
    p = next(model.parameters(), None)
    return (p.dtype, p.device) if p is not None else (torch.get_default_dtype(), torch.device("cpu"))


def _as_tensor(a, dtype, device) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a)
    return t.to(dtype).to(device)


def _labels(y, dtype, device) -> torch.Tensor:
    t = y if isinstance(y, torch.Tensor) else torch.as_tensor(np.asarray(y))
    if t.is_floating_point() or t.dtype == torch.bool:
        t = t.to(dtype)
    return t.to(device)


def _progress(verbose: int, total: int, desc: str):
    if not verbose:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                 TextColumn("{task.fields[logs]}"), transient=False)
    p.start()
    p.add_task(desc, total=total, logs="")
    return p


def evaluate(model: torch.nn.Module, x, y, *, loss: Union[L.Loss, str, Callable], batch_size: int = 32, sample_weight=None,
             metrics: Sequence[str] = ("accuracy",), output_activation: Optional[str] = None) -> dict:
    """Keras's ``evaluate``: loss (batch-size-weighted mean of batch losses) and metrics, in eval mode."""
    dtype, device = _param_info(model)
    xt, yt = _as_tensor(x, dtype, device), _labels(y, dtype, device)
    sw = None if sample_weight is None else _as_tensor(sample_weight, dtype, device)
    _, loss_fn, activation = _compile(model, loss, output_activation)
    was_training = model.training
    model.eval()
    total = count = 0.0
    matches = []
    with torch.no_grad():
        for start in range(0, xt.shape[0], batch_size):
            sl = slice(start, start + batch_size)
            z = model(xt[sl])
            v = loss_fn(yt[sl], z, None if sw is None else sw[sl])
            total += float(v) * z.shape[0]
            count += z.shape[0]
            if "accuracy" in metrics:
                matches.append(accuracy(yt[sl], activation(z)))
    model.train(was_training)
    logs = {"loss": total / count if count else 0.0}
    if "accuracy" in metrics and matches:
        logs["accuracy"] = float(torch.cat(matches).mean())
    return logs


def fit(
    model: torch.nn.Module,
    x,
    y,
    *,
    loss: Union[L.Loss, str, Callable],
    optimizer: torch.optim.Optimizer,
    batch_size: int = 32,
    epochs: int = 1,
    shuffle: bool = True,
    generator: Union[None, int, np.random.Generator] = None,
    class_weight: Optional[dict] = None,
    sample_weight=None,
    validation_data: Optional[tuple] = None,
    validation_split: float = 0.0,
    metrics: Sequence[str] = ("accuracy",),
    output_activation: Optional[str] = None,
    verbose: int = 1,
    on_batch_end: Optional[Callable[[int, int, dict], None]] = None,
    on_epoch_end: Optional[Callable[[int, dict], None]] = None,
) -> History:
    """Train ``model`` the way ``keras.Model.fit`` would (see the module docstring).

    Args:
        model: returns logits; ``output_activation`` (default
            ``model.output_activation``) is the activation Keras applies.
        x, y: arrays or tensors (labels: integer ids, one-hot, or binary).
        loss: a :mod:`torch_impl.losses` loss, a Keras loss name or a callable, as Keras's
            ``compile(loss=...)`` takes it (:func:`as_loss`).
        optimizer: built on ``model.parameters()`` (e.g. :class:`torch_impl.optim.Adam`).
        generator: NumPy generator or seed for the per-epoch permutations.
        on_batch_end: ``f(epoch, batch, logs)`` after each optimizer step.
        on_epoch_end: ``f(epoch, logs)`` after each epoch, with the epoch's
            figures (e.g. :meth:`torch_impl.diagnose.TrainingDoctor.on_epoch_end`).
    Returns:
        :class:`History`.
    """
    if batch_size is None or int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if class_weight is not None and sample_weight is not None:
        raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
    dtype, device = _param_info(model)
    xt, yt = _as_tensor(x, dtype, device), _labels(y, dtype, device)
    if xt.shape[0] != yt.shape[0]:
        raise ValueError(f"Data cardinality is ambiguous: x has {xt.shape[0]} samples, y has {yt.shape[0]}.")
    if validation_split and validation_data is None:
        if not 0 < validation_split < 1:
            raise ValueError(f"validation_split must be in (0, 1), got {validation_split!r}")
        split = int(math.floor(xt.shape[0] * (1.0 - validation_split)))
        validation_data = (xt[split:], yt[split:])
        xt, yt = xt[:split], yt[:split]
    n = xt.shape[0]
    sw = None
    if class_weight is not None:
        sw = class_weight_to_sample_weight(yt, class_weight, device=device)
    elif sample_weight is not None:
        sw = torch.as_tensor(np.asarray(sample_weight) if not isinstance(sample_weight, torch.Tensor) else sample_weight,
                             device=device)
        if sw.shape[0] != n:
            raise ValueError(f"sample_weight has {sw.shape[0]} entries for {n} samples")
    rng = generator if isinstance(generator, np.random.Generator) else np.random.default_rng(generator)
    act, loss_fn, activation = _compile(model, loss, output_activation)
    if validation_data is not None:  # converted once, not every epoch
        vx, vy = _as_tensor(validation_data[0], dtype, device), _labels(validation_data[1], dtype, device)
        vsw = validation_data[2] if len(validation_data) > 2 else None
        vsw = None if vsw is None else _as_tensor(vsw, dtype, device)
    steps = math.ceil(n / batch_size)
    # Keras's train_step differentiates optimizer.scale_loss(loss) and reports the loss itself
    scale_loss = getattr(optimizer, "scale_loss", None)
    history = History()
    progress = _progress(verbose, steps * epochs, "fit")
    try:
        for epoch in range(epochs):
            model.train()
            order = torch.as_tensor(rng.permutation(n) if shuffle else np.arange(n), device=device)
            total = count = 0.0
            matches = []
            for b in range(steps):
                idx = order[b * batch_size:(b + 1) * batch_size]
                xb, yb = xt[idx], yt[idx]
                optimizer.zero_grad(set_to_none=True)
                z = model(xb)
                value = loss_fn(yb, z, None if sw is None else sw[idx])
                (scale_loss(value) if scale_loss is not None else value).backward()
                optimizer.step()
                bs = xb.shape[0]
                batch_loss = float(value.detach())
                total += batch_loss * bs
                count += bs
                if "accuracy" in metrics:
                    with torch.no_grad():
                        matches.append(accuracy(yb, activation(z.detach())))
                if on_batch_end is not None:
                    on_batch_end(epoch, b, {"loss": batch_loss})
                if progress is not None:
                    progress.update(progress.task_ids[0], advance=1,
                                    logs=f"epoch {epoch + 1}/{epochs} loss {total / count:.4f}")
            logs = {"loss": total / count if count else 0.0}
            if matches:
                logs["accuracy"] = float(torch.cat(matches).mean())
            if validation_data is not None:
                vlogs = evaluate(model, vx, vy, loss=loss, batch_size=batch_size, sample_weight=vsw,
                                 metrics=metrics, output_activation=act)
                logs.update({f"val_{k}": v for k, v in vlogs.items()})
            history.append(epoch, logs)
            if on_epoch_end is not None:
                on_epoch_end(epoch, dict(logs))
        finalize = getattr(optimizer, "finalize_variable_values", None)
        if finalize is not None:  # Keras's fit ends with it: EMA weights, when the optimizer keeps them
            finalize()
    finally:
        if progress is not None:
            progress.stop()
    return history
