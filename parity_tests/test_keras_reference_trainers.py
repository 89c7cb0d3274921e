"""``torch_impl.fit`` / ``evaluate`` / ``predict`` and ``torch_impl.callbacks`` against Keras 3.15.1's OWN trainer
and callback tests.

An independent reference: no TensorFlow or Keras is imported here. Each test restates, on torch tensors, the
inputs and the expected figures of one test method of (tag ``v3.15.1``):

* ``keras/src/trainers/trainer_test.py`` (``test_on_batch_methods`` and the ``class_weight`` cases are in
  ``test_keras_reference_training.py``);
* ``keras/src/trainers/compile_utils_test.py`` (``CompileMetrics`` / ``CompileLoss``: run here through
  :func:`torch_impl.fit.evaluate` on a "lookup" model whose outputs are the test's fixed ``y_pred``; Keras's two
  ``update_state`` calls are two batches of 3);
* ``keras/src/trainers/epoch_iterator_test.py``;
* ``keras/src/callbacks/{callback,csv_logger,lambda_callback,model_checkpoint,monitor_callback,swap_ema_weights,
  backup_and_restore}_test.py``
  (``early_stopping``, ``reduce_lr_on_plateau``, ``learning_rate_scheduler``, ``terminate_on_nan`` are in
  ``test_keras_reference_callbacks.py``).

Keras's ``ExampleModel`` (``Dense(units, use_bias=False, kernel_initializer="ones")``) is a bias-free
``torch.nn.Linear`` of ones, in float32 (Keras's floatx). Keras's ``SGD()`` is ``optimizer="sgd"`` (lr 0.01). Where
an upstream test asserts loose numbers (``atol=1.0`` / ``1e-3``), the test also checks a float64 closed-form
oracle of the same run (``w <- w (1 - lr * 8/3 * c)``) at float32 tolerance. ``SKIPPED`` lists each upstream
method not translated and why (a feature torch_impl lacks is marked ``GAP``); ``XFAIL`` methods are real
differences from Keras, pinned with ``xfail(strict=True)``.

Measured (CPU, float32, torch 2.13; "oracle": the float64 closed form; Keras 3.15.1 figures measured in a
scratch script where marked):

=====================================================  =================================  ==========================
figure                                                 torch_impl                         Keras's test
=====================================================  =================================  ==========================
fit_flow history mean_squared_error                    [14.402392, 10.991341, 8.388159]   [14.5, 11.5, 8.5] atol 1;
                                                       (oracle: max rel 1e-7)             oracle rtol 1e-5
loss_weights single                                    [3.182979, 3.115617, 3.049680]     [3.182979, 3.115617,
                                                                                          3.049681] atol 1e-3
loss_weights dict / list                               [4.778718, 4.694403, 4.611693]     [4.778718, 4.694403,
                                                                                          4.611693] atol 1e-3
nested_inputs fit / train_on_batch / evaluate          16.0 / 14.439998 / 13.032101       16.0 / 14.44 / 13.0321
evaluate_flow (return_dict=False)                      [16.0, 16.0]                       [16.0, 16.0]
CompileMetrics mse / weighted mse                      0.05583334 / 0.07250000            0.055833336 / 0.0725
CompileMetrics dict output_2 mse / weighted            0.06666667 / 0.09083333            0.066666667 / 0.090833336
CompileLoss single / list / dict+sw / list+names       0.068333 / 0.953333 / 1.266667 /   same, atol 1e-5
                                                       1.076667
steps_per_epoch 10 / 5 / 9 / 11 (10 batches, 4 ep.)    40 / 20 / 20 / 40 batches          40 / 20 / 20 / 40
frozen model (trainable=False) fit loss, batch 80      1.5329825, no optimizer step       1.5329825 (Keras 3.15.1),
                                                                                          iterations 0
ModelCheckpoint save_freq=15, 5 batches an epoch       files of epochs 3, 6, 9            3, 6, 9
model without parameters (rmsprop) fit loss            [1.0], the warning, no step        [1.0] (Keras 3.15.1)
partial labels: loss ["mse", None, None], one y        1.0 (full loss 3.0)                1.0 / 3.0 (Keras 3.15.1)
partial-label fit [None, mse, mae] 3 epochs loss       [1.2427922, 1.1888614, 1.1407870]  [1.2427922, 1.1888614,
                                                       (weights: max rel 4e-6)            1.1407871] (Keras 3.15.1)
SwapEMAWeights val_mean_squared_error, 2 epochs        [22.776831, 22.225842]             [22.776834, 22.225843]
  without the callback                                 [22.776831, 17.576931]             [22.776834, 17.576931]
  last val == evaluate after fit (also LossScale,      22.225842 == 22.225842             equal (Keras 3.15.1:
  swap_on_epoch checkpoint)                                                               22.225843)
BackupAndRestore step / epoch / corrupted: counter     17 / 15 / 15 (epochs from 0/2/1)   17 / 15 / 15
BackupAndRestore resumed by a fresh model (momentum)   loss [0.5665771, 1.7546160,        [0.5665769, 1.7546155,
                                                       0.5920457], iterations 15          0.5920454], 15
internal-only loss (add_loss, compile without loss)    loss [15.964001, 15.868002],       [15.964001, 15.868001],
  fit 2 epochs / evaluate(x) without y                 15.808001 (oracle: rel 1.2e-7)     15.808002 (Keras 3.15.1)
=====================================================  =================================  ==========================

Run: ``.venv/bin/python -m pytest -q -s -p no:cacheprovider parity_tests/test_keras_reference_trainers.py``
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data

from torch_impl import callbacks, constraints, optim
from torch_impl import metrics as M
from torch_impl.data_adapters import EpochIterator, data_adapter, data_kind
from torch_impl.fit import evaluate, fit, predict
from torch_impl.regularizers import add_loss

pytestmark = [pytest.mark.usefixtures("one_torch_thread")]

SKIPPED = {
    # ---- trainer_test.py
    "trainer_test::test_metric_tracking": "model.metrics / metrics_variables bookkeeping of a Keras model object; "
                                          "torch_impl keeps no metric objects on the module",
    "trainer_test::test_nested_trainer_metrics": "symbolic/functional-API-only (model.metrics of nested Keras models)",
    "trainer_test::test_nested_trainer_metrics_without_compile": "symbolic/functional-API-only",
    "trainer_test::test_multiple_compiles": "symbolic/functional-API-only (model.metrics of compiled sub-models)",
    "trainer_test::test_compile_eager_vs_jit_torch": "backend-specific (Keras's torch backend jit flag)",
    "trainer_test::test_fit_with_data_adapter[tf_dataset*, grain*]": "backend-specific (tf.data / grain inputs)",
    "trainer_test::test_fit_with_data_adapter[*multithreading*, *multiprocessing*]":
        "GAP: PyDataset workers/use_multiprocessing (torch_impl reads batches in the calling thread; the "
        "batches, hence the figures, are the py_dataset case's)",
    "trainer_test::test_fit_with_custom_train_step": "GAP: no overridable train_step in torch_impl.fit",
    "trainer_test::test_evaluate_with_custom_test_step": "GAP: no overridable test_step in torch_impl.fit",
    "trainer_test::test_fit_sparse / test_evaluate_sparse / test_predict_sparse": "backend-specific (tf/jax/scipy "
                                                                                  "sparse tensors, IndexedSlices)",
    "trainer_test::test_fit_eval_flow_for_jax_model_weights": "backend-specific (JAX)",
    "trainer_test::test_steps_per_execution_*": "jit/steps_per_execution",
    "trainer_test::test_predict_preserve_order": "tf.data.Dataset.from_generator input (translated as a generator "
                                                 "of uneven batches: test_predict_preserve_order_generator)",
    "trainer_test::test_max_epochs_and_steps[config.set_max_*]": "GAP: keras.config.set_max_epochs / "
                                                                 "set_max_steps_per_epoch (first half translated)",
    "trainer_test::test_adds_loss_scaling_optimizer": "mixed-precision policy dtype='mixed_float16' on a layer "
                                                      "(torch_impl has no dtype policies; LossScaleOptimizer is "
                                                      "explicit)",
    "trainer_test::test_loss_scaling_prevents_underflow": "skipped upstream on CPU torch; mixed_float16 policy",
    "trainer_test::test_for_eval_epoch_iterator": "asserts a private attribute (_eval_epoch_iterator)",
    "trainer_test::test_trainer_with_raggeds": "backend-specific (tf.RaggedTensor)",
    "trainer_test::test_predict_dropout": "functional API with a call-time training=True argument",
    "trainer_test::test_rng_updated_during_predict": "backend-specific SeedGenerator state in a functional model",
    "trainer_test::test_metric_update_in_compute_loss": "GAP: no overridable compute_loss / model-level metrics",
    "trainer_test::test_fwd_pass_loss_presence_in_compute_loss": "GAP: no overridable compute_loss",
    "trainer_test::test_evaluate_with_custom_compute_loss": "GAP: no overridable compute_loss",
    "trainer_test::test_compute_loss_no_training_backwards_compatibility": "GAP: no overridable compute_loss",
    "trainer_test::test_symbolic_build": "symbolic/functional-API-only",
    "trainer_test::test_jit_compile_with_tf_determinism": "jit/XLA",
    "trainer_test::test_retracing / test_retracing_predict": "jit/tf.function tracing",
    "trainer_test::test_jit_fit_with_out_shardings_logic": "jit/distribution",
    # ---- compile_utils_test.py
    "compile_utils_test::TestCompileMetrics::test_deeply_nested_outputs_and_metrics":
        "GAP: nested output structures (torch_impl takes a flat list or dict of outputs)",
    "compile_utils_test::TestCompileLoss::test_struct_loss / test_struct_loss_indice_path / "
    "test_struct_loss_namedtuple / test_struct_loss_invalid_path / test_different_container_types":
        "GAP: nested output structures",
    # ---- epoch_iterator_test.py
    "epoch_iterator_test::test_unsupported_y_arg_tfdata / test_unsupported_sample_weights_arg_tfdata":
        "backend-specific (tf.data); the same errors for a DataLoader are translated",
    # ---- callbacks
    "swap_ema_weights_test::test_swap_ema_weights_with_tf_distribute": "backend-specific (tf.distribute "
                                                                        "MirroredStrategy)",
    "model_checkpoint_test::test_model_checkpoint_options[.keras/.h5 paths]": "Keras file formats; translated "
                                                                              "with .pt paths (torch.save)",
    "lambda_callback_test::*": "absl logging replaced by a list of calls (the same hooks asserted)",
}

XFAIL = {
    "compile_utils_test::TestCompileLoss::test_single_output_case_with_crossentropy_loss":
        "loss='crossentropy' (Keras resolves it from the shapes) is unknown to torch_impl",
}


# ----------------------------------------------------------------------------------------------- helpers


def _show(name, got, expected):
    print(f"{name}: got {got} (Keras's test: {expected})")


def _close(name, got, expected, atol=1e-6, rtol=1e-6):
    """Keras's ``assertAllClose`` (defaults atol = rtol = 1e-6)."""
    _show(name, got, expected)
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64),
                               atol=atol, rtol=rtol, err_msg=name)


class ExampleModel(torch.nn.Linear):
    """``Dense(units, use_bias=False, kernel_initializer=Ones())``."""

    def __init__(self, units, in_features=4):
        super().__init__(in_features, units, bias=False)
        with torch.no_grad():
            self.weight.fill_(1.0)


class StructModel(torch.nn.Module):
    """Dict inputs ``x_one``/``x_two`` -> dict outputs ``y_one``/``y_two``, two Dense(units) of ones."""

    def __init__(self, units, in_features=4):
        super().__init__()
        self.dense_1, self.dense_2 = ExampleModel(units, in_features), ExampleModel(units, in_features)

    def forward(self, x_one, x_two):
        return {"y_one": self.dense_1(x_one), "y_two": self.dense_2(x_two)}


class ListOutputModel(torch.nn.Module):
    def __init__(self, units):
        super().__init__()
        self.dense_1, self.dense_2 = ExampleModel(units), ExampleModel(units)

    def forward(self, x):
        return [self.dense_1(x), self.dense_2(x)]


class ListInputModel(torch.nn.Module):
    """``dense_1(x[0]) + dense_2(x[1])``; Keras's model takes the list as one argument, a torch module here two."""

    def __init__(self, units, in_1=2, in_2=3):
        super().__init__()
        self.dense_1, self.dense_2 = ExampleModel(units, in_1), ExampleModel(units, in_2)

    def forward(self, a, b):
        return self.dense_1(a) + self.dense_2(b)


def _sgd_oracle(epochs, batches, lr=0.01, c=1.0, w0=1.0, scale=16.0):
    """float64 closed form of ExampleModel (x ones(4), y zeros, mse of 3 units) under SGD: every kernel entry stays
    ``w``, the batch loss is ``c * 16 w**2`` (c: the loss weight) and the step ``w -= lr * c * 8/3 * w``. Returns the
    per-epoch mean of the batch losses (each taken before its update; equal batch sizes)."""
    w, out = w0, []
    for _ in range(epochs):
        vals = []
        for _ in range(batches):
            vals.append(c * scale * w * w)
            w -= lr * c * (2.0 * 4.0 / 3.0) * w
        out.append(float(np.mean(vals)))
    return out


