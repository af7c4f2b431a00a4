using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// The iLQR model of a problem along a recorded nominal (X, U), itself recorded: the Jacobians of f and the
/// gradients and Hessians of ℓ, ℓ_T come from reverse passes with createGraph, so they remain functions of θ,
/// x0 and the nominal, and backpropagating through an iteration built on them differentiates the model too
/// (as LM's unrolled mode does with its Jacobians). Rows are replicated as in <see cref="ProblemEvaluator"/>:
/// one createGraph pass gives the dynamics Jacobians of all T steps and every cost gradient, one more every
/// cost Hessian. Per-step Vars are batch first; the host copies (a <see cref="Linearization"/>)
/// feed the numeric decisions of the step (regularization, active set, step size).
/// </summary>
internal sealed class RecordedLinearization
{
    public readonly int B, T, N, M;
    /// <summary>A_t [B,n,n], B_t [B,n,m] (t &lt; T).</summary>
    public readonly Var[] A, Bu;
    /// <summary>∇ₓℓ_t [B,n], ∇²ₓₓℓ_t [B,n,n] (index T holds the terminal cost).</summary>
    public readonly Var[] Lx, Lxx;
    /// <summary>∇ᵤℓ_t [B,m], ∇²ᵤᵤℓ_t [B,m,m], ∇²ᵤₓℓ_t [B,m,n].</summary>
    public readonly Var[] Lu, Luu, Lux;
    /// <summary>Host copies of the values, in the layout the numeric solver uses (its backward pass runs on them).</summary>
    public readonly Linearization Host;

    public RecordedLinearization(TrajProblem p, Var x, Var u)
    {
        N = p.StateDim; M = p.ControlDim; T = p.Horizon; B = x.Shape[0];
        A = new Var[T]; Bu = new Var[T]; Lx = new Var[T + 1]; Lxx = new Var[T + 1]; Lu = new Var[T]; Luu = new Var[T]; Lux = new Var[T];
        Host = new Linearization(B, T, N, M);
        using (Autograd.EnableGrad())
        {
            // One createGraph pass for the dynamics Jacobians and the cost gradients together, one for the Hessians.
            // The inputs are row copies made from x and u, none computed from another, so the passes need not
            // search the graph behind them (which grows with every recorded iteration).
            var (y, dynSeed, xd, ud) = DynamicsRows(p, x, u);
            var (total, costInputs) = CostRows(p, x, u);
            var inputs = new List<Var>(costInputs.Count + 2) { xd, ud };
            inputs.AddRange(costInputs);
            var g = Autograd.Grad([y, total], inputs, [dynSeed, new Var(Tensor.OnesLike(total.Value))], createGraph: true, allowUnused: true, inputsIndependent: true);
            SetDynamicsJacobians(g[0], g[1]);
            SetCostDerivatives(p, x, g.AsSpan(2).ToArray(), costInputs);
        }
    }

    /// <summary>Rows (k, b, t): f(x_t^b, u_t^b) on n copies, and the seed that picks output k of copy k.</summary>
    private (Var Y, Var Seed, Var Xr, Var Ur) DynamicsRows(TrajProblem p, Var x, Var u)
    {
        int n = N, m = M, R = B * T;
        var xr = Replicate(F.Reshape(F.Narrow(x, 1, 0, T), R, n), n);
        var ur = Replicate(F.Reshape(u, R, m), n);
        var y = p.Dynamics!(xr, ur);
        if (y.Shape != new Shape(n * R, n))
            throw new TensorShapeException($"TrajProblem dynamics: maps x {xr.Shape}, u {ur.Shape} to {y.Shape}, expected [{n * R}, {n}]");
        var seed = new double[n * R * n];
        for (int k = 0; k < n; k++)
            for (int r = 0; r < R; r++) seed[(k * R + r) * n + k] = 1;
        return (y, Constant(seed, x, n * R, n), xr, ur);
    }

    /// <summary>A_t, B_t from the seeded gradients [n·B·T, n] and [n·B·T, m].</summary>
    private void SetDynamicsJacobians(Var gx, Var gu)
    {
        int n = N, m = M, R = B * T;
        var a = F.Reshape(F.Permute(F.Reshape(gx, n, R, n), 1, 0, 2), B, T, n, n);
        var bu = F.Reshape(F.Permute(F.Reshape(gu, n, R, m), 1, 0, 2), B, T, n, m);
        a.Value.ToDoubleArray().AsSpan().CopyTo(Host.A);
        bu.Value.ToDoubleArray().AsSpan().CopyTo(Host.Bu);
        for (int t = 0; t < T; t++) { A[t] = F.Select(a, 1, t); Bu[t] = F.Select(bu, 1, t); }
    }

