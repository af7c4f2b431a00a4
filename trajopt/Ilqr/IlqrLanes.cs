using System.Runtime.Intrinsics;

namespace DiffTori.TrajOpt;

/// <summary>
/// The DDP backward pass for up to eight examples at once, one per SIMD lane (Vector512), for one control
/// (m = 1, where every Q_uu is a scalar). Each lane does the same arithmetic, in the same order, as
/// <see cref="Ilqr"/>'s scalar backward pass; only the box QP runs per lane, in scalars. A lane whose Q_uu
/// does not factor stops writing at that step and is redone by the scalar path with a larger μ, exactly
/// as the scalar retry loop would.
/// </summary>
internal sealed partial class IlqrLanes
{
    public const int Lanes = 8;

    /// <summary>Whether this path applies: one control and 512-bit SIMD in hardware.</summary>
    public static bool Applies(int m) => m == 1 && Vector512.IsHardwareAccelerated;

    private readonly int _n;
    private readonly Vector512<double>[] _vx, _vxx, _a, _b, _qx, _qxx, _vxxA, _vxxB, _qux, _k;
    private readonly int[] _ex = new int[Lanes];
    private readonly bool[] _failed = new bool[Lanes];

    public IlqrLanes(int n)
    {
        _n = n;
        _vx = new Vector512<double>[n]; _vxx = new Vector512<double>[n * n]; _a = new Vector512<double>[n * n]; _b = new Vector512<double>[n];
        _qx = new Vector512<double>[n]; _qxx = new Vector512<double>[n * n]; _vxxA = new Vector512<double>[n * n]; _vxxB = new Vector512<double>[n];
        _qux = new Vector512<double>[n]; _k = new Vector512<double>[n];
    }

    /// <summary>
    /// Backward passes of examples[0..count) (count ≤ 8, the examples whose linearization is loaded, in that
    /// order) except the lanes set in skip, writing gains and expected-reduction terms; returns a bit mask of
    /// the lanes whose regularized Q_uu did not factor (nothing after that step was written).
    /// </summary>
    public int BackwardPass(TrajProblem p, ReadOnlySpan<int> examples, int skip, IlqrBuffers st, BoxQp qp)
    {
        int n = _n, T = p.Horizon, count = examples.Length;
        for (int l = 0; l < Lanes; l++) { _ex[l] = examples[Math.Min(l, count - 1)]; _failed[l] = l >= count || (skip & (1 << l)) != 0; }
        Vector512<double>[] A = _la, Bu = _lb, Lx = _lx, Lxx = _lxx, Lu = _lu, Luu = _luu, Lux = _lux;
        var vx = _vx; var vxx = _vxx; var a = _a; var bv = _b; var qx = _qx; var qxx = _qxx; var vxxA = _vxxA; var vxxB = _vxxB; var qux = _qux; var kfb = _k;
        bool bounded = p.HasBounds;
        double ctrlLo = bounded ? p.ControlLower![0] : 0, ctrlHi = bounded ? p.ControlUpper![0] : 0;
        var mu = Gather(st.Reg, 1, 0);
        // Terminal value function.
        for (int i = 0; i < n; i++) vx[i] = Lx[T * n + i];
        for (int i = 0; i < n * n; i++) vxx[i] = Lxx[T * n * n + i];
        var dv1 = Vector512<double>.Zero; var dv2 = Vector512<double>.Zero;
        var half = Vector512.Create(0.5);
        Span<double> kLane = stackalloc double[Lanes], free = stackalloc double[Lanes], root = stackalloc double[Lanes];
        for (int t = T - 1; t >= 0; t--)
        {
            int nn = n * n;
            for (int i = 0; i < nn; i++) a[i] = A[t * nn + i];
            for (int i = 0; i < n; i++) bv[i] = Bu[t * n + i];
            // Qx = ℓx + AᵀVx, Qu = ℓu + BᵀVx.
            for (int i = 0; i < n; i++)
            {
                var acc = Lx[t * n + i];
                for (int j = 0; j < n; j++) acc += a[j * n + i] * vx[j];
                qx[i] = acc;
            }
            var qu = Lu[t];
            for (int j = 0; j < n; j++) qu += bv[j] * vx[j];
            LaneRiccati.ValueTimesDynamics(vxx, a, bv, vxxA, vxxB, n);
            for (int i = 0; i < n; i++)
                for (int j = 0; j <= i; j++)
                {
                    var acc = half * (Lxx[t * nn + i * n + j] + Lxx[t * nn + j * n + i]);
                    for (int s = 0; s < n; s++) acc += a[s * n + i] * vxxA[s * n + j];
                    qxx[i * n + j] = acc;
                    qxx[j * n + i] = acc;
                }
            var quu = Luu[t];
            for (int s = 0; s < n; s++) quu += bv[s] * vxxB[s];
            for (int j = 0; j < n; j++)
            {
                var acc = Lux[t * n + j];
                for (int s = 0; s < n; s++) acc += bv[s] * vxxA[s * n + j];
                qux[j] = acc;
            }
            var quuReg = quu + mu;

            // Per lane: the box QP (or the plain Newton step) gives k, whether u is free and √Q_uu,reg.
            for (int l = 0; l < Lanes; l++)
            {
                free[l] = 0; root[l] = 1; kLane[l] = 0;
                if (_failed[l]) continue;
                int b = _ex[l], bt = b * T + t;
                double h = quuReg.GetElement(l), q = qu.GetElement(l);
                if (bounded)
                {
                    double ui = st.U[bt];
                    ref double k = ref st.Kff[bt];
                    bool ok = qp.SolveScalar(h, q, ctrlLo - ui, ctrlHi - ui, ref k, 100, 1e-10);
                    if (!ok) { _failed[l] = true; continue; }
                    kLane[l] = k;
                    if (qp.FreeCount == 1) { free[l] = 1; root[l] = qp.FreeFactor[0]; }
                }
                else
                {
                    if (!(h > 0) || double.IsInfinity(h)) { _failed[l] = true; continue; }
                    double r = Math.Sqrt(h);
                    double k = -q / r / r;
                    st.Kff[bt] = k;
                    kLane[l] = k; free[l] = 1; root[l] = r;
                }
            }
            var kv = Vector512.Create((ReadOnlySpan<double>)kLane);
            var freeMask = Vector512.Create((ReadOnlySpan<double>)free);
            var rv = Vector512.Create((ReadOnlySpan<double>)root);
            // K = −Q_ux / Q_uu on the free lanes (as the Cholesky solve: divide by the factor twice), 0 where clamped.
            for (int j = 0; j < n; j++) kfb[j] = (-qux[j] / rv / rv) * freeMask;
            for (int l = 0; l < Lanes; l++)
            {
                if (_failed[l]) continue;
                int o = (_ex[l] * T + t) * n;
                for (int j = 0; j < n; j++) st.Kfb[o + j] = kfb[j].GetElement(l);
            }
            // Value function update, as the scalar pass with m = 1.
            var tm = Vector512<double>.Zero + quu * kv;
            dv1 += Vector512<double>.Zero + kv * qu;
            dv2 += half * (Vector512<double>.Zero + kv * tm);
            var tmqu = tm + qu;
            for (int j = 0; j < n; j++) vx[j] = qx[j] + (kfb[j] * tmqu + qux[j] * kv);
            for (int i = 0; i < n; i++)
                for (int j = 0; j <= i; j++)
                {
                    var quuK = Vector512<double>.Zero + quu * kfb[j];
                    var v = qxx[i * n + j] + (kfb[i] * (quuK + qux[j]) + qux[i] * kfb[j]);
                    vxx[i * n + j] = v;
                    vxx[j * n + i] = v;
                }
        }
        int failedMask = 0;
        for (int l = 0; l < count; l++)
        {
            if ((skip & (1 << l)) != 0) continue;
            if (_failed[l]) { failedMask |= 1 << l; continue; }
            st.Dv1[_ex[l]] = dv1.GetElement(l);
            st.Dv2[_ex[l]] = dv2.GetElement(l);
        }
        return failedMask;
    }