class StepObserver(callbacks.Callback):
    """Keras's test helper: counts batch/epoch hooks, records ``logs["mse"]`` per batch."""

    def __init__(self):
        super().__init__()
        self.begin_count = self.end_count = self.epoch_begin_count = self.epoch_end_count = 0
        self.batch_loss_history = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_begin_count += 1

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_end_count += 1

    def on_batch_begin(self, batch, logs=None):
        self.begin_count += 1

    def on_batch_end(self, batch, logs=None):
        self.end_count += 1
        self.batch_loss_history.append(logs["mse"])


class EpochAgnosticMeanSquaredError(M.MeanSquaredError):
    """Keras's test metric: an MSE named ``mse`` that is never reset."""

    def __init__(self):
        super().__init__(name="mse")
        super().reset_state()

    def reset_state(self):
        pass


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# ================================================================================== trainer_test.py


def test_fit_flow():
    # test_fit_flow (eager/graph_fn/jit): 100 samples, batch 20, 3 epochs, SGD(), mse + MeanSquaredError()
    model = ExampleModel(3)
    x, y = np.ones((100, 4)), np.zeros((100, 3))
    h = fit(model, x, y, loss="mse", optimizer="sgd", metrics=[M.MeanSquaredError()], batch_size=20, epochs=3,
            verbose=0).history
    assert "loss" in h and "mean_squared_error" in h
    _close("fit_flow mean_squared_error", h["mean_squared_error"], [14.5, 11.5, 8.5], atol=1.0)
    oracle = _sgd_oracle(3, 5)
    _close("fit_flow mean_squared_error vs float64 oracle", h["mean_squared_error"], oracle, atol=0, rtol=1e-5)
    _close("fit_flow loss vs float64 oracle", h["loss"], oracle, atol=0, rtol=1e-5)


def test_fit_flow_steps_per_epoch():
    # test_fit_flow[steps_per_epoch_*]: arrays of 5 batches of 20 with steps_per_epoch 7: Keras's EpochIterator reads
    # the whole pass each epoch ("Your input ran out of data"), so the history is test_fit_flow's
    model = ExampleModel(3)
    rec = _BatchIndices()
    with pytest.warns(UserWarning, match="Your input ran out of data"):
        h = fit(model, np.ones((100, 4)), np.zeros((100, 3)), loss="mse", optimizer="sgd",
                metrics=[M.MeanSquaredError()], batch_size=20, steps_per_epoch=7, epochs=3, callbacks=[rec],
                verbose=0).history
    _close("fit_flow[steps_per_epoch] mean_squared_error", h["mean_squared_error"], [14.5, 11.5, 8.5], atol=1.0)
    _close("fit_flow[steps_per_epoch] loss vs float64 oracle", h["loss"], _sgd_oracle(3, 5), atol=0, rtol=1e-5)
    assert rec.steps == [0, 1, 2, 3, 4] * 3


def test_fit_with_val_split_steps_per_epoch():
    # test_fit_with_val_split[steps_per_epoch_*]: 80 training samples in 4 batches of 20, steps_per_epoch 7
    with pytest.warns(UserWarning, match="Your input ran out of data"):
        h = fit(ExampleModel(3), np.ones((100, 4)), np.zeros((100, 3)), loss="mse", optimizer="sgd", batch_size=20,
                steps_per_epoch=7, epochs=3, validation_split=0.2, verbose=0).history
    print(f"val_split + steps_per_epoch: keys {sorted(h)}, loss {np.round(h['loss'], 5).tolist()}")
    assert "loss" in h and "val_loss" in h
    _close("val_split[steps_per_epoch] loss vs float64 oracle", h["loss"], _sgd_oracle(3, 4), atol=0, rtol=1e-5)


class _PyDataset:
    """Keras's ``TestPyDataset``: batch ``i`` is ``(ones((5, 4)), zeros((5, 3)))``, 20 batches (None: endless)."""

    def __init__(self, infinite=False):
        self.infinite = infinite

    @property
    def num_batches(self):
        return None if self.infinite else 20

    def __getitem__(self, idx):
        return torch.ones((5, 4)), torch.zeros((5, 3))


class _Iterable(torch.utils.data.IterableDataset):
    def __iter__(self):
        for _ in range(20):
            yield torch.ones((5, 4)), torch.zeros((5, 3))


class _IterableWithLen(_Iterable):
    def __len__(self):
        return 20


def _dataset(kind, infinite=False):
    if kind == "np_array":
        return np.ones((100, 4)), np.zeros((100, 3))
    if kind == "native_array":
        return torch.ones((100, 4)), torch.zeros((100, 3))
    if kind == "py_dataset":
        return _PyDataset(infinite), None
    if kind == "torch_dataloader_tensor":
        ds = torch.utils.data.TensorDataset(torch.ones((100, 4)), torch.zeros((100, 3)))
        return torch.utils.data.DataLoader(ds, batch_size=5), None
    if kind == "torch_dataloader_iterable":
        return torch.utils.data.DataLoader(_Iterable()), None
    if kind == "torch_dataloader_iterable_with_len":
        return torch.utils.data.DataLoader(_IterableWithLen()), None
    if kind == "generator":
        def gen():
            for _ in range(20):
                yield torch.ones((5, 4)), torch.zeros((5, 3))

        def endless():
            while True:
                yield torch.ones((5, 4)), torch.zeros((5, 3))
        return (endless() if infinite else gen()), None
    raise ValueError(kind)


