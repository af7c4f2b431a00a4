using DiffTori.Engine;

namespace DiffTori.TrajOpt;

public static partial class IlqrImplicit
{
    /// <summary>
    /// The closed-form model of the implicit solve, group by group of eight examples while their data is in cache:
    /// linearize, g's value and the free set, the Riccati sweep on the model's Hessians, and the dynamics' curvature
    /// added to lin's Hessians for g's graph (before the sweep when the model is the exact Hessian, after it for
    /// Gauss–Newton). Parts split at multiples of eight examples.
    /// </summary>
    private sealed class ClosedFormPass(ProblemEvaluator ev, IlqrResult solution, Linearization lin, ClosedFormCostGradient closedForm,
        bool[] free, Gains gains, bool exactHessian, double activeTolerance) : CpuParallelWork
    {
        public override void Execute(int part, int parts)
        {
            int B = lin.Batch, T = lin.Horizon, n = lin.N, m = lin.M, groups = (B + 7) / 8;
            int begin = Math.Min(B, part * groups / parts * 8), end = Math.Min(B, (part + 1) * groups / parts * 8);
            var lanes = LaneLinearization.For(ev.Problem);
            var next = new double[n]; var lam = new double[(T + 1) * n]; var scratchUu = new double[m * m];
            var sweeper = new RiccatiSweeper(lin, free, gains);
            for (int b0 = begin; b0 < end; b0 += 8)
            {
                int b1 = Math.Min(end, b0 + 8);
                if (lanes is not null) lanes.Fill(solution.XFlat, solution.UFlat, lin, b0, b1);
                else for (int b = b0; b < b1; b++) ev.LinearizeExample(b, solution.XFlat, solution.UFlat, lin, next);
                closedForm.Values(b0, b1, lam);
                MarkFree(ev.Problem, closedForm.Value, solution.UFlat, free, b0 * T * m, b1 * T * m, activeTolerance);
                if (exactHessian) closedForm.Curvature(b0, b1, lin.Lxx, lin.Luu, lin.Lux, lam, scratchUu);
                sweeper.Sweep(b0, b1);
                if (!exactHessian) closedForm.Curvature(b0, b1, lin.Lxx, lin.Luu, lin.Lux, lam, scratchUu);
            }
        }
    }
}
