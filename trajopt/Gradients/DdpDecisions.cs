namespace DiffTori.TrajOpt;

/// <summary>
/// The numeric half of a recorded box-DDP iteration. On the host copy of the model it makes the discrete
/// choices that the recorded half replays with Var ops: the Levenberg μ of each example (raised until every
/// regularized Q_uu factors, as <see cref="Ilqr.Solve"/> does), the box QP's active set (controls held at a
/// bound, Tassa et al. 2014) and, with <see cref="DdpLineSearch"/>, the step size. It also keeps the numeric
/// gains the line search rolls out and the expected decrease the acceptance test compares with. The
/// arithmetic is the solver's own (<see cref="BoxDdpBackward"/>).
/// </summary>
internal sealed class DdpDecisions
{
    private readonly TrajProblem _p;
    private readonly BoxDdpBackward _backward;

    public DdpDecisions(TrajProblem p, int batch)
    {
        _p = p;
        int n = p.StateDim, m = p.ControlDim, T = p.Horizon;
        Kff = new double[batch * T * m]; Kfb = new double[batch * T * m * n];
        Held = new bool[batch * T * m]; Bound = new double[batch * T * m];
        Dv1 = new double[batch]; Dv2 = new double[batch];
        _backward = new BoxDdpBackward(n, m);
    }

    /// <summary>Feedforward k [B,T,m] (also the box QP's warm start next time) and feedback K [B,T,m,n] of the last backward pass.</summary>
    public readonly double[] Kff, Kfb;
    /// <summary>[B,T,m]: the box QP holds this control at its bound (no feedback, no gradient); the bound is in Bound.</summary>
    public readonly bool[] Held;
    public readonly double[] Bound;
    /// <summary>Expected decrease of a step α: −(α·Dv1 + α²·Dv2).</summary>
    public readonly double[] Dv1, Dv2;

    /// <summary>‖P(dJ/dU)‖₂ of example b along the nominal (u: [B,T,m]); see <see cref="BoxDdpBackward.ProjectedGradientNorm"/>.</summary>
    public double ProjectedGradientNorm(RecordedLinearization lin, int b, ReadOnlySpan<double> u) =>
        _backward.ProjectedGradientNorm(_p, lin.Host, b, u);

    /// <summary>
    /// The DDP backward pass of example b with regularization μ: per step the box QP on Q_uu + μI gives k and
    /// the held set, K = −(Q_uu + μI)_ff⁻¹ Q_ux,f on the free rows. False when some Q_uu + μI (free block) is
    /// not positive definite.
    /// </summary>
    public bool BackwardPass(RecordedLinearization lin, int b, ReadOnlySpan<double> u, double mu)
    {
        if (!_backward.Run(_p, lin.Host, b, mu, u, Kff, Kfb, Held, Bound, out double dv1, out double dv2)) return false;
        Dv1[b] = dv1;
        Dv2[b] = dv2;
        return true;
    }
}
