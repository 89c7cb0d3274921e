"""Keras's training loop with the upstream fixes torch_impl follows (DESIGN.md: where released Keras has a bug
fixed upstream, follow the fix): the reference the parity tests compare ``torch_impl.fit`` with.

* keras-team/keras#23360: ``EpochIterator`` warns "Your input ran out of data" only when ``steps_per_epoch``
  (``steps``, ``validation_steps``) was given; Keras 3.15.1 also warns when an input of unknown size (a generator
  without ``steps_per_epoch``) runs out, which is how its size is found, not an interruption.
  :func:`upstream_epoch_iterator` applies the fix to Keras 3.15.1 while it is active.
"""

from __future__ import annotations

import contextlib

from keras.src.trainers import epoch_iterator as _epoch_iterator

__all__ = ["upstream_epoch_iterator"]


@contextlib.contextmanager
def upstream_epoch_iterator():
    """Within it Keras's ``EpochIterator`` warns about running out of data only with ``steps_per_epoch`` set
    (keras-team/keras#23360: 3.15.1's other call site already checks it, so this is the fixed behaviour)."""
    cls = _epoch_iterator.EpochIterator
    original = cls._interrupted_warning

    def _interrupted_warning(self):
        if self.steps_per_epoch:
            original(self)

    cls._interrupted_warning = _interrupted_warning
    try:
        yield
    finally:
        cls._interrupted_warning = original
