using DiffTori.Autodiff;
using DiffTori.Autodiff.Nn;
using DiffTori.Bench.Harness;
using DiffTori.Engine;
using DiffTori.TrajOpt;
using DiffTori.TrajOpt.Examples;

namespace DiffTori.Bench;

/// <summary>
/// Trajectory optimization against PyTorch (bench/torch/trajopt.py, 2 threads):
/// - iLQR on the pendulum swing-up (T = 20, 10 iterations, closed-form derivatives, float64) at batch 1/64/256,
///   and on the cart-pole (closed-form dynamics Jacobians on both sides, closed-form quadratic cost; one extra
///   b64 workload takes the Jacobians by one replicated autodiff pass, on both sides),
///   and the implicit backward of its solution (LQR on the active set, Gauss–Newton model as in torch) into x0;
/// - DiffTORI's planning step at TD-MPC shapes (latent 50, action 6, H = 5, MLPs 512 wide, ELU, float32):
///   LM on r = −G + 1000 for 100 iterations (the first 95 on the graph-free kernel of MlpShootingResidual), backward
///   through the last 5, then −Q(z, a*₀) backward into all parameters;
/// - iLQR with implicit gradients on the same TD-MPC problem (ours only; Jacobians/Hessians by autodiff);
/// - iLQR's truncated gradient (5 numeric + 5 recorded iterations) on the pendulum at batch 64 (ours only).
/// </summary>
public static class TrajOptSuite
{
    private const int T = 20, Iters = 10;

