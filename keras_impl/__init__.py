"""The Keras side (TensorFlow backend): the community focal loss, loss construction
by name and a NumPy-in/NumPy-out evaluation harness. Never imports torch."""

import os as _os

_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