class _BatchCounter(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.per_epoch = []

    def on_epoch_begin(self, epoch, logs=None):
        self.per_epoch.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.per_epoch[-1] += 1


def _adapter_history(kind, infinite=False, **kwargs):
    model = ExampleModel(3)
    x, y = _dataset(kind, infinite)
    counter = _BatchCounter()
    if y is None:
        kwargs.setdefault("shuffle", False)
    with _quiet():
        h = fit(model, x, y, loss="mse", optimizer="adagrad", metrics=[M.MeanSquaredError()], epochs=3, verbose=0,
                callbacks=[counter], **({"batch_size": 5} if y is not None else {}), **kwargs).history
    return h, counter.per_epoch


FIT_ADAPTER_CASES = [
    ("np_array", False, {}), ("native_array", False, {}), ("py_dataset", False, {}),
    ("py_dataset_cw", False, {"class_weight": {0: 1, 1: 2}}),
    ("py_dataset_infinite", True, {"steps_per_epoch": 20}),
    ("py_dataset_infinite_cw", True, {"steps_per_epoch": 20, "class_weight": {0: 1, 1: 2}}),
    ("torch_dataloader_tensor", False, {}), ("torch_dataloader_iterable", False, {}),
    ("torch_dataloader_iterable_with_len", False, {}),
    ("generator", False, {}), ("generator_infinite", True, {"steps_per_epoch": 20}),
]


@pytest.mark.parametrize("case, infinite, kwargs", FIT_ADAPTER_CASES, ids=[c[0] for c in FIT_ADAPTER_CASES])
def test_fit_with_data_adapter(case, infinite, kwargs):
    # test_fit_with_data_adapter: Adagrad(), mse, 3 epochs over 20 batches of (ones(5, 4), zeros(5, 3)). Keras's
    # test asserts that it trains; here every input kind must give the arrays' history (the same batches; the
    # zero one-hot rows are class 0, so class_weight {0: 1, 1: 2} weighs 1). A finite generator is read to its
    # end in epoch 1, then gives the 2 batches Keras's TensorFlow backend read ahead (measured in
    # test_fit_iterables_keras.py): epochs of 20, 2, 2 batches.
    kind = case.removesuffix("_cw").removesuffix("_infinite") if case.startswith(("py_", "generator")) else case
    ref, ref_counts = _adapter_history("np_array")
    h, counts = _adapter_history(kind, infinite, **kwargs)
    print(f"{case}: batches per epoch {counts}, loss {np.round(h['loss'], 6).tolist()} "
          f"(arrays: {np.round(ref['loss'], 6).tolist()})")
    assert ref_counts == [20, 20, 20]
    if case == "generator":
        assert counts == [20, 2, 2]
        _close(f"{case} epoch-1 loss", h["loss"][0], ref["loss"][0], atol=0, rtol=1e-6)
        return
    assert counts == [20, 20, 20]
    _close(f"{case} loss", h["loss"], ref["loss"], atol=0, rtol=1e-6)
    _close(f"{case} mean_squared_error", h["mean_squared_error"], ref["mean_squared_error"], atol=0, rtol=1e-6)
    assert h["loss"][2] < h["loss"][1] < h["loss"][0]


def test_fit_with_val_split():
    # test_fit_with_val_split (without steps_per_epoch): NumPy arrays, then native tensors, validation_split 0.2
    model = ExampleModel(3)
    for x, y in [(np.ones((100, 4)), np.zeros((100, 3))), (torch.ones((100, 4)), torch.zeros((100, 3)))]:
        h = fit(model, x, y, loss="mse", optimizer="sgd", metrics=[M.MeanSquaredError()], batch_size=20, epochs=3,
                validation_split=0.2, verbose=0).history
        print(f"{type(x).__name__}: keys {sorted(h)}, val_loss {np.round(h['val_loss'], 5).tolist()}")
        assert "loss" in h and "val_loss" in h
        # 80 training samples: 4 steps per epoch; val_loss is the loss after each epoch's 4 steps
        assert h["val_loss"][0] < h["loss"][0]


def test_evaluate_flow():
    model = ExampleModel(3)
    x, y = np.ones((100, 4)), np.zeros((100, 3))
    out = evaluate(model, x, y, loss="mse", metrics=[M.MeanSquaredError()], batch_size=16, return_dict=False)
    _close("evaluate_flow list", out, [16.0, 16.0])
    out = evaluate(model, x, y, loss="mse", metrics=[M.MeanSquaredError()], batch_size=16, return_dict=True)
    assert isinstance(out, dict) and "loss" in out and "mean_squared_error" in out
    _close("evaluate_flow dict mean_squared_error", out["mean_squared_error"], 16.0)


def test_predict_flow():
    out = predict(ExampleModel(3), np.ones((100, 4)), batch_size=16)
    _close("predict_flow (first row)", out[0], [4.0] * 3)
    assert out.shape == (100, 3)
    np.testing.assert_allclose(out, 4 * np.ones((100, 3)), atol=1e-6, rtol=1e-6)


def test_predict_flow_struct():
    out = predict(StructModel(3), {"x_one": np.ones((100, 4)), "x_two": np.ones((100, 4))}, batch_size=16)
    assert isinstance(out, dict) and len(out) == 2
    _close("predict_flow_struct y_one[0]", out["y_one"][0], [4.0] * 3)
    np.testing.assert_allclose(out["y_one"], 4 * np.ones((100, 3)), atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(out["y_two"], 4 * np.ones((100, 3)), atol=1e-6, rtol=1e-6)


def test_predict_preserve_order_generator():
    # test_predict_preserve_order: uneven batches of sizes 2, 3, 4... of 0..99 through an Identity model (Keras
    # feeds them through tf.data.Dataset.from_generator; here the generator itself)
    def uneven():
        it, j = iter(range(100)), 0
        while True:
            n = [2, 3, 4][j % 3]
            batch = np.array([v for _, v in zip(range(n), it)])
            if len(batch) < n:  # Keras's test stops at the first short batch (StopIteration inside)
                break
            j += 1
            yield (batch.astype(np.float32),)
    with _quiet():
        preds = predict(torch.nn.Identity(), uneven())
    print(f"predict_preserve_order: {len(preds)} predictions, first {preds[:5].tolist()}")
    np.testing.assert_array_equal(preds, np.arange(len(preds), dtype=np.float32))
    assert len(preds) == 99  # 33 batches of 2 + 3 + 4


def test_predict_generator():
    def batches():
        it = iter(range(10))
        while True:
            b = np.array([v for _, v in zip(range(2), it)])
            if len(b) < 2:
                break
            yield (b.astype(np.float32),)
    with _quiet():
        preds = predict(torch.nn.Identity(), batches())
    expected = np.concatenate(list(batches()), axis=1)[0]
    _show("predict_generator", preds.tolist(), expected.tolist())
    np.testing.assert_array_equal(preds, expected)


@pytest.mark.parametrize("case", ["match_one_epoch", "match_multi_epoch", "not_match_too_low",
                                  "not_match_but_high_enough"])
def test_steps_per_epoch(case):
    # test_steps_per_epoch: Keras gives arrays with steps_per_epoch; its array adapter continues one pass across
    # epochs, as torch_impl does for the arrays and for a DataLoader of the same batches (batch 8, unshuffled)
    batch_size, epochs, num_batches = 8, 4, 10
    steps = {"match_one_epoch": num_batches, "match_multi_epoch": num_batches // (epochs // 2),
             "not_match_too_low": num_batches - 1, "not_match_but_high_enough": num_batches + 1}[case]
    x = np.ones((num_batches * batch_size, 4), np.float32)
    y = np.ones((num_batches * batch_size, 1), np.float32)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                         batch_size=batch_size)
    model = ExampleModel(1)
    observer = StepObserver()
    with _quiet():
        fit(model, loader, loss="mse", optimizer="sgd", metrics=[EpochAgnosticMeanSquaredError()], epochs=epochs,
            steps_per_epoch=steps, callbacks=[observer], verbose=0, shuffle=False)
    if case != "not_match_too_low":
        expected = epochs * min(steps, num_batches)
    else:
        cycles = [(num_batches // steps) * steps, num_batches % steps] * epochs
        expected = sum(cycles[:epochs])
    print(f"{case}: steps_per_epoch {steps}, batches {observer.begin_count} (Keras's test: {expected}), epochs "
          f"{observer.epoch_begin_count}")
    assert observer.begin_count == expected and observer.end_count == observer.begin_count
    assert observer.epoch_begin_count == epochs and observer.epoch_end_count == epochs
    arrays_observer = StepObserver()
    with _quiet():
        fit(ExampleModel(1), x, y, loss="mse", optimizer="sgd", metrics=[EpochAgnosticMeanSquaredError()],
            epochs=epochs, batch_size=batch_size, steps_per_epoch=steps, callbacks=[arrays_observer], verbose=0,
            shuffle=False)
    assert arrays_observer.begin_count == expected
    np.testing.assert_allclose(arrays_observer.batch_loss_history, observer.batch_loss_history, atol=1e-6, rtol=1e-6)
    if case == "not_match_too_low":
        return
    model_2 = ExampleModel(1)
    observer_2 = StepObserver()
    model_2_epochs = epochs if case in ("not_match_but_high_enough", "match_one_epoch") else \
        epochs // (num_batches // steps)
    fit(model_2, x, y, loss="mse", optimizer="sgd", metrics=[EpochAgnosticMeanSquaredError()], epochs=model_2_epochs,
        batch_size=batch_size, callbacks=[observer_2], verbose=0)
    _close(f"{case} batch mse (last)", observer.batch_loss_history[-1], observer_2.batch_loss_history[-1])
    np.testing.assert_allclose(observer.batch_loss_history, observer_2.batch_loss_history, atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(model.weight.detach(), model_2.weight.detach(), atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(predict(model, x, batch_size=8), predict(model_2, x, batch_size=8), atol=1e-6,
                               rtol=1e-6)
    _close(f"{case} evaluate", evaluate(model, x, y, loss="mse")["loss"], evaluate(model_2, x, y, loss="mse")["loss"])


def test_max_epochs_and_steps():
    # first half only: keras.config.set_max_epochs / set_max_steps_per_epoch are a GAP
    observer = StepObserver()
    fit(ExampleModel(1), np.ones((80, 4)), np.ones((80, 1)), loss="mse", optimizer="sgd",
        metrics=[EpochAgnosticMeanSquaredError()], batch_size=8, epochs=4, callbacks=[observer], verbose=0)
    _show("max_epochs_and_steps (epochs, batches)", (observer.epoch_begin_count, observer.begin_count), (4, 40))
    assert observer.epoch_begin_count == 4 and observer.begin_count == 40


def test_fit_with_different_batch_size_same_loss():
    x, y = np.random.default_rng(0).random((100, 4)), np.ones((100, 1))
    model = ExampleModel(1)
    model.requires_grad_(False)  # model.trainable = False
    opt = optim.RMSprop(model.parameters())
    # Keras trains it without an update, warning; torch_impl raised torch's "element 0 of tensors does not require
    # grad" at backward before the fix (Keras 3.15.1 measured: loss [1.5329825], iterations 0, the same warning)
    with pytest.warns(UserWarning, match="The model does not have any trainable weights."):
        loss1 = fit(model, x, y, loss="mse", optimizer=opt, batch_size=80, verbose=0).history["loss"]
        loss2 = fit(model, x, y, loss="mse", optimizer=opt, batch_size=100, verbose=0).history["loss"]
    _close("fit batch 80 vs 100 loss", loss1, loss2)
    _close("frozen model loss vs Keras 3.15.1 (same data)", loss1, [1.5329824686050415], rtol=1e-6)
    assert opt.iterations == 0 and float(model.weight.min()) == float(model.weight.max()) == 1.0


def test_evaluate_with_different_batch_size_same_loss():
    x, y = np.random.default_rng(0).random((100, 4)), np.ones((100, 1))
    model = ExampleModel(1)
    _close("evaluate batch 80 vs 100 loss", evaluate(model, x, y, loss="mse", batch_size=80)["loss"],
           evaluate(model, x, y, loss="mse", batch_size=100)["loss"])


class TrainingTestingLayer(torch.nn.Module):
    def forward(self, x):
        return x if self.training else x * 0


def test_training_arg():
    # a model without parameters: Keras 3.15.1 trains it (loss [1.0], the warning, no optimizer step)
    model = TrainingTestingLayer()
    x, y = np.ones((128, 1)), np.zeros((128, 1))
    with pytest.warns(UserWarning, match="The model does not have any trainable weights."):
        h = fit(model, x, y, loss="mse", optimizer="rmsprop", batch_size=32, verbose=0)
    _close("training_arg loss", h.history["loss"], [1.0])
    _close("training_arg evaluate", evaluate(model, x, y, loss="mse", batch_size=32)["loss"], 0.0)
    _close("training_arg predict", predict(model, x)[:2, 0], [0.0, 0.0])


def test_training_arg_evaluate_predict():
    # the half of test_training_arg that needs no optimizer: evaluation mode gives x * 0
    model = TrainingTestingLayer()
    x, y = np.ones((128, 1)), np.zeros((128, 1))
    _close("training_arg evaluate", evaluate(model, x, y, loss="mse", batch_size=32)["loss"], 0.0)
    np.testing.assert_allclose(predict(model, x), np.zeros((128, 1)))
    assert model.training  # restored


def test_on_batch_methods_without_training():
    model = ExampleModel(3)
    x, y = np.ones((100, 4)), np.zeros((100, 3))
    out = predict(model, x, batch_size=100)
    assert isinstance(out, np.ndarray)
    _close("predict_on_batch[0]", out[0], [4.0, 4.0, 4.0])
    logs = evaluate(model, x, y, loss="mse", metrics=[M.MeanSquaredError()], batch_size=100, return_dict=False)
    assert isinstance(logs, list) and len(logs) == 2
    np.testing.assert_almost_equal(logs[0], 16.0, decimal=7)
    logs = evaluate(model, x, y, loss="mse", metrics=[M.MeanSquaredError()], batch_size=100)
    assert isinstance(logs, dict) and len(logs) == 2
    _close("test_on_batch", logs["loss"], 16.0)


def test_nested_input_predict():
    class TupleInputModel(torch.nn.Module):
        def forward(self, a, b):
            return a + b
    x1, x2 = np.random.default_rng(0).random((2, 3, 4))
    assert predict(TupleInputModel(), (x1, x2)).shape == (3, 4)
    out = predict(TupleInputModel(), {"a": x1, "b": x2})
    print("nested_input_predict shapes:", out.shape)
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out, (x1 + x2).astype(np.float32), rtol=1e-6)


class _KeysCallback(callbacks.Callback):
    """test_callback_methods_keys's CustomCallback: records the sorted log keys of every hook."""

    def __init__(self):
        super().__init__()
        self.seen = {}

    def _rec(self, hook, logs):
        self.seen.setdefault(hook, set()).add(tuple(sorted((logs or {}).keys())))


for _hook in ["on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin",
              "on_predict_end"]:
    setattr(_KeysCallback, _hook, (lambda h: lambda self, logs=None: self._rec(h, logs))(_hook))
for _hook in ["on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
              "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end"]:
    setattr(_KeysCallback, _hook, (lambda h: lambda self, i, logs=None: self._rec(h, logs))(_hook))


def test_callback_methods_keys():
    model = ExampleModel(3)
    cb = _KeysCallback()
    x, y = np.ones((16, 4)), np.zeros((16, 3))
    fit(model, x, y, loss="mse", optimizer="adam", metrics=["mean_absolute_error"], batch_size=4,
        validation_data=(x, y), callbacks=[cb], verbose=0)
    full = ("loss", "mean_absolute_error", "val_loss", "val_mean_absolute_error")
    expected = {"on_train_begin": {()}, "on_train_end": {full}, "on_epoch_begin": {()}, "on_epoch_end": {full},
                "on_test_begin": {()}, "on_test_end": {("loss", "mean_absolute_error")},
                "on_train_batch_begin": {()}, "on_train_batch_end": {("loss", "mean_absolute_error")},
                "on_test_batch_begin": {()}, "on_test_batch_end": {("loss", "mean_absolute_error")}}
    for hook, keys in sorted(cb.seen.items()):
        print(f"{hook}: {sorted(keys)}")
    assert cb.seen == expected


def test_recompile():
    model = ExampleModel(3, in_features=2)
    x, y = np.ones((3, 2)), np.ones((3, 3))
    h1 = fit(model, x, y, loss="mse", optimizer="sgd", metrics=["mean_squared_error"], verbose=0).history
    e1 = evaluate(model, x, y, loss="mse", metrics=["mean_squared_error"])
    h2 = fit(model, x, y, loss="mse", optimizer="sgd", metrics=["mean_absolute_error"], verbose=0).history
    e2 = evaluate(model, x, y, loss="mse", metrics=["mean_absolute_error"])
    print("recompile keys:", sorted(h1), sorted(e1), sorted(h2), sorted(e2))
    assert sorted(h1) == sorted(e1) == ["loss", "mean_squared_error"]
    assert sorted(h2) == sorted(e2) == ["loss", "mean_absolute_error"]


def test_evaluate_return_list_respect_metrics_order():
    def metrics_zero(y_true, y_pred):
        return 0.0

    def metrics_one(y_true, y_pred):
        return 1.0

    model = ExampleModel(3, in_features=2)
    x, y = np.ones((3, 2)), np.ones((3, 3))
    out = evaluate(model, x, y, loss="mse", metrics=[metrics_zero, metrics_one], return_dict=False)
    _show("evaluate list [zero, one]", out, "[loss, 0.0, 1.0]")
    assert len(out) == 3 and out[1] == 0.0 and out[2] == 1.0
    out = evaluate(model, x, y, loss="mse", metrics=[metrics_one, metrics_zero], return_dict=False)
    _show("evaluate list [one, zero]", out, "[loss, 1.0, 0.0]")
    assert len(out) == 3 and out[1] == 1.0 and out[2] == 0.0


def test_nested_inputs():
    model = ListInputModel(2)
    x, y = [np.ones((3, 2)), np.ones((3, 3))], np.ones((3, 2))
    h = fit(model, x, y, loss="mse", optimizer="sgd", metrics=["mse"], verbose=0).history
    _close("nested_inputs fit loss", h["loss"], [16.0])
    # train_on_batch: one step on the whole batch, its loss taken before the update (optimizer continued)
    t = fit(model, x, y, loss="mse", optimizer="sgd", metrics=["mse"], verbose=0, batch_size=3).history
    _close("nested_inputs train_on_batch", t["loss"][0], 14.44, atol=1e-6, rtol=1e-6)
    e = evaluate(model, x, y, loss="mse", metrics=["mse"], return_dict=False)
    _close("nested_inputs evaluate", e[0], 13.0321, atol=1e-6, rtol=1e-6)
    assert predict(model, x).shape == (3, 2)


def test_validation_data_infinite_generator():
    class Recorder(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.train_counter = self.val_counter = 0

        def on_train_batch_end(self, *args, **kwargs):
            self.train_counter += 1

        def on_test_batch_end(self, *args, **kwargs):
            self.val_counter += 1

    def infinite_gen():
        while True:
            yield np.ones((2, 2)), np.ones((2, 3))

    rec = Recorder()
    with _quiet():
        fit(ExampleModel(3, in_features=2), infinite_gen(), validation_data=infinite_gen(), steps_per_epoch=3,
            validation_steps=4, epochs=1, shuffle=False, callbacks=[rec], loss="mse", optimizer="sgd",
            metrics=["mse"], verbose=0)
    _show("train / validation batches", (rec.train_counter, rec.val_counter), (3, 4))
    assert (rec.train_counter, rec.val_counter) == (3, 4)


@pytest.mark.parametrize("method, gerund, on_end", [("fit", "training", "train"), ("evaluate", "evaluating", "test"),
                                                    ("predict", "predicting", "predict")])
def test_stop_loop(method, gerund, on_end):
    class Stopper(callbacks.Callback):
        def __init__(self, stop_count):
            super().__init__()
            self.stop_count, self.counter = stop_count, 0
            setattr(self, f"on_{on_end}_batch_end", self.batch_end)

        def batch_end(self, *args, **kwargs):
            self.counter += 1
            if self.counter == self.stop_count:
                setattr(self.model, f"stop_{gerund}", True)

    def infinite_gen():
        while True:
            x, y = np.ones((2, 2)), np.ones((2, 3))
            yield (x,) if method == "predict" else (x, y)

    stopper = Stopper(5)
    model = ExampleModel(3, in_features=2)
    kwargs = {} if method == "predict" else {"loss": "mse", "metrics": ["mse"]}
    if method == "fit":
        kwargs["optimizer"] = "sgd"
    with _quiet():
        {"fit": fit, "evaluate": evaluate, "predict": predict}[method](model, infinite_gen(), callbacks=[stopper],
                                                                      verbose=0, **kwargs)
    _show(f"{method} stopped after", stopper.counter, 5)
    assert stopper.counter == 5


def test_constraints_are_applied():
    torch.manual_seed(0)
    layer = constraints.constrain(torch.nn.Linear(3, 2), kernel_constraint="non_neg")
    assert layer.weight.min() < 0  # the constraint has something to do
    fit(layer, np.ones((2, 3)), np.ones((2, 2)), loss="mse", optimizer="rmsprop", verbose=0)
    _show("min kernel after fit", float(layer.weight.detach().min()), ">= 0")
    assert float(layer.weight.detach().min()) >= 0.0


def test_callbacks_can_update_state_at_batch_boundary():
    class CounterModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            for n in ("train_counter", "test_counter", "predict_counter"):
                self.register_buffer(n, torch.zeros(()))
            self.dense = torch.nn.Linear(3, 3)

        def forward(self, x):
            return self.dense(x)

    class CounterCallback(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.train = self.test = self.pred = 0

        def on_train_batch_end(self, *args, **kwargs):
            self.model.train_counter += 1
            self.train += 1

        def on_test_batch_end(self, *args, **kwargs):
            self.model.test_counter += 1
            self.test += 1

        def on_predict_batch_end(self, *args, **kwargs):
            self.model.predict_counter += 1
            self.pred += 1

    model, cbk = CounterModel(), CounterCallback()
    fit(model, np.ones((4, 3)), np.ones((4, 3)), loss="mse", optimizer="sgd", metrics=["mse"], callbacks=[cbk],
        epochs=3, batch_size=1, verbose=0, validation_data=(np.ones((2, 3)), np.ones((2, 3))))
    predict(model, np.ones((4, 3)), callbacks=[cbk], batch_size=1)
    got = (cbk.train, float(model.train_counter), cbk.test, float(model.test_counter), cbk.pred,
           float(model.predict_counter))
    _show("train/test/predict counters (callback, model)", got, (12, 12, 6, 6, 4, 4))
    assert got == (12, 12.0, 6, 6.0, 4, 4.0)


def test_loss_weights():
    x, y = np.ones((40, 4)), np.zeros((40, 3))
    h = fit(ExampleModel(3), x, y, loss="mse", optimizer="sgd", metrics=[M.MeanSquaredError()], loss_weights=0.2,
            batch_size=20, epochs=3, verbose=0).history
    _close("loss_weights single", h["loss"], [3.182979, 3.115617, 3.049681], atol=1e-3)
    _close("loss_weights single vs oracle", h["loss"], _sgd_oracle(3, 2, c=0.2), atol=0, rtol=1e-5)

    h = fit(StructModel(3), {"x_one": x, "x_two": x}, {"y_one": y, "y_two": y}, optimizer="sgd",
            loss={"y_one": "mse", "y_two": "mse"},
            metrics={"y_one": M.MeanSquaredError(), "y_two": M.MeanSquaredError()},
            loss_weights={"y_one": 0.1, "y_two": 0.2}, batch_size=20, epochs=3, verbose=0).history
    _close("loss_weights dict", h["loss"], [4.778718, 4.694403, 4.611693], atol=1e-3)
    oracle = np.add(_sgd_oracle(3, 2, c=0.1), _sgd_oracle(3, 2, c=0.2))
    _close("loss_weights dict vs oracle", h["loss"], oracle, atol=0, rtol=1e-5)

    h = fit(ListOutputModel(3), x, [y, y], optimizer="sgd", loss=["mse", "mse"],
            metrics=[M.MeanSquaredError(), M.MeanSquaredError()], loss_weights=[0.1, 0.2], batch_size=20, epochs=3,
            verbose=0).history
    _close("loss_weights list", h["loss"], [4.778718, 4.694403, 4.611693], atol=1e-3)
    _close("loss_weights list vs oracle", h["loss"], oracle, atol=0, rtol=1e-5)


# ================================================================================== compile_utils_test.py
# Keras's CompileMetrics/CompileLoss get y_true/y_pred directly; here evaluate() runs them on a model whose
# output for sample i is row i of the test's fixed y_pred (Keras's two update_state calls: two batches of 3).

Y_TRUE = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
Y_PRED_1 = np.array([[0.4, 0.1], [0.2, 0.6], [0.6, 0.1]])
Y_PRED_2 = np.array([[0.3, 0.2], [0.1, 0.4], [0.2, 0.3]])
Y_TRUE_B = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]])
Y_PRED_B1 = np.array([[0.4, 0.1, 0.3], [0.2, 0.6, 0.4], [0.6, 0.1, 0.8]])
Y_PRED_B2 = np.array([[0.3, 0.2, 0.1], [0.5, 0.4, 0.6], [0.1, 0.8, 0.7]])
SW = np.array([1, 0.0, 1])


class Lookup(torch.nn.Module):
    """Returns row ``i`` of fixed predictions for input ``i`` (a tensor, a list or a dict of them)."""

    def __init__(self, preds):
        super().__init__()
        self.preds = preds
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, i):
        i = i.long().reshape(-1)
        take = lambda v: torch.as_tensor(np.asarray(v), dtype=torch.float32)[i] + self.w  # noqa: E731
        if isinstance(self.preds, dict):
            return {k: take(v) for k, v in self.preds.items()}
        if isinstance(self.preds, list):
            return [take(v) for v in self.preds]
        return take(self.preds)


def _two_updates(preds, n=6):
    return np.arange(float(n)), preds


def test_compile_metrics_single_output_case():
    mse, wmse = M.MeanSquaredError(), M.MeanSquaredError()
    x, _ = _two_updates(None)
    logs = evaluate(Lookup(np.concatenate([Y_PRED_1, Y_PRED_2])), x, np.concatenate([Y_TRUE, Y_TRUE]), loss="mse",
                    metrics=[mse], weighted_metrics=[wmse], sample_weight=np.tile(SW, 2), batch_size=3)
    result = {k: v for k, v in logs.items() if k != "loss"}
    assert len(result) == 2
    _close("mean_squared_error", result["mean_squared_error"], 0.055833336)
    _close("weighted_mean_squared_error", result["weighted_mean_squared_error"], 0.0725)
    for m in (mse, wmse):
        m.reset_state()
    _close("after reset_state", [float(mse.result()), float(wmse.result())], [0.0, 0.0])


def test_compile_metrics_list_output_case():
    mets = [[M.MeanSquaredError(), M.MeanSquaredError()], [M.MeanSquaredError(), M.MeanSquaredError()]]
    wmets = [[M.MeanSquaredError(), M.MeanSquaredError()], [M.MeanSquaredError(), M.MeanSquaredError()]]
    preds = [np.concatenate([Y_PRED_1, Y_PRED_2]), np.concatenate([Y_PRED_B1, Y_PRED_B2])]
    logs = evaluate(Lookup(preds), np.arange(6.0), [np.concatenate([Y_TRUE] * 2), np.concatenate([Y_TRUE_B] * 2)],
                    loss="mse", metrics=mets, weighted_metrics=wmets, sample_weight=np.tile(SW, 2), batch_size=3)
    result = {k: v for k, v in logs.items() if "loss" not in k}
    print("list output metric keys:", sorted(result))
    assert len(result) == 8
    _close("mean_squared_error", result["mean_squared_error"], 0.055833336)
    _close("weighted_mean_squared_error", result["weighted_mean_squared_error"], 0.0725)
    for m in [m for pair in mets + wmets for m in pair]:
        m.reset_state()
        assert float(m.result()) == 0.0


def test_compile_metrics_dict_output_case():
    def pair():
        return [M.MeanSquaredError(), M.MeanSquaredError(name="mse")]
    preds = {"output_1": np.concatenate([Y_PRED_1, Y_PRED_2]), "output_2": np.concatenate([Y_PRED_B1, Y_PRED_B2])}
    y = {"output_1": np.concatenate([Y_TRUE] * 2), "output_2": np.concatenate([Y_TRUE_B] * 2)}
    logs = evaluate(Lookup(preds), np.arange(6.0), y, loss="mse", metrics={"output_1": pair(), "output_2": pair()},
                    weighted_metrics={"output_1": pair(), "output_2": pair()}, sample_weight=np.tile(SW, 2),
                    batch_size=3)
    result = {k: v for k, v in logs.items() if "loss" not in k}
    assert len(result) == 8
    expected = {"output_1_mean_squared_error": 0.055833336, "output_2_mean_squared_error": 0.066666667,
                "output_1_mse": 0.055833336, "output_2_mse": 0.066666667,
                "output_1_weighted_mean_squared_error": 0.0725, "output_2_weighted_mean_squared_error": 0.090833336,
                "output_1_weighted_mse": 0.0725, "output_2_weighted_mse": 0.090833336}
    for k, v in expected.items():
        _close(k, result[k], v)


def test_compile_metrics_name_conversions():
    logs = evaluate(Lookup(Y_PRED_1), np.arange(3.0), Y_TRUE, loss="mse", metrics=["acc", "accuracy", "mse"],
                    batch_size=3)
    result = {k: v for k, v in logs.items() if k != "loss"}
    assert len(result) == 3 and "mse" in result
    _close("acc", result["acc"], 0.333333)
    _close("accuracy", result["accuracy"], 0.333333)


def test_compile_metrics_custom_metric_function():
    def my_custom_metric(y_true, y_pred):
        return torch.mean(torch.square(y_true - y_pred), dim=-1)
    logs = evaluate(Lookup(Y_PRED_1), np.arange(3.0), Y_TRUE, loss="mse", metrics=[my_custom_metric], batch_size=3)
    _show("custom metric keys", [k for k in logs if k != "loss"], ["my_custom_metric"])
    assert [k for k in logs if k != "loss"] == ["my_custom_metric"]


def _batch_logs(*args, **kwargs) -> dict:
    """``evaluate``'s logs with the metrics in ``CompileMetrics.result()``'s order (what Keras's ``compile_utils``
    tests assert), read off ``evaluate(return_dict=False)``, Keras's ``_flatten_metrics_in_order`` (the loss, the
    metrics in that order, then the per-output losses); ``evaluate``'s dict itself is sorted, as Keras's. The
    metrics' values must be distinct."""
    logs = evaluate(*args, **kwargs)
    flat = evaluate(*args, return_dict=False, **kwargs)[1:]
    metrics = sorted((k for k in logs if "loss" not in k), key=lambda k: flat.index(logs[k]))
    return {k: logs[k] for k in ["loss", *metrics]}


def test_compile_metrics_list_outputs_dict_labels_uses_output_names():
    # output_names ["b", "a"], a list of predictions, dict labels: the metrics map by output name
    preds = [np.zeros((3, 5)), np.ones((3, 2))]
    logs = _batch_logs(Lookup(preds), np.arange(3.0), {"b": np.zeros((3, 5)), "a": np.zeros((3, 2))}, loss="mse",
                       metrics={"b": M.MeanSquaredError(), "a": M.MeanSquaredError()}, output_names=["b", "a"],
                       batch_size=3)
    keys = [k for k in logs if "loss" not in k]
    _show("keys", keys, ["b_mean_squared_error", "a_mean_squared_error"])
    assert keys == ["b_mean_squared_error", "a_mean_squared_error"]
    _close("b_mean_squared_error", logs["b_mean_squared_error"], 0.0)
    _close("a_mean_squared_error", logs["a_mean_squared_error"], 1.0)


@pytest.mark.parametrize("case", ["output_names_ordering", "outputs_ordering", "ignore_mismatched_output_names"])
def test_compile_metrics_dict_outputs(case):
    # dict outputs: the metrics dict is keyed by the outputs' keys (in Keras's tests the CompileMetrics
    # output_names, ["b", "a"] / mismatched op names, only decide the log order; a torch model's dict outputs are
    # named by their keys: the values are asserted, and the key order where Keras's follows the dict's keys)
    if case == "ignore_mismatched_output_names":
        metrics = {"a": M.MeanSquaredError(), "b": M.MeanSquaredError()}
        y = {"a": np.zeros((3, 2)), "b": np.zeros((3, 5))}
        preds = {"a": np.zeros((3, 2)), "b": np.ones((3, 5))}
        expected = {"a_mean_squared_error": 0.0, "b_mean_squared_error": 1.0}
    else:
        metrics = ({"a": M.MeanAbsolutePercentageError(), "b": M.MeanSquaredError()} if case == "output_names_ordering"
                   else {"b": M.MeanAbsolutePercentageError(), "a": M.MeanSquaredError()})
        shape_b = (3, 2) if case == "output_names_ordering" else (3, 5)
        y = {"a": np.ones((3, 2)), "b": np.ones(shape_b)}
        preds = {"a": np.full((3, 2), 2.0), "b": np.zeros(shape_b)}
        expected = ({"b_mean_squared_error": 1.0, "a_mean_absolute_percentage_error": 100.0}
                    if case == "output_names_ordering" else
                    {"a_mean_squared_error": 1.0, "b_mean_absolute_percentage_error": 100.0})
    names = ["b", "a"] if case == "output_names_ordering" else None  # (Keras's mismatched op names: below)
    logs = _batch_logs(Lookup(preds), np.arange(3.0), y, loss="mse", metrics=metrics, batch_size=3,
                       output_names=names)
    keys = [k for k in logs if "loss" not in k]
    _show(f"{case} keys", keys, list(expected))
    assert keys == list(expected)
    for k, v in expected.items():
        _close(k, logs[k], v)


def test_compile_metrics_dict_outputs_ignore_mismatched_output_names_given():
    # compile_utils_test.py::test_dict_outputs_ignore_mismatched_output_names, with its output_names: Keras's
    # CompileMetrics names a dict of outputs by its keys (sorted) when the output_names are not those keys
    logs = evaluate(Lookup({"a": np.zeros((3, 2)), "b": np.ones((3, 5))}), np.arange(3.0),
                    {"a": np.zeros((3, 2)), "b": np.zeros((3, 5))}, loss="mse",
                    metrics={"a": M.MeanSquaredError(), "b": M.MeanSquaredError()}, output_names=["dense", "dense_1"],
                    batch_size=3)
    keys = [k for k in logs if "loss" not in k]
    _show("mismatched output_names keys", keys, ["a_mean_squared_error", "b_mean_squared_error"])
    assert keys == ["a_mean_squared_error", "b_mean_squared_error"]
    _close("a_mean_squared_error", logs["a_mean_squared_error"], 0.0)
    _close("b_mean_squared_error", logs["b_mean_squared_error"], 1.0)


def test_compile_loss_single_output_case():
    logs = evaluate(Lookup(Y_PRED_1), np.arange(3.0), Y_TRUE, loss="mse", batch_size=3)
    _close("CompileLoss mse", logs["loss"], 0.068333, atol=1e-5)


def test_compile_loss_single_output_case_with_crossentropy_loss():
    logs = evaluate(Lookup(Y_PRED_1), np.arange(3.0), Y_TRUE, loss="crossentropy", batch_size=3)
    _close("CompileLoss crossentropy", logs["loss"], 0.706595, atol=1e-5)


def test_compile_loss_categorical_crossentropy_figure():
    # the figure of test_single_output_case_with_crossentropy_loss by the loss Keras resolves 'crossentropy' to
    logs = evaluate(Lookup(Y_PRED_1), np.arange(3.0), Y_TRUE, loss="categorical_crossentropy", batch_size=3)
    _close("CompileLoss categorical_crossentropy", logs["loss"], 0.706595, atol=1e-5)


Y_TRUE_2 = [np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]), np.array([[0.7, 0.8], [0.9, 1.0], [1.1, 1.2]])]
Y_PRED_2L = [np.array([[1.2, 1.1], [1.0, 0.9], [0.8, 0.7]]), np.array([[0.6, 0.5], [0.4, 0.3], [0.2, 0.1]])]


