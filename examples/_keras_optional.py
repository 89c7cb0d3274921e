"""The examples' optional comparison with Keras: ``keras_or_none()`` imports Keras on TensorFlow if it is installed
(``triton`` first: both bundle LLVM, and loading TensorFlow first aborts the later Triton load), else prints why
the comparison is skipped and returns ``None``."""

import os


def keras_or_none():
    try:
        import triton  # noqa: F401
    except ImportError:
        pass
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    try:
        import keras
    except ImportError:
        print("(install keras to compare with Keras)")
        return None
    return keras
