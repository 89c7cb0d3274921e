"""Train a PyTorch model from a Keras model's saved compile config, with Keras's callbacks on evaluate/predict.

A Keras project keeps its training setup in ``model.get_compile_config()`` (inside every ``.keras`` file): the
optimizer, the loss and the metrics as Keras's serialized dicts. ``torch_impl.losses.deserialize`` and
``torch_impl.metrics.deserialize`` read those dicts (``serialize`` writes them, and Keras reads ours back);
``torch_impl.fit.fit`` takes the optimizer's dict as it is. ``evaluate`` and ``predict`` take Keras's callbacks:
the same hooks, in the same order, with the same logs. With Keras installed the script trains the Keras model from
the same config and initial weights and compares the histories.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import json  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import callbacks, fit, losses, metrics  # noqa: E402
from torch_impl.nn import keras_init_  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

# model.get_compile_config() of a Keras classifier, as saved in its .keras file (config.json)
COMPILE_CONFIG = json.loads("""{
 "optimizer": {"module": "keras.optimizers", "class_name": "Adam", "registered_name": null,
               "config": {"name": "adam", "learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.999,
                          "epsilon": 1e-07, "amsgrad": false}},
 "loss": {"module": "keras.losses", "class_name": "SparseCategoricalCrossentropy", "registered_name": null,
          "config": {"name": "scce", "reduction": "sum_over_batch_size", "from_logits": true, "ignore_class": null}},
 "metrics": [{"module": "keras.metrics", "class_name": "SparseCategoricalAccuracy", "registered_name": null,
              "config": {"name": "acc", "dtype": "float32"}},
             {"module": "keras.metrics", "class_name": "SparseTopKCategoricalAccuracy", "registered_name": null,
              "config": {"name": "top2", "dtype": "float32", "k": 2}}]
}""")


class PrintBatches(callbacks.Callback):
    """A user callback: Keras calls the same hooks from evaluate and predict."""

    def on_test_batch_end(self, batch, logs=None):
        print(f"  evaluate batch {batch}: running {', '.join(f'{k} {v:.4f}' for k, v in sorted(logs.items()))}")

    def on_predict_batch_end(self, batch, logs=None):
        print(f"  predict batch {batch}: outputs {logs['outputs'].shape}")


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 3))).argmax(1)
    return x, y


def main():
    x, y = data()
    loss = losses.deserialize(COMPILE_CONFIG["loss"])
    metric_list = [metrics.deserialize(m) for m in COMPILE_CONFIG["metrics"]]
    print(f"loss from the config: {loss}; metrics: {[m.name for m in metric_list]}")
    assert losses.serialize(loss)["config"]["from_logits"] is True  # and back to Keras's dict

    net = keras_init_(torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)), seed=3)
    history = fit.fit(net, x, y, loss=loss, optimizer=COMPILE_CONFIG["optimizer"], metrics=metric_list,
                      batch_size=32, epochs=5, shuffle=False, verbose=0).history
    print("torch_impl history: " + ", ".join(f"{k} {np.round(v, 4).tolist()}" for k, v in sorted(history.items())))
    results = fit.evaluate(net, x, y, loss=loss, metrics=metric_list, batch_size=48, callbacks=[PrintBatches()])
    fit.predict(net, x, batch_size=48, callbacks=[PrintBatches()])
    print(f"evaluate: {results}")

    keras = keras_or_none()
    if keras is None:
        return
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3)])
    model.compile_from_config(COMPILE_CONFIG)
    kh = model.fit(x, y, batch_size=32, epochs=5, shuffle=False, verbose=0).history
    gap = max(float(np.max(np.abs(np.subtract(history[k], kh[k])) / np.maximum(np.abs(kh[k]), 1e-12))) for k in kh)
    print(f"Keras from the same config and weights: {sorted(kh)}; max relative gap {gap:.1e} (float32)")
    assert sorted(kh) == sorted(history) and gap < 1e-5


if __name__ == "__main__":
    main()
