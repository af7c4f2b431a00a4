namespace DiffTori.TrajOpt;

/// <summary>Settings of <see cref="Ilqr"/>. Defaults suit small robotics problems.</summary>
public sealed class IlqrOptions
{
    public int MaxIterations { get; init; } = 100;
    /// <summary>Converged when an accepted step improves the cost by less than this, relative to 1 + |cost|.</summary>
    public double CostTolerance { get; init; } = 1e-10;
    /// <summary>Converged when the 2-norm of the projected gradient dJ/dU falls below this.</summary>
    public double GradientTolerance { get; init; } = 1e-7;
    /// <summary>Levenberg regularization μ added to Q_uu: initial value, floor, ceiling and growth factor.</summary>
    public double RegInit { get; init; } = 1e-6;
    public double RegMin { get; init; } = 1e-8;
    public double RegMax { get; init; } = 1e10;
    public double RegFactor { get; init; } = 2;
    /// <summary>Step sizes tried by the backtracking line search, largest first.</summary>
    public double[] LineSearchSteps { get; init; } = [1, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625, 0.001953125, 0.0009765625];
    /// <summary>A step is accepted when actual/expected reduction exceeds this.</summary>
    public double AcceptRatio { get; init; } = 1e-4;
}

/// <summary>How one example of a batched solve ended.</summary>
public readonly record struct SolveStatus(bool Converged, int Iterations, double Cost, double GradientNorm, double Regularization);
