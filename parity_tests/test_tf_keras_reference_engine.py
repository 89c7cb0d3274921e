"""torch_impl.fit against tf-keras's (Keras 2's) engine tests: arrays, generators, data adapters, eager training.

Continues ``test_tf_keras_reference_training2.py`` (conventions in ``test_tf_keras_reference.py``'s module docstring:
``tf.test.TestCase`` assertion semantics; a Keras 2 -> Keras 3 change keeps Keras 3.15.1's number or behaviour,
measured on the same inputs in ``test_tf_keras_reference_engine_keras.py`` (slow), and records ``keras2=``).
Reference: keras-team/tf-keras (snapshot dd0a7237). ``fit_generator`` / ``evaluate_generator`` /
``predict_generator`` (removed in Keras 3) are ``fit`` / ``evaluate`` / ``predict`` on the generator;
``train_on_batch`` is a one-batch ``fit``; ``data_utils.Sequence`` is a PyDataset-shaped object; a ``tf.data.Dataset``
is a ``DataLoader`` (or a generator, where the test's point is a one-pass or an infinite input);
``workers`` / ``use_multiprocessing`` / ``max_queue_size`` are dropped (one process here, as Keras 3's TensorFlow
backend with its defaults). ``test_utils.get_small_mlp(h, c, d)`` is ``Linear(d, h) -> ReLU -> Linear(h, c)`` with
Keras's output activation (``softmax``, ``sigmoid`` for one class). tf-keras's internal adapter objects
(``adapter.get_size()``, ``partial_batch_size()``, ``DataHandler.inferred_steps``) have no torch_impl
counterpart: their numbers are asserted on what ``fit`` / ``predict`` feed the model (a :class:`Recorder`
records each batch's rows, in training and in validation), which is what those numbers decide.

Translated (``T``) / not (``N``) per upstream file:

``engine/training_arrays_test.py`` (6 methods, T 4 / N 2): ``validation_split`` ignored when ``validation_data``
is given (2 parameters; last ``val_mean_absolute_error`` == ``evaluate``'s, places 5), a validation dataset without
``validation_steps`` read whole (same check), ``test_dict_float64_input`` (float64 dict inputs train),
``test_dict_validation_input`` (dict ``validation_data``). N: ``test_print_info_with_datasets`` /
``test_print_info_with_numpy`` (``run_v1_only``: graph mode's "Train on N samples" line).

``engine/training_generator_test.py`` (11 methods, T 10 / N 1): fit / evaluate / predict on generators (counts of
steps asserted: upstream only checks they run), with sample weights, the invalid 4-tuple (ValueError each),
generator and changing-batch-size generator inputs, dynamic shapes (padded token batches, ``Embedding`` +
``SimpleRNN``), Sequences (``test_training_with_sequences``, ``test_sequence_input_to_fit_eval_predict``'s
``y`` / ``sample_weight`` errors, ``test_sequence_on_epoch_end``: 2). N: ``TestConvertToGeneratorLike``
(``training_utils_v1.convert_to_generator_like``, a v1 helper).

``engine/data_adapter_test.py`` (81 methods, T 27 / N 54): the array adapter's batch counts and partial batches
(``test_size_numpy``, ``test_batch_size_numpy``, ``test_partial_batch_numpy``, ``test_epochs``, the 4 + 5
parameters of ``test_batch_size`` / ``test_partial_batch``), ``test_shuffle_correctness`` and
``test_batch_shuffle_correctness`` (on what ``fit`` feeds), ``test_training_numpy``; the generator adapter's
``test_training``, ``test_not_shuffled``, ``test_invalid_targets_argument``, ``test_invalid_sample_weights_argument``,
``test_model_without_forward_pass``; the Sequence adapter's ``test_training`` and invalid ``y`` / ``sample_weight``;
``DataHandlerTest``'s ``test_numpy`` (order and, with the weights, the loss), ``test_generator``,
``test_finite_dataset_with_steps_per_epoch`` (a continued pass), ``..._without_steps_per_epoch``, ``..._exact_size``,
``test_infinite_dataset_with_steps_per_epoch``, ``test_class_weight_user_errors``, ``test_class_weights_applied``
(as the loss it gives), ``test_error_if_zero_steps_per_epoch``; ``TestValidationSplit``'s
``test_validation_split_unshuffled`` (the last 20% validates, on what the model sees). N (tf-keras adapter objects
and input types with no torch_impl counterpart): the ``can_handle`` checks, pandas, ``tf.constant`` repeats of the
NumPy cases, ``GenericArrayLikeDataAdapterTest`` (``DummyArrayLike``), composite / ragged / sparse tensors,
``DatasetCreator``, ``DatasetAdapterTest``, multiprocessing workers, the generator / Sequence adapters'
``get_size`` / ``batch_size`` / ``partial_batch_size`` (adapter attributes), ``IncreasingBatchSizeAdapterTest``
(``DataHandler`` internals), ``test_unknown_cardinality_*`` / ``test_insufficient_data`` (tf.data ``filter``
cardinality), the iterator's element structure (``test_iterator``, ``test_composite_tensor``,
``test_list_of_scalars``, ``test_single_x_input_no_tuple_wrapping``), ``test_error_if_empty_*``,
``train_validation_split`` called directly (user error / too few / none), ``ListsOfScalarsDataAdapterTest``,
``TestDataAdapterUtils``.

``engine/training_eager_test.py`` (9 methods, 11 with parameters; T 8 / N 1):
``test_dynamic_model_has_trainable_weights``
(loss 1, then < 1), the multi-IO and single-IO method sequences (batch counts asserted), the missing-steps
errors (Keras 3 change: no error, see the case), ``test_generator_methods`` (predict shape ``(30, 4)``),
``test_loss_correctness`` (0.5836, 3 parameters), ``test_loss_correctness_clipvalue_zero`` (Keras 3 change: see
the case), ``test_loss_correctness_with_iterator`` (0.5836). N: ``test_nested_model_learning_phase``
(``get_output_at`` and ``Model.add_metric``: Keras 2 API, gone in Keras 3).

``metrics/metrics_functional_test.py`` (7 methods, all translated) against ``torch_impl.metrics``' functions.

Keras 2 -> Keras 3 changes (each re-measured in the slow file; torch_impl gives Keras 3.15.1's):

* ``RMSprop(clipvalue=0.0)``: Keras 2 clipped every gradient to 0 (loss 0.6931 three epochs); Keras 3.15.1 treats
  0 as "no clipping" (``elif self.clipvalue and self.clipvalue > 0``, keras/src/optimizers/base_optimizer.py:877)
  and trains: ``CLIP0_KERAS3`` = [0.5836, 0.4476, 0.3586] (keras2=[0.6931] * 3);
* ``steps_per_epoch=0``: Keras 2 raised "steps_per_epoch must be positive"; Keras 3.15.1 reads whole epochs
  (4 + 4 batches);
* a class missing from ``class_weight`` weighs 1 (``class_weight.get(c, 1.0)``,
  keras/src/trainers/data_adapters/data_adapter_utils.py:134; keras2: ValueError "to be a dict with keys");
  ``class_weight`` with ``sample_weight`` raises "You cannot `class_weight` and `sample_weight` at the same time"
  (array_data_adapter.py:34; keras2 multiplied them), so ``test_class_weights_applied`` drops the sample weights
  and its per-pixel labels (one weight per sample in Keras 3);
* a generator / PyDataset with ``y`` / ``sample_weight``: "When providing `x` as a {kind}, `y` should not be
  passed" / "`sample_weights` should not be passed" (keras/src/trainers/data_adapters/__init__.py:176; keras2:
  "`y` argument is not supported");
* a PyDataset's ``on_epoch_end`` runs once before the first epoch too: 3 calls for ``epochs=2`` (keras2=2);
* one loss ``"mse"`` with ``loss_weights=[1.0, 0.5]`` for two outputs raises "`loss_weights` must match the number
  of losses" (keras2 applied the loss to both), so the multi-IO case gives ``["mse", "mse"]``;
* ``binary_accuracy`` no longer averages the last axis: shape ``(6, 7)`` (keras2=(6,));
  keras/src/metrics/accuracy_metrics.py:69;
* ``test_model_without_forward_pass`` (``train_step`` overridden to return ``{"loss": 0.0}``): no such override
  in torch_impl; a model with no loss at all raises Keras 3's "No loss to compute" (asserted);
* an infinite validation input without ``validation_steps``: Keras 2 raised ValueError; Keras 3 reads a generator
  until it ends (forever), so the translation gives ``validation_steps``.

Measured (max |got - expected|; torch_impl float32; the slow file: Keras 3.15.1 on the same inputs):

==============================================  ===========  =============  ====================
group                                           torch_impl   Keras 3.15.1   upstream tolerance
==============================================  ===========  =============  ====================
RMSprop loss correctness (0.5836; 4 cases)      3.7e-05      3.7e-05        places 4
clipvalue=0 (Keras 3 numbers, 3 epochs)         3.8e-05      3.8e-05        places 4
clipvalue=0, torch_impl vs Keras 3.15.1         --           1.8e-07        (atol 1e-6 asserted)
val MAE vs evaluate MAE (3 cases)               1.2e-07      --             places 5
class / sample weight losses (4 cases)          2.0e-08      0              places 5-6
functional metrics (7 methods)                  0            --             assertAllEqual
batch counts / orders (fed batches)             exact        exact (steps)  assertEqual
==============================================  ===========  =============  ====================

Tally: 4 + 10 + 27 + 8 + 7 = 56 methods translated, 2 + 1 + 54 + 1 + 0 = 58 not. torch_impl bugs found: none
(every Keras 3.15.1 figure, error and count above is torch_impl's).

Run: ``.venv/bin/python -m pytest -q -s parity_tests/test_tf_keras_reference_engine.py -p no:cacheprovider``
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from parity_tests.test_tf_keras_reference import tf_all_close, tf_almost_equal
from torch_impl import fit as F
from torch_impl import metrics

DIFFS: dict = {}


def _diff(group: str, got, expected) -> float:
    d = float(np.max(np.abs(np.asarray(got, dtype=np.float64) - np.asarray(expected, dtype=np.float64))))
    DIFFS[group] = max(DIFFS.get(group, 0.0), d)
    print(f"[{group}] max |got - expected| = {d:.3g} (group so far {DIFFS[group]:.3g})")
    return d


def almost(group: str, name: str, got, expected, places=7) -> None:
    _diff(group, float(got), expected)
    tf_almost_equal(name, float(got), expected, places)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "ran out of data", "shuffle ignored for a generator"
        return fn(*args, **kwargs)


def _rmsprop(lr=1e-3, **kw):
    return {"class_name": "RMSprop", "config": {"learning_rate": lr, **kw}}


def small_mlp(num_hidden, num_classes, input_dim, seed=0):
    """``test_utils.get_small_mlp``: ``Dense(num_hidden, relu)``, ``Dense(num_classes, softmax | sigmoid)``."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(input_dim, num_hidden), torch.nn.ReLU(),
                                torch.nn.Linear(num_hidden, num_classes))
    model.output_activation = "sigmoid" if num_classes == 1 else "softmax"
    return model


