using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// The gradient g = ∇_U J(U; θ, x0) [B,T,m] at a fixed U (an iLQR solution), as a Var whose value is g and whose
/// FIRST derivatives with respect to x0 and the parameters θ captured by the Var models are exact — all the implicit
/// backward needs. Recording the rollout and differentiating it with createGraph (<see cref="Recorded"/>) costs a few
/// hundred tiny ops per time step; here the nonlinear models run once on all B·T rows and the two linear recursions
/// are single ops over the whole batch (<see cref="LinearizedSweeps"/>):
///   d_t = x_t − x̄_t  (zero value): d_0 = x0 − x̄0, d_{t+1} = A_t d_t + (f(x̄_t, u_t; θ) − its value),
///   G = ∇_X [Σ_t ℓ_t(x̄ + d) + λ̄_{t+1}·f(x̄_t + d_t, u_t) + ℓ_T], GU the same wrt U (one batched createGraph pass),
///   e_t = λ_t − λ̄_t (zero value): e_T = G_T − value, e_t = (G_t − value) + A_tᵀ e_{t+1},
///   g_t = GU_t + B_tᵀ e_{t+1}.
/// λ̄ is the costate along the solution (λ̄_T = ∇ℓ_T, λ̄_t = ∇_xℓ_t + A_tᵀλ̄_{t+1}). To first order x_t = x̄_t + d_t
/// and λ_t = λ̄_t + e_t, so g_t = ∇_uℓ_t + B_t(x_t)ᵀλ_{t+1} has the exact first derivatives. Its second derivatives
/// are not those of g (the recursions use the constant A_t, B_t).
/// When the cost has closed-form derivatives and its Var form captures no parameters, only the dynamics term goes
/// through the createGraph pass: the cost adds ∇ℓ(x̄) + ∇²ℓ·d to G and GU (<see cref="CostCurvature"/>), exact to first order.
/// When the dynamics capture no parameters either and give their curvature in closed form, no Var model runs at all
/// (<see cref="ClosedFormCostGradient"/>).
/// </summary>
internal static class LinearizedCostGradient
{
    /// <summary>
    /// g with exact first derivatives; lin holds A, Bu and Lx along the solution (from <see cref="ProblemEvaluator.Linearize"/>).
    /// linChangesLater: the caller will modify lin's cost Hessians (the returned graph then keeps its own copy).
    /// </summary>
    public static Var Compute(TrajProblem p, Var x0, IlqrResult solution, Linearization lin, bool linChangesLater = true)
    {
        int n = p.StateDim, m = p.ControlDim, T = p.Horizon, B = x0.Shape[0];
        var dtype = x0.DType; var device = x0.Device;
        Var C(double[] v, params int[] s) => new(Tensor.FromDoubles(v, new Shape(s), dtype, device));
        var xs = solution.XFlat; var us = solution.UFlat;

        var (costInClosedForm, dynamicsCaptureParameters) = Probe(p, solution, dtype, device);
        if (costInClosedForm && !dynamicsCaptureParameters && p.AnalyticDynamics is IAnalyticDynamicsCurvature closedForm)
        {
            var cf = new ClosedFormCostGradient(lin, solution, closedForm);
            cf.ComputeValue();
            var hxx = (double[])lin.Lxx.Clone(); var hux = (double[])lin.Lux.Clone();
            cf.AddCurvature(hxx, null, hux);
            return cf.Attach(x0, hxx, hux);
        }

        // Costate along the solution: λ̄_T = ∇ℓ_T, λ̄_t = ∇_xℓ_t + A_tᵀλ̄_{t+1}.
        var sweeps = new LinearizedSweeps(lin);
        var lam = new double[B * (T + 1) * n];
        sweeps.CostatesKernel(lin.Lx, lam);

        var lamShape = new Shape(B * T, n);
        var lamNext = HostDoubles.Output(lamShape, dtype, device, out var lamDirect);
        for (int b = 0; b < B; b++) lam.AsSpan((b * (T + 1) + 1) * n, T * n).CopyTo(lamNext.Slice(b * T * n, T * n));
        var lamNextV = new Var(HostDoubles.ToTensor(lamDirect, lamNext, lamShape, dtype, device));

        Var gx, gu;
        using (Autograd.EnableGrad())
        {
            // State perturbations d [B,T+1,n]: x0 starts them, the θ-part of f on the nominal rows drives them.
            // A probe on one row tells whether f captures parameters at all (then every row does); only then run all rows.
            Var d0 = x0 - new Var(x0.Value);
            Var? dAll = null;
            if (dynamicsCaptureParameters)
            {
                var xRows = new double[B * T * n];
                for (int b = 0; b < B; b++) xs.AsSpan(b * (T + 1) * n, T * n).CopyTo(xRows.AsSpan(b * T * n, T * n));
                var fTheta = p.Dynamics!(C(xRows, B * T, n), C(us, B * T, m));
                var drive = F.Reshape(fTheta - new Var(fTheta.Value), B, T, n);
                dAll = sweeps.States(F.Concat([F.Unsqueeze(d0, 1), drive], 1));
            }
            else if (d0.RequiresGrad) dAll = sweeps.States(d0);
            // x̃ = x̄ + d; the solution's own X serves as x̄ when it has the dtype and device (the sum is a new tensor).
            var xTilde = dAll is null ? new Var(Tensor.FromDoubles(xs, new Shape(B, T + 1, n), dtype, device), requiresGrad: true)
                : (solution.X.DType == dtype && solution.X.Device == device ? new Var(solution.X) : C(xs, B, T + 1, n)) + dAll;
            var uLeaf = new Var(solution.U, requiresGrad: true);
            var xStage = F.Narrow(xTilde, 1, 0, T);
            var xRowsV = F.Reshape(xStage, B * T, n); var uRowsV = F.Reshape(uLeaf, B * T, m);

            // The Lagrangian Σ_t ℓ_t + λ̄_{t+1}·f_t + ℓ_T, differentiated with createGraph: the dynamics on all B·T rows
            // at once; the cost likewise (per step when it depends on t), unless its closed-form derivatives stand in.
            var lagrangian = F.Sum(p.Dynamics!(xRowsV, uRowsV) * lamNextV);
            if (!costInClosedForm)
            {
                if (p.StageCostIgnoresTime) lagrangian = lagrangian + F.Sum(p.StageCost!(xRowsV, uRowsV, 0));
                else
                    for (int t = 0; t < T; t++)
                        lagrangian = lagrangian + F.Sum(p.StageCost!(F.Select(xStage, 1, t), F.Select(uLeaf, 1, t), t));
                if (p.TerminalCost is { } term) lagrangian = lagrangian + F.Sum(term(F.Select(xTilde, 1, T)));
            }
            var grads = Autograd.Grad([lagrangian], [xTilde, uLeaf], createGraph: true, allowUnused: true);
            gx = grads[0]; gu = grads[1];

            // e = costates of the perturbation of G (e_0 unused), then g = GU + B_tᵀ e_{t+1}. With the cost in closed form,
            // G and GU get its terms here: ∇ℓ at the solution plus ℓ_xx d and ℓ_ux d.
            var gxDelta = gx - new Var(gx.Value);
            if (costInClosedForm)
            {
                gu = gu + C(lin.Lu, B, T, m);
                if (dAll is not null)
                {
                    var curvature = new CostCurvature(lin, copy: linChangesLater);
                    gxDelta = gxDelta + curvature.StateTerms(dAll);
                    gu = gu + curvature.ControlTerms(dAll);
                }
            }
            var res = gu + sweeps.ControlsOfCostates(gxDelta);
            return res;
        }
    }

