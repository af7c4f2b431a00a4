using System.Runtime.Intrinsics;

namespace DiffTori.TrajOpt;

/// <summary>
/// The Riccati sweep of <see cref="IlqrImplicit.Riccati"/> for one control (m = 1, Q_uu a scalar), eight examples
/// at once, one per Vector512 lane: the same arithmetic in the same order as the scalar sweep, so the gains agree.
/// A lane whose free Q_uu is not positive (where the scalar sweep adds damping) is reported, and the caller redoes
/// that example with the scalar sweep.
/// </summary>
internal sealed class ImplicitRiccatiLanes
{
    public const int Lanes = 8;

    /// <summary>Whether this path applies: one control and 512-bit SIMD in hardware.</summary>
    public static bool Applies(int m) => m == 1 && Vector512.IsHardwareAccelerated;

    private readonly int _n, _T;
    private readonly Vector512<double>[] _vxx, _a, _b, _vxxA, _vxxB, _qxx, _qux, _k;
    private readonly double[] _lane = new double[Lanes];

    public ImplicitRiccatiLanes(int n, int horizon)
    {
        _n = n; _T = horizon;
        _vxx = new Vector512<double>[n * n]; _a = new Vector512<double>[n * n]; _b = new Vector512<double>[n];
        _vxxA = new Vector512<double>[n * n]; _vxxB = new Vector512<double>[n]; _qxx = new Vector512<double>[n * n];
        _qux = new Vector512<double>[n]; _k = new Vector512<double>[n];
    }

    /// <summary>
    /// Sweep examples b0..b0+count−1 (count ≤ 8), writing P, K and Q_ux [B,T,1,·]; returns a bit mask of the lanes
    /// whose free Q_uu was not positive somewhere (their outputs must be redone by the scalar sweep).
    /// </summary>
    public int Sweep(Linearization lin, bool[] free, int b0, int count, double[] P, double[] K, double[] QuxAll)
    {
        int n = _n, T = _T, nn = n * n;
        var vxx = _vxx; var a = _a; var bv = _b; var vxxA = _vxxA; var vxxB = _vxxB; var qxx = _qxx; var qux = _qux; var k = _k;
        for (int i = 0; i < nn; i++) vxx[i] = Gather(lin.Lxx, b0, count, (T + 1) * nn, T * nn + i);
        var half = Vector512.Create(0.5);
        int bad = 0;
        for (int t = T - 1; t >= 0; t--)
        {
            for (int i = 0; i < nn; i++) a[i] = Gather(lin.A, b0, count, T * nn, t * nn + i);
            for (int i = 0; i < n; i++) bv[i] = Gather(lin.Bu, b0, count, T * n, t * n + i);
            LaneRiccati.ValueTimesDynamics(vxx, a, bv, vxxA, vxxB, n);
            // Q_xx = ℓ_xx + Aᵀ(Vxx·A), Q_uu = ℓ_uu + Bᵀ(Vxx·B), Q_ux = ℓ_ux + Bᵀ(Vxx·A).
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    var acc = Gather(lin.Lxx, b0, count, (T + 1) * nn, t * nn + i * n + j);
                    for (int s = 0; s < n; s++) acc += a[s * n + i] * vxxA[s * n + j];
                    qxx[i * n + j] = acc;
                }
            var quu = Gather(lin.Luu, b0, count, T, t);
            for (int s = 0; s < n; s++) quu += bv[s] * vxxB[s];
            for (int j = 0; j < n; j++)
            {
                var acc = Gather(lin.Lux, b0, count, T * n, t * n + j);
                for (int s = 0; s < n; s++) acc += bv[s] * vxxA[s * n + j];
                qux[j] = acc;
            }
            // P = 1/Q_uu on free lanes (as the scalar path: Cholesky root l, then (1/l)/l), 0 on clamped ones.
            var isFree = FreeMask(free, b0, count, T, t);
            var root = Vector512.Sqrt(quu);
            var p = Vector512.ConditionalSelect(isFree, Vector512<double>.One / root / root, Vector512<double>.Zero);
            var positive = Vector512.GreaterThan(quu, Vector512<double>.Zero) & Vector512.LessThan(quu, Vector512.Create(double.PositiveInfinity));
            bad |= (int)(isFree & ~positive).ExtractMostSignificantBits();
            for (int j = 0; j < n; j++) k[j] = -(p * qux[j]);
            // Vxx = Q_xx + Q_uxᵀK, symmetrized.
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) vxx[i * n + j] = qxx[i * n + j] + qux[i] * k[j];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < i; j++)
                {
                    var s = half * (vxx[i * n + j] + vxx[j * n + i]);
                    vxx[i * n + j] = s; vxx[j * n + i] = s;
                }
            Scatter(p, P, b0, count, T, t);
            for (int j = 0; j < n; j++)
            {
                Scatter(k[j], K, b0, count, T * n, t * n + j);
                Scatter(qux[j], QuxAll, b0, count, T * n, t * n + j);
            }
        }
        return bad & ((1 << count) - 1);
    }

    /// <summary>Element offset of examples b0 + l (the last example repeated in unused lanes), stride per example.</summary>
    private Vector512<double> Gather(double[] src, int b0, int count, int stride, int offset)
    {
        int i = b0 * stride + offset;
        if (count == Lanes)
            return Vector512.Create(src[i], src[i + stride], src[i + 2 * stride], src[i + 3 * stride],
                src[i + 4 * stride], src[i + 5 * stride], src[i + 6 * stride], src[i + 7 * stride]);
        var lane = _lane;
        for (int l = 0; l < Lanes; l++) lane[l] = src[i + Math.Min(l, count - 1) * stride];
        return Vector512.Create(lane);
    }

    /// <summary>Through one store to a buffer: reading lanes one by one from a register is far slower.</summary>
    private void Scatter(Vector512<double> v, double[] dst, int b0, int count, int stride, int offset)
    {
        var lane = _lane;
        v.CopyTo(lane);
        for (int l = 0; l < count; l++) dst[(b0 + l) * stride + offset] = lane[l];
    }

    private static Vector512<double> FreeMask(bool[] free, int b0, int count, int T, int t)
    {
        ulong bits = 0;
        for (int l = 0; l < Lanes; l++)
            if (free[(b0 + Math.Min(l, count - 1)) * T + t]) bits |= 1UL << l;
        return Vector512.Create(
            (bits & 1) != 0 ? -1L : 0, (bits & 2) != 0 ? -1L : 0, (bits & 4) != 0 ? -1L : 0, (bits & 8) != 0 ? -1L : 0,
            (bits & 16) != 0 ? -1L : 0, (bits & 32) != 0 ? -1L : 0, (bits & 64) != 0 ? -1L : 0, (bits & 128) != 0 ? -1L : 0).AsDouble();
    }
}
