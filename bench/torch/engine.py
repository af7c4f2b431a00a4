"""PyTorch side of `bench -- engine`: the same workloads and shapes as bench/EngineSuite.cs, 2 threads.
GEMM names read "sgemm MxKxN": A is MxK, B is KxN, the product written into a preallocated C."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import main  # noqa: E402

torch.set_num_threads(2)
g = torch.Generator().manual_seed(0)


def rand(*shape):
    return torch.rand(*shape, generator=g) * 2 - 1


def gemm(m, k, n):
    a, b, c = rand(m, k), rand(k, n), torch.zeros(m, n)
    return lambda: torch.mm(a, b, out=c)


workloads = {}
for m, k, n in [(64, 64, 64), (512, 512, 512), (1024, 1024, 1024), (512, 56, 512), (512, 512, 50), (1, 56, 512)]:
    workloads[f"sgemm {m}x{k}x{n}"] = gemm(m, k, n)

x, y, dest = rand(1 << 20), rand(1 << 20), torch.empty(1 << 20)
workloads["add 1M f32"] = lambda: torch.add(x, y, out=dest)
workloads["tanh 1M f32"] = lambda: torch.tanh(x, out=dest)

logits = rand(512, 512)
workloads["softmax 512x512"] = lambda: torch.softmax(logits, -1)


def linear(rows, inp, out):
    xs, w, b = rand(rows, inp), rand(out, inp), rand(out)
    return lambda: F.linear(xs, w, b)


# MLP layers (weight stored [out, in]): batch 1, as in DiffTORI's per-step policy, and batch 512.
for rows, inputs, outputs in [(1, 56, 512), (1, 512, 512), (1, 512, 50), (512, 512, 512)]:
    workloads[f"linear {rows}x{inputs}->{outputs}"] = linear(rows, inputs, outputs)

images, filters = rand(32, 3, 84, 84), rand(32, 3, 3, 3)
workloads["conv2d 32x3x84x84 -> 32 k3 s2"] = lambda: F.conv2d(images, filters, stride=2)

with torch.no_grad():
    main(workloads)
