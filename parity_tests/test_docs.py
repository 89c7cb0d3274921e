"""Every docstring example runs and prints what it says; the example scripts run."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import torch_impl

ROOT = Path(__file__).resolve().parents[1]


def _public_modules(package) -> list[str]:
    """Every public module of a package (a new module's examples are tested without being listed here)."""
    return sorted(f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)
                  if not m.name.startswith("_"))


TORCH_MODULES = ["torch_impl"] + _public_modules(torch_impl) + [
    "scenarios.loss_cases", "scenarios.loss_parity", "scenarios.training", "scenarios.data", "scenarios.catalogue",
    "scenarios.checks", "scenarios.plots", "scenarios.doctor"]
KERAS_MODULES = ["keras_impl.losses", "keras_impl.harness", "keras_impl.models", "keras_impl.diagnose",
                 "scenarios.report"]


@pytest.mark.parametrize("name", TORCH_MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    print(f"{name}: {res.attempted} examples")
    assert res.failed == 0


@pytest.mark.keras
@pytest.mark.parametrize("name", KERAS_MODULES)
def test_keras_docstring_examples(name):
    pytest.importorskip("keras")
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0


#: examples of 9 s or more whose figures other parity tests already check: run by `make test-all` (`slow`), so that
#: `make test` stays well under its 15 minutes on 2 cores; the quick ones and the newest run by default
SLOW_EXAMPLES = {"imbalanced_metrics.py", "text_classifier_embedding.py", "training_doctor.py",
                 "keras_training_in_torch.py", "lstm_dropout_port.py", "transformer_text_port.py",
                 "regularized_training.py", "dropout_maxnorm.py", "callbacks_early_stopping.py", "field_ports.py",
                 "regression_losses.py", "seeded_weights_and_optimizers.py", "ctc_ocr_port.py",
                 "keras_ops_loss_port.py", "compile_config_port.py", "wgan_gp_keras2_port.py",
                 "keras_cnn_port.py", "masked_sequence_port.py",
                 # 8-15 s each; the catalogue runs in test_scenarios.py, K in test_keras_backend_*, fit on loaders in
                 # test_fit_iterables_keras.py
                 "failure_modes.py", "keras_backend_loss_port.py", "fit_dataloader_port.py",
                 # 16-24 s each in the suite; augmentation in test_image_augment_keras.py, Keras's random streams in
                 # test_keras_random_keras.py, the distributed losses in test_distributed.py
                 "image_augmentation_port.py", "keras_random_port.py", "distributed_losses.py",
                 # 10-16 s each in the suite (Keras's import alone ~7 s); ConvLSTM2D fit in
                 # test_field_scripts_round39.py, Attention in test_field_scripts_round42.py, the resume in round31
                 "conv_lstm_port.py", "attention_port.py", "checkpoint_resume.py"}
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("script", [pytest.param(s, marks=pytest.mark.slow) if s in SLOW_EXAMPLES else s
                                    for s in EXAMPLES])
def test_example_scripts_run(script):
    r = subprocess.run([sys.executable, str(ROOT / "examples" / script)], capture_output=True, text=True,
                       timeout=600, cwd=ROOT)
    print(r.stdout[-2000:])
    assert r.returncode == 0, r.stderr[-3000:]