@pytest.mark.parametrize("broadcast", [True, False])
def test_compile_loss_list_output_case(broadcast):
    logs = evaluate(Lookup(Y_PRED_2L), np.arange(3.0), Y_TRUE_2, loss="mse" if broadcast else ["mse", "mse"],
                    batch_size=3)
    _close(f"CompileLoss list (broadcast={broadcast})", logs["loss"], 0.953333, atol=1e-5)


@pytest.mark.parametrize("broadcast", [True, False])
def test_compile_loss_dict_output_case(broadcast):
    preds = {"a": Y_PRED_2L[0], "b": Y_PRED_2L[1]}
    y = {"a": Y_TRUE_2[0], "b": Y_TRUE_2[1]}
    sw = {"a": np.array([1.0, 2.0, 3.0]), "b": np.array([3.0, 2.0, 1.0])}
    logs = evaluate(Lookup(preds), np.arange(3.0), y, loss="mse" if broadcast else {"a": "mse", "b": "mse"},
                    sample_weight=sw, batch_size=3)
    _close(f"CompileLoss dict + sample_weight (broadcast={broadcast})", logs["loss"], 1.266666, atol=1e-5)


@pytest.mark.parametrize("outputs", ["list", "dict"])
def test_compile_loss_list_loss_dict_data(outputs):
    # loss ["mse", "mae"] with output_names ["b", "a"]: mse on b, mae on a
    preds = [Y_PRED_2L[1], Y_PRED_2L[0]] if outputs == "list" else {"a": Y_PRED_2L[0], "b": Y_PRED_2L[1]}
    logs = evaluate(Lookup(preds), np.arange(3.0), {"a": Y_TRUE_2[0], "b": Y_TRUE_2[1]}, loss=["mse", "mae"],
                    output_names=["b", "a"], batch_size=3)
    _close(f"CompileLoss list loss, dict data ({outputs} outputs)", logs["loss"], 1.07666, atol=1e-5)


