using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>A batched iLQR solution: U [B,T,m], X [B,T+1,n] (values, no graph) and per-example status.</summary>
public sealed class IlqrResult
{
    internal IlqrResult(Tensor u, Tensor x, SolveStatus[] status, double[] uFlat, double[] xFlat)
    {
        U = u; X = x; Status = status; UFlat = uFlat; XFlat = xFlat;
    }

    public Tensor U { get; }
    public Tensor X { get; }
    public SolveStatus[] Status { get; }
    internal double[] UFlat { get; }
    internal double[] XFlat { get; }

    public bool AllConverged
    {
        get
        {
            foreach (var s in Status) if (!s.Converged) return false;
            return true;
        }
    }
}
