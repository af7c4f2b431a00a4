using System.Runtime.Intrinsics;

namespace DiffTori.TrajOpt;

// The backtracking line search of up to eight examples at once, one per lane, for models with lane versions
// (IAnalyticDynamicsLanes, IAnalyticCostLanes): the same rollout u = ū + α·k + K·(x − x̄), clamp, step, and
// cost sum as IlqrPerExample's per-example search, and the same acceptance test per lane.
internal sealed partial class IlqrLanes
{
    private Vector512<double>[] _trajX = [], _trajU = [];

    /// <summary>Line search of examples[0..count) (m = 1); each lane stops at its first accepted step size.</summary>
    public void LineSearch(TrajProblem p, IlqrBuffers st, IlqrOptions o, ReadOnlySpan<int> examples,
        IAnalyticDynamicsLanes dyn, IAnalyticCostLanes cost)
    {
        int n = _n, T = st.T, count = examples.Length;
        for (int l = 0; l < Lanes; l++) _ex[l] = examples[Math.Min(l, count - 1)];
        if (_trajX.Length != (T + 1) * n) { _trajX = new Vector512<double>[(T + 1) * n]; _trajU = new Vector512<double>[T]; }
        var xs = _trajX; var us = _trajU; var dx = _vxxB;
        bool bounded = p.HasBounds;
        var lo = Vector512.Create(bounded ? p.ControlLower![0] : double.NegativeInfinity);
        var hi = Vector512.Create(bounded ? p.ControlUpper![0] : double.PositiveInfinity);
        int searching = (1 << count) - 1;
        foreach (double alpha in o.LineSearchSteps)
        {
            for (int i = 0; i < n; i++) xs[i] = Gather(st.X0, n, i);
            var sum = Vector512<double>.Zero;
            for (int t = 0; t < T; t++)
            {
                var xt = xs.AsSpan(t * n, n);
                for (int i = 0; i < n; i++) dx[i] = xt[i] - Gather(st.X, (T + 1) * n, t * n + i);
                var u = Gather(st.U, T, t) + alpha * Gather(st.Kff, T, t);
                var fb = Vector512<double>.Zero;
                for (int j = 0; j < n; j++) fb += Gather(st.Kfb, T * n, t * n + j) * dx[j];
                u += fb;
                if (bounded) u = Vector512.Min(Vector512.Max(u, lo), hi);
                us[t] = u;
                sum += cost.StageLanes(t, xt, new ReadOnlySpan<Vector512<double>>(ref us[t]), default, default, default, default, default);
                dyn.StepLanes(xt, new ReadOnlySpan<Vector512<double>>(ref us[t]), xs.AsSpan((t + 1) * n, n), default, default);
            }
            sum += cost.TerminalLanes(xs.AsSpan(T * n, n), default, default);
            for (int l = 0; l < count; l++)
            {
                if ((searching & (1 << l)) == 0) continue;
                int b = _ex[l];
                var xNew = st.XNew.AsSpan(b * (T + 1) * n, (T + 1) * n);
                for (int k = 0; k < xNew.Length; k++) xNew[k] = xs[k].GetElement(l);
                var uNew = st.UNew.AsSpan(b * T, T);
                for (int t = 0; t < T; t++) uNew[t] = us[t].GetElement(l);
                if (Ilqr.TryAccept(st, b, alpha, sum.GetElement(l), o)) searching &= ~(1 << l);
            }
            if (searching == 0) return;
        }
        for (int l = 0; l < count; l++)
            if ((searching & (1 << l)) != 0) Ilqr.NoStepFound(st, b: _ex[l], o);
    }
}
