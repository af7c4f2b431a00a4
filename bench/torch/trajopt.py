"""PyTorch counterparts of bench/TrajOptSuite.cs (same shapes, 2 threads).

Cart-pole: closed-form dynamics Jacobians (cp_jac) as ours; the extra "autodiff-jac" workload takes them by
one replicated reverse pass (cp_jac_autodiff), as ours does for a problem without closed-form dynamics.

iLQR pendulum: the same batched iLQR (closed-form pendulum derivatives, Riccati backward pass with
regularization, forward pass with feedback and clamping, accept-if-better), written with torch batched
ops. Simplification against ours: controls are clamped in the forward pass instead of a box-QP per step.
Implicit backward: gradient of the cost wrt U with create_graph, LQR solve with detached gains, backward.
DiffTORI planning step: LM on r = -G + 1000, 100 iterations, the last 5 recorded, then -Q(z, a0) backward.
"""
import math
import torch
from harness import main

torch.set_num_threads(2)
T, ITERS = 20, 10
DT, GA, GB = 0.05, 15.0, 3.0
WA, WV, WU, WT = 1.0, 0.01, 0.001, 10.0


def starts(b):
    g = torch.Generator().manual_seed(3)
    th = math.pi * (2 * torch.rand(b, generator=g, dtype=torch.float64) - 1)
    w = 2 * torch.rand(b, generator=g, dtype=torch.float64) - 1
    return torch.stack([th.cos(), th.sin(), w], 1)


def step(x, u):
    c, s, w = x[:, 0], x[:, 1], x[:, 2]
    w1 = w + DT * (GA * s + GB * u[:, 0])
    phi = DT * w1
    cp, sp = phi.cos(), phi.sin()
    return torch.stack([c * cp - s * sp, s * cp + c * sp, w1], 1)


def step_jac(x, u):
    c, s, w = x[:, 0], x[:, 1], x[:, 2]
    w1 = w + DT * (GA * s + GB * u[:, 0])
    phi = DT * w1
    cp, sp = phi.cos(), phi.sin()
    dc, ds = -c * sp - s * cp, c * cp - s * sp
    B = x.shape[0]
    A = torch.zeros(B, 3, 3, dtype=x.dtype)
    A[:, 0, 0] = cp; A[:, 0, 1] = -sp + dc * DT * DT * GA; A[:, 0, 2] = dc * DT
    A[:, 1, 0] = sp; A[:, 1, 1] = cp + ds * DT * DT * GA; A[:, 1, 2] = ds * DT
    A[:, 2, 1] = DT * GA; A[:, 2, 2] = 1
    Bm = torch.stack([dc * DT * DT * GB, ds * DT * DT * GB, torch.full_like(c, DT * GB)], 1).unsqueeze(-1)
    return A, Bm


def stage(x, u):
    return WA * (1 - x[:, 0]) + WV * x[:, 2] ** 2 + WU * u[:, 0] ** 2


def terminal(x):
    return WT * ((1 - x[:, 0]) + WV * x[:, 2] ** 2)


def rollout(x0, U, mdl=None):
    st, sg, tm = (step, stage, terminal) if mdl is None else (mdl["step"], mdl["stage"], mdl["terminal"])
    xs = [x0]
    for t in range(T):
        xs.append(st(xs[-1], U[:, t]))
    X = torch.stack(xs, 1)
    cost = sum(sg(X[:, t], U[:, t]) for t in range(T)) + tm(X[:, T])
    return X, cost


def cost_derivs(X, U):
    B = X.shape[0]
    lx = torch.zeros(B, T + 1, 3, dtype=X.dtype); lxx = torch.zeros(B, T + 1, 3, 3, dtype=X.dtype)
    lx[:, :T, 0] = -WA; lx[:, :T, 2] = 2 * WV * X[:, :T, 2]; lxx[:, :T, 2, 2] = 2 * WV
    lx[:, T, 0] = -WT; lx[:, T, 2] = 2 * WT * WV * X[:, T, 2]; lxx[:, T, 2, 2] = 2 * WT * WV
    lu = 2 * WU * U; luu = torch.full((B, T, 1, 1), 2 * WU, dtype=X.dtype)
    return lx, lxx, lu, luu


