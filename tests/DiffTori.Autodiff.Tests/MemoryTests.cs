using DiffTori.Engine;

namespace DiffTori.Autodiff.Tests;

/// <summary>The graph and its buffers are released after each backward: memory stays flat over 10,000 steps.</summary>
public class MemoryTests
{
    [Fact]
    public void TenThousandTrainingStepsDoNotGrowMemory()
    {
        var x = new Var(AutodiffGens.Values(new Shape(8, 4), 1));
        var target = new Var(AutodiffGens.Values(new Shape(8, 1), 2, -0.5, 0.5));
        var ps = new[]
        {
            new Var(AutodiffGens.Values(new Shape(16, 4), 3, -0.5, 0.5), true, "w1"),
            new Var(Tensor.Zeros(new Shape(16), DType.Float64), true, "b1"),
            new Var(Tensor.Ones(new Shape(16), DType.Float64), true, "ln_w"),
            new Var(Tensor.Zeros(new Shape(16), DType.Float64), true, "ln_b"),
            new Var(AutodiffGens.Values(new Shape(1, 16), 4, -0.5, 0.5), true, "w2"),
        };

        double Step()
        {
            var h = F.Elu(F.LayerNorm(F.Linear(x, ps[0], ps[1]), ps[2], ps[3]));
            var loss = F.Mse(F.Linear(h, ps[4]), target);
            loss.Backward();
            Assert.True(loss.Node!.IsReleased);
            using (Autograd.NoGrad())
            {
                foreach (var p in ps)
                {
                    Ops.AddInPlace(p.Value, p.Grad!.Value, -0.05);
                    p.Grad.Value.Dispose();
                    p.Grad = null;
                }
            }
            return loss.Item();
        }

        double first = 0;
        for (int i = 0; i < 500; i++) first = i == 0 ? Step() : Math.Min(first, Step());
        long memory0 = GC.GetTotalMemory(forceFullCollection: true);
        long pooled0 = BufferPool.PooledBytes;
        double last = 0;
        for (int i = 0; i < 10_000; i++) last = Step();
        long memory1 = GC.GetTotalMemory(forceFullCollection: true);
        long pooled1 = BufferPool.PooledBytes;

        Assert.True(last < first, $"training did not progress: {first} -> {last}");
        Assert.True(memory1 - memory0 < 2_000_000, $"managed memory grew by {memory1 - memory0} bytes over 10,000 steps");
        Assert.True(pooled1 - pooled0 < 1_000_000, $"the buffer pool grew by {pooled1 - pooled0} bytes over 10,000 steps");
    }
}
