namespace DiffTori.TrajOpt;

/// <summary>Per-example bookkeeping of the recorded iLQR iterations (host values; the graph lives in the Vars).</summary>
internal sealed class IlqrRunState
{
    public IlqrRunState(int batch)
    {
        Cost = new double[batch]; Mu = new double[batch]; GradNorm = new double[batch];
        Converged = new bool[batch]; Failed = new bool[batch]; Frozen = new bool[batch];
        Iterations = new int[batch];
    }

    public readonly double[] Cost, Mu, GradNorm;
    /// <summary>Converged: a convergence test passed. Failed: μ passed its ceiling. Frozen: takes no more steps.</summary>
    public readonly bool[] Converged, Failed, Frozen;
    public readonly int[] Iterations;

    public int Batch => Cost.Length;

    public bool AnyActive()
    {
        foreach (bool f in Frozen) if (!f) return true;
        return false;
    }
}