def ilqr(x0, U, mu=1e-6, mdl=None):
    mdl = mdl or PENDULUM
    n, lo, hi = mdl["n"], mdl["lo"], mdl["hi"]
    X, J = rollout(x0, U, mdl)
    B = x0.shape[0]
    I = torch.eye(1, dtype=x0.dtype)
    for _ in range(ITERS):
        A, Bm = mdl["jac"](X[:, :T].reshape(-1, n), U.reshape(-1, 1))
        A = A.view(B, T, n, n); Bm = Bm.view(B, T, n, 1)
        lx, lxx, lu, luu = mdl["derivs"](X, U)
        Vx, Vxx = lx[:, T], lxx[:, T]
        ks, Ks = [None] * T, [None] * T
        for t in reversed(range(T)):
            At, Bt = A[:, t], Bm[:, t]
            Qx = lx[:, t] + (At.transpose(1, 2) @ Vx.unsqueeze(-1)).squeeze(-1)
            Qu = lu[:, t] + (Bt.transpose(1, 2) @ Vx.unsqueeze(-1)).squeeze(-1)
            Qxx = lxx[:, t] + At.transpose(1, 2) @ Vxx @ At
            Quu = luu[:, t] + Bt.transpose(1, 2) @ Vxx @ Bt
            Qux = Bt.transpose(1, 2) @ Vxx @ At
            L = torch.linalg.cholesky(Quu + mu * I)
            k = -torch.cholesky_solve(Qu.unsqueeze(-1), L)
            K = -torch.cholesky_solve(Qux, L)
            ks[t], Ks[t] = k, K
            Vx = Qx + (K.transpose(1, 2) @ Quu @ k + K.transpose(1, 2) @ Qu.unsqueeze(-1) + Qux.transpose(1, 2) @ k).squeeze(-1)
            Vxx = Qxx + K.transpose(1, 2) @ Quu @ K + K.transpose(1, 2) @ Qux + Qux.transpose(1, 2) @ K
            Vxx = 0.5 * (Vxx + Vxx.transpose(1, 2))
        xs, us = [x0], []
        for t in range(T):
            du = ks[t] + Ks[t] @ (xs[-1] - X[:, t]).unsqueeze(-1)
            u = (U[:, t] + du.squeeze(-1)).clamp(lo, hi)
            us.append(u)
            xs.append(mdl["step"](xs[-1], u))
        Xn, Un = torch.stack(xs, 1), torch.stack(us, 1)
        Jn = sum(mdl["stage"](Xn[:, t], Un[:, t]) for t in range(T)) + mdl["terminal"](Xn[:, T])
        better = (Jn < J)
        X = torch.where(better.view(-1, 1, 1), Xn, X); U = torch.where(better.view(-1, 1, 1), Un, U); J = torch.where(better, Jn, J)
    return X, U


def implicit_bwd(x0v, X, U, mdl=None):
    mdl = mdl or PENDULUM
    n = mdl["n"]
    B = x0v.shape[0]
    Uleaf = U.clone().requires_grad_(True)
    _, cost = rollout(x0v, Uleaf, mdl)
    g, = torch.autograd.grad(cost.sum(), Uleaf, create_graph=True)
    with torch.no_grad():
        A, Bm = mdl["jac"](X[:, :T].reshape(-1, n), U.reshape(-1, 1))
        A = A.view(B, T, n, n); Bm = Bm.view(B, T, n, 1)
        lx, lxx, lu, luu = mdl["derivs"](X, U)
        Vxx = lxx[:, T]
        Ps, Ks, Quxs = [None] * T, [None] * T, [None] * T
        for t in reversed(range(T)):
            At, Bt = A[:, t], Bm[:, t]
            Qxx = lxx[:, t] + At.transpose(1, 2) @ Vxx @ At
            Quu = luu[:, t] + Bt.transpose(1, 2) @ Vxx @ Bt
            Qux = Bt.transpose(1, 2) @ Vxx @ At
            P = torch.linalg.inv(Quu)
            K = -P @ Qux
            Ps[t], Ks[t], Quxs[t] = P, K, Qux
            Vxx = Qxx + Qux.transpose(1, 2) @ K
    v = None
    ks = [None] * T
    for t in reversed(range(T)):
        qu = g[:, t].unsqueeze(-1) if v is None else g[:, t].unsqueeze(-1) + Bm[:, t].transpose(1, 2) @ v
        k = -Ps[t] @ qu
        ks[t] = k
        vx = Quxs[t].transpose(1, 2) @ k
        v = vx if v is None else A[:, t].transpose(1, 2) @ v + vx
    dx, du = None, []
    for t in range(T):
        ut = ks[t] if dx is None else ks[t] + Ks[t] @ dx
        du.append(ut.squeeze(-1))
        nx = Bm[:, t] @ ut
        dx = nx if dx is None else A[:, t] @ dx + nx
    delta = torch.stack(du, 1)
    out = U + (delta - delta.detach())
    out.sum().backward()


PENDULUM = dict(n=3, lo=-2.0, hi=2.0, step=step, jac=step_jac, derivs=cost_derivs, stage=stage, terminal=terminal)

