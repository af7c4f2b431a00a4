"""PyTorch side of `bench -- gpu`: the same workloads as bench/GpuSuite.cs on the CUDA device,
each call followed by torch.cuda.synchronize() (as ours is followed by the accelerator's)."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import main  # noqa: E402

dev = torch.device("cuda")
g = torch.Generator(device=dev).manual_seed(0)
torch.backends.cuda.matmul.allow_tf32 = False  # ours multiplies in full fp32
torch.backends.cudnn.allow_tf32 = False


def rand(*shape):
    return torch.rand(*shape, generator=g, device=dev) * 2 - 1


def synced(body):
    def run():
        body()
        torch.cuda.synchronize()
    return run


workloads = {}
for n in (1024, 4096):
    a, b, c = rand(n, n), rand(n, n), torch.zeros(n, n, device=dev)
    workloads[f"sgemm {n}x{n}x{n}"] = synced(lambda a=a, b=b, c=c: torch.mm(a, b, out=c))
x, y, z = rand(1 << 24), rand(1 << 24), torch.empty(1 << 24, device=dev)
workloads["add 16M f32"] = synced(lambda: torch.add(x, y, out=z))
workloads["tanh 16M f32"] = synced(lambda: torch.tanh(x, out=z))
logits = rand(4096, 4096)
workloads["softmax 4096x4096"] = synced(lambda: torch.softmax(logits, -1))
images, filters = rand(32, 3, 84, 84), rand(32, 3, 3, 3)
workloads["conv2d 32x3x84x84 -> 32 k3 s2"] = synced(lambda: F.conv2d(images, filters, stride=2))

net = torch.nn.Sequential(torch.nn.Linear(56, 512), torch.nn.ELU(), torch.nn.Linear(512, 512), torch.nn.ELU(),
                          torch.nn.Linear(512, 50)).to(dev)
adam = torch.optim.Adam(net.parameters(), 1e-3)
inp, target = rand(512, 56), rand(512, 50)


def train_step():
    adam.zero_grad()
    F.mse_loss(net(inp), target).backward()
    adam.step()


workloads["mlp train step b512 (fwd+bwd+adam)"] = synced(train_step)

main(workloads)
