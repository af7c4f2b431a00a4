using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// The recorded half of a box-DDP iteration: the backward Riccati recursion and the closed-loop rollout in
/// Var ops on the recorded model, with the numeric decisions (μ, held controls, α) as constants. A control
/// the box QP holds at a bound steps to it (k_c = bound − u_c) with no feedback; the free controls solve
/// (Q_uu + μI)_ff k_f = −(Q_u + (Q_uu + μI) k_c)_f and K_f = −(Q_uu + μI)_ff⁻¹ Q_ux,f. Both are one SPD solve of
/// the masked matrix D(Q_uu + μI)D + (I − D) (D = diag(free)), so the whole batch shares each op. Examples
/// without an accepted step keep (U, X) exactly.
/// </summary>
internal static class RecordedDdpStep
{
    /// <returns>The new U [B,T,m] and X [B,T+1,n]; clipped [B,T,m] marks free controls the rollout clipped to the box.</returns>
    public static (Var U, Var X) Apply(TrajProblem p, Var x0, Var u, Var x, RecordedLinearization lin, DdpDecisions d,
        double[] mu, double[] alpha, bool[] clipped)
    {
        int B = lin.B, n = lin.N, m = lin.M, T = lin.T;
        var step = new bool[B];
        bool allStep = true;
        for (int b = 0; b < B; b++) { step[b] = alpha[b] > 0; allStep &= step[b]; }
        bool masked = p.HasBounds || !allStep;
        Var C(double[] v, params int[] shape) => new(Tensor.FromDoubles(v, new Shape(shape), x0.DType, x0.Device));

        var muEye = new double[B * m * m];
        for (int b = 0; b < B; b++) for (int i = 0; i < m; i++) muEye[(b * m + i) * m + i] = step[b] ? mu[b] : 0;
        var muV = C(muEye, B, m, m);
        Var? freeV = null, heldV = null, boundV = null, pairV = null, fixV = null;
        if (masked)
        {
            var free = new double[B * T * m]; var held = new double[B * T * m]; var bound = new double[B * T * m];
            var pair = new double[B * T * m * m]; var fix = new double[B * T * m * m];
            for (int b = 0; b < B; b++)
                for (int t = 0; t < T; t++)
                    for (int i = 0; i < m; i++)
                    {
                        int at = (b * T + t) * m + i;
                        bool h = step[b] && d.Held[at];
                        free[at] = step[b] && !h ? 1 : 0;
                        held[at] = h ? 1 : 0;
                        bound[at] = h ? d.Bound[at] : 0;
                    }
            for (int bt = 0; bt < B * T; bt++)
                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < m; j++) pair[(bt * m + i) * m + j] = free[bt * m + i] * free[bt * m + j];
                    fix[(bt * m + i) * m + i] = 1 - free[bt * m + i];
                }
            freeV = C(free, B, T, m, 1); heldV = C(held, B, T, m, 1); boundV = C(bound, B, T, m, 1);
            pairV = C(pair, B, T, m, m); fixV = C(fix, B, T, m, m);
        }

        using var _ = Autograd.EnableGrad();
        var ks = new Var[T];
        var Ks = new Var[T];
        var vx = F.Unsqueeze(lin.Lx[T], -1);
        var vxx = lin.Lxx[T];
        var zero = F.Scalar(0, x0);
        for (int t = T - 1; t >= 0; t--)
        {
            var a = lin.A[t]; var bm = lin.Bu[t];
            var qx = F.Unsqueeze(lin.Lx[t], -1) + F.Matmul(a, vx, transA: true);
            var qu = F.Unsqueeze(lin.Lu[t], -1) + F.Matmul(bm, vx, transA: true);
            var vxxA = F.Matmul(vxx, a);
            var qxx = lin.Lxx[t] + F.Matmul(a, vxxA, transA: true);
            var quu = F.Symmetrize(lin.Luu[t] + F.Matmul(bm, F.Matmul(vxx, bm), transA: true));
            var qux = lin.Lux[t] + F.Matmul(bm, vxxA, transA: true);
            var h = quu + muV;
            Var k, K;
            if (masked)
            {
                var ft = F.Select(freeV!, 1, t);
                var kc = F.Select(heldV!, 1, t) * (F.Select(boundV!, 1, t) - F.Unsqueeze(F.Select(u, 1, t), -1));
                var mat = F.Where(F.Select(pairV!, 1, t), h, zero) + F.Select(fixV!, 1, t);
                var rhs = F.Concat([-(ft * (qu + F.Matmul(h, kc))), -(ft * qux)], 2);
                var y = F.SolveSpd(mat, rhs);
                k = kc + F.Narrow(y, 2, 0, 1);
                K = F.Narrow(y, 2, 1, n);
            }
            else
            {
                var y = F.SolveSpd(h, F.Concat([-qu, -qux], 2));
                k = F.Narrow(y, 2, 0, 1);
                K = F.Narrow(y, 2, 1, n);
            }
            ks[t] = F.Squeeze(k, -1);
            Ks[t] = K;
            // Value function (Tassa 2012 eq. 11, with the unregularized Q_uu).
            vx = qx + F.Matmul(K, F.Matmul(quu, k), transA: true) + F.Matmul(K, qu, transA: true) + F.Matmul(qux, k, transA: true);
            vxx = F.Symmetrize(qxx + F.Matmul(K, F.Matmul(quu, K), transA: true) + F.Matmul(K, qux, transA: true) + F.Matmul(qux, K, transA: true));
        }

        var alphaV = C(alpha, B, 1);
        var us = new Var[T];
        var xs = new Var[T + 1];
        xs[0] = x0;
        Array.Clear(clipped);
        for (int t = 0; t < T; t++)
        {
            var raw = F.Select(u, 1, t) + alphaV * ks[t];
            // The new first state is x0, as the nominal's: no feedback term at t = 0.
            if (t > 0) raw = raw + F.Squeeze(F.Matmul(Ks[t], F.Unsqueeze(xs[t] - F.Select(x, 1, t), -1)), -1);
            us[t] = p.HasBounds ? ClipToBox(p, raw, d, step, t, clipped) : raw;
            xs[t + 1] = p.Dynamics!(xs[t], us[t]);
        }
        var uNew = F.Stack(us, 1);
        var xNew = F.Stack(xs, 1);
        if (allStep) return (uNew, xNew);
        var keep = new double[B];
        for (int b = 0; b < B; b++) keep[b] = step[b] ? 1 : 0;
        var stepV = C(keep, B, 1, 1);
        return (F.Where(stepV, uNew, u), F.Where(stepV, xNew, x));
    }

    /// <summary>
    /// The rollout's clamp to [lo, hi], decided on the values: a clipped control becomes the bound (a constant),
    /// any other keeps its graph. Free controls of stepping examples that were clipped are marked in clipped.
    /// </summary>
    private static Var ClipToBox(TrajProblem p, Var raw, DdpDecisions d, bool[] step, int t, bool[] clipped)
    {
        int B = raw.Shape[0], m = raw.Shape[1], T = p.Horizon;
        var v = raw.Value.ToDoubleArray();
        var below = new double[B * m]; var above = new double[B * m];
        bool any = false;
        for (int b = 0; b < B; b++)
            for (int i = 0; i < m; i++)
            {
                double val = v[b * m + i];
                bool lo = val < p.ControlLower![i], hi = val > p.ControlUpper![i];
                below[b * m + i] = lo ? 1 : 0;
                above[b * m + i] = hi ? 1 : 0;
                any |= lo || hi;
                int at = (b * T + t) * m + i;
                if ((lo || hi) && step[b] && !d.Held[at]) clipped[at] = true;
            }
        if (!any) return raw;
        Var C(double[] a, params int[] s) => new(Tensor.FromDoubles(a, new Shape(s), raw.DType, raw.Device));
        return F.Where(C(below, B, m), C(p.ControlLower!, m), F.Where(C(above, B, m), C(p.ControlUpper!, m), raw));
    }
}
