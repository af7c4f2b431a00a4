using DiffTori.Autodiff;
using DiffTori.Engine;
using DiffTori.TrajOpt;
using FsCheck;
using FsCheck.Fluent;
using NormCase = DiffTori.TrajOpt.Tests.LmKernelNormTwinTests.Case;
using NormModel = DiffTori.TrajOpt.Tests.LmKernelNormTwinTests.Model;

namespace DiffTori.TrajOpt.Tests;

/// <summary>
/// The recorded LM iterations on the planning kernel (no graph, ISecondOrderScalarKernel): its backward pass, the
/// gradient of φ = r̄·r(u) + ḡ·∇ᵤr(u) in u, x0 and every parameter, against autodiff's double backward of the Var
/// residual and against float64 central differences; whole truncated and unrolled solves against the same solves
/// recorded through the residual; and what it refuses.
/// </summary>
public class LmKernelRecordedTests
{
    private const int Batch = 2;

    private static Tensor Uniform(int seed, int rows, int cols, double scale, DType dtype = DType.Float32) =>
        LmKernelNormTwinTests.Uniform(seed, rows, cols, scale, dtype);

    private static ISecondOrderScalarKernel KernelOf(NormModel m, Var x0) =>
        (ISecondOrderScalarKernel)LmKernelNormTwinTests.KernelOf(m.Plan, x0);

