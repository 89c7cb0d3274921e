"""The focal losses: Keras's two, and the community snippet, side by side."""

import torch

from torch_impl import losses

torch.manual_seed(0)
y = (torch.rand(8, 1) < 0.2).float()  # 1 positive in 5
logits = torch.randn(8, 1)

bce = losses.BinaryCrossentropy(from_logits=True)
bfce = losses.BinaryFocalCrossentropy(gamma=2.0, from_logits=True)
bfce_bal = losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0, from_logits=True)
community = losses.focal_loss(gamma=2.0, alpha=0.25)  # sums over the batch, takes probabilities
print(f"BCE                     {bce(y, logits).item():.5f}")
print(f"BinaryFocal             {bfce(y, logits).item():.5f}")
print(f"BinaryFocal + balancing {bfce_bal(y, logits).item():.5f}")
print(f"community focal (sum)   {community(y, torch.sigmoid(logits)).item():.5f}")

# Categorical focal with one alpha per class (e.g. inverse frequencies)
y3 = torch.nn.functional.one_hot(torch.tensor([0, 0, 0, 0, 1, 2]), 3).float()
z3 = torch.randn(6, 3)
cfce = losses.CategoricalFocalCrossentropy(alpha=[0.2, 0.4, 0.4], gamma=2.0, from_logits=True)
print(f"CategoricalFocal, per-class alpha {cfce(y3, z3).item():.5f}")
