using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>Residuals that shoot a <see cref="TrajProblem"/> through its dynamics, for <see cref="LevenbergMarquardt"/>.</summary>
public static class Residuals
{
    /// <summary>
    /// The scalar residual DiffTORI uses: r(U) = J(U; x0) + offset, U flattened to [B, T·m]. Minimizing ½r²
    /// lowers J while J + offset stays positive (DiffTORI: r = −G + 1000 with G the return, i.e. J = −G).
    /// </summary>
    public static ResidualFn ScalarCost(TrajProblem problem, Var x0, double offset) =>
        u => F.Reshape(Rollout.TotalCost(problem, Tile(x0, u.Shape[0]), Unflatten(problem, u)) + offset, u.Shape[0], 1);

    /// <summary>[R, T·m] → [R, T, m].</summary>
    public static Var Unflatten(TrajProblem p, Var u) => F.Reshape(u, u.Shape[0], p.Horizon, p.ControlDim);

    /// <summary>x0 [B, n] repeated to [rows, n] (rows a multiple of B; row k·B + b is x0[b]), differentiably.</summary>
    public static Var Tile(Var x0, int rows)
    {
        int B = x0.Shape[0], n = x0.Shape[1];
        if (rows == B) return x0;
        if (rows % B != 0) throw new TensorShapeException($"Residuals.Tile: {rows} rows is not a multiple of the batch {B}");
        return F.Reshape(F.Expand(F.Unsqueeze(x0, 0), new Shape(rows / B, B, n)), rows, n);
    }
}

/// <summary>Differentiable rollouts with the Var model.</summary>
public static class Rollout
{
    /// <summary>Σ_t ℓ(x_t, u_t, t) + ℓ_T(x_T) per row: x0 [R, n], U [R, T, m] → [R].</summary>
    public static Var TotalCost(TrajProblem p, Var x0, Var u)
    {
        p.RequireDifferentiable("Rollout.TotalCost");
        var x = x0;
        Var? total = null;
        for (int t = 0; t < p.Horizon; t++)
        {
            var ut = F.Select(u, 1, t);
            var c = p.StageCost!(x, ut, t);
            total = total is null ? c : total + c;
            x = p.Dynamics!(x, ut);
        }
        if (p.TerminalCost is { } term) total = total! + term(x);
        return total!;
    }

    /// <summary>States [R, T+1, n] of the rollout, differentiably.</summary>
    public static Var States(TrajProblem p, Var x0, Var u)
    {
        p.RequireDifferentiable("Rollout.States");
        var xs = new Var[p.Horizon + 1];
        xs[0] = x0;
        for (int t = 0; t < p.Horizon; t++) xs[t + 1] = p.Dynamics!(xs[t], F.Select(u, 1, t));
        return F.Stack(xs, 1);
    }
}
