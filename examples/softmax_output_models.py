"""A Keras model that ends in softmax trains on LOGITS, whatever from_logits says.

Keras on TensorFlow notices that the probabilities came from a softmax (or
sigmoid) layer and hands the crossentropy the logits behind them, so training
runs the stable logits path even with from_logits=False. In PyTorch, output the
logits and use from_logits=True to get the same numbers; feeding probabilities
runs the clipped path, which gets stuck once predictions saturate.
"""

import torch

from torch_impl import losses

z = torch.tensor([[30.0, 0.0, -30.0]], requires_grad=True)  # a confident, wrong prediction
y = torch.tensor([[0.0, 0.0, 1.0]])

logits_loss = losses.CategoricalCrossentropy(from_logits=True)(y, z)
(g_logits,) = torch.autograd.grad(logits_loss, z)
probs_loss = losses.CategoricalCrossentropy()(y, torch.softmax(z, -1))
(g_probs,) = torch.autograd.grad(probs_loss, z)
print(f"from logits:        loss {logits_loss.item():8.4f}  grad {g_logits.tolist()}")
print(f"from probabilities: loss {probs_loss.item():8.4f}  grad {g_probs.tolist()}  (clipped: no signal)")
assert g_probs.abs().max() == 0 and g_logits.abs().max() > 0.5
