using System.Runtime.Intrinsics;

namespace DiffTori.TrajOpt;

// The backtracking line search of up to eight examples at once, one per lane, for models with lane versions
// (IAnalyticDynamicsLanes, IAnalyticCostLanes): the same rollout u = ū + α·k + K·(x − x̄), clamp, step, and
// cost sum as IlqrPerExample's per-example search, and the same acceptance test per lane.
internal sealed partial class IlqrLanes
{
    private Vector512<double>[] _trajX = [], _trajU = [], _nomX = [], _nomU = [], _kff = [], _kfbAll = [];

    /// <summary>
    /// Line search of examples[0..count) (m = 1); each lane stops at its first accepted step size. Returns -1
    /// when done, else the step size index from which example rest (the last one searching) goes on alone.
    /// </summary>
    public int LineSearch(TrajProblem p, IlqrBuffers st, IlqrOptions o, ReadOnlySpan<int> examples,
        IAnalyticDynamicsLanes dyn, IAnalyticCostLanes cost, out int rest)
    {
        int n = _n, T = st.T, count = examples.Length;
        rest = -1;
        for (int l = 0; l < Lanes; l++) _ex[l] = examples[Math.Min(l, count - 1)];
        if (_trajX.Length != (T + 1) * n)
        {
            _trajX = new Vector512<double>[(T + 1) * n]; _trajU = new Vector512<double>[T];
            _nomX = new Vector512<double>[(T + 1) * n]; _nomU = new Vector512<double>[T]; _kff = new Vector512<double>[T]; _kfbAll = new Vector512<double>[T * n];
        }
        var xs = _trajX; var us = _trajU; var dx = _vxxB;
        // The nominal and the gains, gathered once for all step sizes.
        for (int i = 0; i < (T + 1) * n; i++) _nomX[i] = Gather(st.X, (T + 1) * n, i);
        for (int t = 0; t < T; t++) { _nomU[t] = Gather(st.U, T, t); _kff[t] = Gather(st.Kff, T, t); }
        for (int i = 0; i < T * n; i++) _kfbAll[i] = Gather(st.Kfb, T * n, i);
        bool bounded = p.HasBounds;
        var lo = Vector512.Create(bounded ? p.ControlLower![0] : double.NegativeInfinity);
        var hi = Vector512.Create(bounded ? p.ControlUpper![0] : double.PositiveInfinity);
        int searching = (1 << count) - 1;
        for (int i = 0; i < n; i++) xs[i] = Gather(st.X0, n, i);
        var steps = o.LineSearchSteps;
        for (int step = 0; step < steps.Length; step++)
        {
            // One example left searching: its own scalar search from this step size on is cheaper than eight lanes.
            if (System.Numerics.BitOperations.PopCount((uint)searching) == 1)
            {
                rest = _ex[System.Numerics.BitOperations.TrailingZeroCount(searching)];
                return step;
            }
            double alpha = steps[step];
            var sum = Vector512<double>.Zero;
            for (int t = 0; t < T; t++)
            {
                var xt = xs.AsSpan(t * n, n);
                for (int i = 0; i < n; i++) dx[i] = xt[i] - _nomX[t * n + i];
                var u = _nomU[t] + alpha * _kff[t];
                var fb = Vector512<double>.Zero;
                for (int j = 0; j < n; j++) fb += _kfbAll[t * n + j] * dx[j];
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
                double newCost = sum.GetElement(l);
                if (!Ilqr.Acceptable(st, b, alpha, newCost, o, out bool tiny)) continue;
                // Only an accepted trial is written out (as the per-example search's XNew/UNew) and taken.
                var xNew = st.XNew.AsSpan(b * (T + 1) * n, (T + 1) * n);
                for (int k = 0; k < xNew.Length; k++) xNew[k] = xs[k].GetElement(l);
                var uNew = st.UNew.AsSpan(b * T, T);
                for (int t = 0; t < T; t++) uNew[t] = us[t].GetElement(l);
                Ilqr.Accept(st, b, newCost, tiny, o);
                searching &= ~(1 << l);
            }
            if (searching == 0) return -1;
        }
        for (int l = 0; l < count; l++)
            if ((searching & (1 << l)) != 0) Ilqr.NoStepFound(st, b: _ex[l], o);
        return -1;
    }
}
