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