class Recorder(torch.nn.Module):
    """``Dense``-like ``x @ w + b`` that records what it is fed: ``self.batches`` (training) and ``self.val``
    (evaluation mode) hold each batch's first column."""

    def __init__(self, d_in=1, d_out=1):
        super().__init__()
        self.lin = torch.nn.Linear(d_in, d_out)
        self.batches, self.val = [], []

    def forward(self, x):
        (self.batches if self.training else self.val).append(x[:, 0].detach().clone().numpy())
        return self.lin(x)


def _sizes(batches):
    return [len(b) for b in batches]


def _counter():
    """``on_batch_end`` recording ``(epoch, batch)``."""
    seen = []
    return seen, (lambda epoch, batch, logs: seen.append((epoch, batch)))


# ---- training_arrays_test.py --------------------------------------------------------------------------------


def _mse_dataset(num_samples, batch_size, seed):
    """``_create_dataset``: ``x ~ U[0, 1)``, ``y = 3x``, shuffled batches (a DataLoader)."""
    rng = np.random.default_rng(seed)
    x = rng.random((num_samples, 1)).astype("float32")
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(3 * x))
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True,
                                       generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("validation_split", [0.0, 0.1])
def test_ignore_validation_split_when_validation_dataset_is_present(validation_split):
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1)
    train, val = _mse_dataset(200, 10, 0), _mse_dataset(50, 25, 1)
    kw = dict(loss="mse", optimizer="adam", metrics=["mean_absolute_error"], verbose=0)
    seen, count = _counter()
    _quiet(F.fit, model, train, validation_split=validation_split, validation_data=val, epochs=2, on_batch_end=count,
           **kw)
    assert len(seen) == 40, len(seen)  # 20 batches of 10 an epoch; validation_split ignored
    hist = _quiet(F.fit, model, train, validation_data=val, epochs=2, **kw).history
    ev = F.evaluate(model, val, loss="mse", metrics=["mean_absolute_error"])
    almost("val MAE vs evaluate", f"test_ignore_validation_split[{validation_split}]",
           hist["val_mean_absolute_error"][-1], ev["mean_absolute_error"], places=5)