    /// <summary>
    /// The closed-form twin of <see cref="Compute"/> when it applies (both models capture no parameters, the cost
    /// has closed-form derivatives and the dynamics closed-form curvature), else null.
    /// </summary>
    public static ClosedFormCostGradient? TryClosedForm(TrajProblem p, Var x0, IlqrResult solution, Linearization lin)
    {
        if (p.AnalyticDynamics is not IAnalyticDynamicsCurvature curvature || p.AnalyticCost is null) return null;
        var (costInClosedForm, dynamicsCaptureParameters) = Probe(p, solution, x0.DType, x0.Device);
        return costInClosedForm && !dynamicsCaptureParameters ? new ClosedFormCostGradient(lin, solution, curvature) : null;
    }

    /// <summary>Whether the cost can stand in by its closed form (it has one and captures no parameters) and whether the Var dynamics capture parameters, by one probe row.</summary>
    private static (bool CostInClosedForm, bool DynamicsCaptureParameters) Probe(TrajProblem p, IlqrResult solution, DType dtype, Device device)
    {
        int n = p.StateDim, m = p.ControlDim;
        var probeX = new Var(Tensor.FromDoubles(solution.XFlat.AsSpan(0, n), new Shape(1, n), dtype, device));
        var probeU = new Var(Tensor.FromDoubles(solution.UFlat.AsSpan(0, m), new Shape(1, m), dtype, device));
        using (Autograd.EnableGrad())
            return (p.AnalyticCost is not null && !CostCapturesParameters(p, probeX, probeU), p.Dynamics!(probeX, probeU).RequiresGrad);
    }

    /// <summary>Whether the Var stage or terminal cost records a graph on constant inputs, i.e. captures parameters (one probe row; every step when the cost depends on t).</summary>
    private static bool CostCapturesParameters(TrajProblem p, Var probeX, Var probeU)
    {
        int steps = p.StageCostIgnoresTime ? 1 : p.Horizon;
        for (int t = 0; t < steps; t++)
            if (p.StageCost!(probeX, probeU, t).RequiresGrad) return true;
        return p.TerminalCost is { } term && term(probeX).RequiresGrad;
    }

    /// <summary>The reference: g by recording the rollout and differentiating it with createGraph (exact to all orders).</summary>
    public static Var Recorded(TrajProblem p, Var x0, Tensor u)
    {
        var uLeaf = new Var(u, requiresGrad: true);
        using (Autograd.EnableGrad())
        {
            var total = F.Sum(Rollout.TotalCost(p, x0, uLeaf));
            return Autograd.Grad([total], [uLeaf], createGraph: true)[0];
        }
    }
}
