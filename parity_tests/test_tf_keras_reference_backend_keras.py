"""The translated tf-keras backend tests (``test_tf_keras_reference_backend.py``) run on real Keras 3.15.1.

``test_tf_keras_reference_backend.py`` holds tf-keras's ``tf_keras/backend_test.py`` translated to
``torch_impl.keras_backend`` and imports no TensorFlow. Its tests call the backend through the module globals
``K`` (and ``ACT`` for ``keras.activations``); this file runs every one of them, unchanged, with ``K`` set to
Keras 3.15.1's legacy backend (``keras.src.legacy.backend``), so that each expected value and each
tf-keras -> Keras 3 deviation documented there is checked against Keras itself. tf-keras's ``test_bias_add``
accepts ``tf.errors.InvalidArgumentError`` too (Keras raises it for a 1-D input; torch_impl ``ValueError``).

Measured (Keras 3.15.1 on TensorFlow 2.21, CPU): all 81 cases pass (75 test functions, ``test_batch_dot`` x 6),
printing the figures torch_impl prints to 2.4e-7 (e.g. segmentation sparse CCE 7.0e-7 against atol 1e-6 in
both, dropout 32107 kept entries in both).

Slow (TensorFlow start-up, ~10 s): ``.venv/bin/python -m pytest -q -s -p no:cacheprovider
parity_tests/test_tf_keras_reference_backend_keras.py``
"""

from __future__ import annotations

import pytest

import parity_tests.test_tf_keras_reference_backend as ref  # imports torch, before TensorFlow (in the fixture)

pytestmark = [pytest.mark.keras, pytest.mark.slow]

CASES = []
for _name, _fn in vars(ref).items():
    if not _name.startswith("test_") or not callable(_fn) or _name == "test_every_method_accounted_for":
        continue
    _params = [()]
    for _mark in getattr(_fn, "pytestmark", []):
        if _mark.name == "parametrize":
            _params = [p if isinstance(p, tuple) else (p,) for p in _mark.args[1]]
    for _i, _p in enumerate(_params):
        CASES.append(pytest.param(_fn, _p, id=_name if len(_params) == 1 else f"{_name}[{_i}]"))


@pytest.fixture
def on_keras(monkeypatch):
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    from keras.src.legacy import backend as legacy_backend

    assert keras.__version__ == "3.15.1", keras.__version__
    monkeypatch.setattr(ref, "K", legacy_backend)
    monkeypatch.setattr(ref, "ACT", keras.activations)
    monkeypatch.setattr(ref, "BIAS_ADD_ERRORS", (ValueError, tf.errors.InvalidArgumentError))


def test_case_count():
    print(f"{len(CASES)} translated cases (75 test functions, test_batch_dot x 6)")
    assert len(CASES) == 81


@pytest.mark.parametrize("fn,args", CASES)
def test_on_keras(on_keras, fn, args):
    fn(*args)
