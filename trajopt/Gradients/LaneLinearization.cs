using System.Runtime.Intrinsics;

namespace DiffTori.TrajOpt;

/// <summary>
/// Fills a <see cref="Linearization"/> along (X, U) with the eight-lane closed-form models (one example per
/// Vector512 lane, m = 1): the same values as <see cref="ProblemEvaluator.LinearizeExample"/>, since the lane models
/// round as their scalar twins, at a fraction of the cost (one lane sin/cos serves eight examples). Examples are
/// gathered into lanes per step and the derivatives scattered back into lin's per-example layout.
/// </summary>
internal sealed class LaneLinearization
{
    private const int Lanes = 8;
    private readonly IAnalyticDynamicsLanes _dyn;
    private readonly IAnalyticCostLanes _cost;
    private readonly Vector512<double>[] _x, _u, _next, _a, _b, _gx, _gu, _hxx, _huu, _hux;

    private LaneLinearization(IAnalyticDynamicsLanes dyn, IAnalyticCostLanes cost, int n)
    {
        _dyn = dyn; _cost = cost;
        _x = new Vector512<double>[n]; _u = new Vector512<double>[1]; _next = new Vector512<double>[n];
        _a = new Vector512<double>[n * n]; _b = new Vector512<double>[n]; _gx = new Vector512<double>[n];
        _gu = new Vector512<double>[1]; _hxx = new Vector512<double>[n * n]; _huu = new Vector512<double>[1]; _hux = new Vector512<double>[n];
    }

    /// <summary>The lane path for this problem (one control, lane models for dynamics and cost, 512-bit SIMD), else null.</summary>
    public static LaneLinearization? For(TrajProblem p) =>
        p.ControlDim == 1 && Vector512.IsHardwareAccelerated && p.AnalyticDynamics is IAnalyticDynamicsLanes dyn && p.AnalyticCost is IAnalyticCostLanes cost
            ? new LaneLinearization(dyn, cost, p.StateDim) : null;

    /// <summary>Examples b0 .. b1−1 of lin along x [B,T+1,n], u [B,T,1].</summary>
    public void Fill(ReadOnlySpan<double> x, ReadOnlySpan<double> u, Linearization lin, int b0, int b1)
    {
        int n = lin.N, nn = n * n, T = lin.Horizon;
        for (int g = b0; g < b1; g += Lanes)
        {
            int count = Math.Min(Lanes, b1 - g);
            for (int t = 0; t < T; t++)
            {
                for (int i = 0; i < n; i++) _x[i] = Gather(x, g, count, (T + 1) * n, t * n + i);
                _u[0] = Gather(u, g, count, T, t);
                _dyn.StepLanes(_x, _u, _next, _a, _b);
                _cost.StageLanes(t, _x, _u, _gx, _gu, _hxx, _huu, _hux);
                Scatter(_a, lin.A, g, count, T * nn, t * nn); Scatter(_b, lin.Bu, g, count, T * n, t * n);
                Scatter(_gx, lin.Lx, g, count, (T + 1) * n, t * n); Scatter(_hxx, lin.Lxx, g, count, (T + 1) * nn, t * nn);
                Scatter(_hux, lin.Lux, g, count, T * n, t * n);
                Scatter(_gu, lin.Lu, g, count, T, t); Scatter(_huu, lin.Luu, g, count, T, t);
            }
            for (int i = 0; i < n; i++) _x[i] = Gather(x, g, count, (T + 1) * n, T * n + i);
            _cost.TerminalLanes(_x, _gx, _hxx);
            Scatter(_gx, lin.Lx, g, count, (T + 1) * n, T * n); Scatter(_hxx, lin.Lxx, g, count, (T + 1) * nn, T * nn);
        }
    }

    /// <summary>Element offset of examples g + l (the last one repeated in unused lanes), stride per example.</summary>
    private static Vector512<double> Gather(ReadOnlySpan<double> src, int g, int count, int stride, int offset)
    {
        int i = g * stride + offset;
        int Lane(int l) => i + Math.Min(l, count - 1) * stride;
        return Vector512.Create(src[Lane(0)], src[Lane(1)], src[Lane(2)], src[Lane(3)], src[Lane(4)], src[Lane(5)], src[Lane(6)], src[Lane(7)]);
    }

    /// <summary>
    /// Lane l of v[i] to dst[(g + l)·stride + offset + i] for the first count lanes: each vector goes through one
    /// store to a small buffer (reading lanes one by one from registers is far slower).
    /// </summary>
    private static void Scatter(Vector512<double>[] v, double[] dst, int g, int count, int stride, int offset)
    {
        Span<double> lanes = stackalloc double[Lanes];
        for (int i = 0; i < v.Length; i++)
        {
            v[i].CopyTo(lanes);
            for (int l = 0; l < count; l++) dst[(g + l) * stride + offset + i] = lanes[l];
        }
    }
}