def test_validation_dataset_with_no_step_arg():
    torch.manual_seed(1)
    model = torch.nn.Linear(1, 1)
    train, val = _mse_dataset(200, 10, 2), _mse_dataset(50, 25, 3)
    hist = _quiet(F.fit, model, train, validation_data=val, epochs=2, loss="mse", optimizer="adam",
                  metrics=["mean_absolute_error"], verbose=0).history
    ev = F.evaluate(model, val, loss="mse", metrics=["mean_absolute_error"])
    almost("val MAE vs evaluate", "test_validation_dataset_with_no_step_arg", hist["val_mean_absolute_error"][-1],
           ev["mean_absolute_error"], places=5)


class TwoInputs(torch.nn.Module):
    """``MyModel``: ``Dense(10, relu)`` on each of ``one`` / ``two`` (or ``input_0`` / ``input_1``), concatenated,
    ``Dense(1, sigmoid)``."""

    output_activation = "sigmoid"

    def __init__(self, d_in, hidden, names):
        super().__init__()
        self.names = names
        self.d1, self.d2 = torch.nn.Linear(d_in, hidden), torch.nn.Linear(d_in, hidden)
        self.d3 = torch.nn.Linear(2 * hidden, 1)

    def forward(self, **inputs):
        a, b = (inputs[n] for n in self.names)
        return self.d3(torch.cat([torch.relu(self.d1(a)), torch.relu(self.d2(b))], -1))


def test_dict_float64_input():
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    model = TwoInputs(1, 10, ("one", "two"))
    x = {"one": rng.random((100, 10, 1)), "two": rng.random((100, 10, 1))}  # float64: cast to the model's float32
    hist = F.fit(model, x, rng.random((100, 10, 1)), loss="mae", optimizer="adam", verbose=0).history
    assert len(hist["loss"]) == 1 and np.isfinite(hist["loss"][0]), hist


def test_dict_validation_input():
    rng = np.random.default_rng(1)
    torch.manual_seed(0)
    model = TwoInputs(1, 100, ("input_0", "input_1"))
    tr = {"input_0": rng.random((1000, 1)), "input_1": rng.random((1000, 1))}
    va = {"input_0": rng.random((1000, 1)), "input_1": rng.random((1000, 1))}
    hist = F.fit(model, tr, rng.random((1000, 1)), loss="mae", optimizer="adam", verbose=0,
                 validation_data=(va, rng.random((1000, 1)))).history
    assert set(hist) == {"loss", "val_loss"} and np.isfinite(hist["val_loss"][0]), hist


# ---- training_generator_test.py ------------------------------------------------------------------------------


def custom_generator(mode=2, seed=0, changing=False):
    """tf-keras's ``custom_generator`` (batches of 10 from 50 samples, cycled; ``mode`` 1: ``x``, 2: ``(x, y)``,
    3: ``(x, y, w)``), and ``custom_generator_changing_batch_size`` (sizes 10, 9, ..., 1, 1, ...)."""
    rng = np.random.default_rng(seed)
    data, labels, weights = rng.random((50, 2)), rng.random((50, 4)), rng.random((50,))
    i, cur = 0, 11
    while True:
        if changing and cur > 1:
            cur -= 1
        start = i * 10 % 50
        i += 1
        end = start + (cur if changing else 10)
        x, y, w = data[start:end], labels[start:end], weights[start:end]
        yield (x,) if mode == 1 else (x, y) if mode == 2 else (x, y, w)


GEN_KW = dict(loss="mse", optimizer=_rmsprop(), metrics=["mae", "categorical_accuracy"], verbose=0)


def test_fit_generator_method():
    model = small_mlp(3, 4, 2)
    for extra, val_batches in [({}, 0), (dict(validation_data=custom_generator(seed=1), validation_steps=10), 10),
                               (dict(validation_data=custom_generator(seed=2), validation_steps=1), 1)]:
        seen, count = _counter()
        hist = _quiet(F.fit, model, custom_generator(), steps_per_epoch=5, epochs=1, on_batch_end=count,
                      **GEN_KW, **extra).history
        assert len(seen) == 5 and ("val_loss" in hist) == bool(val_batches), (seen, hist)


def test_evaluate_generator_method():
    model = small_mlp(3, 4, 2)
    out = _quiet(F.evaluate, model, custom_generator(), steps=5, loss="mse", metrics=["mae", "categorical_accuracy"])
    assert set(out) == {"loss", "mae", "categorical_accuracy"} and np.isfinite(out["loss"]), out


def test_predict_generator_method():
    model = small_mlp(3, 4, 2)
    for mode in (2, 1):  # with targets, then inputs only (a 1-tuple: Keras refuses a generator of bare arrays)
        out = _quiet(F.predict, model, custom_generator(mode=mode), steps=5)
        assert out.shape == (50, 4), out.shape


def test_generator_methods_with_sample_weights():
    model = small_mlp(3, 4, 2)
    seen, count = _counter()
    hist = _quiet(F.fit, model, custom_generator(mode=3), steps_per_epoch=5, epochs=1, on_batch_end=count,
                  validation_data=custom_generator(mode=3, seed=1), validation_steps=10, **GEN_KW).history
    assert len(seen) == 5 and "val_loss" in hist
    assert _quiet(F.predict, model, custom_generator(mode=3), steps=5).shape == (50, 4)
    out = _quiet(F.evaluate, model, custom_generator(mode=3), steps=5, loss="mse")
    assert np.isfinite(out["loss"])


def _invalid_generator():
    while True:
        yield (0, 0, 0, 0)


def test_generator_methods_invalid_use_case():
    model = small_mlp(3, 4, 2)
    kw = dict(loss="mse", optimizer=_rmsprop(), verbose=0)
    with pytest.raises(ValueError):
        _quiet(F.fit, model, _invalid_generator(), steps_per_epoch=5, epochs=1, **kw)
    with pytest.raises(ValueError):
        _quiet(F.fit, model, custom_generator(), steps_per_epoch=5, epochs=1, validation_data=_invalid_generator(),
               validation_steps=10, **kw)
    with pytest.raises(ValueError):
        _quiet(F.predict, model, _invalid_generator(), steps=5)
    with pytest.raises(ValueError):
        _quiet(F.evaluate, model, _invalid_generator(), steps=5, loss="mse")