def test_compile_loss_struct_loss_valid_weights():
    # loss_weights {"a": 1, "b": 0} (Keras's test gives arrays of ones / zeros): loss 4, each output's loss 4
    preds = {"a": np.array([[3.0], [4.0]]), "b": np.array([[3.0], [4.0]])}
    y = {"a": np.array([[1.0], [2.0]]), "b": np.array([[1.0], [2.0]])}
    logs = evaluate(Lookup(preds), np.arange(2.0), y, loss={"a": "mse", "b": "mse"}, loss_weights={"a": 1.0, "b": 0.0},
                    batch_size=2)
    _close("loss, a_loss, b_loss", [logs["loss"], logs["a_loss"], logs["b_loss"]], [4.0, 4.0, 4.0])


def test_compile_loss_struct_loss_invalid_weights():
    preds = {"c": Y_PRED_2L[0], "d": Y_PRED_2L[1], "b": Y_PRED_2L[1]}
    y = {"c": Y_TRUE_2[0], "d": Y_TRUE_2[1], "b": Y_TRUE_2[1]}
    with pytest.raises(ValueError, match="must match the number of losses") as info:
        evaluate(Lookup(preds), np.arange(3.0), y, loss={"c": "mse", "d": "mae"}, loss_weights=[1], batch_size=3)
    print("invalid loss_weights:", info.value)


def test_compile_loss_structure_mismatch():
    with pytest.raises(ValueError, match="`y` has 1 entries for a model of 2 outputs") as info:
        evaluate(Lookup([np.ones((1, 1)), np.ones((1, 1))]), np.arange(1.0), [np.ones((1, 1))], loss=["mse", "mse"],
                 output_names=["a", "b"], batch_size=1)
    print("y of 1 array for 2 outputs:", info.value, "(Keras: 'y_true and y_pred have different structures.')")


PARTIAL = [["mse", None, None], [None, "mse", None], [None, None, "mse"], [None, "mse", "mse"], ["mse", None, "mse"]]


@pytest.mark.parametrize("loss_conf", PARTIAL, ids=["-".join(str(c) for c in p) for p in PARTIAL])
def test_compile_loss_y_true_partial_y_pred_span(loss_conf):
    preds = [np.zeros((320, 3)), np.ones((320, 3)), np.ones((320, 3)) * 2]
    y = [p for p, c in zip(preds, loss_conf) if c is not None]
    y = y[0] if len(y) == 1 else y
    # Keras's build call, then the built call
    for _ in range(2):
        logs = evaluate(Lookup(preds), np.arange(320.0), y, loss=loss_conf, output_names=["a", "b", "c"],
                        batch_size=320)
        _close("partial loss", logs["loss"], 0.0)
    # the labels go to the outputs with a loss: shifted by one, the loss is not 0
    shifted = [p + 1.0 for p in (y if isinstance(y, list) else [y])]
    logs = evaluate(Lookup(preds), np.arange(320.0), shifted if isinstance(y, list) else shifted[0], loss=loss_conf,
                    output_names=["a", "b", "c"], batch_size=320)
    _close("partial loss, labels + 1", logs["loss"], float(sum(c is not None for c in loss_conf)))


def test_compile_loss_partial_with_full_labels():
    # what torch_impl takes instead: a y for every output (None-loss outputs' labels unused)
    preds = [np.zeros((32, 3)), np.ones((32, 3)), np.ones((32, 3)) * 2]
    for conf in PARTIAL:
        logs = evaluate(Lookup(preds), np.arange(32.0), preds, loss=conf, output_names=["a", "b", "c"], batch_size=32)
        assert logs["loss"] == 0.0, conf
    print("partial losses with full labels: loss 0.0 for", PARTIAL)


class _ThreeOutputs(torch.nn.Module):
    """trainer_test's model of the partial-loss tests: outputs ``[x, x, x]`` of ``Dense(3, kernel ones)``."""

    def __init__(self):
        super().__init__()
        self.dense = ExampleModel(3, in_features=2)

    def forward(self, x):
        z = self.dense(x)
        return [z, z, z]


def test_partial_loss_partial_label():
    # trainer_test::test_partial_loss_partial_label: outputs [x, x, x] of Dense(3, kernel ones) on ones((32, 2))
    x, y = np.ones((32, 2)), np.ones((32, 3))
    partial = evaluate(_ThreeOutputs(), x, y, loss=["mse", None, None])
    full = evaluate(_ThreeOutputs(), x, [y] * 3, loss=["mse", "mse", "mse"])
    _close("partial * 3 vs full", partial["loss"] * 3, full["loss"])
    _close("partial loss (Keras 3.15.1: 1.0)", partial["loss"], 1.0)


def test_partial_loss_full_labels():
    x, y = np.ones((32, 2)), np.ones((32, 3))
    partial = evaluate(_ThreeOutputs(), x, [y] * 3, loss=["mse", None, None])
    full = evaluate(_ThreeOutputs(), x, [y] * 3, loss=["mse", "mse", "mse"])
    _close("partial * 3 vs full (labels for every output)", partial["loss"] * 3, full["loss"])
    _close("full loss", full["loss"], 3 * (2.0 - 1.0) ** 2)


