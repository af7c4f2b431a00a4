namespace DiffTori.TrajOpt;

/// <summary>
/// The numeric line search of a recorded box-DDP iteration, with <see cref="Ilqr.Solve"/>'s rules: the step
/// sizes are tried largest first, all searching examples rolled out together with the feedback gains, and a
/// step is accepted when the actual decrease is a fair share of the expected one (or, near the optimum, when
/// the expected gain is below the cost's rounding and the cost does not measurably worsen). The accepted α
/// is a constant of the recorded graph; μ and the convergence flags are updated as the solver does.
/// </summary>
internal static class DdpLineSearch
{
    /// <summary>The rounding level of the total cost, relative to 1 + |J|, in the solve's precision.</summary>
    public static double Noise(Engine.DType dtype) => dtype == Engine.DType.Float32 ? 1e-5 : 1e-13;

    /// <summary>alpha[b] is the accepted step size, 0 where no step was accepted (or b was not searching).</summary>
    public static void Run(ProblemEvaluator ev, IlqrRunState st, DdpDecisions d, double[] x0, double[] x, double[] u,
        bool[] searching, IlqrOptions o, double noiseScale, double[] alpha)
    {
        var p = ev.Problem;
        int B = st.Batch, n = p.StateDim, m = p.ControlDim, T = p.Horizon;
        Array.Clear(alpha);
        bool any = false;
        foreach (bool s in searching) any |= s;
        if (!any) return;
        var xt = new double[B * n]; var ut = new double[B * m]; var next = new double[B * n];
        var xNew = new double[B * (T + 1) * n]; var uNew = new double[B * T * m]; var newCost = new double[B];
        foreach (double a in o.LineSearchSteps)
        {
            for (int b = 0; b < B; b++) x0.AsSpan(b * n, n).CopyTo(xNew.AsSpan(b * (T + 1) * n, n));
            for (int t = 0; t < T; t++)
            {
                for (int b = 0; b < B; b++)
                {
                    xNew.AsSpan((b * (T + 1) + t) * n, n).CopyTo(xt.AsSpan(b * n, n));
                    var uo = ut.AsSpan(b * m, m);
                    int at = (b * T + t) * m;
                    u.AsSpan(at, m).CopyTo(uo);
                    if (!searching[b]) continue;
                    var k = d.Kff.AsSpan(at, m);
                    var K = d.Kfb.AsSpan(at * n, m * n);
                    for (int i = 0; i < m; i++)
                    {
                        double fb = 0;
                        for (int j = 0; j < n; j++) fb += K[i * n + j] * (xt[b * n + j] - x[(b * (T + 1) + t) * n + j]);
                        double s = uo[i] + a * k[i] + fb;
                        uo[i] = p.HasBounds ? Math.Clamp(s, p.ControlLower![i], p.ControlUpper![i]) : s;
                    }
                }
                for (int b = 0; b < B; b++) ut.AsSpan(b * m, m).CopyTo(uNew.AsSpan((b * T + t) * m, m));
                ev.Step(B, xt, ut, next, searching);
                for (int b = 0; b < B; b++) next.AsSpan(b * n, n).CopyTo(xNew.AsSpan((b * (T + 1) + t + 1) * n, n));
            }
            ev.Costs(B, xNew, uNew, newCost);
            any = false;
            for (int b = 0; b < B; b++)
            {
                if (!searching[b]) continue;
                double expected = -(a * d.Dv1[b] + a * a * d.Dv2[b]);
                double actual = st.Cost[b] - newCost[b];
                double noise = noiseScale * (1 + Math.Abs(st.Cost[b]));
                bool tiny = expected < 100 * noise && actual > -noise;
                if (double.IsFinite(newCost[b]) && (tiny || (actual > 0 && (expected <= 0 || actual >= o.AcceptRatio * expected))))
                {
                    searching[b] = false;
                    alpha[b] = a;
                    double old = st.Cost[b];
                    st.Cost[b] = newCost[b];
                    st.Mu[b] = Math.Max(o.RegMin, st.Mu[b] / o.RegFactor);
                    if (!tiny && actual < o.CostTolerance * (1 + Math.Abs(old))) st.Converged[b] = true;
                }
                any |= searching[b];
            }
            if (!any) break;
        }
        // No step improved: a larger μ (a shorter, more gradient-like step) next time.
        for (int b = 0; b < B; b++)
        {
            if (!searching[b]) continue;
            st.Mu[b] = Math.Max(st.Mu[b] * o.RegFactor, o.RegMin) * 10;
            if (st.Mu[b] > o.RegMax) st.Failed[b] = true;
            // A stationary point cannot be improved: that is convergence, not failure.
            if (Math.Abs(d.Dv1[b]) < Math.Max(o.CostTolerance, noiseScale) * (1 + Math.Abs(st.Cost[b]))) st.Converged[b] = true;
        }
    }
}