# ----- cart-pole: closed-form Jacobians (and, in one extra workload, autodiff Jacobians by one replicated
# reverse pass, as ours without the closed-form dynamics), closed-form quadratic cost -----
MC, MP, LP, G, CDT = 1.0, 0.1, 0.5, 9.8, 0.05
QW = torch.tensor([1.0, 0.1, 1.0, 0.1], dtype=torch.float64)
CR, CT = 0.01, 10.0


def cp_step(x, u):
    pos, vel, th, w = x[:, 0], x[:, 1], x[:, 2], x[:, 3]
    s, c = th.sin(), th.cos()
    temp = (u[:, 0] + MP * LP * w ** 2 * s) / (MC + MP)
    th_acc = (G * s - c * temp) / (LP * (4.0 / 3.0 - MP / (MC + MP) * c ** 2))
    x_acc = temp - MP * LP / (MC + MP) * th_acc * c
    return torch.stack([pos + CDT * vel, vel + CDT * x_acc, th + CDT * w, w + CDT * th_acc], 1)


def cp_jac(x, u):
    """Closed-form Jacobians of cp_step (as ours: CartPole's IAnalyticDynamics)."""
    M, Ml, Kx, Kd = MC + MP, MP * LP, MP * LP / (MC + MP), MP / (MC + MP)
    th, w = x[:, 2], x[:, 3]
    s, c = th.sin(), th.cos()
    temp = (u[:, 0] + Ml * w ** 2 * s) / M
    den = LP * (4.0 / 3.0 - Kd * c ** 2)
    th_acc = (G * s - c * temp) / den
    d_temp_th, d_temp_w, d_temp_u = Ml * w ** 2 * c / M, 2 * Ml * w * s / M, 1.0 / M
    d_den_th = LP * Kd * 2 * c * s
    d_th_th = (G * c + s * temp - c * d_temp_th) / den - th_acc * d_den_th / den
    d_th_w, d_th_u = -c * d_temp_w / den, -c * d_temp_u / den
    d_x_th = d_temp_th - Kx * (d_th_th * c - th_acc * s)
    d_x_w, d_x_u = d_temp_w - Kx * d_th_w * c, d_temp_u - Kx * d_th_u * c
    R = x.shape[0]
    A = torch.zeros(R, 4, 4, dtype=x.dtype)
    A[:, 0, 0] = 1; A[:, 0, 1] = CDT
    A[:, 1, 1] = 1; A[:, 1, 2] = CDT * d_x_th; A[:, 1, 3] = CDT * d_x_w
    A[:, 2, 2] = 1; A[:, 2, 3] = CDT
    A[:, 3, 2] = CDT * d_th_th; A[:, 3, 3] = 1 + CDT * d_th_w
    Bm = torch.zeros(R, 4, 1, dtype=x.dtype)
    Bm[:, 1, 0] = CDT * d_x_u; Bm[:, 3, 0] = CDT * d_th_u
    return A, Bm


def cp_jac_autodiff(x, u):
    R, n = x.shape[0], 4
    xr = x.unsqueeze(0).expand(n, R, n).reshape(n * R, n).clone().requires_grad_(True)
    ur = u.unsqueeze(0).expand(n, R, 1).reshape(n * R, 1).clone().requires_grad_(True)
    with torch.enable_grad():
        y = cp_step(xr, ur)
        seed = torch.eye(n, dtype=x.dtype).unsqueeze(1).expand(n, R, n).reshape(n * R, n)
        gx, gu = torch.autograd.grad(y, [xr, ur], seed)
    return gx.view(n, R, n).permute(1, 0, 2), gu.view(n, R, 1).permute(1, 0, 2)


def cp_stage(x, u):
    return 0.5 * (x ** 2 * QW).sum(1) + CR * u[:, 0] ** 2


def cp_terminal(x):
    return 0.5 * CT * (x ** 2 * QW).sum(1)


def cp_derivs(X, U):
    B = X.shape[0]
    w = torch.cat([QW.expand(T, 4), CT * QW.unsqueeze(0)], 0)  # [T+1, 4]
    lx = X * w
    lxx = torch.diag_embed(w).expand(B, T + 1, 4, 4)
    lu = 2 * CR * U
    luu = torch.full((B, T, 1, 1), 2 * CR, dtype=X.dtype)
    return lx, lxx, lu, luu


CARTPOLE = dict(n=4, lo=-10.0, hi=10.0, step=cp_step, jac=cp_jac, derivs=cp_derivs, stage=cp_stage, terminal=cp_terminal)
CARTPOLE_AD = dict(CARTPOLE, jac=cp_jac_autodiff)

