using DiffTori.Autodiff;
using DiffTori.Engine;
using DiffTori.TrajOpt;
using FsCheck;
using FsCheck.Fluent;
using static DiffTori.TrajOpt.Tests.LmKernelNormTwinTests;

namespace DiffTori.TrajOpt.Tests;

/// <summary>
/// The planning kernel over a block of examples in one call (each network reading its weights once for all of
/// them) gives every example the same bits as evaluating it alone, including twin Q heads where examples choose
/// different heads; and an LM solve of a batch equals solving each example on its own.
/// </summary>
public class LmKernelBatchTests
{
    private static readonly Gen<(Case Case, int Batch)> BatchCases =
        from c in Cases
        from batch in Gen.Choose(1, 6)
        select (c, batch);

    [Fact]
    public void ABlockOfExamplesGetsTheBitsOfEachExampleAlone() =>
        Prop.ForAll(BatchCases.ToArbitrary(), bc =>
        {
            var (c, batch) = bc;
            var model = new Model(c, DType.Float32);
            int d = c.Horizon * c.Action;
            var x0 = new Var(Uniform(c.Seed + 1, batch, c.Latent, 1.0));
            var u = Uniform(c.Seed + 2, batch, d, 1.0).ToArray<float>();
            var kernel = KernelOf(model.Plan, x0);
            var r = new float[batch];
            var grads = new float[batch * d];
            kernel.Evaluate(0, batch, u, r, grads);
            var valuesOnly = new float[batch];
            kernel.Evaluate(0, batch, u, valuesOnly, default);
            var alone = new float[d];
            for (int b = 0; b < batch; b++)
            {
                float rb = kernel.Evaluate(b, u.AsSpan(b * d, d), alone);
                Assert.True(rb == r[b] && rb == valuesOnly[b], $"{c}, batch {batch}: r[{b}] alone {rb}, in the block {r[b]} ({valuesOnly[b]} without gradient)");
                for (int i = 0; i < d; i++)
                    Assert.True(alone[i] == grads[b * d + i], $"{c}, batch {batch}: ∂r/∂u[{b}, {i}] alone {alone[i]}, in the block {grads[b * d + i]}");
            }
            if (batch > 1)
            {
                // A block that starts inside the batch reads its own rows of x0.
                var tailR = new float[batch - 1];
                var tailG = new float[(batch - 1) * d];
                kernel.Evaluate(1, batch - 1, u.AsSpan(d), tailR, tailG);
                Assert.Equal(r[1..], tailR);
                Assert.Equal(grads[d..], tailG);
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40));

    [Fact]
    public void BatchedUnrecordedSolveEqualsSolvingEachExampleAlone() =>
        Prop.ForAll(BatchCases.ToArbitrary(), Gen.Elements(true, false).ToArbitrary(), (bc, adaptive) =>
        {
            var (c, batch) = bc;
            var model = new Model(c, DType.Float32);
            int d = c.Horizon * c.Action;
            var x0 = Uniform(c.Seed + 1, batch, c.Latent, 1.0);
            var init = Uniform(c.Seed + 3, batch, d, 0.5);
            var o = new LmOptions { Iterations = 7, Damping = 0.5, StepSize = 0.05, Lower = -1, Upper = 1, AdaptiveDamping = adaptive, Gradient = GradientMode.None };
            var x0Var = new Var(x0);
            var together = LevenbergMarquardt.Solve(model.Plan.Residual(x0Var), new Var(init), o, KernelOf(model.Plan, x0Var));
            var u = together.U.Value.ToArray<float>();
            for (int b = 0; b < batch; b++)
            {
                var x0b = new Var(x0.Narrow(0, b, 1).Contiguous());
                var alone = LevenbergMarquardt.Solve(model.Plan.Residual(x0b), new Var(init.Narrow(0, b, 1).Contiguous()), o, KernelOf(model.Plan, x0b));
                Assert.Equal(alone.U.Value.ToArray<float>(), u.AsSpan(b * d, d).ToArray());
                Assert.Equal(alone.Status[0], together.Status[b]);
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(25));
}