def test_partial_labels_fit_against_keras():
    # fit on outputs [d1(x), d2(x), d1(x)] with loss [None, "mse", "mae"] and y only for the two outputs with a loss
    # (Keras's CompileLoss spreads y over them); Dense kernels/biases ones/zeros, SGD, batch 8, shuffle=False.
    # Keras 3.15.1 (scratch script, output layers dense_1, dense_2, dense_1): history and final weights
    keras_history = {"dense_2_loss": [0.6011432409286499, 0.5528992414474487, 0.5105117559432983],
                     "dense_1_loss": [0.6416490077972412, 0.635962188243866, 0.6302752494812012],
                     "loss": [1.2427922487258911, 1.18886137008667, 1.140787124633789]}
    keras_weights = [[[0.9878072142601013, 0.9899506568908691, 0.9903805255889893],
                      [0.9913330674171448, 0.9914171099662781, 0.9928290247917175]],
                     [-0.014999998733401299, -0.01249999925494194, -0.010000000707805157],
                     [[0.9518033266067505], [0.9544440507888794]], [-0.06031521409749985]]

    class Two(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.d1, self.d2 = torch.nn.Linear(2, 3), torch.nn.Linear(2, 1)
            for d in (self.d1, self.d2):
                torch.nn.init.ones_(d.weight)
                torch.nn.init.zeros_(d.bias)

        def forward(self, x):
            z1 = self.d1(x)
            return [z1, self.d2(x), z1]

    rng = np.random.default_rng(0)
    x, y2, y3 = rng.random((16, 2)), rng.random((16, 1)), rng.random((16, 3))
    model = Two()
    h = fit(model, x, [y2, y3], loss=[None, "mse", "mae"], optimizer="sgd", epochs=3, batch_size=8, shuffle=False,
            verbose=0, output_names=["dense_0", "dense_2", "dense_1"])  # distinct names here: dense_1 twice in Keras
    assert sorted(h.history) == sorted(keras_history)
    for k, v in keras_history.items():
        _close(f"partial-label fit {k} vs Keras 3.15.1", h.history[k], v, atol=1e-6, rtol=1e-5)
    ours = [model.d1.weight.detach().T.numpy(), model.d1.bias.detach().numpy(), model.d2.weight.detach().T.numpy(),
            model.d2.bias.detach().numpy()]
    for i, (a, b) in enumerate(zip(ours, keras_weights)):
        _close(f"partial-label fit weight {i} vs Keras 3.15.1", a, b, atol=1e-6, rtol=1e-5)
    # an output with a loss (or metrics) still needs its labels; a per-output sample_weight list as long as the
    # shorter y: Keras 3.15.1's IndexError at the first step (its CompileLoss looks dense_1's weights up at index 2
    # of the two, compile_utils.py:826-827), also a ValueError here
    names = ["dense_0", "dense_2", "dense_1"]
    with pytest.raises(ValueError, match="no labels for outputs") as info:
        evaluate(Two(), x, {"dense_2": y2}, loss={"dense_0": None, "dense_2": "mse", "dense_1": None},
                 output_names=names, metrics={"dense_1": ["mae"]})
    print("metrics on an output without labels:", info.value)
    by_dict = evaluate(Two(), x, {"dense_2": y2}, output_names=names,
                       loss={"dense_0": None, "dense_2": "mse", "dense_1": None})["loss"]
    _close("dict y for the output with a loss", by_dict,
           evaluate(Two(), x, [y2, y2, y2], output_names=names, loss=[None, "mse", None])["loss"])
    with pytest.raises(IndexError, match="tuple index out of range") as info:
        fit(Two(), x, [y2, y3], sample_weight=[np.ones(16), np.ones(16)], loss=[None, "mse", "mae"], optimizer="sgd",
            verbose=0)
    assert isinstance(info.value, ValueError)
    print("a partial per-output sample_weight list:", info.value)


def test_internal_only_loss():
    # trainer_test::test_internal_only_loss: Sequential([Dense(2), LossLayer, Dense(1)]) whose LossLayer calls
    # add_loss(ops.sum(x)), compile(optimizer="adam") without a loss, fit(ones((16, 2)), zeros((16, 1)),
    # batch_size=4): the added sum is the loss. Keras's test asserts no figure (random kernels); here kernels ones,
    # biases zeros, 2 epochs, shuffle=False. Keras 3.15.1 (scratch script): loss [15.964000701904297,
    # 15.868000984191895], first kernel 0.9920001 / bias -0.0079999 everywhere, the last Dense untouched (no
    # gradient: Keras warns), then evaluate(x) 15.808002471923828. float64 oracle: Adam on a constant-sign gradient
    # moves each weight of the first Dense by lr = 1e-3 per step, so batch k's loss 8 * (2 w + b) is 16 - 0.024 k.
    class LossLayer(torch.nn.Module):
        def forward(self, x):
            add_loss(self, x.sum())
            return x

    model = torch.nn.Sequential(torch.nn.Linear(2, 2), LossLayer(), torch.nn.Linear(2, 1))
    for dense in (model[0], model[2]):
        torch.nn.init.ones_(dense.weight)
        torch.nn.init.zeros_(dense.bias)
    x, y = np.ones((16, 2)), np.zeros((16, 1))
    h = fit(model, x, y, optimizer="adam", batch_size=4, epochs=2, shuffle=False, verbose=0)
    oracle = [float(np.mean([16 - 0.024 * k for k in range(e * 4, e * 4 + 4)])) for e in range(2)]
    _close("internal-only loss history vs Keras 3.15.1", h.history["loss"], [15.964000701904297, 15.868000984191895])
    _close("internal-only loss history vs the float64 oracle", h.history["loss"], oracle)
    assert sorted(h.history) == ["loss"]
    _close("first kernel", model[0].weight.detach(), np.full((2, 2), 0.9920001029968262))
    _close("first bias", model[0].bias.detach(), np.full(2, -0.007999937981367111))
    _close("last Dense untouched", model[2].weight.detach(), np.ones((1, 2)), atol=0, rtol=0)
    loss = evaluate(model, x, batch_size=4, return_dict=False)  # no y: the added loss needs none
    _close("evaluate(x) vs Keras 3.15.1", loss, 15.808002471923828)
    _close("evaluate(x) vs the oracle", loss, 16 - 0.024 * 8)


# ================================================================================== epoch_iterator_test.py


class _BatchIndices(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_batch_begin(self, batch, logs=None):
        self.steps.append(batch)


def test_epoch_iterator_basic_flow():
    # 100 samples, batch 16, shuffle: steps 0..6 of an epoch, each batch (x, y, sample_weight)
    rng = np.random.default_rng(0)
    x, y, sw = rng.random((100, 16)), rng.random((100, 4)), rng.random(100)
    rec = _BatchIndices()
    fit(torch.nn.Linear(16, 4), x, y, sample_weight=sw, batch_size=16, shuffle=True, loss="mse", optimizer="sgd",
        callbacks=[rec], verbose=0)
    _show("steps seen", rec.steps, [0, 1, 2, 3, 4, 5, 6])
    assert rec.steps == [0, 1, 2, 3, 4, 5, 6]


def test_epoch_iterator_insufficient_data():
    # Keras: arrays of 4 batches with steps_per_epoch 6 (a GAP with arrays here); the same 4 batches from a generator
    batch_size, steps_per_epoch = 8, 6
    n = batch_size * (steps_per_epoch - 2)
    x = np.arange(n).reshape((n, 1)).astype(np.float32)

    def gen():
        for i in range(0, n, batch_size):
            yield x[i:i + batch_size], 2 * x[i:i + batch_size]
    rec = _BatchIndices()
    # the steps that trained (Keras's fit calls on_train_batch_begin before it reads the batch: a 5th begin here, as
    # Keras's fit on a generator does)
    rec.on_train_batch_end, rec.on_train_batch_begin = rec.on_train_batch_begin, lambda batch, logs=None: None
    with pytest.warns(UserWarning, match="Your input ran out of data"):
        fit(torch.nn.Linear(1, 1), gen(), steps_per_epoch=steps_per_epoch, loss="mse", optimizer="sgd",
            callbacks=[rec], verbose=0, shuffle=False)
    _show("steps seen", rec.steps, list(range(steps_per_epoch - 2)))
    assert len(rec.steps) == steps_per_epoch - 2
    # test_insufficient_data[arrays] itself: the arrays' pass ends after its 4 batches, warned
    rec = _BatchIndices()
    with pytest.warns(UserWarning, match="Your input ran out of data"):
        fit(torch.nn.Linear(1, 1), x, 2 * x, batch_size=batch_size, steps_per_epoch=steps_per_epoch, loss="mse",
            optimizer="sgd", callbacks=[rec], verbose=0, shuffle=False)
    _show("steps seen (arrays)", rec.steps, list(range(steps_per_epoch - 2)))
    assert rec.steps == list(range(steps_per_epoch - 2))


def _loader(n_x=100, dx=16, dy=4, shuffle=True):
    rng = np.random.default_rng(0)
    ds = torch.utils.data.TensorDataset(torch.from_numpy(rng.random((n_x, dx))),
                                        torch.from_numpy(rng.random((n_x, dy))))
    return torch.utils.data.DataLoader(ds, batch_size=8, shuffle=shuffle)


@pytest.mark.parametrize("arg", ["y", "sample_weight"])
def test_epoch_iterator_unsupported_arg_torch_dataloader(arg):
    name = {"y": "y", "sample_weight": "sample_weights"}[arg]
    with pytest.raises(ValueError, match=f"When providing `x` as a torch DataLoader, `{name}` should not") as info:
        value = np.random.default_rng(0).random((100, 4) if arg == "y" else 100)
        fit(torch.nn.Linear(16, 4), _loader(), **{arg: value}, loss="mse", optimizer="sgd", verbose=0)
    print(info.value)


def test_epoch_iterator_torch_dataloader():
    adapter = data_adapter(_loader(64, 2, 1), "torch DataLoader")
    shapes = []
    iterator = EpochIterator(adapter)
    with iterator.catch_stop_iteration():
        for _, it in iterator:
            xb, yb = next(it)
            shapes.append((tuple(xb.shape), tuple(yb.shape)))
    _show("batch shapes", sorted(set(shapes)), [((8, 2), (8, 1))])
    assert len(shapes) == 8 and set(shapes) == {((8, 2), (8, 1))}


def test_epoch_iterator_python_generator_input():
    def generator_example():
        for i in range(100):
            yield np.array([i]), np.array([i * 2])
    x = generator_example()
    adapter = data_adapter(x, data_kind(x))
    _show("kind, adapter", (data_kind(x), type(adapter).__name__), "GeneratorDataAdapter")
    assert data_kind(x) == "generator" and type(adapter).__name__ == "_GeneratorAdapter"


@pytest.mark.parametrize("run", ["fit", "evaluate", "predict"])
def test_epoch_iterator_unrecognized_data_type(run):
    # a string x: Keras's "Unrecognized data type"; torch_impl raised torch's TypeError ("can't convert np.ndarray
    # of type numpy.str_") before the fix in data_adapters.data_kind (Keras 3.15.1 measured: ValueError
    # "Unrecognized data type: x=unsupported_data (of type <class 'str'>)")
    model = torch.nn.Linear(1, 1)
    kwargs = {"fit": {"loss": "mse", "optimizer": "sgd", "verbose": 0}, "evaluate": {"loss": "mse"}, "predict": {}}[run]
    with pytest.raises(ValueError, match="Unrecognized data type") as info:
        {"fit": fit, "evaluate": evaluate, "predict": predict}[run](model, "unsupported_data", **kwargs)
    print(run, info.value)
    assert str(info.value) == "Unrecognized data type: x=unsupported_data (of type <class 'str'>)"


@pytest.mark.parametrize("infinite", [True, False])
def test_epoch_iterator_epoch_callbacks(infinite):
    class TestPyDataset:
        def __init__(self):
            self.data = np.random.default_rng(0).random((64, 2))
            self.batch_size = 16
            self.tracker = []

        @property
        def num_batches(self):
            return None if infinite else len(self.data) // self.batch_size

        def on_epoch_begin(self):
            self.tracker.append(1)

        def __getitem__(self, index):
            idx = index % 2
            return self.data[idx * self.batch_size:(idx + 1) * self.batch_size]

        def on_epoch_end(self):
            self.tracker.append(2)

    ds = TestPyDataset()
    epoch_iter = EpochIterator(data_adapter(ds, "PyDataset"), steps=10)
    with _quiet():
        for _ in range(5):
            with epoch_iter.catch_stop_iteration():
                for _, it in epoch_iter:
                    next(it)
    _show("tracker", ds.tracker, [1, 2] * 5)
    assert ds.tracker == [1, 2] * 5


# ================================================================================== callbacks


def test_model_state_is_current_on_epoch_end():
    # callback_test.py: a model counting its calls in a variable; at each on_batch_end the count is batch + 1
    class TestModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("iterations", torch.zeros(()))
            self.w = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x):
            self.iterations += 1
            return x + self.w

    seen = []

    class CBK(callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append((int(self.model.iterations), batch + 1))

    rng = np.random.default_rng(0)
    fit(TestModel(), rng.random((8, 1)), rng.random((8, 1)), loss="mse", optimizer="sgd", callbacks=[CBK()],
        batch_size=2, verbose=0)
    _show("(model.iterations, batch + 1)", seen, "equal pairs")
    assert len(seen) == 4 and all(a == b for a, b in seen)


def _monitor_data():
    rng = np.random.default_rng(1)
    return rng.random((10, 5)), rng.random((10, 1)), rng.random((10, 5)), rng.random((10, 1))


def test_monitor_op_logic():
    x, y, xv, yv = _monitor_data()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 1), torch.nn.ReLU(), torch.nn.Linear(1, 1), torch.nn.ReLU())
    mets = ["mse", "acc", "accuracy", "hinge", M.F1Score(name="f1_score")]
    cases = [("max", "val_mse", "max"), ("min", "val_loss", "min"), ("auto", "val_mse", "min"), ("auto", "loss", "min"),
             ("auto", "acc", "max"), ("auto", "val_accuracy", "max"), ("auto", "hinge", "min"),
             ("auto", "f1_score", "max")]
    opt = optim.Adam(model.parameters())
    for mode, monitor, expected in cases:
        cb = callbacks.MonitorCallback(monitor, mode)
        with _quiet():
            fit(model, x, y, loss="mae", optimizer=opt, metrics=mets, batch_size=5, validation_data=(xv, yv), epochs=2,
                verbose=0, callbacks=[cb])
        cb._set_monitor_op()
        got = "max" if cb.monitor_op is np.greater else "min" if cb.monitor_op is np.less else cb.monitor_op
        print(f"MonitorCallback({monitor!r}, {mode!r}): {got} (Keras's test: {expected})")
        assert got == expected
    cb = callbacks.MonitorCallback("unknown")
    with _quiet():
        fit(model, x, y, loss="mae", optimizer=opt, metrics=mets, batch_size=5, validation_data=(xv, yv), epochs=2,
            verbose=0, callbacks=[cb])
    with pytest.raises(ValueError):
        cb._set_monitor_op()


def test_monitor_min_delta():
    cb = callbacks.MonitorCallback(mode="max", min_delta=0.5)
    cb._set_monitor_op()
    got = [cb._is_improvement(0.75, 0), cb._is_improvement(0.5, None), cb._is_improvement(0.5, 0),
           cb._is_improvement(0.2, 0.5)]
    _show("_is_improvement", got, [True, True, False, False])
    assert got == [True, True, False, False]


def _csv_model(seed=1337):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))


def test_csv_logger(tmp_path):
    rng = np.random.default_rng(1337)
    x, y, xv, yv = rng.random((10, 3)), rng.random((10, 1)), rng.random((10, 3)), rng.random((10, 1))
    path = str(tmp_path / "log.tsv")
    sep = "\t"

    def run(model, cbks, epochs, **kw):
        return fit(model, x, y, loss="mse", optimizer="sgd", metrics=["mse"], batch_size=4, validation_data=(xv, yv),
                   callbacks=cbks, epochs=epochs, verbose=0, **kw)
    run(_csv_model(), [callbacks.CSVLogger(path, separator=sep)], 1)  # case 1: a new file, separator
    with open(path) as f:
        assert csv.Sniffer().sniff(f.read()).delimiter == sep
    model = _csv_model()
    cbks = [callbacks.CSVLogger(path, separator=sep, append=True)]
    run(model, cbks, 1)  # case 2: append, no second header
    run(model, cbks, 2)  # case 3: the logger reused
    with open(path) as f:
        lines = f.readlines()
    print("".join(lines))
    assert all(line.count(sep) == 4 for line in lines) and len(lines) == 5
    assert len(re.findall("epoch", " ".join(lines))) == 1
    os.remove(path)
    hist = run(_csv_model(), [callbacks.CSVLogger(path, separator=sep)], 5, validation_freq=3)  # case 4
    with open(path) as f:
        rows = list(csv.DictReader(f, delimiter=sep))
    vals = [row["val_loss"] for row in rows]
    _show("val_loss column", vals, f"NA except row 3 == {hist.history['val_loss'][0]!s}")
    assert len(rows) == 5
    assert vals == ["NA", "NA", str(hist.history["val_loss"][0]), "NA", "NA"]


def test_stop_training_csv(tmp_path):
    path = str(tmp_path / "csv_logger.csv")
    rng = np.random.default_rng(1337)
    x, xv = rng.random((10, 3)), rng.random((10, 3))
    y, yv = np.eye(2)[rng.choice(2, size=10)], np.eye(2)[rng.choice(2, size=10)]
    layers = []
    for i in range(5):
        layer = torch.nn.Linear(3 if i == 0 else 2, 2)
        torch.nn.init.constant_(layer.weight, 1e5)
        torch.nn.init.zeros_(layer.bias)
        layers += [layer, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(2, 2))
    h = fit(model, x, y, loss="mean_squared_error", optimizer="sgd", batch_size=4, validation_data=(xv, yv),
            callbacks=[callbacks.TerminateOnNaN(), callbacks.CSVLogger(path)], epochs=20, verbose=0)
    loss = h.history["loss"]
    with open(path) as f:
        values = [row for row in csv.reader(f) if row]
    print("loss history:", loss, "csv:", values)
    assert len(loss) == 1 and (np.isnan(loss[0]) or np.isinf(loss[0]))
    assert "nan" in values[-1]


