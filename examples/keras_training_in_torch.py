"""Port a Keras training run to PyTorch and get the same numbers, epoch for epoch.

Keras:
    model = keras.Sequential([keras.Input((8,)), Dense(32, "relu"), BatchNormalization(),
                              Dense(3, "softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=10, class_weight={0: 1, 1: 5, 2: 5})

PyTorch with torch_impl: the same layers with Keras's defaults (glorot init,
BatchNormalization momentum 0.99 / epsilon 1e-3 / biased moving variance), Keras's
Adam step, Keras's loss and class-weight rules, Keras's epoch loss. With Keras
installed the script trains both from the same weights and batch order and
prints the difference.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import fit, losses, optim  # noqa: E402
from torch_impl.nn import build_model, keras_weights  # noqa: E402

torch.set_default_dtype(torch.float64)  # Keras's floatx for this run: float64
rng = np.random.default_rng(0)
x = rng.normal(size=(256, 8))
y = np.eye(3)[np.argmax(x @ rng.normal(size=(8, 3)) + rng.normal(size=(256, 3)), -1)]
spec = {"input_dim": 8, "layers": [{"type": "dense", "units": 32, "activation": "relu"}, {"type": "batchnorm"},
                                   {"type": "dense", "units": 3, "activation": "softmax"}]}

model = build_model(spec, dtype=torch.float64)  # returns logits; model.output_activation == "softmax"
start = keras_weights(model)  # Keras layout, to give Keras the same start
history = fit.fit(model, x, y, loss=losses.CategoricalCrossentropy(),
                  optimizer=optim.Adam(model.parameters(), learning_rate=0.01),
                  batch_size=32, epochs=10, generator=7, class_weight={0: 1, 1: 5, 2: 5}, verbose=0)
print("torch_impl loss per epoch:", np.round(history.history["loss"], 6).tolist())

try:
    import triton  # noqa: F401  (load before TensorFlow: both bundle LLVM)
except ImportError:
    pass
try:
    from scenarios.runner import run_keras
    from scenarios.training import TrainingRun
except ImportError:
    run_keras = None
if run_keras is not None:
    try:
        import keras  # noqa: F401
    except ImportError:
        run_keras = None
if run_keras is not None:
    run = TrainingRun("example", spec, ("categorical_crossentropy", {}), ("adam", {"learning_rate": 0.01}), x, y,
                      batch_size=32, epochs=10, seed=7, class_weight={0: 1, 1: 5, 2: 5}, dtype="float64",
                      weights=start)
    ref = run_keras(run)["history"]
    print("Keras loss per epoch:     ", np.round(ref["loss"], 6).tolist())
    rel = np.max(np.abs(np.array(history.history["loss"]) - ref["loss"]) / np.array(ref["loss"]))
    print(f"largest relative difference over 10 epochs: {rel:.1e}")
    assert rel < 1e-8

# Keras's optimizer options and schedules carry over too:
#   keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.CosineDecay(0.0, 100, warmup_target=0.02,
#                         warmup_steps=10), use_ema=True, gradient_accumulation_steps=2)
from torch_impl import schedules  # noqa: E402

model2 = build_model(spec, dtype=torch.float64)
opt2 = optim.Adam(model2.parameters(), use_ema=True, gradient_accumulation_steps=2,
                  learning_rate=schedules.CosineDecay(0.0, 100, warmup_target=0.02, warmup_steps=10))
history2 = fit.fit(model2, x, y, loss=losses.CategoricalCrossentropy(), optimizer=opt2, batch_size=32, epochs=10,
                   generator=7, verbose=0)  # ends with the EMA weights, as Keras's fit does
print(f"with a warm-up cosine schedule, EMA and accumulation: final loss {history2.history['loss'][-1]:.6f}, "
      f"{opt2.iterations} updates, next learning rate {opt2.learning_rate:.5f}")
