using DiffTori.Autodiff;

namespace DiffTori.TrajOpt;

/// <summary>
/// A batched iLQR solution connected to the graph as its gradient mode says: U [B,T,m] (a Var), per-example
/// status, and what each recorded iteration decided (empty for the implicit and none modes).
/// </summary>
public sealed class IlqrDifferentiableResult
{
    internal IlqrDifferentiableResult(Var u, SolveStatus[] status, IReadOnlyList<IlqrRecordedIteration> recorded)
    {
        U = u; Status = status; Recorded = recorded;
    }

    public Var U { get; }
    public SolveStatus[] Status { get; }
    /// <summary>The recorded iterations in order (unrolled: all; truncated: the last k).</summary>
    public IReadOnlyList<IlqrRecordedIteration> Recorded { get; }

    public bool AllConverged
    {
        get
        {
            foreach (var s in Status) if (!s.Converged) return false;
            return true;
        }
    }
}

/// <summary>
/// The discrete choices of one recorded iteration, constants of the graph: the step size per example (0 when
/// it took no step), the controls [B·T·m] the box QP held at a bound, and the free controls the rollout
/// clipped to the box. Two runs with equal records differentiate the same smooth function.
/// </summary>
public sealed record IlqrRecordedIteration(double[] StepSizes, bool[] Held, bool[] Clipped)
{
    /// <summary>Same decisions (step sizes compared exactly: they come from a fixed list).</summary>
    public bool SameDecisions(IlqrRecordedIteration other) =>
        StepSizes.AsSpan().SequenceEqual(other.StepSizes) && Held.AsSpan().SequenceEqual(other.Held) && Clipped.AsSpan().SequenceEqual(other.Clipped);
}