def test_generator_input_to_fit_eval_predict():
    val_data = np.ones([10, 10], np.float32), np.ones([10, 1], np.float32)

    def ones_generator():
        while True:
            yield np.ones([10, 10], np.float32), np.ones([10, 1], np.float32)

    model = small_mlp(10, 1, 10)
    seen, count = _counter()
    hist = _quiet(F.fit, model, ones_generator(), steps_per_epoch=2, validation_data=val_data, epochs=2,
                  loss="binary_crossentropy", optimizer=_rmsprop(), verbose=0, on_batch_end=count).history
    assert seen == [(0, 0), (0, 1), (1, 0), (1, 1)] and len(hist["val_loss"]) == 2
    _quiet(F.evaluate, model, ones_generator(), steps=2, loss="binary_crossentropy")
    assert _quiet(F.predict, model, ones_generator(), steps=2).shape == (20, 1)
    # a changing batch size: 10, 9, 8, 7, 6 rows
    model = small_mlp(3, 4, 2)
    seen, count = _counter()
    hist = _quiet(F.fit, model, custom_generator(changing=True), steps_per_epoch=5, epochs=2,
                  validation_data=custom_generator(changing=True, seed=1), validation_steps=10, on_batch_end=count,
                  **GEN_KW).history
    assert len(seen) == 10 and len(hist["val_loss"]) == 2
    _quiet(F.evaluate, model, custom_generator(changing=True), steps=5, loss="mse")
    assert _quiet(F.predict, model, custom_generator(changing=True), steps=5).shape == (10 + 9 + 8 + 7 + 6, 4)


def test_generator_dynamic_shapes():
    import itertools

    from torch_impl.rnn import SimpleRNN
    x = ["I think juice is great", "unknown is the best language since slicedbread", "a a a a a a a", "matmul",
         "Yaks are also quite nice"]
    y = [1, 0, 0, 1, 1]
    vocab = {w: i + 1 for i, w in enumerate(sorted(set(itertools.chain(*[s.split() for s in x]))))}

    def data_gen(batch_size=2):
        rng = np.random.default_rng(0)
        data = list(zip(x, y)) * 10
        rng.shuffle(data)
        for i in range(0, len(data), batch_size):
            queue = data[i:i + batch_size]
            ids = [[vocab[w] for w in s.split()] for s, _ in queue]
            pad = max(len(r) for r in ids)
            yield (torch.tensor([r + [0] * (pad - len(r)) for r in ids]),
                   np.array([t for _, t in queue], "float32")[:, None])

    class Model(torch.nn.Module):
        output_activation = "sigmoid"

        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(len(vocab) + 1, 4)
            self.rnn = SimpleRNN(4, 1, batch_first=True)

        def forward(self, ids):
            return self.rnn(self.emb(ids))[1][0]  # the last state, (N, 1)

    torch.manual_seed(0)
    seen, count = _counter()
    hist = _quiet(F.fit, Model(), data_gen(), epochs=1, steps_per_epoch=5, loss="binary_crossentropy",
                  optimizer="sgd", verbose=0, on_batch_end=count).history
    assert len(seen) == 5 and np.isfinite(hist["loss"][0])


class Sequence:
    """``data_utils.Sequence`` (PyDataset-shaped): ``__getitem__`` / ``__len__`` / ``on_epoch_end``."""

    def __init__(self, n, batch=lambda idx: (np.ones([10, 10], np.float32), np.ones([10, 1], np.float32))):
        self.n, self.batch, self.epochs = n, batch, 0

    def __getitem__(self, idx):
        return self.batch(idx)

    def __len__(self):
        return self.n

    def on_epoch_end(self):
        self.epochs += 1


def test_training_with_sequences():
    model = small_mlp(3, 4, 2)
    seq = Sequence(10, lambda idx: (np.zeros([10, 2]), np.ones([10, 4])))
    seen, count = _counter()
    hist = _quiet(F.fit, model, seq, steps_per_epoch=10, validation_data=custom_generator(), validation_steps=1,
                  loss="mse", optimizer=_rmsprop(), verbose=0, on_batch_end=count).history
    assert len(seen) == 10 and "val_loss" in hist


def test_sequence_input_to_fit_eval_predict():
    val_data = np.ones([10, 10], np.float32), np.ones([10, 1], np.float32)
    kw = dict(loss="binary_crossentropy", optimizer=_rmsprop(), verbose=0)
    for seq in (Sequence(2), Sequence(2, lambda idx: (np.ones([10 - idx, 10], np.float32),
                                                     np.ones([10 - idx, 1], np.float32)))):
        model = small_mlp(10, 1, 10)
        seen, count = _counter()
        _quiet(F.fit, model, seq, validation_data=val_data, epochs=2, on_batch_end=count, **kw)
        assert len(seen) == 4
        F.evaluate(model, seq, loss="binary_crossentropy")
        assert F.predict(model, seq).shape == (20 if seq.batch(1)[0].shape[0] == 10 else 19, 1)
    # Keras 3 messages (keras2: "`y` argument is not supported", "`sample_weight` argument is not supported")
    with pytest.raises(ValueError, match="When providing `x` as a PyDataset, `y` should not be passed"):
        F.fit(model, Sequence(2), y=np.ones([10, 1]), **kw)
    with pytest.raises(ValueError, match="When providing `x` as a PyDataset, `sample_weights` should not be passed"):
        F.fit(model, Sequence(2), sample_weight=np.ones([10, 1]), **kw)


#: Keras 3.15.1's ``PyDataset.on_epoch_end`` calls after ``fit(epochs=2)``: once before the first epoch, then after
#: each (keras2=2, ``Sequence.on_epoch_end`` after each epoch only)
SEQ_EPOCH_END_CALLS = 3


def test_sequence_on_epoch_end():
    seq = Sequence(2)
    F.fit(torch.nn.Linear(10, 1), seq, epochs=2, loss="mse", optimizer="sgd", verbose=0)
    assert seq.epochs == SEQ_EPOCH_END_CALLS, seq.epochs


# ---- data_adapter_test.py: what fit / predict feed the model ------------------------------------------------


