"""The training doctor on a PyTorch model: why does my model predict only one class?

Trains a small classifier on 90/5/5 imbalanced data with torch_impl (Keras
semantics), lets :class:`torch_impl.diagnose.TrainingDoctor` watch it, and
prints its findings; then trains again with the class weights it suggests
and shows the findings are gone. The same checks run on a Keras model with
``keras_impl.diagnose.DoctorCallback``, and on saved arrays with
``lossparity doctor --labels y.npy --predictions p.npy --loss NAME``.

    python examples/training_doctor.py
"""

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scenarios.data import learnable  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl.diagnose import TrainingDoctor  # noqa: E402
from torch_impl.fit import fit  # noqa: E402
from torch_impl.nn import build_model  # noqa: E402

SPEC = {"input_dim": 10, "layers": [{"type": "dense", "units": 10, "activation": "relu"},
                                    {"type": "dense", "units": 3, "activation": "softmax"}]}


def train(data, class_weight=None):
    torch.manual_seed(0)
    model = build_model(SPEC)
    loss = losses.SparseCategoricalCrossentropy()
    doctor = TrainingDoctor(model, loss, data.x, data.y, class_weight=class_weight)  # measures the start
    fit(model, data.x, data.y, loss=loss, optimizer=optim.Adam(model.parameters()), epochs=15, batch_size=32,
        generator=0, class_weight=class_weight, verbose=0, on_epoch_end=doctor.on_epoch_end)
    return doctor.diagnose(data.x_test, data.y_test)


if __name__ == "__main__":
    data = learnable(1000, 3, weights=(0.9, 0.05, 0.05), seed=2, class_sep=0.8)
    first = train(data)
    print(TrainingDoctor.render(first, "== without class weights =="))
    suggested = next(f["numbers"]["balanced_class_weight"] for f in first["findings"] if f["id"] == "class_imbalance")
    cw = {int(k): round(v, 3) for k, v in suggested.items()}
    second = train(data, class_weight=cw)
    print()
    print(TrainingDoctor.render(second, f"== with the suggested class_weight {cw} =="))
    recall = np.round(second["outcome"]["recall"], 2).tolist()
    print(f"\nminority recall without/with class weights: {first['outcome']['recall'][1:]} -> {recall[1:]}")
