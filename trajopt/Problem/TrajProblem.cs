using DiffTori.Autodiff;

namespace DiffTori.TrajOpt;

/// <summary>Dynamics x_{t+1} = f(x_t, u_t; θ) on a batch of rows: x [R, n], u [R, m] → [R, n]. Rows must not interact.</summary>
public delegate Var DynamicsFn(Var x, Var u);

/// <summary>Stage cost ℓ(x_t, u_t, t; θ): x [R, n], u [R, m] → [R]. Rows must not interact.</summary>
public delegate Var StageCostFn(Var x, Var u, int t);

/// <summary>Terminal cost ℓ_T(x_T; θ): x [R, n] → [R].</summary>
public delegate Var TerminalCostFn(Var x);

/// <summary>
/// A batched, finite-horizon optimal control problem
///     min_U  Σ_{t&lt;T} ℓ(x_t, u_t, t) + ℓ_T(x_T)   s.t.  x_{t+1} = f(x_t, u_t),  u_lo ≤ u_t ≤ u_hi,  x_0 given.
///
/// Tensor layout (everything has the batch B leading, the time index next):
///   x_0        [B, n]        initial state (a Var: gradients flow into it)
///   U          [B, T, m]     control sequence u_0 … u_{T−1}
///   X          [B, T+1, n]   state trajectory x_0 … x_T
///   f, ℓ, ℓ_T  are called on row batches [R, n] / [R, m]; R is B, or a multiple of B when the solver
///              replicates rows to get Jacobians and Hessians in one reverse pass.
///
/// The Var functions are the truth: gradient modes differentiate them with respect to the parameters
/// they capture (θ) and to x_0. Optional analytic models (<see cref="AnalyticDynamics"/>,
/// <see cref="AnalyticCost"/>) give the solver values and derivatives in closed form, which is much
/// cheaper than autodiff; they must agree with the Var functions.
/// </summary>
public sealed partial class TrajProblem
{
    public TrajProblem(int stateDim, int controlDim, int horizon, DynamicsFn? dynamics, StageCostFn? stageCost, TerminalCostFn? terminalCost)
    {
        if (stateDim < 1 || controlDim < 1 || horizon < 1)
            throw new ArgumentException($"TrajProblem: state dim {stateDim}, control dim {controlDim} and horizon {horizon} must all be ≥ 1");
        StateDim = stateDim;
        ControlDim = controlDim;
        Horizon = horizon;
        Dynamics = dynamics;
        StageCost = stageCost;
        TerminalCost = terminalCost;
    }

    public int StateDim { get; }
    public int ControlDim { get; }
    public int Horizon { get; }

    public DynamicsFn? Dynamics { get; }
    public StageCostFn? StageCost { get; }
    /// <summary>Null means no terminal cost.</summary>
    public TerminalCostFn? TerminalCost { get; }

    /// <summary>Closed-form dynamics and Jacobians; when set the solver uses it instead of autodiff.</summary>
    public IAnalyticDynamics? AnalyticDynamics { get; init; }
    /// <summary>Closed-form costs, gradients and Hessians; when set the solver uses it instead of autodiff.</summary>
    public IAnalyticCost? AnalyticCost { get; init; }

    /// <summary>The stage cost ignores its t argument, so all time steps may go through one call (with t = 0).</summary>
    public bool StageCostIgnoresTime { get; init; }

    /// <summary>Per-dimension control bounds (length m), or null for unbounded.</summary>
    public double[]? ControlLower { get; private set; }
    public double[]? ControlUpper { get; private set; }

    public bool HasBounds => ControlLower is not null;

    /// <summary>Box [lo, hi] on every control dimension.</summary>
    public TrajProblem WithBounds(double lo, double hi)
    {
        var l = new double[ControlDim];
        var h = new double[ControlDim];
        Array.Fill(l, lo);
        Array.Fill(h, hi);
        return WithBounds(l, h);
    }

    public TrajProblem WithBounds(double[] lo, double[] hi)
    {
        if (lo.Length != ControlDim || hi.Length != ControlDim)
            throw new ArgumentException($"TrajProblem.WithBounds: bounds have lengths {lo.Length}/{hi.Length}, control dim is {ControlDim}");
        for (int i = 0; i < lo.Length; i++)
            if (!(lo[i] <= hi[i]))
                throw new ArgumentException($"TrajProblem.WithBounds: lower bound {lo[i]} > upper bound {hi[i]} on control {i}");
        ControlLower = (double[])lo.Clone();
        ControlUpper = (double[])hi.Clone();
        return this;
    }

    internal void RequireSolvable(string who)
    {
        if (Dynamics is null && AnalyticDynamics is null)
            throw new InvalidOperationException($"{who}: the problem has neither Var dynamics nor analytic dynamics");
        if (StageCost is null && AnalyticCost is null)
            throw new InvalidOperationException($"{who}: the problem has neither a Var stage cost nor an analytic cost");
    }

    internal void RequireDifferentiable(string who)
    {
        if (Dynamics is null || StageCost is null)
            throw new InvalidOperationException($"{who}: gradients need the Var dynamics and stage cost (analytic models alone are not differentiable in θ)");
    }
}

/// <summary>Closed-form dynamics of one example (row-major matrices).</summary>
public interface IAnalyticDynamics
{
    /// <summary>next = f(x, u); when a/b are not empty also A = ∂f/∂x [n×n] and B = ∂f/∂u [n×m].</summary>
    void Step(ReadOnlySpan<double> x, ReadOnlySpan<double> u, Span<double> next, Span<double> a, Span<double> b);
}

/// <summary>Closed-form costs of one example. Derivative spans are empty when not wanted.</summary>
public interface IAnalyticCost
{
    /// <summary>ℓ(x, u, t), its gradients gx [n], gu [m] and Hessians hxx [n×n], huu [m×m], hux [m×n].</summary>
    double Stage(int t, ReadOnlySpan<double> x, ReadOnlySpan<double> u, Span<double> gx, Span<double> gu, Span<double> hxx, Span<double> huu, Span<double> hux);

    /// <summary>ℓ_T(x), its gradient gx [n] and Hessian hxx [n×n].</summary>
    double Terminal(ReadOnlySpan<double> x, Span<double> gx, Span<double> hxx);
}
