"""PyTorch side of `bench -- autodiff`: the same workloads as bench/AutodiffSuite.cs, 2 threads.
A TD-MPC-sized MLP 56 -> 512 -> 512 -> 50 with ELU, MSE loss and Adam (lr 1e-3)."""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import main  # noqa: E402

torch.set_num_threads(2)
torch.manual_seed(0)

net = nn.Sequential(nn.Linear(56, 512), nn.ELU(), nn.Linear(512, 512), nn.ELU(), nn.Linear(512, 50))
params = list(net.parameters())
adam = torch.optim.Adam(params, lr=1e-3)


def batch(n):
    return torch.rand(n, 56) * 2 - 1, torch.rand(n, 50) * 2 - 1


x512, t512 = batch(512)
x64, t64 = batch(64)
x1, t1 = batch(1)


def train_step():
    adam.zero_grad()
    F.mse_loss(net(x512), t512).backward()
    adam.step()


def forward_b1():
    with torch.no_grad():
        net(x1)


def fwd_bwd(x, t):
    def run():
        adam.zero_grad()
        F.mse_loss(net(x), t).backward()
    return run


def grad_of_grad_norm():
    adam.zero_grad()
    loss = F.mse_loss(net(x64), t64)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    sum(g.pow(2).sum() for g in grads).backward()


main({
    "train step b512 (fwd+bwd+adam)": train_step,
    "adam step only (317k params)": adam.step,
    "forward b1 (no grad)": forward_b1,
    "forward+backward b1": fwd_bwd(x1, t1),
    "forward+backward b64": fwd_bwd(x64, t64),
    "grad of grad-norm b64": grad_of_grad_norm,
})