    /// <summary>
    /// <see cref="Ilqr.ProjectedGradientNorm"/> of examples[0..count) (count ≤ 8), one per lane, same arithmetic
    /// in the same order: the costate recursion λ_t = ℓ_x + A_tᵀλ_{t+1}, g_t = ℓ_u + B_tᵀλ_{t+1}, projected at the bounds.
    /// </summary>
    public void GradientNorms(TrajProblem p, ReadOnlySpan<int> examples, double[] u, Span<double> norms)
    {
        int n = _n, T = p.Horizon, count = examples.Length;
        for (int l = 0; l < Lanes; l++) _ex[l] = examples[Math.Min(l, count - 1)];
        Vector512<double>[] A = _la, Bu = _lb, Lx = _lx, Lu = _lu;
        var lam = _vx; var tmp = _qx;
        int nn = n * n;
        for (int i = 0; i < n; i++) lam[i] = Lx[T * n + i];
        var sum = Vector512<double>.Zero;
        bool bounded = p.HasBounds;
        var lo = Vector512.Create(bounded ? p.ControlLower![0] : double.NegativeInfinity);
        var hi = Vector512.Create(bounded ? p.ControlUpper![0] : double.PositiveInfinity);
        for (int t = T - 1; t >= 0; t--)
        {
            var g = Lu[t];
            for (int s = 0; s < n; s++) g += Bu[t * n + s] * lam[s];
            var ut = Gather(u, T, t);
            // Leave out a component at a bound whose descent direction (−g) leaves the box.
            var held = (Vector512.LessThanOrEqual(ut, lo) & Vector512.GreaterThan(g, Vector512<double>.Zero))
                     | (Vector512.GreaterThanOrEqual(ut, hi) & Vector512.LessThan(g, Vector512<double>.Zero));
            sum += Vector512.AndNot(g * g, held);
            for (int i = 0; i < n; i++) tmp[i] = Lx[t * n + i];
            for (int s = 0; s < n; s++)
                for (int i = 0; i < n; i++) tmp[i] += A[t * nn + s * n + i] * lam[s];
            for (int i = 0; i < n; i++) lam[i] = tmp[i];
        }
        for (int l = 0; l < count; l++) norms[l] = Math.Sqrt(sum.GetElement(l));
    }

    /// <summary>Lane l gets arr[ex_l·stride + offset].</summary>
    private Vector512<double> Gather(double[] arr, int stride, int offset)
    {
        var ex = _ex;
        return Vector512.Create(
            arr[ex[0] * stride + offset], arr[ex[1] * stride + offset], arr[ex[2] * stride + offset], arr[ex[3] * stride + offset],
            arr[ex[4] * stride + offset], arr[ex[5] * stride + offset], arr[ex[6] * stride + offset], arr[ex[7] * stride + offset]);
    }
}
