"""Run a :class:`scenarios.training.TrainingRun` in PyTorch (torch_impl) and in
Keras on TensorFlow (keras_impl), from the same data, weights and batch order.

Each runner returns ``{"history", "weights", "probabilities"}``: the per-epoch
history (Keras names), the final weights in Keras layout (BatchNormalization
moving statistics included) and the model's evaluation-mode output on the
training inputs. The frameworks are imported on first use, Triton before
TensorFlow (both bundle LLVM).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Optional

import numpy as np

from scenarios.training import TrainingRun

__all__ = ["run_torch", "run_keras", "import_order"]


def import_order() -> None:
    """Load Triton and torch before TensorFlow: both bundle LLVM, and the other order aborts a later Triton load."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    try:
        import triton  # noqa: F401
    except ImportError:
        pass
    import torch  # noqa: F401


@contextlib.contextmanager
def _torch_default_dtype(dtype):
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def run_torch(run: TrainingRun, verbose: int = 0, on_batch_end=None, sink: Optional[dict] = None) -> dict[str, Any]:
    """Train ``run`` with torch_impl. ``sink`` receives the doctor's set-up facts before training starts
    (so they survive a training error)."""
    import_order()
    import torch

    from torch_impl import fit as tfit
    from torch_impl import losses, optim
    from torch_impl.nn import build_model, keras_weights, load_keras_weights

    dtype = getattr(torch, run.dtype)
    with _torch_default_dtype(dtype):  # Keras's floatx: learning rate and class weights
        model = build_model(run.model, dtype=dtype)
        load_keras_weights(model, run.initial_weights())
        opt_cls = {"adam": optim.Adam, "sgd": optim.SGD, "rmsprop": optim.RMSprop}[run.optimizer[0].lower()]
        opt = opt_cls(model.parameters(), **run.optimizer[1])
        loss_name, loss_cfg = run.loss
        loss = (losses.LossFunctionWrapper(losses.focal_loss(**loss_cfg)) if loss_name == "focal_loss"
                else losses.make(loss_name, **loss_cfg))
        doctor = None
        if run.doctor:
            from torch_impl.diagnose import TrainingDoctor

            doctor = TrainingDoctor(model, loss, run.x, run.y, class_weight=run.class_weight)
            if sink is not None:
                sink["doctor_facts"] = doctor.setup_facts()
        grad_norms = None
        if run.measure_gradients:
            from torch_impl.class_weight import class_weight_to_sample_weight
            from torch_impl.diagnose import layer_gradient_norms

            sw = None if run.class_weight is None else class_weight_to_sample_weight(np.asarray(run.y), run.class_weight)
            grad_norms = [n for _, n in layer_gradient_norms(model, run.x, run.y, loss, sw)]
        hist = tfit.fit(model, run.x, run.y, loss=loss, optimizer=opt, batch_size=run.batch_size, epochs=run.epochs,
                        shuffle=run.shuffle, generator=run.seed, class_weight=run.class_weight, verbose=verbose,
                        on_batch_end=on_batch_end, validation_data=run.validation, metrics=["accuracy"],
                        on_epoch_end=None if doctor is None else doctor.on_epoch_end)
        model.eval()
        with torch.no_grad():
            probs = model.predict_proba(torch.as_tensor(np.asarray(run.x), dtype=dtype)).numpy()
            test = (None if run.x_test is None else
                    model.predict_proba(torch.as_tensor(np.asarray(run.x_test), dtype=dtype)).numpy())
    return {"history": hist.history, "weights": keras_weights(model), "probabilities": probs,
            "test_probabilities": test, "grad_norms": grad_norms, "model": model,
            "doctor": None if doctor is None else _doctor_record(doctor)}


def _doctor_record(doctor) -> dict:
    facts = doctor.setup_facts()
    facts["train_accuracy"] = doctor._train_accuracy()
    return {"facts": facts, "epochs": doctor.epochs}


def run_keras(run: TrainingRun, sink: Optional[dict] = None) -> dict[str, Any]:
    """Train ``run`` with Keras on TensorFlow (``sink``: as in :func:`run_torch`)."""
    import_order()
    from keras_impl.models import build_model, fit, floatx

    with floatx(run.dtype):
        model = build_model(run.model, run.initial_weights(), dtype=run.dtype)
        from keras_impl.losses import make_loss

        loss = make_loss(run.loss[0], **run.loss[1])
        doctor = None
        if run.doctor:
            from keras_impl.diagnose import DoctorCallback

            doctor = DoctorCallback(run.x, run.y, loss=loss, class_weight=run.class_weight)
            doctor.set_model(model)
            if sink is not None:
                sink["doctor_facts"] = doctor.setup_facts()
        grad_norms = None
        if run.measure_gradients:
            from keras_impl.diagnose import layer_gradient_norms

            sw = None
            if run.class_weight is not None:
                from keras.src.trainers.data_adapters.data_adapter_utils import class_weight_to_sample_weights

                sw = class_weight_to_sample_weights(np.asarray(run.y), run.class_weight)
            grad_norms = [n for _, n in layer_gradient_norms(model, run.x, run.y, loss, sw)]
        history = fit(model, run.x, run.y, loss=loss, optimizer=run.optimizer, batch_size=run.batch_size,
                      epochs=run.epochs, orders=run.orders() if run.shuffle else None,
                      class_weight=run.class_weight, callbacks=() if doctor is None else (doctor,),
                      validation_data=None if run.validation is None else
                      tuple(np.asarray(a) for a in run.validation))
        probs = np.asarray(model.predict(np.asarray(run.x, dtype=run.dtype), batch_size=run.batch_size, verbose=0))
        test = (None if run.x_test is None else
                np.asarray(model.predict(np.asarray(run.x_test, dtype=run.dtype), batch_size=run.batch_size, verbose=0)))
        weights = [np.asarray(w) for w in model.get_weights()]
    return {"history": history, "weights": weights, "probabilities": probs, "test_probabilities": test,
            "grad_norms": grad_norms, "model": model, "doctor": None if doctor is None else _doctor_record(doctor)}