    /// <summary>‖a − b‖ ≤ tol·(‖a‖ + floor): the two gradients of one tensor agree as vectors.</summary>
    private static void CloseAsVectors(double[] expected, double[] actual, double tol, double floor, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++) { diff += Math.Pow(expected[i] - actual[i], 2); norm += expected[i] * expected[i]; }
        Assert.True(Math.Sqrt(diff) <= tol * (Math.Sqrt(norm) + floor), $"{what}: ‖difference‖ {Math.Sqrt(diff):E3} against ‖expected‖ {Math.Sqrt(norm):E3}");
    }

    /// <summary>
    /// The kernel's ∇φ in u, x0 and every parameter against autodiff's gradient of φ built with a createGraph Jacobian,
    /// in float64 with the same weights (the float32 graph itself strays by a few percent where gradients nearly cancel).
    /// </summary>
    [Fact]
    public void KernelBackwardMatchesTheDoubleBackwardOfTheResidual() =>
        Prop.ForAll(LmKernelNormTwinTests.Cases.ToArbitrary(), c =>
        {
            var m = new NormModel(c, DType.Float32);
            var m64 = new NormModel(c, DType.Float64, copyFrom: m);
            int d = c.Horizon * c.Action;
            var x0 = new Var(Uniform(c.Seed + 1, Batch, c.Latent, 1.0), requiresGrad: true);
            var u = new Var(Uniform(c.Seed + 2, Batch, d, 1.0), requiresGrad: true);
            var rBar = Uniform(c.Seed + 3, Batch, 1, 1.0);
            var gBar = Uniform(c.Seed + 4, Batch, d, 1.0);

            Var Float64(Var v) => new(v.Value.Cast(DType.Float64), requiresGrad: true);
            var x064 = Float64(x0);
            var u64 = Float64(u);
            var r = m64.Plan.Residual(x064)(u64);
            var g = Autograd.Grad(F.Sum(r), [u64], createGraph: true)[0];
            var phi = F.Sum(r * new Var(rBar.Cast(DType.Float64))) + F.Sum(g * new Var(gBar.Cast(DType.Float64)));
            var inputs = new List<Var> { u, x0 };
            inputs.AddRange(m.Parameters());
            var inputs64 = new List<Var> { u64, x064 };
            inputs64.AddRange(m64.Parameters());
            var expected = Autograd.Grad(phi, inputs64, allowUnused: true);

            var kernel = KernelOf(m, x0);
            kernel.BeginBackward(kernel.Checkpoint());
            var uBar = new float[Batch * d];
            kernel.AccumulateBackward(0, u.Value.ToArray<float>(), rBar.ToArray<float>(), gBar.ToArray<float>(), uBar);
            var got = kernel.EndBackward();
            Assert.Equal(inputs.Count - 1, got.Length);
            Assert.Same(x0, kernel.Inputs[0]);
            Assert.Equal(m.Parameters(), kernel.Inputs.Skip(1));

            // float32 rounding is measured against the whole gradient: a tensor whose own gradient nearly cancels
            // (a saturated tanh) keeps the absolute error of its neighbours.
            var wants = expected.Select((e, k) => e?.Value.ToDoubleArray() ?? new double[inputs[k].Value.Length]).ToList();
            double floor = 1e-2 * Math.Sqrt(wants.Sum(w => w.Sum(v => v * v))) + 1e-4;
            CloseAsVectors(wants[0], Array.ConvertAll(uBar, v => (double)v), 1e-3, floor, $"{c}: ū");
            for (int k = 0; k < got.Length; k++)
            {
                var have = got[k]?.ToDoubleArray() ?? new double[inputs[k + 1].Value.Length];
                CloseAsVectors(wants[k + 1], have, 1e-3, floor, $"{c}: input {k} {inputs[k + 1].Shape}");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(25));

    /// <summary>
    /// The float32 kernel's ∇φ in x0 and in u against central differences of φ computed in float64 (the Var residual and
    /// its autodiff gradient, with the same weights): φ(x0, u) = Σ r̄·r + ḡ·∇ᵤr.
    /// </summary>
    [Fact]
    public void KernelBackwardMatchesFloat64FiniteDifferences() =>
        Prop.ForAll(LmKernelNormTwinTests.Cases.ToArbitrary(), c =>
        {
            var single = new NormModel(c, DType.Float32);
            var dbl = new NormModel(c, DType.Float64, copyFrom: single);
            int d = c.Horizon * c.Action, n = c.Latent;
            var x032 = Uniform(c.Seed + 1, 1, n, 1.0);
            var u32 = Uniform(c.Seed + 2, 1, d, 0.8);
            var rBar = Uniform(c.Seed + 3, 1, 1, 1.0);
            var gBar = Uniform(c.Seed + 4, 1, d, 1.0);
            var kernel = KernelOf(single, new Var(x032));
            kernel.BeginBackward(kernel.Checkpoint());
            var uBar = new float[d];
            kernel.AccumulateBackward(0, u32.ToArray<float>(), rBar.ToArray<float>(), gBar.ToArray<float>(), uBar);
            var x0Bar = kernel.EndBackward()[0]!.ToDoubleArray();

            double rb = rBar.ToDoubleArray()[0];
            var gb = gBar.ToDoubleArray();
            double Phi(double[] x0, double[] uv)
            {
                var u = new Var(Tensor.FromDoubles(uv, new Shape(1, d), DType.Float64), requiresGrad: true);
                var r = dbl.Plan.Residual(new Var(Tensor.FromDoubles(x0, new Shape(1, n), DType.Float64)))(u);
                var g = Autograd.Grad(F.Sum(r), [u])[0].Value.ToDoubleArray();
                double phi = rb * r.Value.ToDoubleArray()[0];
                for (int i = 0; i < d; i++) phi += gb[i] * g[i];
                return phi;
            }
            var x0v = x032.ToDoubleArray();
            var uv0 = u32.ToDoubleArray();
            // A small step: ∇φ holds second derivatives, which jump where an ELU's input crosses 0, and a wider
            // difference that straddles such a point blends the two sides (φ itself is smooth enough for 1e-7 in float64).
            const double step = 1e-7;
            double[] Differences(double[] point, Func<double[], double> f)
            {
                var fd = new double[point.Length];
                for (int i = 0; i < point.Length; i++)
                {
                    var plus = (double[])point.Clone();
                    var minus = (double[])point.Clone();
                    plus[i] += step;
                    minus[i] -= step;
                    fd[i] = (f(plus) - f(minus)) / (2 * step);
                }
                return fd;
            }
            CloseAsVectors(Differences(uv0, p => Phi(x0v, p)), Array.ConvertAll(uBar, v => (double)v), 2e-3, 1e-3, $"{c}: ∇ᵤφ");
            CloseAsVectors(Differences(x0v, p => Phi(p, uv0)), x0Bar, 2e-3, 1e-3, $"{c}: ∇x0 φ");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(12));

    internal sealed record SolveCase(NormCase Model, GradientMode Mode, bool Adaptive, double StepSize)
    {
        public override string ToString() => $"{Model}; {Mode}, adaptive {Adaptive}, step {StepSize}";
    }

    private static readonly Gen<SolveCase> SolveCases =
        from model in LmKernelNormTwinTests.Cases
        from mode in Gen.Elements(GradientMode.Truncated, GradientMode.Unrolled)
        from adaptive in Gen.Elements(true, false)
        from step in Gen.Elements(0.05, 0.3)
        select new SolveCase(model, mode, adaptive, step);

    /// <summary>
    /// Gradients of Σ w⊙u* in x0, in the start u (unrolled) and in every parameter, with the iterations recorded on the
    /// kernel, against the same solve in float64 recorded through the residual. The larger step puts some coordinates on
    /// the box. Where the problem is badly conditioned float32 cannot match float64 closely (the kernel's float32 r and g
    /// may already be 1e-5 off, its exp and sums differing from the graph's), so the kernel must be within 2e-3 of it or
    /// no further than ten times the float32 solve recorded through the residual.
    /// </summary>
    [Fact]
    public void SolveRecordedOnTheKernelMatchesTheSolveRecordedThroughTheResidual() =>
        Prop.ForAll(SolveCases.ToArbitrary(), s =>
        {
            var c = s.Model;
            int d = c.Horizon * c.Action;
            // Pass 0: float64 through the residual (the reference); 1: float32 through the residual; 2: float32 on the kernel.
            var results = new List<double[]>[3];
            var lambdas = new double[3][];
            NormModel? single = null;
            for (int pass = 0; pass < 3; pass++)
            {
                var dtype = pass == 0 ? DType.Float64 : DType.Float32;
                single ??= new NormModel(c, DType.Float32);
                var m = pass == 0 ? new NormModel(c, DType.Float64, copyFrom: single) : new NormModel(c, DType.Float32, copyFrom: single);
                var x0 = new Var(Uniform(c.Seed + 1, Batch, c.Latent, 1.0).Cast(dtype), requiresGrad: true);
                var init = new Var(Uniform(c.Seed + 2, Batch, d, 0.5).Cast(dtype), requiresGrad: true);
                var o = new LmOptions
                {
                    Iterations = 6, Damping = 0.5, StepSize = s.StepSize, Lower = -1, Upper = 1, AdaptiveDamping = s.Adaptive,
                    Gradient = s.Mode, TruncatedSteps = 3, RecordOnKernel = pass == 2,
                };
                var res = LevenbergMarquardt.Solve(m.Plan.Residual(x0), init, o, pass == 0 ? null : m.Plan.Kernel(x0));
                lambdas[pass] = res.Status.Select(st => st.Regularization).ToArray();
                F.Sum(res.U * new Var(Uniform(c.Seed + 5, Batch, d, 1.0).Cast(dtype))).Backward();
                var leaves = new[] { res.U.Detach(), x0, init }.Concat(m.Parameters()).ToList();
                results[pass] = leaves.Select((p, k) => (k == 0 ? p : p.Grad)?.Value.ToDoubleArray() ?? new double[p.Value.Length]).ToList();
                // After the backward pass, so that it reads the activations the recorded iterations kept.
                if (s.Adaptive)
                    for (int prefix = 1; prefix < o.Iterations; prefix++)
                    {
                        using var noGrad = Autograd.NoGrad();
                        var shorter = new LmOptions { Iterations = prefix, Damping = 0.5, StepSize = s.StepSize, Lower = -1, Upper = 1, AdaptiveDamping = true, Gradient = GradientMode.None };
                        var partial = LevenbergMarquardt.Solve(m.Plan.Residual(x0), init, shorter, pass == 0 ? null : m.Plan.Kernel(x0));
                        lambdas[pass] = [.. lambdas[pass], .. partial.Status.Select(st => st.Regularization)];
                    }
            }
            // With adaptive damping a step whose ½r² barely changes may be kept in one solve and rejected in another
            // (rounding on either side of the comparison): the solves then part. λ after every iteration tells (the
            // final λ alone can agree after two opposite decisions).
            if (s.Adaptive && !(lambdas[0].SequenceEqual(lambdas[1]) && lambdas[0].SequenceEqual(lambdas[2]))) return;
            // As in the tests above, rounding is measured against the whole gradient too, not only the tensor's own.
            double whole = Math.Sqrt(results[0].Skip(1).Sum(g => g.Sum(v => v * v)));
            for (int k = 0; k < results[0].Count; k++)
            {
                double Distance(double[] a) => Math.Sqrt(a.Select((v, i) => Math.Pow(v - results[0][k][i], 2)).Sum());
                double scale = Math.Sqrt(results[0][k].Sum(v => v * v)) + 1e-2 * whole + 1e-3;
                double kernelError = Distance(results[2][k]), graphError = Distance(results[1][k]);
                Assert.True(kernelError <= Math.Max(2e-3 * scale, 10 * graphError),
                    $"{s}: {(k == 0 ? "u*" : $"leaf {k - 1}")}: kernel off float64 by {kernelError:E3}, the float32 graph by {graphError:E3}, of {scale:E3}");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(20));

    /// <summary>The kernel's gradients are first order: differentiating them again is refused, naming the way out.</summary>
    [Fact]
    public void CreateGraphThroughKernelIterationsIsRefused()
    {
        var c = new NormCase(5, 3, 2, 2, 8, Twin: true, WithPolicy: true, TanhPolicy: true, Affine: true);
        var m = new NormModel(c, DType.Float32);
        var x0 = new Var(Uniform(1, 1, 3, 1.0), requiresGrad: true);
        var init = new Var(Uniform(2, 1, 4, 0.5));
        var o = new LmOptions { Iterations = 3, Damping = 0.5, StepSize = 0.05, Lower = -1, Upper = 1, Gradient = GradientMode.Truncated, TruncatedSteps = 2 };
        var res = LevenbergMarquardt.Solve(m.Plan.Residual(x0), init, o, m.Plan.Kernel(x0));
        var ex = Assert.Throws<NotSupportedException>(() => Autograd.Grad(F.Sum(res.U), [x0], createGraph: true));
        Assert.Contains("RecordOnKernel", ex.Message);

        // Recorded through the residual instead, the gradient can be differentiated again.
        var graph = LevenbergMarquardt.Solve(m.Plan.Residual(x0), init, new LmOptions
        {
            Iterations = 3, Damping = 0.5, StepSize = 0.05, Lower = -1, Upper = 1, Gradient = GradientMode.Truncated, TruncatedSteps = 2, RecordOnKernel = false,
        }, m.Plan.Kernel(x0));
        var first = Autograd.Grad(F.Sum(graph.U), [x0], createGraph: true)[0];
        Assert.True(first.RequiresGrad);
    }

    /// <summary>
    /// One kernel serves every solve of its residual: a second solve from another start before the first one's backward
    /// pass must not change the first one's gradients (the backward pass returns the kernel to its start).
    /// </summary>
    [Fact]
    public void AnotherSolveBeforeTheBackwardLeavesTheGradientUnchanged()
    {
        var c = new NormCase(17, 4, 2, 3, 16, Twin: true, WithPolicy: true, TanhPolicy: true, Affine: true);
        var m = new NormModel(c, DType.Float32);
        var o = new LmOptions { Iterations = 5, Damping = 0.5, StepSize = 0.05, Lower = -1, Upper = 1, Gradient = GradientMode.Truncated, TruncatedSteps = 3 };
        var init = new Var(Uniform(2, Batch, 6, 0.5));
        var weights = new Var(Uniform(3, Batch, 6, 1.0));
        double[] Gradient(bool interleave)
        {
            var x0 = new Var(Uniform(1, Batch, 4, 1.0), requiresGrad: true);
            var res = LevenbergMarquardt.Solve(m.Plan.Residual(x0), init, o, m.Plan.Kernel(x0));
            if (interleave)
            {
                var other = new Var(Uniform(9, 3, 4, 1.0)); // another start and batch size
                LevenbergMarquardt.Solve(m.Plan.Residual(other), new Var(Uniform(4, 3, 6, 0.5)), o, m.Plan.Kernel(other));
            }
            F.Sum(res.U * weights).Backward();
            return x0.Grad!.Value.ToDoubleArray();
        }
        var alone = Gradient(false);
        Assert.Contains(alone, v => v != 0);
        Assert.Equal(alone, Gradient(true));
    }
}