def _lambda_model():
    torch.manual_seed(0)
    return torch.nn.Linear(2, 1)


def test_lambda_callback():
    calls = []
    cb = callbacks.LambdaCallback(on_train_begin=lambda logs: calls.append("on_train_begin"),
                                  on_epoch_begin=lambda epoch, logs: calls.append("on_epoch_begin"),
                                  on_epoch_end=lambda epoch, logs: calls.append("on_epoch_end"),
                                  on_train_end=lambda logs: calls.append("on_train_end"))
    rng = np.random.default_rng(0)
    fit(_lambda_model(), rng.standard_normal((16, 2)), rng.standard_normal((16, 1)), loss="mse", optimizer="sgd",
        batch_size=4, validation_split=0.2, callbacks=[cb], epochs=5, verbose=0)
    _show("calls", calls[:3] + ["..."] + calls[-2:], "each of the four hooks")
    assert calls == ["on_train_begin"] + ["on_epoch_begin", "on_epoch_end"] * 5 + ["on_train_end"]


def test_lambda_callback_with_batches():
    calls = []
    cb = callbacks.LambdaCallback(on_train_batch_begin=lambda batch, logs: calls.append("on_train_batch_begin"),
                                  on_train_batch_end=lambda batch, logs: calls.append("on_train_batch_end"))
    rng = np.random.default_rng(0)
    fit(_lambda_model(), rng.standard_normal((16, 2)), rng.standard_normal((16, 1)), loss="mse", optimizer="sgd",
        batch_size=4, validation_split=0.2, callbacks=[cb], epochs=5, verbose=0)
    # 12 training samples: 3 batches per epoch
    _show("batch calls", len(calls), 30)
    assert calls == ["on_train_batch_begin", "on_train_batch_end"] * 15


def test_lambda_callback_with_kwargs():
    calls = []
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 2)), rng.standard_normal((16, 1))
    model = _lambda_model()
    fit(model, x, y, loss="mse", optimizer="sgd", batch_size=4, epochs=1, verbose=0)
    evaluate(model, x, y, loss="mse", batch_size=4,
             callbacks=[callbacks.LambdaCallback(on_test_begin=lambda logs: calls.append("custom_on_test_begin"))])
    _show("calls", calls, ["custom_on_test_begin"])
    assert calls == ["custom_on_test_begin"]


def test_lambda_callback_no_args_and_additional_kwargs():
    assert isinstance(callbacks.LambdaCallback(), callbacks.LambdaCallback)

    def custom_callback(logs):
        pass
    cb = callbacks.LambdaCallback(custom_method=custom_callback)
    print("custom_method kept:", cb.custom_method is custom_callback)
    assert hasattr(cb, "custom_method")


def test_lambda_callback_during_prediction():
    calls = []
    predict(_lambda_model(), np.random.default_rng(0).standard_normal((16, 2)), batch_size=4,
            callbacks=[callbacks.LambdaCallback(on_predict_begin=lambda logs: calls.append("on_predict_begin"))])
    _show("calls", calls, ["on_predict_begin"])
    assert calls == ["on_predict_begin"]


def _ckpt_data():
    """``test_utils.get_test_data(random_seed=42, 30/30 samples, input (3,), 3 classes)`` + ``to_categorical``."""
    rng = np.random.default_rng(42)
    y = rng.integers(0, 3, size=60)
    x = rng.normal(size=(60, 3)) + y[:, None]
    return x[:30], np.eye(3)[y[:30]], x[30:], np.eye(3)[y[30:]]


