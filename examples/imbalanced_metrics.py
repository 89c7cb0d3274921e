"""Log the metrics of imbalanced data (AUC, precision, recall) in PyTorch exactly as Keras logs them.

Keras:
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy", "AUC", keras.metrics.AUC(curve="PR", name="pr_auc"),
                           keras.metrics.Precision(name="precision"), keras.metrics.Recall(name="recall")])
    model.fit(x, y, batch_size=64, epochs=8, validation_split=0.2)               # plain
    model.fit(x, y, ..., class_weight={0: 1.0, 1: 9.0})                           # re-weighted

On 900/100 data the plain run's accuracy sits near the 0.9 of "always the majority class" while its recall
shows how many positives it misses; class weights trade precision for recall. torch_impl.fit takes the same
metric names and torch_impl.metrics objects. With Keras installed the script trains both from the same
weights and prints the largest difference over every history key.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import fit, losses, metrics, optim  # noqa: E402
from torch_impl.nn import keras_init_  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

torch.set_default_dtype(torch.float64)  # Keras's floatx for this run: float64
rng = np.random.default_rng(0)
n = 1000
y = np.zeros((n, 1))
y[rng.choice(n, 100, replace=False)] = 1.0  # 900 negatives, 100 positives
x = rng.normal(size=(n, 6)) + 0.9 * y * np.array([1.0, -1.0, 0.5, 0.0, 0.0, 0.0])

net = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
keras_init_(net)  # glorot_uniform kernels, zero biases
start = [p.detach().numpy().T.copy() if p.dim() == 2 else p.detach().numpy().copy() for p in net.parameters()]
runs = {"plain": None, "class_weight": {0: 1.0, 1: 9.0}}


def chosen(mod):
    return ["accuracy", "AUC", mod.AUC(curve="PR", name="pr_auc"), mod.Precision(name="precision"),
            mod.Recall(name="recall")]


histories = {}
for run, cw in runs.items():
    with torch.no_grad():
        for p, w in zip(net.parameters(), start):
            p.copy_(torch.as_tensor(w.T if w.ndim == 2 else w))
    histories[run] = fit.fit(net, x, y, loss=losses.BinaryCrossentropy(), output_activation="sigmoid",
                             optimizer=optim.Adam(net.parameters(), learning_rate=0.01), metrics=chosen(metrics),
                             batch_size=64, epochs=8, validation_split=0.2, shuffle=False, class_weight=cw,
                             verbose=0).history
    h = histories[run]
    print(f"torch_impl, {run:12s}: val_accuracy {h['val_accuracy'][-1]:.3f}  val_AUC {h['val_AUC'][-1]:.3f}  "
          f"val_pr_auc {h['val_pr_auc'][-1]:.3f}  val_precision {h['val_precision'][-1]:.3f}  "
          f"val_recall {h['val_recall'][-1]:.3f}")

keras = keras_or_none()  # Keras on TensorFlow, if installed
if keras is not None:
    from keras import layers

    keras.config.set_floatx("float64")
    gap = 0.0
    for run, cw in runs.items():
        model = keras.Sequential([keras.Input((6,)), layers.Dense(16, activation="relu"),
                                  layers.Dense(1, activation="sigmoid")])
        model.set_weights(start)
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                      metrics=chosen(keras.metrics))
        kh = model.fit(x, y, batch_size=64, epochs=8, validation_split=0.2, shuffle=False, class_weight=cw,
                       verbose=0).history
        assert sorted(kh) == sorted(histories[run])
        gap = max([gap] + [float(np.max(np.abs(np.subtract(histories[run][k], kh[k])) / np.maximum(np.abs(kh[k]),
                                                                                                  1e-300)))
                           for k in kh])
        print(f"Keras,      {run:12s}: val_accuracy {kh['val_accuracy'][-1]:.3f}  val_AUC {kh['val_AUC'][-1]:.3f}  "
              f"val_pr_auc {kh['val_pr_auc'][-1]:.3f}  val_precision {kh['val_precision'][-1]:.3f}  "
              f"val_recall {kh['val_recall'][-1]:.3f}")
    print(f"largest relative difference over every history key of both runs: {gap:.1e}")
    assert gap < 1e-8