workloads = {}
for b in (1, 64, 256):
    x0 = starts(b)
    U0 = torch.zeros(b, T, 1, dtype=torch.float64)
    workloads[f"ilqr pendulum b{b} T20 10it"] = (lambda x0=x0, U0=U0: ilqr(x0, U0))
    Xs, Us = ilqr(x0, U0)
    x0v = x0.clone().requires_grad_(True)
    workloads[f"implicit bwd pendulum b{b} T20"] = (lambda x0v=x0v, Xs=Xs, Us=Us: implicit_bwd(x0v, Xs, Us))
    if b == 256:  # the same workload, timed again as the twin of ours without the closed-form curvature
        workloads["implicit bwd pendulum b256 T20 (Var curvature)"] = workloads[f"implicit bwd pendulum b{b} T20"]

for b in (1, 64, 256):
    g = torch.Generator().manual_seed(4)
    x0 = 0.6 * (2 * torch.rand(b, 4, generator=g, dtype=torch.float64) - 1)
    U0 = torch.zeros(b, T, 1, dtype=torch.float64)
    workloads[f"ilqr cartpole b{b} T20 10it"] = (lambda x0=x0, U0=U0: ilqr(x0, U0, mdl=CARTPOLE))
    Xs, Us = ilqr(x0, U0, mdl=CARTPOLE)
    x0v = x0.clone().requires_grad_(True)
    workloads[f"implicit bwd cartpole b{b} T20"] = (lambda x0v=x0v, Xs=Xs, Us=Us: implicit_bwd(x0v, Xs, Us, mdl=CARTPOLE))
    if b == 256:
        workloads["implicit bwd cartpole b256 T20 (Var curvature)"] = workloads[f"implicit bwd cartpole b{b} T20"]
    if b == 64:
        workloads["ilqr cartpole autodiff-jac b64 T20 10it"] = (lambda x0=x0, U0=U0: ilqr(x0, U0, mdl=CARTPOLE_AD))

# ----- DiffTORI planning step at TD-MPC shapes (float32) -----
torch.manual_seed(1)
LAT, ACT, H, GAMMA = 50, 6, 5, 0.99


def mlp(i, o, out=None):
    layers = [torch.nn.Linear(i, 512), torch.nn.ELU(), torch.nn.Linear(512, 512), torch.nn.ELU(), torch.nn.Linear(512, o)]
    if out is not None:
        layers.append(out)
    return torch.nn.Sequential(*layers)


Dyn, Rew, Qn, Pi = mlp(LAT + ACT, LAT), mlp(LAT + ACT, 1), mlp(LAT + ACT, 1), mlp(LAT, ACT, torch.nn.Tanh())
params = [p for m in (Dyn, Rew, Qn, Pi) for p in m.parameters()]
z = torch.rand(1, LAT) * 2 - 1


def residual(u, z=z):
    zt = z.expand(u.shape[0], LAT)
    g, disc = 0, 1.0
    for t in range(H):
        za = torch.cat([zt, u[:, t * ACT:(t + 1) * ACT]], 1)
        g = g + disc * Rew(za)
        zt = Dyn(za)
        disc *= GAMMA
    g = g + disc * Qn(torch.cat([zt, Pi(zt)], 1))
    return 1000.0 - g


def lm_iter(u, record, z=z):
    with torch.set_grad_enabled(True):
        uu = u if (record and u.requires_grad) else u.detach().requires_grad_(True)
        r = residual(uu, z)
        J, = torch.autograd.grad(r.sum(), uu, create_graph=record)
    # Scalar residual: (JᵀJ + λI)⁻¹Jᵀr = J·r/(λ + ‖J‖²) by Sherman–Morrison, the step DiffTori takes.
    delta = -J * r / (0.1 + (J * J).sum(1, keepdim=True))
    return (u + 1.0 * delta).clamp(-1, 1)


def plan_unrecorded(z=z):
    """The π rollout and the 95 unrecorded LM iterations: the first part of a planning step."""
    with torch.no_grad():
        acts, zt = [], z
        for t in range(H):
            a = Pi(zt); acts.append(a); zt = Dyn(torch.cat([zt, a], 1))
        u = torch.cat(acts, 1)
        for _ in range(95):
            u = lm_iter(u, False, z)
    return u


def plan_step():
    for p in params:
        p.grad = None
    u = plan_unrecorded()
    for _ in range(5):
        u = lm_iter(u, True)
    (-Qn(torch.cat([z, u[:, :ACT]], 1)).sum()).backward()


z16 = torch.rand(16, LAT) * 2 - 1
workloads["difftori plan LM100 trunc5 + PG bwd (b1)"] = plan_step
workloads["difftori plan LM95 unrecorded only (b1)"] = plan_unrecorded
workloads["difftori plan LM95 unrecorded only (b16)"] = lambda: plan_unrecorded(z16)
main(workloads)