def _ckpt_model(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    model.output_activation = "softmax"
    return model


def test_model_checkpoint_options(tmp_path):
    x, y, xv, yv = _ckpt_data()
    model = _ckpt_model()
    opt = optim.SGD(model.parameters())

    def run(cb, batch_size=5, epochs=1, metrics=(M.Accuracy("acc"),)):
        fit(model, x, y, loss="categorical_crossentropy", optimizer=opt, metrics=list(metrics), batch_size=batch_size,
            validation_data=(xv, yv), callbacks=[cb], epochs=epochs, verbose=0)

    filepath = str(tmp_path / "subdir" / "checkpoint.pt")  # Keras: checkpoint.keras (a subdir created)
    for monitor, mode, best_only in [("val_loss", "auto", False), ("val_loss", "min", False), ("val_acc", "max", False),
                                     ("val_acc", "max", True)]:  # cases 1-4
        run(callbacks.ModelCheckpoint(filepath, monitor=monitor, save_best_only=best_only, mode=mode))
        print(f"case monitor={monitor} mode={mode} save_best_only={best_only}: saved {os.path.exists(filepath)}")
        assert os.path.exists(filepath)
        os.remove(filepath)
    with pytest.warns(UserWarning):  # case 5: the monitor is not logged
        run(callbacks.ModelCheckpoint(filepath, monitor="unknown", save_best_only=True, mode="min"))
    assert os.path.exists(filepath)
    with pytest.warns(UserWarning, match="ModelCheckpoint mode 'unknown' is unknown"):  # case 6
        callbacks.ModelCheckpoint(filepath, monitor="val_acc", save_best_only=True, mode="unknown")

    for weights_only in (False, True):  # cases 8a / 8b: save_freq=15, 5 batches an epoch: epochs 3, 6, 9
        fp = str(tmp_path / f"w{int(weights_only)}" / "checkpoint.epoch{epoch:02d}.pt")
        run(callbacks.ModelCheckpoint(fp, monitor="val_acc", mode="max", save_freq=15, save_weights_only=weights_only),
            batch_size=6, epochs=10)
        saved = [e for e in range(1, 11) if os.path.exists(fp.format(epoch=e))]
        _show(f"save_freq=15 (weights_only={weights_only}) saved epochs", saved, [3, 6, 9])
        assert saved == [3, 6, 9]

    with pytest.raises(ValueError, match="Unrecognized save_freq"):  # case 9
        callbacks.ModelCheckpoint(filepath, save_weights_only=True, save_freq="invalid_save_freq")
    callbacks.ModelCheckpoint(filepath, save_weights_only=True, save_freq="epoch")
    callbacks.ModelCheckpoint(filepath, save_weights_only=True, save_freq=3)

    for weights_only in (False, True):  # cases 10a / 10b: batch in the file name, 2 batches of 15 an epoch
        fp = str(tmp_path / f"b{int(weights_only)}" / "checkpoint.epoch{epoch:02d}batch{batch:02d}.pt")
        run(callbacks.ModelCheckpoint(fp, monitor="val_acc", save_freq=1, save_weights_only=weights_only),
            batch_size=15, epochs=5)
        saved = sorted(os.listdir(os.path.dirname(fp)))
        print(f"save_freq=1 (weights_only={weights_only}): {saved}")
        assert all(os.path.exists(fp.format(epoch=e, batch=b)) for e in range(1, 6) for b in (1, 2))
        assert len(saved) == 10

    filepath = str(tmp_path / "checkpoint.pt")
    cases = [("val_acc", "max", -0.01, True), ("val_loss", "auto", None, True),  # cases 11, 12: saved
             ("val_loss", "min", 0, False), ("val_loss", "auto", 0, False)]  # cases 13, 14: never below 0
    for monitor, mode, threshold, saved in cases:
        run(callbacks.ModelCheckpoint(filepath, monitor=monitor, save_best_only=True, initial_value_threshold=threshold,
                                      mode=mode))
        print(f"initial_value_threshold={threshold} ({monitor}, {mode}): saved {os.path.exists(filepath)} "
              f"(Keras's test: {saved})")
        assert os.path.exists(filepath) == saved
        if saved:
            os.remove(filepath)
    # case 15: val_auc (auto: max) never above 1
    run(callbacks.ModelCheckpoint(filepath, monitor="val_auc", save_best_only=True, initial_value_threshold=1,
                                  mode="auto"), metrics=[M.AUC()])
    print("val_auc with initial_value_threshold=1: saved", os.path.exists(filepath), "(Keras's test: False)")
    assert not os.path.exists(filepath)


def test_model_checkpoint_loading(tmp_path):
    x, y, xv, yv = _ckpt_data()
    for weights_only in (False, True):
        model = _ckpt_model()
        filepath = str(tmp_path / ("checkpoint.weights.pt" if weights_only else "checkpoint.model.pt"))
        fit(model, x, y, loss="categorical_crossentropy", optimizer="sgd", metrics=[M.Accuracy("acc")], batch_size=5,
            validation_data=(xv, yv), epochs=1, verbose=0,
            callbacks=[callbacks.ModelCheckpoint(filepath, monitor="val_loss", save_best_only=True, mode="auto",
                                                 save_weights_only=weights_only)])
        assert os.path.exists(filepath)
        if weights_only:
            new_model = _ckpt_model(seed=1)
            new_model.load_state_dict(torch.load(filepath))
        else:
            new_model = torch.load(filepath, weights_only=False)
        ref, new = list(model.state_dict().values()), list(new_model.state_dict().values())
        diff = max(float((a - b).abs().max()) for a, b in zip(ref, new))
        print(f"weights_only={weights_only}: {len(new)} tensors reloaded, max |diff| {diff}")
        assert len(ref) == len(new) and diff == 0.0


# ------------------------------------------------------------------ swap_ema_weights_test.py


def _get_test_data(train_samples, test_samples, input_shape, num_classes, random_seed):
    """Keras's ``testing.test_utils.get_test_data`` (NumPy's legacy generator, as its ``np.random.seed``): the
    training part."""
    rs = np.random.RandomState(random_seed)
    total = train_samples + test_samples
    per_class = total // num_classes
    y = np.array([i for i in range(num_classes) for _ in range(per_class)], dtype=np.int32)
    y = np.concatenate([y, np.array([i % num_classes for i in range(total - len(y))], dtype=np.int64)])
    templates = 2 * num_classes * rs.random_sample((num_classes,) + input_shape)
    x = np.zeros((total,) + input_shape, dtype=np.float32)
    for i in range(total):
        x[i] = templates[y[i]] + rs.normal(loc=0, scale=1.0, size=input_shape)
    indices = np.arange(total)
    rs.shuffle(indices)
    x, y = x[indices], y[indices]
    x_train, y_train = [], []
    for cls in range(num_classes):
        cls_indices = np.where(y == cls)[0]
        rs.shuffle(cls_indices)
        count = int(train_samples / num_classes)
        x_train.extend(x[cls_indices[:count]])
        y_train.extend(y[cls_indices[:count]])
    x_train, y_train = np.array(x_train), np.array(y_train)
    train_indices = np.arange(len(x_train))
    rs.shuffle(train_indices)
    return x_train[train_indices], y_train[train_indices]


def _ema_data():
    x, y = _get_test_data(10, 10, (3,), 2, 2023)
    return x, np.eye(2, dtype=np.float32)[y]  # to_categorical


def _ema_model(use_ema=True, loss_scale=False):
    """Keras's ``_get_compiled_model``: Dense(2, kernel ones, no bias), SGD(use_ema, ema_momentum=0.9), mse."""
    model = ExampleModel(2, in_features=3)
    opt = optim.SGD(model.parameters(), use_ema=use_ema, ema_momentum=0.9)
    return model, (optim.LossScaleOptimizer(opt) if loss_scale else opt)


#: Keras 3.15.1 on the same data (scratch script): val_mean_squared_error per epoch with / without the callback,
#: and model.evaluate after fit (the EMA weights fit leaves)
KERAS_EMA_VAL = {"without": [22.77683448791504, 17.57693099975586], "with": [22.77683448791504, 22.22584342956543]}
KERAS_EMA_EVALUATE = 22.22584342956543


def _ema_fit(model, opt, cbs, x, y):
    return fit(model, x, y, loss="mse", metrics=[M.MeanSquaredError()], optimizer=opt, epochs=2, batch_size=32,
               validation_data=(x, y), callbacks=cbs, verbose=0)


def test_swap_ema_weights_test_data_is_keras():
    x, y = _ema_data()
    # Keras's get_test_data(10, 10, (3,), 2, random_seed=2023), first rows and labels (Keras 3.15.1)
    _close("get_test_data x[0]", x[0], [0.34087496995925903, -1.5030454397201538, 2.3243210315704346], atol=0, rtol=0)
    _show("get_test_data argmax(y)", y.argmax(1).tolist(), [1, 0, 0, 0, 1, 1, 1, 0, 1, 0])
    assert y.argmax(1).tolist() == [1, 0, 0, 0, 1, 1, 1, 0, 1, 0]


def test_swap_ema_weights_with_invalid_optimizer():
    x, y = _ema_data()
    model, opt = _ema_model(use_ema=False)
    with pytest.raises(ValueError, match="SwapEMAWeights must be used when `use_ema=True` is set") as info:
        _ema_fit(model, opt, [callbacks.SwapEMAWeights()], x, y)
    print(info.value)
    with pytest.raises(ValueError, match="at least one inner optimizer has `use_ema=True`"):
        _ema_fit(model, optim.MultiOptimizer([optim.SGD([model.weight])]), [callbacks.SwapEMAWeights()], x, y)
    # a MultiOptimizer with one EMA optimizer: its parameters are swapped
    model, _ = _ema_model()
    multi = optim.MultiOptimizer([optim.SGD([model.weight], use_ema=True, ema_momentum=0.9)])
    h = _ema_fit(model, multi, [callbacks.SwapEMAWeights()], x, y)
    _close("MultiOptimizer: val_mse vs Keras (SGD)", h.history["val_mean_squared_error"], KERAS_EMA_VAL["with"],
           rtol=1e-5)


@pytest.mark.parametrize("loss_scale", [False, True], ids=["sgd", "loss_scale_optimizer"])
def test_swap_ema_weights(loss_scale):
    # test_swap_ema_weights (and test_swap_ema_weights_with_loss_scale_optimizer: the same run in a
    # LossScaleOptimizer)
    x, y = _ema_data()
    if not loss_scale:  # not using SwapEMAWeights: the last validation differs from the evaluation after fit
        model, opt = _ema_model()
        h = _ema_fit(model, opt, [], x, y)
        logs = evaluate(model, x, y, loss="mse", metrics=[M.MeanSquaredError()])
        _close("without: val_mse vs Keras", h.history["val_mean_squared_error"], KERAS_EMA_VAL["without"], rtol=1e-5)
        _close("without: evaluate after fit vs Keras", logs["mean_squared_error"], KERAS_EMA_EVALUATE, rtol=1e-5)
        assert h.history["val_mean_squared_error"][-1] != logs["mean_squared_error"]
    model, opt = _ema_model(loss_scale=loss_scale)
    h = _ema_fit(model, opt, [callbacks.SwapEMAWeights()], x, y)
    logs = evaluate(model, x, y, loss="mse", metrics=[M.MeanSquaredError()])
    _close("with: val_mse vs Keras", h.history["val_mean_squared_error"], KERAS_EMA_VAL["with"], rtol=1e-5)
    _show("with: last val_mse == evaluate after fit", (h.history["val_mean_squared_error"][-1],
                                                       logs["mean_squared_error"]), "equal")
    assert h.history["val_mean_squared_error"][-1] == logs["mean_squared_error"]


def test_swap_ema_weights_on_epoch(tmp_path):
    x, y = _ema_data()
    model, opt = _ema_model()
    h = _ema_fit(model, opt, [callbacks.SwapEMAWeights(swap_on_epoch=True),
                              callbacks.ModelCheckpoint(str(tmp_path / "{epoch:1d}.pt"))], x, y)
    model2 = torch.load(str(tmp_path / "2.pt"), weights_only=False)
    logs = evaluate(model, x, y, loss="mse", metrics=[M.MeanSquaredError()])
    logs2 = evaluate(model2, x, y, loss="mse", metrics=[M.MeanSquaredError()])
    _show("swap_on_epoch: evaluate model / checkpoint 2", (logs["mean_squared_error"], logs2["mean_squared_error"]),
          "equal")
    assert logs["mean_squared_error"] == logs2["mean_squared_error"]
    _close("swap_on_epoch: val_mse vs Keras", h.history["val_mean_squared_error"], KERAS_EMA_VAL["with"], rtol=1e-5)
    # the checkpoint of epoch 1 holds the EMA weights too (not the trained ones)
    model1 = torch.load(str(tmp_path / "1.pt"), weights_only=False)
    _close("checkpoint 1 evaluate == val_mse of epoch 1", evaluate(model1, x, y, loss="mse")["loss"],
           h.history["val_loss"][0])


def test_swap_ema_weights_predict_quirk():
    # Keras 3.15.1's on_predict_end swaps back only when the averages are NOT in the model: after predict with the
    # callback the model keeps the averages (here zeroed: predictions 0) and the averages the trained weights
    x, y = _ema_data()
    model, opt = _ema_model()
    swap = callbacks.SwapEMAWeights()
    fit(model, x, y, loss="mse", optimizer=opt, epochs=1, verbose=0, callbacks=[swap])
    trained = model.weight.detach().clone()
    opt.state[model.weight]["average"].zero_()
    out = predict(model, x, callbacks=[swap])
    _show("predict with zeroed averages", out[0].tolist(), [0.0, 0.0])
    assert np.all(out == 0) and swap._ema_weights_in_model
    assert torch.all(model.weight == 0) and torch.equal(opt.state[model.weight]["average"], trained)
    # Keras 3.15.1's kernel after the single step (and its average, swapped out), transposed
    _close("trained kernel vs Keras", trained.T, [[0.9307482838630676, 0.9276272058486938],
                                                  [0.862847626209259, 0.8462380766868591],
                                                  [0.9014103412628174, 0.8995570540428162]], rtol=1e-5)


# ------------------------------------------------------------------ backup_and_restore_test.py


class InterruptingCallback(callbacks.Callback):
    """Keras's test helper: raises at the ``steps_int``-th batch end or the ``epoch_int``-th epoch end."""

    def __init__(self, steps_int, epoch_int):
        super().__init__()
        self.batch_count = self.epoch_count = 0
        self.steps_int, self.epoch_int = steps_int, epoch_int

    def on_epoch_end(self, epoch, log=None):
        self.epoch_count += 1
        if self.epoch_int is not None and self.epoch_count == self.epoch_int:
            raise RuntimeError("EpochInterruption")

    def on_batch_end(self, batch, logs=None):
        self.batch_count += 1
        if self.steps_int is not None and self.batch_count == self.steps_int:
            raise RuntimeError("StepsInterruption")


class CanaryModel(torch.nn.Module):
    """Keras's ``Sequential([Input((3,)), CanaryLayer(), Dense(1)])``: a non-trainable counter of the calls."""

    def __init__(self):
        super().__init__()
        self.register_buffer("counter", torch.zeros(()))
        self.dense = torch.nn.Linear(3, 1)

    def forward(self, x):
        self.counter += 1
        return self.dense(x)


def _bar_fit(model, cbs, epochs, verbose=0):
    rng = np.random.default_rng(0)
    x, y = rng.random((10, 3)), rng.random((10, 1))
    return fit(model, x, y, loss="mse", optimizer="sgd", metrics=["mse"], batch_size=4, callbacks=cbs, epochs=epochs,
               verbose=verbose)


def test_backup_and_restore_save_freq_unknown_error():
    for bad in ("batch", 0.15):
        with pytest.raises(ValueError, match="Invalid value") as info:
            callbacks.BackupAndRestore(backup_dir="backup_dir", save_freq=bad)
        print(info.value)


@pytest.mark.parametrize("backup_dir", ["", None])
def test_backup_dir_empty_or_none_error(backup_dir):
    with pytest.raises(ValueError, match="Empty `backup_dir` argument passed"):
        callbacks.BackupAndRestore(backup_dir=backup_dir, save_freq="epoch")


def test_backup_and_restore_best_case_step(tmp_path):
    backup_dir = str(tmp_path / "subdir")
    assert not os.path.exists(backup_dir)
    model = CanaryModel()
    cbk = callbacks.BackupAndRestore(backup_dir, save_freq=1)
    with pytest.raises(RuntimeError, match="StepsInterruption"):
        _bar_fit(model, [cbk, InterruptingCallback(steps_int=2, epoch_int=None)], epochs=2)
    _show("after the interruption: exists, _current_epoch, _last_batch_seen, counter",
          (os.path.exists(backup_dir), cbk._current_epoch, cbk._last_batch_seen, int(model.counter)), (True, 0, 1, 2))
    assert (os.path.exists(backup_dir), cbk._current_epoch, cbk._last_batch_seen, int(model.counter)) == (True, 0, 1, 2)
    hist = _bar_fit(model, [cbk], epochs=5)
    _show("resumed: _current_epoch, last epoch, counter", (cbk._current_epoch, hist.epoch[-1], int(model.counter)),
          (5, 4, 17))
    assert (cbk._current_epoch, hist.epoch[-1], int(model.counter)) == (5, 4, 17)


@pytest.mark.parametrize("corrupted", [False, True], ids=["best_case_epoch", "backup_corrupted"])
def test_backup_and_restore_epoch(tmp_path, corrupted):
    # test_best_case_epoch and test_backup_corrupted (double_checkpoint, the latest weights file overwritten)
    backup_dir = str(tmp_path / "subdir")
    model = CanaryModel()
    assert int(model.counter) == 0
    cbk = callbacks.BackupAndRestore(backup_dir=backup_dir, save_freq="epoch", double_checkpoint=corrupted)
    with pytest.raises(RuntimeError, match="EpochInterruption"):
        _bar_fit(model, [cbk, InterruptingCallback(steps_int=None, epoch_int=2)], epochs=6)
    _show("after the interruption: _current_epoch, exists, counter",
          (cbk._current_epoch, os.path.exists(backup_dir), int(model.counter)), (2, True, 6))
    assert (cbk._current_epoch, os.path.exists(backup_dir), int(model.counter)) == (2, True, 6)
    if corrupted:
        paths = [cbk._weights_path, cbk._training_metadata_path, cbk._prev_weights_path,
                 cbk._prev_training_metadata_path]
        assert all(os.path.exists(p) for p in paths)
        with open(cbk._weights_path, "w") as f:
            f.write("0")
    hist = _bar_fit(model, [cbk], epochs=5)
    _show("resumed: _current_epoch, epochs run, counter", (cbk._current_epoch, hist.epoch, int(model.counter)),
          "(5, [..., 4], 15)")
    assert (cbk._current_epoch, hist.epoch[-1], int(model.counter)) == (5, 4, 5 * 3)
    # from the latest backup (epoch 2) or, corrupted, from the previous one (epoch 1)
    assert hist.epoch == ([1, 2, 3, 4] if corrupted else [2, 3, 4])
    assert not os.path.exists(backup_dir)


def test_backup_and_restore_model_deleted_case_epoch(tmp_path):
    backup_dir = str(tmp_path / "subdir")
    _bar_fit(CanaryModel(), [callbacks.BackupAndRestore(backup_dir, save_freq="epoch")], epochs=2)
    assert not os.path.exists(backup_dir)
    print("backup_dir removed after fit:", not os.path.exists(backup_dir))


def test_backup_and_restore_resume_against_keras(tmp_path):
    # a fresh model and optimizer (as after a restart) resume from the backup of an interrupted run: the state
    # (weights, SGD momentum, step count) and the epoch are restored. Keras 3.15.1 (scratch script, Dense(1) of ones,
    # SGD(0.1, momentum 0.9), batch 4, shuffle=False, interrupted at the end of epoch 1, resumed by a Dense(1) of
    # zeros): epochs [2, 3, 4], losses and final weights equal to an uninterrupted run's, iterations 15; a later fit
    # without the callback starts at epoch 2 again (Keras keeps _initial_epoch on the model)
    keras_loss = [0.5665768980979919, 1.7546155452728271, 0.5920454263687134]
    keras_weights = [-0.3100251853466034, -0.3308212161064148, -0.1703624129295349, -0.1798998862504959]
    x = np.array([[0.625, 0.897, 0.776], [0.225, 0.3, 0.874], [0.005, 0.821, 0.797], [0.468, 0.303, 0.278],
                  [0.255, 0.445, 0.505], [0.553, 0.996, 0.793], [0.622, 0.989, 0.215], [0.16, 0.613, 0.044],
                  [0.036, 0.515, 0.466], [0.917, 0.629, 0.514]])
    y = np.array([[0.497], [0.248], [0.012], [0.192], [0.692], [0.201], [0.37], [0.004], [0.83], [0.154]])

    class Stop(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("stop")

    def make(value):
        model = torch.nn.Linear(3, 1)
        torch.nn.init.constant_(model.weight, value)
        torch.nn.init.constant_(model.bias, value)
        return model, optim.SGD(model.parameters(), learning_rate=0.1, momentum=0.9)

    def run(model, opt, cbs):
        return fit(model, x, y, loss="mse", optimizer=opt, batch_size=4, epochs=5, shuffle=False, verbose=0,
                   callbacks=cbs)

    backup_dir = str(tmp_path / "b")
    with pytest.raises(RuntimeError, match="stop"):
        run(*make(1.0), [callbacks.BackupAndRestore(backup_dir), Stop()])
    model, opt = make(0.0)
    h = run(model, opt, [callbacks.BackupAndRestore(backup_dir)])
    assert h.epoch == [2, 3, 4] and opt.iterations == 15
    _close("resumed losses vs Keras", h.history["loss"], keras_loss, rtol=1e-5)
    _close("resumed weights vs Keras", torch.cat([model.weight.ravel(), model.bias]).detach(), keras_weights,
           rtol=1e-5)
    straight, straight_opt = make(1.0)
    hs = run(straight, straight_opt, [])
    _close("resumed losses vs an uninterrupted run", h.history["loss"], hs.history["loss"][2:], atol=0, rtol=0)
    assert torch.equal(model.weight, straight.weight) and torch.equal(model.bias, straight.bias)
    _show("a later fit without the callback: epochs", run(model, opt, []).epoch, [2, 3, 4])
    assert model._initial_epoch == 2 and run(model, opt, []).epoch == [2, 3, 4]


def test_backup_and_restore_unbuilt_model(tmp_path):
    model = torch.nn.Sequential(torch.nn.LazyLinear(1))
    with pytest.raises(ValueError, match="must be built before you call `fit\\(\\)`"):
        fit(model, np.ones((4, 3)), np.ones((4, 1)), loss="mse", verbose=0,
            optimizer=optim.SGD([torch.zeros(1, requires_grad=True)]),
            callbacks=[callbacks.BackupAndRestore(str(tmp_path / "b"))])
