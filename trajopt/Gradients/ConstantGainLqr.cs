using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// The linear map S: g [B,T,m] ↦ δU [B,T,m] of an LQR solve with fixed gains (the implicit-gradient solve of
/// <see cref="IlqrImplicit"/>): a costate sweep qu_t = g_t + B_tᵀv_{t+1}, k_t = −P_t qu_t,
/// v_t = A_tᵀv_{t+1} + Q_ux,tᵀk_t (v_T = 0), then the forward pass δu_t = k_t + K_t δx_t,
/// δx_{t+1} = A_t δx_t + B_t δu_t (δx_0 = 0). Both S and its transpose run on flat doubles, one example at a
/// time (for n, m of a few, per-op tensor overhead would cost far more than the arithmetic), large batches split
/// over both cores; the transpose also exists as Var ops, used when the backward pass itself is being recorded (createGraph).
/// </summary>
internal sealed class ConstantGainLqr
{
    private readonly double[] _p, _k, _qux, _a, _bu;
    private readonly int _B, _T, _n, _m;

    public ConstantGainLqr(IlqrImplicit.Gains gains, Linearization lin, int batch, int horizon, int n, int m)
    {
        _p = gains.P; _k = gains.K; _qux = gains.Qux; _a = lin.A; _bu = lin.Bu;
        _B = batch; _T = horizon; _n = n; _m = m;
    }

    /// <summary>δU = S g.</summary>
    public void Apply(ReadOnlySpan<double> g, Span<double> du)
    {
        int T = _T, n = _n, m = _m;
        var v = new double[n]; var vNext = new double[n]; var qu = new double[m]; var k = new double[T * m];
        var dx = new double[n]; var dxNext = new double[n];
        for (int b = 0; b < _B; b++)
        {
            Array.Clear(v);
            for (int t = T - 1; t >= 0; t--)
            {
                int bt = b * T + t, aO = bt * n * n, bO = bt * n * m;
                for (int i = 0; i < m; i++)
                {
                    double acc = g[bt * m + i];
                    for (int j = 0; j < n; j++) acc += _bu[bO + j * m + i] * v[j];
                    qu[i] = acc;
                }
                for (int i = 0; i < m; i++)
                {
                    double acc = 0;
                    for (int j = 0; j < m; j++) acc += _p[bt * m * m + i * m + j] * qu[j];
                    k[t * m + i] = -acc;
                }
                for (int i = 0; i < n; i++)
                {
                    double acc = 0;
                    for (int j = 0; j < n; j++) acc += _a[aO + j * n + i] * v[j];
                    for (int j = 0; j < m; j++) acc += _qux[bt * m * n + j * n + i] * k[t * m + j];
                    vNext[i] = acc;
                }
                (v, vNext) = (vNext, v);
            }
            Array.Clear(dx);
            for (int t = 0; t < T; t++)
            {
                int bt = b * T + t, aO = bt * n * n, bO = bt * n * m;
                var u = du.Slice(bt * m, m);
                for (int i = 0; i < m; i++)
                {
                    double acc = k[t * m + i];
                    for (int j = 0; j < n; j++) acc += _k[bt * m * n + i * n + j] * dx[j];
                    u[i] = acc;
                }
                for (int i = 0; i < n; i++)
                {
                    double acc = 0;
                    for (int j = 0; j < n; j++) acc += _a[aO + i * n + j] * dx[j];
                    for (int j = 0; j < m; j++) acc += _bu[bO + i * m + j] * u[j];
                    dxNext[i] = acc;
                }
                (dx, dxNext) = (dxNext, dx);
            }
        }
    }

    /// <summary>
    /// r = Sᵀw: the forward pass run backwards (λ_t = A_tᵀλ_{t+1} + K_tᵀ(w_t + B_tᵀλ_{t+1}), giving k̄_t), then the
    /// costate sweep run forwards (k̄_t += Q_ux,t v̄_t, r_t = −P_tᵀk̄_t, v̄_{t+1} = A_t v̄_t + B_t r_t).
    /// </summary>
    public void ApplyTranspose(ReadOnlySpan<double> w, Span<double> r) => ApplyTranspose(w, r, 0, _B);