def _fed_sizes(n=50, **kw):
    """The rows of each batch ``fit`` feeds a :class:`Recorder` (one epoch unless given) on ``zeros((n, 10))``."""
    model = Recorder(10, 8)
    kw.setdefault("epochs", 1)
    _quiet(F.fit, model, np.zeros((n, 10), "float32"), np.ones(n, "int64"), loss="sparse_categorical_crossentropy",
           optimizer="sgd", verbose=0, shuffle=False, **kw)
    return _sizes(model.batches)


def test_size_batch_size_partial_batch_numpy():
    assert _fed_sizes(batch_size=5) == [5] * 10  # get_size 10, batch_size 5, no partial batch
    assert _fed_sizes(batch_size=4) == [4] * 12 + [2]  # get_size 13, partial batch 2


def test_epochs():
    assert _fed_sizes(batch_size=5, epochs=3) == [5] * 30  # 10 batches an epoch, 3 epochs, then the end


@pytest.mark.parametrize("batch_size_in, steps, batch_size_out, size, partial", [
    (5, None, 5, 10, 0), (4, None, 4, 13, 2), (50, 4, 50, 1, 0), (None, 1, 50, 1, 0), (None, 5, 10, 5, 0),
    (None, 4, 13, 4, 11)])
def test_batch_size_and_partial_batch(batch_size_in, steps, batch_size_out, size, partial):
    """``test_batch_size`` / ``test_partial_batch``: ``steps`` without ``batch_size`` gives ``ceil(50 / steps)``;
    ``batch_size=50, steps=4``: one batch of 50 (``batch_size`` takes precedence; ``predict`` reads what there is)."""
    model = Recorder(10, 1)
    model.eval()
    F.predict(model, np.full((50, 10), 2.0, "float32"), batch_size=batch_size_in, steps=steps)
    sizes = _sizes(model.val)
    print("fed", sizes)
    assert sizes[0] == batch_size_out and len(sizes) == size
    assert (sizes[-1] if sizes[-1] != batch_size_out else 0) == partial


def _fed_values(shuffle, batch_size, epochs=2):
    model = Recorder()
    x = np.arange(100, dtype="float32")[:, None]
    _quiet(F.fit, model, x, np.zeros((100, 1), "float32"), loss="mse", optimizer={"class_name": "SGD", "config": {
        "learning_rate": 0.0}}, batch_size=batch_size, epochs=epochs, shuffle=shuffle, generator=99, verbose=0)
    per_epoch = -(-100 // batch_size)
    return [model.batches[e * per_epoch:(e + 1) * per_epoch] for e in range(epochs)]


def test_shuffle_correctness():
    x = np.arange(100)
    epochs = [np.concatenate(b) for b in _fed_values(True, 32)]
    for e in epochs:
        assert not np.allclose(x, e) and np.array_equal(x, np.sort(e))
    assert not np.allclose(epochs[0], epochs[1])  # a new order each epoch


def test_batch_shuffle_correctness():
    x = np.arange(100)
    batches = _fed_values("batch", 6)
    for epoch in batches:
        for b in epoch[:-1]:  # each batch contiguous, shuffled inside
            s = np.sort(b)
            assert not np.allclose(b, s) and np.all(np.diff(s) == 1), b
        assert not np.allclose(x, np.concatenate(epoch)) and np.array_equal(x, np.sort(np.concatenate(epoch)))
    assert not np.allclose(np.concatenate(batches[0]), np.concatenate(batches[1]))


def test_training_numpy_and_generator_adapters():
    """``test_training_numpy`` / generator ``test_training`` / Sequence ``test_training``: Dense(8, softmax), sparse
    CCE, ``sgd``; batch counts asserted."""
    def generator():
        while True:
            yield np.zeros((5, 10)), np.ones(5)

    kw = dict(loss="sparse_categorical_crossentropy", optimizer="sgd", verbose=0, output_activation="softmax")
    for data, extra, n in [((np.zeros((50, 10)), np.ones(50)), dict(batch_size=5), 10),
                           ((generator(),), dict(steps_per_epoch=10), 10),
                           ((Sequence(10, lambda i: (np.zeros((5, 10)), np.ones(5))),), {}, 10)]:
        seen, count = _counter()
        _quiet(F.fit, torch.nn.Linear(10, 8), *data, on_batch_end=count, **kw, **extra)
        assert len(seen) == n, seen


def test_generator_not_shuffled():
    model = Recorder()
    gen = (np.ones((1, 1), "float32") * i for i in range(10))
    _quiet(F.predict, model, ((g,) for g in gen))  # shuffle does not apply to a generator
    assert [float(b[0]) for b in model.val] == list(range(10))
    model = Recorder()
    _quiet(F.fit, model, ((np.ones((1, 1), "float32") * i, np.zeros((1, 1), "float32")) for i in range(10)),
           loss="mse", optimizer="sgd", shuffle=True, verbose=0)
    assert [float(b[0]) for b in model.batches] == list(range(10))


def test_generator_and_sequence_invalid_arguments():
    def generator():
        while True:
            yield np.zeros((5, 10)), np.ones(5)

    kw = dict(loss="mse", optimizer="sgd", verbose=0)
    for data, kind in ((generator(), "generator"), (Sequence(2), "PyDataset")):  # Keras 3's messages
        with pytest.raises(ValueError, match=f"When providing `x` as a {kind}, `y` should not be passed"):
            F.fit(torch.nn.Linear(10, 1), data, y=generator(), **kw)
        with pytest.raises(ValueError, match=f"When providing `x` as a {kind}, `sample_weights` should not be passed"):
            F.fit(torch.nn.Linear(10, 1), data, sample_weight=np.ones(5), **kw)


def test_model_without_forward_pass():
    """Keras 3 change: no ``train_step`` override here; a model with no loss at all raises Keras 3's
    "No loss to compute" (keras2: the overridden ``train_step``'s 0)."""
    def generator():
        while True:
            yield np.zeros((5, 10)), np.ones(5)

    with pytest.raises(ValueError, match="No loss to compute"):
        _quiet(F.fit, torch.nn.Linear(10, 8), generator(), steps_per_epoch=5, optimizer="rmsprop", verbose=0)


def _loader(values, batch_size=1):
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(
        torch.tensor(values, dtype=torch.float32)[:, None], torch.zeros(len(values), 1)), batch_size=batch_size)


def _epochs_fed(data, epochs=2, **kw):
    model = Recorder()
    seen, count = _counter()
    _quiet(F.fit, model, data, loss="mse", optimizer={"class_name": "SGD", "config": {"learning_rate": 0.0}},
           epochs=epochs, verbose=0, on_batch_end=count, **kw)
    out = [[] for _ in range(epochs)]
    for (e, _), b in zip(seen, model.batches):
        out[e].extend(float(v) for v in b)
    return out


