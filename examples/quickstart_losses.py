"""Quick start: Keras losses in a plain PyTorch training loop.

Keras:   model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
         model.fit(x, y, class_weight={0: 1, 1: 10, 2: 10})
PyTorch: the same loss object and the same class-weight rule, below.
"""

import torch

from torch_impl import losses
from torch_impl.class_weight import class_weight_to_sample_weight

torch.manual_seed(0)
x = torch.randn(300, 10)
y = torch.where(x[:, 0] > 1.0, 1, torch.where(x[:, 1] > 1.0, 2, 0))  # imbalanced 3 classes

model = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True)
sample_weight = class_weight_to_sample_weight(y, {0: 1.0, 1: 10.0, 2: 10.0})

for epoch in range(30):
    opt.zero_grad()
    loss = loss_fn(y, model(x), sample_weight=sample_weight)  # Keras argument order: y_true, y_pred
    loss.backward()
    opt.step()
    if epoch % 10 == 0 or epoch == 29:
        print(f"epoch {epoch:2d}  loss {loss.item():.4f}")

pred = model(x).argmax(-1)
for c in range(3):
    recall = (pred[y == c] == c).float().mean().item()
    print(f"class {c}: {int((y == c).sum())} samples, recall {recall:.2f}")

# Keras's other ways of naming a loss work the same way here.
per_sample = losses.get("sparse_categorical_crossentropy")  # keras.losses.get: the unreduced function
print("per-sample losses of the first 3:", per_sample(y[:3], model(x[:3]), from_logits=True).tolist())
named = losses.make("sparse_categorical_crossentropy", from_logits=True)  # model.compile(loss=name) builds this
print("reduced by name:", round(named(y, model(x)).item(), 4), "=", round(loss_fn(y, model(x)).item(), 4))
clone = losses.get({"class_name": "SparseCategoricalCrossentropy", "config": loss_fn.get_config()})
print("rebuilt from its config:", clone)


# A loss of your own, written as a keras.losses.Loss subclass would be: call returns one loss per sample,
# and sample weights and the reduction are applied for you.
class ScaledMSE(losses.Loss):
    def __init__(self, scale=0.5, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, y_true, y_pred):
        return self.scale * ((y_true - y_pred) ** 2).mean(dim=-1)


probs = torch.softmax(model(x), -1)
onehot = torch.nn.functional.one_hot(y, 3)  # integer targets are converted like Keras does
print(f"{ScaledMSE().name}: {ScaledMSE()(onehot, probs, sample_weight=sample_weight).item():.4f}")