    public static int Run(string[] args)
    {
        var workloads = new List<Workload>();
        var fixedIters = new IlqrOptions { MaxIterations = Iters, GradientTolerance = 0, CostTolerance = 0 };
        foreach (int b in new[] { 1, 64, 256 })
        {
            var problem = PendulumSwingUp.Problem(T);
            var x0 = PendulumStarts(b);
            var u0 = Tensor.Zeros(new Shape(b, T, 1), DType.Float64);
            workloads.Add(new($"ilqr pendulum b{b} T20 10it", () => Ilqr.Solve(problem, x0, u0, fixedIters)));
            var sol = Ilqr.Solve(problem, x0, u0, fixedIters);
            var x0v = new Var(x0, requiresGrad: true);
            var w = new Var(Tensor.Full(new Shape(b, T, 1), 1.0, DType.Float64));
            workloads.Add(new($"implicit bwd pendulum b{b} T20", () =>
            {
                x0v.Grad = null;
                F.Sum(IlqrImplicit.Attach(problem, x0v, sol, exactHessian: false) * w).Backward(); // GN model, as the torch script
            }));
            if (b == 256) AddVarCurvatureRow("pendulum", problem, x0v, sol, w);
        }

        {
            // Truncated gradient through iLQR: 5 numeric iterations, then 5 recorded ones (createGraph model,
            // Var Riccati and rollout), backward into x0. Ours only: the torch script has no box-DDP to unroll.
            const int b = 64;
            var problem = PendulumSwingUp.Problem(T);
            var x0v = new Var(PendulumStarts(b), requiresGrad: true);
            var u0 = new Var(Tensor.Zeros(new Shape(b, T, 1), DType.Float64));
            var w = new Var(Tensor.Full(new Shape(b, T, 1), 1.0, DType.Float64));
            workloads.Add(new($"ilqr truncated5 bwd pendulum b{b} T20 10it (ours only)", () =>
            {
                x0v.Grad = null;
                var res = IlqrGradients.Solve(problem, x0v, u0, GradientMode.Truncated, fixedIters, truncatedSteps: 5);
                F.Sum(res.U * w).Backward();
            }));
        }

        foreach (int b in new[] { 1, 64, 256 })
        {
            var problem = CartPole.Problem(T);
            var x0 = CartPoleStarts(b);
            var u0 = Tensor.Zeros(new Shape(b, T, 1), DType.Float64);
            workloads.Add(new($"ilqr cartpole b{b} T20 10it", () => Ilqr.Solve(problem, x0, u0, fixedIters)));
            var sol = Ilqr.Solve(problem, x0, u0, fixedIters);
            var x0v = new Var(x0, requiresGrad: true);
            var w = new Var(Tensor.Full(new Shape(b, T, 1), 1.0, DType.Float64));
            workloads.Add(new($"implicit bwd cartpole b{b} T20", () =>
            {
                x0v.Grad = null;
                F.Sum(IlqrImplicit.Attach(problem, x0v, sol, exactHessian: false) * w).Backward();
            }));
            if (b == 256) AddVarCurvatureRow("cartpole", problem, x0v, sol, w);
            if (b == 64)
            {
                var autodiffJac = CartPole.Problem(T, closedFormDynamics: false);
                workloads.Add(new("ilqr cartpole autodiff-jac b64 T20 10it", () => Ilqr.Solve(autodiffJac, x0, u0, fixedIters)));
            }
        }

        // The rows above take the dynamics' second derivatives from the examples' closed form; PyTorch's script gets
        // them by double backward. This row hides the closed form, so ours differentiates the Var dynamics twice too:
        // the like-for-like comparison (the torch script times the same workload under both names).
        void AddVarCurvatureRow(string name, TrajProblem problem, Var x0v, IlqrResult sol, Var w)
        {
            var varOnly = problem.WithoutClosedFormCurvature();
            workloads.Add(new($"implicit bwd {name} b256 T20 (Var curvature)", () =>
            {
                x0v.Grad = null;
                F.Sum(IlqrImplicit.Attach(varOnly, x0v, sol, exactHessian: false) * w).Backward();
            }));
        }

        var model = new TdmpcModel(new RandomGenerator(1));
        var z = new Var(RandomTensor(new Shape(1, 50), 2));
        var planOptions = new LmOptions { Iterations = 100, Damping = 0.1, StepSize = 1e-3 * 1000, Lower = -1, Upper = 1, Gradient = GradientMode.Truncated, TruncatedSteps = 5 };
        // Roofline (batch 1 is matrix–vector bound; measured on the 2-core EPYC, L2 1 MiB/core, L3 32 MiB): the four
        // networks hold 4.78 MB of float32 weights (dynamics 1.27, reward 1.17, Q 1.17, π 1.17). One LM iteration as
        // written streams them once forward and once for the vector–Jacobian product: 5·(1.27 + 1.17) + 1.17 + 1.17 =
        // 14.5 MB each way, 29 MB in all. Our row-streaming GEMV reads a 512×512 matrix at ~80 GB/s on one core from L3
        // (4–8 MiB working set; ~100 GB/s from L2) and ~130–165 GB/s on both cores, so an iteration needs ≥ 0.18 ms
        // (2 cores) or ≥ 0.35 ms (1 core), and 100 iterations ≥ 18 ms (35 ms on one core); evaluating the reward
        // network for all H steps in one 5-row product (what the kernel does) lowers it to 19.7 MB, ≥ 0.12 ms
        // (0.25 ms on one core), ≥ 12 ms per step. The 5 recorded iterations add second-order work (≥ 2 passes each).
        // Against PyTorch's ~200 ms that caps the speedup near 11–17×: the 20× target (~10 ms) would need ~200 GB/s
        // sustained, the L2 peak of both cores, while the weights (4.8 MB) do not fit in L2 (2 MiB). Since then the
        // kernel reads the 512×512 layers from aligned panels (~175 GB/s per core from L2, where the dynamics stay
        // between steps) and the first layers from a blocked transpose. Latest VM (see README): ~6 MB from L3 at ~95 GB/s
        // and ~13.8 MB from L2 at ~200 GB/s per iteration, ≥ ~137 µs; the kernel takes 146–151 µs. The 5 recorded
        // iterations and their backward run graph-free on the kernel (~3 ms).
        workloads.Add(new("difftori plan LM100 trunc5 + PG bwd (b1)", () =>
        {
            using var scope = Autograd.Scope();
            model.ZeroGrad();
            Var init;
            using (Autograd.NoGrad()) init = model.PolicyRollout(z);
            // The 95 unrecorded iterations run on the graph-free kernel; the last 5 are recorded through the residual.
            var res = LevenbergMarquardt.Solve(model.Plan.Residual(z), init, planOptions, model.Plan.Kernel(z));
            var a0 = F.Narrow(res.U, 1, 0, 6);
            (-F.Sum(model.Q.Forward(F.Concat([z, a0], 1)))).Backward();
        }));
        // The same step's 95 unrecorded iterations alone (π rollout, then LM without a graph): what the roofline
        // above bounds, and the rest of the step (5 recorded iterations and the backward) is the row above minus this.
        var unrecordedOptions = new LmOptions { Iterations = 95, Damping = 0.1, StepSize = 1e-3 * 1000, Lower = -1, Upper = 1, Gradient = GradientMode.None };
        var z16 = new Var(RandomTensor(new Shape(16, 50), 5));
        foreach (var start in new[] { z, z16 })
            workloads.Add(new($"difftori plan LM95 unrecorded only (b{start.Shape[0]})", () =>
            {
                using var scope = Autograd.Scope();
                using (Autograd.NoGrad())
                    LevenbergMarquardt.Solve(model.Plan.Residual(start), model.PolicyRollout(start), unrecordedOptions, model.Plan.Kernel(start));
            }));
        var tdProblem = model.Problem(z);
        int lastIters = 0;
        workloads.Add(new("ilqr+implicit tdmpc (b1, ours only)", () =>
        {
            model.ZeroGrad();
            Tensor u0;
            using (Autograd.NoGrad()) u0 = model.PolicyRollout(z).Value.Reshape(1, 5, 6);
            var sol = Ilqr.Solve(tdProblem, z.Value, u0, new IlqrOptions { MaxIterations = 20 });
            lastIters = sol.Status[0].Iterations;
            var u = IlqrImplicit.Attach(tdProblem, z, sol);
            (-F.Sum(model.Q.Forward(F.Concat([z, F.Select(u, 1, 0)], 1)))).Backward();
        }));
        int status = BenchSuite.Run("trajopt", workloads, args);
        Console.WriteLine($"ilqr+implicit tdmpc: {lastIters} iLQR iterations per solve (last run)");
        return status;
    }