def test_data_handler_datasets():
    """``DataHandlerTest``: a finite dataset partly read each epoch continues its pass; read whole (no steps, or
    steps = its size) restarts; an infinite one read ``steps_per_epoch`` at a time."""
    assert _epochs_fed(_loader([0, 1, 2, 3]), steps_per_epoch=2) == [[0, 1], [2, 3]]
    assert _epochs_fed(_loader([0, 1, 2])) == [[0, 1, 2], [0, 1, 2]]
    assert _epochs_fed(_loader([0, 1, 2, 3]), steps_per_epoch=4) == [[0, 1, 2, 3], [0, 1, 2, 3]]

    def infinite():
        while True:
            for i in range(3):
                yield np.array([[float(i)]], "float32"), np.zeros((1, 1), "float32")

    assert _epochs_fed(infinite(), steps_per_epoch=3) == [[0, 1, 2], [0, 1, 2]]


def test_data_handler_numpy():
    """``test_numpy``: ``x, y, sw`` in order, batch 1, two epochs (unshuffled); the weights reach the loss."""
    x, y, sw = np.array([0.0, 1, 2])[:, None], np.array([0.0, 2, 4])[:, None], np.array([0.0, 4, 8])
    assert _epochs_fed(x, y=y, sample_weight=sw, batch_size=1, shuffle=False) == [[0, 1, 2], [0, 1, 2]]
    # with lr 0 and a zero output the per-batch loss is sw * y**2 (mse); the epoch's mean: (0 + 16 + 128) / 3
    model = Recorder()
    with torch.no_grad():
        model.lin.weight.zero_(), model.lin.bias.zero_()
    hist = F.fit(model, x, y, sample_weight=sw, batch_size=1, shuffle=False, loss="mse", epochs=1, verbose=0,
                 optimizer={"class_name": "SGD", "config": {"learning_rate": 0.0}}).history
    almost("sample weights", "test_numpy (loss)", hist["loss"][0], (0 + 4 * 4 + 8 * 16) / 3, places=4)


def test_data_handler_generator():
    """``test_generator``: a generator of 6 batches, ``steps_per_epoch=3``: each epoch reads 3 of them."""
    gen = ((np.array([[float(s)]], "float32"), np.zeros((1, 1), "float32")) for _ in range(2) for s in range(3))
    assert _epochs_fed(gen, steps_per_epoch=3) == [[0, 1, 2], [0, 1, 2]]


class Const(torch.nn.Module):
    """Outputs ``y + 1`` whatever the input: a per-sample MAE of 1, so the loss is the mean sample weight."""

    def __init__(self, y):
        super().__init__()
        self.y = torch.as_tensor(y, dtype=torch.float32)
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return self.y[:x.shape[0]] + 1.0 + 0 * self.w


def test_class_weight_user_errors():
    """Keras 3 changes: a class missing from ``class_weight`` weighs 1 (``class_weight.get(c, 1.0)``,
    keras/src/trainers/data_adapters/data_adapter_utils.py:134; keras2: ValueError "to be a dict with keys"), and
    ``sample_weight`` with ``class_weight`` raises (array_data_adapter.py:34); several outputs raise in both."""
    kw = dict(loss="mae", optimizer="sgd", verbose=0)
    y = np.array([[2.0], [1], [0]])
    hist = F.fit(Const(y), np.zeros((3, 1)), y, batch_size=3, shuffle=False, class_weight={0: 0.5, 1: 1.0, 3: 1.5},
                 **kw).history
    almost("class weights", "class 2 missing: weight 1", hist["loss"][0], (1.0 + 1.0 + 0.5) / 3, places=6)
    with pytest.raises(ValueError, match="You cannot `class_weight` and `sample_weight` at the same time"):
        F.fit(Const(y), np.zeros((3, 1)), y, sample_weight=np.array([1.0, 2.0, 4.0]), class_weight={0: 0.5, 1: 1.0},
              **kw)
    model = torch.nn.Linear(1, 1)
    model.forward = lambda x, lin=model.forward: [lin(x), lin(x)]
    with pytest.raises(ValueError, match="class_weight"):  # several outputs
        F.fit(model, np.ones((10, 1)), [np.ones((10, 1)), np.zeros((10, 1))], class_weight={0: 0.5, 1: 1.0, 2: 1.5},
              batch_size=2, **{**kw, "loss": ["mse", "mse"]})


@pytest.mark.parametrize("one_hot", [True, False])
def test_class_weights_applied(one_hot):
    """``class_weight = {c: c + 1}``: the weights are ``y + 1``, asserted on the loss of :class:`Const` (the mean
    weight). Keras 3 changes: with ``sample_weight`` (upstream's ``[1, 2]``, giving ``(y + 1) * sw``) Keras 3.15.1 and
    torch_impl raise (asserted in :func:`test_class_weight_user_errors`); upstream's per-pixel ``(2, 8, 8)`` labels
    are not supported by Keras 3's ``class_weight_to_sample_weights`` (one weight per sample,
    data_adapter_utils.py:133), so the labels are one per sample, one-hot (argmax) or sparse ``(N, 1)``."""
    rng = np.random.default_rng(0)
    y_sparse = rng.integers(0, 5, size=(8,))
    y = np.eye(5, dtype="float32")[y_sparse] if one_hot else y_sparse[:, None].astype("float32")
    hist = F.fit(Const(y), np.zeros((8, 3), "float32"), y, loss="mae", batch_size=8, shuffle=False,
                 class_weight={c: c + 1 for c in range(5)}, optimizer="sgd", verbose=0).history
    expected = float(np.mean(y_sparse + 1))
    almost("class weights", f"test_class_weights_applied[{one_hot}]", hist["loss"][0], expected, places=5)


def check_zero_steps(hist) -> None:
    """``steps_per_epoch=0`` on 4 batches, 2 epochs: Keras 3.15.1 reads each whole epoch (keras2: ValueError
    "steps_per_epoch must be positive, None or -1. Received 0.")."""
    assert len(hist["loss"]) == 2 and all(np.isfinite(hist["loss"])), hist


def test_error_if_zero_steps_per_epoch():
    seen, count = _counter()
    hist = _quiet(F.fit, torch.nn.Linear(1, 1), _loader([0, 1, 2, 3]), epochs=2, steps_per_epoch=0, loss="mse",
                  optimizer="sgd", verbose=0, on_batch_end=count).history
    check_zero_steps(hist)
    assert len(seen) == ZERO_STEPS_BATCHES, seen