    /// <summary>
    /// Stage t is replicated N = n + m times (copy k will seed coordinate k of the gradient), the terminal state
    /// n times; returns the summed cost and the replicas [x_0, u_0, …, x_{T−1}, u_{T−1}, (x_T)].
    /// </summary>
    private (Var Total, List<Var> Inputs) CostRows(TrajProblem p, Var x, Var u)
    {
        int n = N, m = M, nm = n + m;
        var inputs = new List<Var>(2 * T + 1);
        Var? total = null;
        for (int t = 0; t < T; t++)
        {
            var xr = Replicate(F.Select(x, 1, t), nm);
            var ur = Replicate(F.Select(u, 1, t), nm);
            var c = p.StageCost!(xr, ur, t);
            if (c.Length != nm * B)
                throw new TensorShapeException($"TrajProblem stage cost: returned {c.Shape} for {nm * B} rows, expected one value per row");
            total = total is null ? F.Sum(c) : total + F.Sum(c);
            inputs.Add(xr);
            inputs.Add(ur);
        }
        if (p.TerminalCost is { } term)
        {
            var xr = Replicate(F.Select(x, 1, T), n);
            var c = term(xr);
            if (c.Length != n * B)
                throw new TensorShapeException($"TrajProblem terminal cost: returned {c.Shape} for {n * B} rows, expected one value per row");
            total = total! + F.Sum(c);
            inputs.Add(xr);
        }
        return (total!, inputs);
    }

    /// <summary>Gradients from the shared pass; Hessian rows from one more createGraph pass seeded one-hot per copy.</summary>
    private void SetCostDerivatives(TrajProblem p, Var x, Var[] grads, List<Var> inputs)
    {
        int n = N, m = M, nm = n + m;
        bool terminal = p.TerminalCost is not null;
        var seeds = new Var[inputs.Count];
        for (int t = 0; t < T; t++)
        {
            seeds[2 * t] = OneHotSeed(nm, 0, n, x);
            seeds[2 * t + 1] = OneHotSeed(nm, n, m, x);
        }
        if (terminal) seeds[2 * T] = OneHotSeed(n, 0, n, x);
        var hess = Autograd.Grad(grads, inputs, seeds, createGraph: true, allowUnused: true, inputsIndependent: true);

        for (int t = 0; t < T; t++)
        {
            Lx[t] = F.Narrow(grads[2 * t], 0, 0, B);
            Lu[t] = F.Narrow(grads[2 * t + 1], 0, 0, B);
            var hx = F.Permute(F.Reshape(hess[2 * t], nm, B, n), 1, 0, 2);      // [B, n+m, n]: rows of ∂²ℓ/∂(x,u)∂x
            var hu = F.Permute(F.Reshape(hess[2 * t + 1], nm, B, m), 1, 0, 2);  // [B, n+m, m]
            Lxx[t] = F.Symmetrize(F.Narrow(hx, 1, 0, n));
            Lux[t] = F.Narrow(hx, 1, n, m);
            Luu[t] = F.Symmetrize(F.Narrow(hu, 1, n, m));
            CopyStep(Lu[t], Host.Lu, t, T, m);
            CopyStep(Luu[t], Host.Luu, t, T, m * m);
            CopyStep(Lux[t], Host.Lux, t, T, m * n);
            CopyStep(Lx[t], Host.Lx, t, T + 1, n);
            CopyStep(Lxx[t], Host.Lxx, t, T + 1, n * n);
        }
        if (terminal)
        {
            Lx[T] = F.Narrow(grads[2 * T], 0, 0, B);
            Lxx[T] = F.Symmetrize(F.Permute(F.Reshape(hess[2 * T], n, B, n), 1, 0, 2));
        }
        else
        {
            Lx[T] = new Var(Tensor.Zeros(new Shape(B, n), x.DType, x.Device));
            Lxx[T] = new Var(Tensor.Zeros(new Shape(B, n, n), x.DType, x.Device));
        }
        CopyStep(Lx[T], Host.Lx, T, T + 1, n);
        CopyStep(Lxx[T], Host.Lxx, T, T + 1, n * n);
    }

    /// <summary>Copy a per-step [B, size] value into slot t of a host [B, steps, size] array.</summary>
    private void CopyStep(Var v, double[] host, int t, int steps, int size)
    {
        var d = v.Value.ToDoubleArray();
        for (int b = 0; b < B; b++) d.AsSpan(b * size, size).CopyTo(host.AsSpan((b * steps + t) * size, size));
    }

    /// <summary>
    /// v [R, d] repeated to [copies·R, d] (row c·R + r is v[r]): differentiably when v is in the graph, else
    /// a fresh leaf, so that derivatives with respect to the copies exist either way.
    /// </summary>
    internal static Var Replicate(Var v, int copies)
    {
        int R = v.Shape[0], d = v.Shape[1];
        if (v.RequiresGrad) return F.Reshape(F.Expand(F.Unsqueeze(v, 0), new Shape(copies, R, d)), copies * R, d);
        return new Var(v.Value.Reshape(1, R, d).Expand(new Shape(copies, R, d)).Contiguous().Reshape(copies * R, d), requiresGrad: true);
    }

    /// <summary>[copies·B, width] seed whose copy k is one-hot at column k − offset (zero when k is outside [offset, offset + width)).</summary>
    private Var OneHotSeed(int copies, int offset, int width, Var like)
    {
        var s = new double[copies * B * width];
        for (int k = offset; k < offset + width && k < copies; k++)
            for (int b = 0; b < B; b++) s[(k * B + b) * width + k - offset] = 1;
        return Constant(s, like, copies * B, width);
    }

    private static Var Constant(double[] v, Var like, params int[] shape) => new(Tensor.FromDoubles(v, new Shape(shape), like.DType, like.Device));
}