    /// <summary>r = Sᵀw for examples b0..b1−1 (w and r hold the whole batch).</summary>
    private void ApplyTranspose(ReadOnlySpan<double> w, Span<double> r, int b0, int b1)
    {
        int T = _T, n = _n, m = _m;
        var lam = new double[n]; var lamNext = new double[n]; var kbar = new double[T * m];
        var vbar = new double[n]; var vbarNext = new double[n];
        for (int b = b0; b < b1; b++)
        {
            Array.Clear(lam);
            for (int t = T - 1; t >= 0; t--)
            {
                int bt = b * T + t, aO = bt * n * n, bO = bt * n * m;
                var d = kbar.AsSpan(t * m, m);
                for (int i = 0; i < m; i++)
                {
                    double acc = w[bt * m + i];
                    for (int j = 0; j < n; j++) acc += _bu[bO + j * m + i] * lam[j];
                    d[i] = acc;
                }
                for (int i = 0; i < n; i++)
                {
                    double acc = 0;
                    for (int j = 0; j < n; j++) acc += _a[aO + j * n + i] * lam[j];
                    for (int j = 0; j < m; j++) acc += _k[bt * m * n + j * n + i] * d[j];
                    lamNext[i] = acc;
                }
                (lam, lamNext) = (lamNext, lam);
            }
            Array.Clear(vbar);
            for (int t = 0; t < T; t++)
            {
                int bt = b * T + t, aO = bt * n * n, bO = bt * n * m;
                var kb = kbar.AsSpan(t * m, m);
                for (int i = 0; i < m; i++)
                {
                    double acc = kb[i];
                    for (int j = 0; j < n; j++) acc += _qux[bt * m * n + i * n + j] * vbar[j];
                    kb[i] = acc;
                }
                var rt = r.Slice(bt * m, m);
                for (int i = 0; i < m; i++)
                {
                    double acc = 0;
                    for (int j = 0; j < m; j++) acc += _p[bt * m * m + j * m + i] * kb[j];
                    rt[i] = -acc;
                }
                for (int i = 0; i < n; i++)
                {
                    double acc = 0;
                    for (int j = 0; j < n; j++) acc += _a[aO + i * n + j] * vbar[j];
                    for (int j = 0; j < m; j++) acc += _bu[bO + i * m + j] * rt[j];
                    vbarNext[i] = acc;
                }
                (vbar, vbarNext) = (vbarNext, vbar);
            }
        }
    }

    /// <summary>
    /// The gradient hook: the incoming gradient w [B,T,m] becomes free ⊙ Sᵀw (free [B,T,m]: the controls off their
    /// bounds). When the backward pass is being recorded (createGraph) the transpose runs as Var ops so that it can
    /// be differentiated again.
    /// </summary>
    public Func<Var, Var> MaskedTransposeHook(bool[] free) => w =>
    {
        if (Autograd.IsGradEnabled && w.RequiresGrad)
        {
            var mask = new double[free.Length];
            for (int i = 0; i < mask.Length; i++) mask[i] = free[i] ? 1 : 0;
            return ApplyTransposeVar(w) * new Var(Tensor.FromDoubles(mask, w.Shape, w.DType, w.Device));
        }
        // On host float64 tensors (w's own when it is one); examples are independent: large batches over both cores.
        var wv = w.Value;
        if (!(wv.DType == DType.Float64 && wv.Device.IsCpu && wv.IsContiguous)) wv = Tensor.FromDoubles(wv.ToDoubleArray(), wv.Shape, DType.Float64);
        var r = Tensor.Empty(w.Shape, DType.Float64);
        var job = new TransposeJob(this, wv, r, free);
        if (_B >= 32 && CpuParallelWork.Threads > 1) job.Run(2);
        else job.Execute(0, 1);
        return new Var(w.DType == DType.Float64 && w.Device.IsCpu ? r : Tensor.FromDoubles(r.ToDoubleArray(), w.Shape, w.DType, w.Device));
    };

    /// <summary>free ⊙ Sᵀw for a share of the examples.</summary>
    private sealed class TransposeJob(ConstantGainLqr lqr, Tensor w, Tensor r, bool[] free) : CpuParallelWork
    {
        public override void Execute(int part, int parts)
        {
            int b0 = part * lqr._B / parts, b1 = (part + 1) * lqr._B / parts, per = lqr._T * lqr._m;
            var rs = r.AsSpan<double>();
            lqr.ApplyTranspose(w.AsSpan<double>(), rs, b0, b1);
            for (int i = b0 * per; i < b1 * per; i++) if (!free[i]) rs[i] = 0;
        }
    }

    /// <summary>Sᵀw with Var ops (the same two sweeps as <see cref="ApplyTranspose(ReadOnlySpan{double}, Span{double})"/>).</summary>
    internal Var ApplyTransposeVar(Var w)
    {
        int B = _B, T = _T, n = _n, m = _m;
        Var C(double[] v, params int[] s) => new(Tensor.FromDoubles(v, new Shape(s), w.DType, w.Device));
        var P = C(_p, B, T, m, m); var K = C(_k, B, T, m, n); var Qux = C(_qux, B, T, m, n);
        var A = C(_a, B, T, n, n); var Bm = C(_bu, B, T, n, m);
        var kbar = new Var[T];
        Var? lam = null; // [B, n, 1]
        for (int t = T - 1; t >= 0; t--)
        {
            var wt = F.Unsqueeze(F.Select(w, 1, t), -1);
            var d = lam is null ? wt : wt + F.Matmul(F.Select(Bm, 1, t), lam, transA: true);
            kbar[t] = d;
            var kd = F.Matmul(F.Select(K, 1, t), d, transA: true);
            lam = lam is null ? kd : F.Matmul(F.Select(A, 1, t), lam, transA: true) + kd;
        }
        var r = new Var[T];
        Var? vbar = null; // [B, n, 1]
        for (int t = 0; t < T; t++)
        {
            var kb = vbar is null ? kbar[t] : kbar[t] + F.Matmul(F.Select(Qux, 1, t), vbar);
            var rt = -F.Matmul(F.Select(P, 1, t), kb, transA: true);
            r[t] = F.Squeeze(rt, -1);
            var nb = F.Matmul(F.Select(Bm, 1, t), rt);
            vbar = vbar is null ? nb : F.Matmul(F.Select(A, 1, t), vbar) + nb;
        }
        return F.Stack(r, 1);
    }
}