#: batches Keras 3.15.1 trains with ``steps_per_epoch=0`` on 4 one-row batches, 2 epochs (measured in the slow file)
ZERO_STEPS_BATCHES = 8


def test_validation_split_unshuffled():
    """``train_validation_split`` keeps the order: train on ``[0, 1, 2, 3]``, validate on ``[4]``."""
    model = Recorder()
    F.fit(model, np.arange(5.0)[:, None], np.arange(0.0, 10, 2)[:, None], validation_split=0.2, shuffle=False,
          batch_size=5, loss="mse", optimizer="sgd", verbose=0)
    assert [b.tolist() for b in model.batches] == [[0, 1, 2, 3]] and [b.tolist() for b in model.val] == [[4]]


# ---- training_eager_test.py ---------------------------------------------------------------------------------


def test_dynamic_model_has_trainable_weights():
    model = torch.nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.zero_(), model.bias.fill_(1.0)
    hist = F.fit(model, np.zeros((1, 1)), np.zeros((1, 1)), loss="mae", optimizer="rmsprop", verbose=0).history
    assert hist["loss"][-1] == 1 and len(list(model.parameters())) == 2
    loss = F.fit(model, np.zeros((1, 1)), np.zeros((1, 1)), loss="mae", optimizer="rmsprop", verbose=0).history
    assert loss["loss"][-1] < 1, loss


class MultiIO(torch.nn.Module):
    """``get_multi_io_model([input_a, dense], [input_b, dense, dropout])``: a shared ``Dense(4)``; the second
    branch adds ``Dropout(0.5)``."""

    def __init__(self):
        super().__init__()
        self.dense, self.dropout = torch.nn.Linear(3, 4), torch.nn.Dropout(0.5)
        torch.nn.init.zeros_(self.dense.bias)  # Keras's Dense bias initializer

    def forward(self, a, b):
        return [self.dense(a), self.dropout(self.dense(b))]


def test_model_methods_with_eager_tensors_multi_io():
    torch.manual_seed(0)
    model = MultiIO()
    # Keras 3 change: one "mse" with two loss_weights raises ("`loss_weights` must match the number of losses"), so
    # the loss is given per output (keras2: "mse" for both)
    kw = dict(loss=["mse", "mse"], optimizer=_rmsprop(), metrics=["mae", "categorical_accuracy"],
              loss_weights=[1.0, 0.5], verbose=0)
    for ins, ts in [([torch.zeros(10, 3), torch.zeros(10, 3)], [torch.zeros(10, 4), torch.zeros(10, 4)]),
                    ([torch.zeros(10, 3), np.zeros((10, 3), "float32")], [torch.zeros(10, 4),
                                                                          np.zeros((10, 4), "float32")])]:
        for extra, n in [(dict(batch_size=5), 2), (dict(batch_size=5, shuffle=False), 2),
                         (dict(batch_size=2, validation_data=(ins, ts)), 5), (dict(batch_size=10), 1)]:
            seen, count = _counter()
            hist = F.fit(model, ins, ts, on_batch_end=count, **kw, **extra).history
            assert len(seen) == n and ("val_loss" in hist) == ("validation_data" in extra), (seen, hist)
            assert hist["loss"][0] == 0.0  # zeros in, zeros out, zero targets
        out = F.predict(model, ins, batch_size=5)
        assert [o.shape for o in out] == [(10, 4), (10, 4)]
        ev = F.evaluate(model, ins, ts, batch_size=2, loss=["mse", "mse"], loss_weights=[1.0, 0.5])
        assert ev["loss"] == 0.0, ev


def test_model_methods_with_eager_tensors_single_io():
    model = small_mlp(10, 4, 3)
    kw = dict(loss="mse", optimizer=_rmsprop(), metrics=["mae", "categorical_accuracy"], verbose=0)
    inputs, targets = torch.zeros(10, 3), torch.zeros(10, 4)
    for extra, n in [(dict(batch_size=2), 5), (dict(batch_size=3, shuffle=False), 4),
                     (dict(batch_size=4, validation_data=(inputs, targets)), 3), (dict(batch_size=10), 1)]:
        seen, count = _counter()
        F.fit(model, inputs, targets, on_batch_end=count, **kw, **extra)
        assert len(seen) == n, (extra, seen)
    assert set(F.evaluate(model, inputs, targets, batch_size=2, loss="mse", metrics=["mae"])) == {"loss", "mae"}
    assert F.predict(model, inputs, batch_size=2).shape == (10, 4)


def test_model_fit_and_validation_with_missing_arg_errors():
    """Keras 3 change: an infinite validation generator needs ``validation_steps`` (without, Keras 3 reads it
    forever; keras2: ValueError); with it both train the given counts."""
    x, y = np.zeros((10, 3), "float32"), np.zeros((10, 4), "float32")
    model = small_mlp(10, 4, 3)
    kw = dict(loss="mse", optimizer=_rmsprop(), verbose=0)
    dataset = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(
        torch.from_numpy(np.tile(x, (10, 1))), torch.from_numpy(np.tile(y, (10, 1)))), batch_size=5)
    seen, count = _counter()
    F.fit(model, dataset, epochs=1, on_batch_end=count, **kw)
    assert len(seen) == 20

    def infinite():
        while True:
            yield x[:5], y[:5]

    hist = _quiet(F.fit, model, dataset, steps_per_epoch=2, epochs=1, validation_data=infinite(), validation_steps=3,
                  **kw).history
    assert "val_loss" in hist


def test_generator_methods():
    rng = np.random.default_rng(0)
    x, y = rng.random((10, 3)), rng.random((10, 4))
    model = small_mlp(10, 4, 3)

    def numpy_iterator():
        while True:
            yield x, y

    seen, count = _counter()
    _quiet(F.fit, model, numpy_iterator(), steps_per_epoch=3, epochs=1, loss="mse", optimizer=_rmsprop(), verbose=0,
           metrics=["mae", "categorical_accuracy"], on_batch_end=count)
    assert len(seen) == 3
    _quiet(F.evaluate, model, numpy_iterator(), steps=3, loss="mse")
    out = _quiet(F.predict, model, ((x,) for _ in iter(int, 1)), steps=3)
    assert out.shape == (30, 4)


