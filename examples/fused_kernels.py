"""The fused Triton kernels: one API, the same numbers as the eager path, and per-sample gradients.

On a CUDA machine the losses pick the kernels by themselves. Without a GPU
this script runs the same kernels in Triton's interpreter (slow, small
shapes), which must be switched on before Triton is imported.
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

from torch_impl import kernels, losses  # noqa: E402

device = "cuda" if torch.cuda.is_available() else "cpu"
torch.manual_seed(0)
logits = (torch.randn(32, 10) * 3).to(device, torch.bfloat16)  # half inputs, float32 arithmetic
labels = torch.randint(0, 10, (32,)).to(device)
loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True)

results = {}
for backend in ("triton", "eager"):  # "auto" (the default) picks the kernels for CUDA tensors
    with kernels.use_backend(backend):
        x = logits.clone().requires_grad_(True)
        value = loss_fn(labels, x)  # float32 scalar
        value.backward()
        results[backend] = (value.detach(), x.grad.float())
grad_diff = float((results["triton"][1] - results["eager"][1]).abs().max())
grad_scale = float(results["eager"][1].abs().max())
print(f"device {device}; kernels {float(results['triton'][0]):.6f}, eager {float(results['eager'][0]):.6f}; "
      f"max |grad diff| {grad_diff:.1e} on gradients up to {grad_scale:.1e} (the bfloat16 gradients are rounded "
      f"from float32 on each path: {grad_diff / grad_scale:.1e} of the largest, one bfloat16 step of 2**-8 = "
      f"3.9e-3 at most)")
assert torch.allclose(results["triton"][0], results["eager"][0], rtol=1e-5)

# Evaluation: under no_grad the kernel writes no gradient buffer.
with torch.no_grad():
    print(f"evaluation loss {float(loss_fn(labels, logits)):.6f}")

# Per-sample gradients with torch.func (the losses run Keras's op-for-op computation under a transform).
z = torch.randn(6, 4, dtype=torch.float64)
y = torch.randint(0, 4, (6,))
per_sample = torch.func.vmap(torch.func.grad(lambda zr, yr: loss_fn(yr[None], zr[None])))(z, y)
print("per-sample gradient norms", [round(float(v), 4) for v in per_sample.norm(dim=1)])

# A bad label: a ValueError here (on CUDA a device-side assertion by default, no host sync;
# losses.set_label_check(cuda_sync=True) makes it a ValueError there too).
if device == "cpu":
    try:
        with kernels.use_backend("triton"):
            loss_fn(torch.full((32,), 10), logits.float())
    except ValueError as e:
        print("bad label:", str(e)[:80])