    private static Tensor PendulumStarts(int b)
    {
        var rng = new Random(3);
        var x = new double[b * 3];
        for (int i = 0; i < b; i++)
        {
            double th = Math.PI * (2 * rng.NextDouble() - 1);
            x[i * 3] = Math.Cos(th); x[i * 3 + 1] = Math.Sin(th); x[i * 3 + 2] = 2 * rng.NextDouble() - 1;
        }
        return Tensor.FromDoubles(x, new Shape(b, 3), DType.Float64);
    }

    private static Tensor CartPoleStarts(int b)
    {
        var rng = new Random(4);
        var x = new double[b * 4];
        for (int i = 0; i < x.Length; i++) x[i] = 0.6 * (2 * rng.NextDouble() - 1);
        return Tensor.FromDoubles(x, new Shape(b, 4), DType.Float64);
    }

    private static Tensor RandomTensor(in Shape s, int seed)
    {
        var rng = new Random(seed);
        var v = new double[s.Length];
        for (int i = 0; i < v.Length; i++) v[i] = rng.NextDouble() * 2 - 1;
        return Tensor.FromDoubles(v, s, DType.Float32);
    }

    /// <summary>TD-MPC's latent model at its sizes: dynamics, reward, Q and π, MLPs 512 wide with ELU.</summary>
    private sealed class TdmpcModel
    {
        public const int Latent = 50, Action = 6, H = 5;
        public const double Gamma = 0.99;
        public readonly Sequential Dyn, Rew, Q, Pi;

        public TdmpcModel(RandomGenerator rng)
        {
            Dyn = Mlp.Build([Latent + Action, 512, 512, Latent], () => new Elu(), rng);
            Rew = Mlp.Build([Latent + Action, 512, 512, 1], () => new Elu(), rng);
            Q = Mlp.Build([Latent + Action, 512, 512, 1], () => new Elu(), rng);
            Pi = Mlp.Build([Latent, 512, 512, Action], () => new Elu(), rng, outputActivation: () => new Tanh());
        }

        public void ZeroGrad() { Dyn.ZeroGrad(); Rew.ZeroGrad(); Q.ZeroGrad(); Pi.ZeroGrad(); }

        /// <summary>π rollout through the latent dynamics: the action sequence [B, H·m] DiffTORI starts from.</summary>
        public Var PolicyRollout(Var z)
        {
            var acts = new Var[H];
            var zt = z;
            for (int t = 0; t < H; t++)
            {
                acts[t] = Pi.Forward(zt);
                zt = Dyn.Forward(F.Concat([zt, acts[t]], 1));
            }
            return F.Concat(acts, 1);
        }

        /// <summary>r = −G + 1000, G = Σ γᵗ R(z_t, a_t) + γᴴ Q(z_H, π(z_H)): the residual and its graph-free kernel.</summary>
        public MlpShootingResidual Plan => _plan ??= new MlpShootingResidual(Dyn, Rew, Q, Pi, Latent, Action, H, Gamma, offset: 1000);
        private MlpShootingResidual? _plan;

        /// <summary>The same objective as a trajectory problem for iLQR: stage −γᵗR, terminal −γᴴQ(z, π(z)), |a| ≤ 1.</summary>
        public TrajProblem Problem(Var z) => new TrajProblem(Latent, Action, H,
            (x, u) => Dyn.Forward(F.Concat([x, u], 1)),
            (x, u, t) => F.Reshape(-Math.Pow(Gamma, t) * Rew.Forward(F.Concat([x, u], 1)), x.Shape[0]),
            x => F.Reshape(-Math.Pow(Gamma, H) * Q.Forward(F.Concat([x, Pi.Forward(x)], 1)), x.Shape[0])).WithBounds(-1, 1);
    }
}