def _ones_model():
    """``Dense(3, relu, kernel ones)``, ``Dense(2, softmax, kernel ones)``, zero biases."""
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    with torch.no_grad():
        for m in (model[0], model[2]):
            m.weight.fill_(1.0), m.bias.zero_()
    model.output_activation = "softmax"
    return model


def _correctness_data():
    rs = np.random.RandomState(123)
    return np.ones((100, 4)), rs.randint(0, 1, size=(100, 1))


@pytest.mark.parametrize("optimizer_kwargs", [{}, {"clipvalue": 999999}, {"clipnorm": 999999}])
def test_loss_correctness(optimizer_kwargs):
    x, y = _correctness_data()
    hist = F.fit(_ones_model(), x, y, loss="sparse_categorical_crossentropy", optimizer=_rmsprop(**optimizer_kwargs),
                 epochs=1, batch_size=10, verbose=0).history
    almost("RMSprop loss correctness", f"test_loss_correctness{optimizer_kwargs}", hist["loss"][-1], 0.5836, 4)


#: Keras 3.15.1's losses for ``RMSprop(0.001, clipvalue=0.0)`` (no clipping; measured in the slow file)
CLIP0_KERAS3 = [0.5836, 0.4476, 0.3586]


def test_loss_correctness_clipvalue_zero():
    """Keras 3 change (keras2=[0.6931] * 3): ``clipvalue=0.0`` does not clip (base_optimizer.py:877)."""
    x, y = _correctness_data()
    hist = F.fit(_ones_model(), x, y, loss="sparse_categorical_crossentropy", optimizer=_rmsprop(clipvalue=0.0),
                 epochs=3, batch_size=10, verbose=0).history
    print("clipvalue=0 losses", hist["loss"])
    for i in range(3):
        almost("clipvalue=0", f"test_loss_correctness_clipvalue_zero[{i}]", hist["loss"][i], CLIP0_KERAS3[i], 4)


def test_loss_correctness_with_iterator():
    x, y = _correctness_data()
    ds = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(
        torch.from_numpy(np.tile(x.astype("float32"), (100, 1))), torch.from_numpy(np.tile(y, (100, 1)))),
        batch_size=10)
    hist = F.fit(_ones_model(), ds, loss="sparse_categorical_crossentropy", optimizer=_rmsprop(), epochs=1,
                 steps_per_epoch=10, verbose=0).history
    almost("RMSprop loss correctness", "test_loss_correctness_with_iterator", hist["loss"][-1], 0.5836, 4)


# ---- metrics_functional_test.py -----------------------------------------------------------------------------


def _eq(name, got, expected):
    got = np.asarray(got.detach() if isinstance(got, torch.Tensor) else got)
    _diff("functional metrics", got, expected)
    tf_all_close(name, got, np.asarray(expected, dtype=got.dtype), rtol=0, atol=0)


def test_metrics_shapes():
    g = torch.Generator().manual_seed(0)
    y_a, y_b = torch.rand(6, 7, generator=g), torch.rand(6, 7, generator=g)
    # Keras 3 change: binary_accuracy no longer averages the last axis (keras/src/metrics/accuracy_metrics.py:69)
    assert metrics.binary_accuracy(y_a, y_b).shape == (6, 7)  # keras2=(6,)
    assert metrics.categorical_accuracy(y_a, y_b).shape == (6,)


def test_sparse_categorical_accuracy_int():
    m = metrics.sparse_categorical_accuracy
    g = torch.Generator().manual_seed(0)
    assert m(torch.randint(0, 7, (6,), generator=g).float(), torch.rand(6, 7, generator=g)).shape == (6,)
    p = torch.tensor([[0.8, 0.2], [0.6, 0.4], [0.7, 0.3], [0.9, 0.1]])
    _eq("sca (N,)", m(torch.tensor([1.0, 0.0, 0.0, 0.0]), p), [0.0, 1.0, 1.0, 1.0])
    _eq("sca (N, 1)", m(torch.tensor([[1.0], [0.0], [0.0], [0.0]]), p), [0.0, 1.0, 1.0, 1.0])
    p3 = torch.tensor([[[0.2, 0.3, 0.1], [0.1, 0.2, 0.7]], [[0.3, 0.2, 0.1], [0.7, 0.2, 0.1]]])
    _eq("sca (N, T)", m(torch.tensor([[1.0, 0.0], [1.0, 0.0]]), p3), [[1.0, 0.0], [0.0, 1.0]])


def test_sparse_categorical_accuracy_float():
    g = torch.Generator().manual_seed(0)
    assert metrics.sparse_categorical_accuracy(torch.rand(6, generator=g), torch.rand(6, 7, generator=g)).shape == (6,)


@pytest.mark.parametrize("dtype", [np.int64, np.float32])
def test_sparse_categorical_accuracy_eager(dtype):
    """``test_sparse_categorical_accuracy_eager`` (ints) and ``..._float_eager``: NumPy inputs."""
    y_true = np.arange(6, dtype=dtype).reshape([6, 1])
    y_pred = np.arange(36).reshape([6, 6])
    _eq(f"sca eager {dtype.__name__}", metrics.sparse_categorical_accuracy(y_true, y_pred), [0, 0, 0, 0, 0, 1.0])


def test_sparse_top_k_categorical_accuracy():
    p = np.array([[0.3, 0.2, 0.1], [0.1, 0.2, 0.7]], "float32")
    p3 = np.array([[[0.3, 0.2, 0.1], [0.1, 0.2, 0.7], [0.1, 0.2, 0.7]],
                   [[0.3, 0.2, 0.1], [0.1, 0.2, 0.7], [0.3, 0.2, 0.1]]], "float32")
    for y_true, y_pred in [(np.array([[1], [0]]), p), (np.array([1, 0]), p), (np.array([[1, 0, 0], [1, 0, 1]]), p3)]:
        for k, expected in [(3, 1.0), (2, 0.5), (1, 0.0)]:
            got = float(np.mean(metrics.sparse_top_k_categorical_accuracy(torch.as_tensor(y_true),
                                                                          torch.as_tensor(y_pred), k=k).numpy()))
            _eq(f"sparse top {k} {y_true.shape}", got, expected)


def test_top_k_categorical_accuracy():
    p = torch.tensor([[0.3, 0.2, 0.1], [0.1, 0.2, 0.7]])
    t = torch.tensor([[0.0, 1, 0], [1, 0, 0]])
    for k, expected in [(3, 1.0), (2, 0.5), (1, 0.0)]:
        _eq(f"top {k}", float(np.mean(metrics.top_k_categorical_accuracy(t, p, k=k).numpy())), expected)
