using DiffTori.Engine;

namespace DiffTori.Autodiff.Tests;

/// <summary>Memory measurements read process-wide counters, so they run alone, after the parallel tests.</summary>
[CollectionDefinition("Memory", DisableParallelization = true)]
public class MemoryCollection;

/// <summary>The graph and its buffers are released after each backward: memory stays flat over 10,000 steps.</summary>
[Collection("Memory")]
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

    [Fact]
    public void StepsInsideAScopeReuseEveryBuffer()
    {
        var x = new Var(AutodiffGens.Values(new Shape(8, 4), 1));
        var target = new Var(AutodiffGens.Values(new Shape(8, 2), 2, -0.5, 0.5));
        var w1 = new Var(AutodiffGens.Values(new Shape(16, 4), 3, -0.5, 0.5), true, "w1");
        var w2 = new Var(AutodiffGens.Values(new Shape(2, 16), 4, -0.5, 0.5), true, "w2");
        var ln = new Var(Tensor.Ones(new Shape(16), DType.Float64), true, "ln");
        Var[] ps = [w1, w2, ln];
        using var zero = Tensor.Scalar(0, DType.Float64);

        double Step()
        {
            using var scope = Autograd.Scope();
            var h = F.Mish(F.LayerNorm(F.Linear(x, w1), ln, null));
            var loss = F.Mse(F.Softmax(F.Linear(h, w2)), target) + 0.01 * F.Sum(F.Square(w1));
            loss.Backward();
            using (Autograd.NoGrad())
                foreach (var p in ps)
                {
                    Ops.AddInPlace(p.Value, p.Grad!.Value, -0.1);
                    p.Grad.Value.CopyFrom(zero); // zero in place, as an optimizer's ZeroGrad
                }
            return loss.Item();
        }

        for (int i = 0; i < 200; i++) Step();
        long misses = BufferPool.Misses;
        for (int i = 0; i < 1000; i++) Step();
        Assert.True(BufferPool.Misses - misses <= 10,
            $"{BufferPool.Misses - misses} pool misses in 1000 scoped steps: buffers are not being returned");
        Assert.True(w1.Grad!.Value.Length == 64 && !w1.Grad.Value.IsDisposed, "leaf gradients must survive the scope");
    }
}

public class TensorScopeTests
{
    [Fact]
    public void ScopeDisposesOpResultsButKeepsLeavesGradsAndKeptVars()
    {
        var x = new Var(Tensor.FromDoubles([1, 2], new Shape(2), DType.Float64), requiresGrad: true);
        Var inner, kept, outerKept;
        using (var outer = Autograd.Scope())
        {
            using (var scope = Autograd.Scope())
            {
                Assert.Same(scope, TensorScope.Current);
                inner = F.Exp(x);
                kept = scope.Keep(F.Sum(inner));
                kept.Backward();
            }
            Assert.Same(outer, TensorScope.Current);
            Assert.True(inner.Value.IsDisposed);
            Assert.False(kept.Value.IsDisposed);         // now owned by the outer scope
            outerKept = outer.Keep(kept);
        }
        Assert.Null(TensorScope.Current);
        Assert.False(outerKept.Value.IsDisposed);        // kept past every scope
        Assert.False(x.Value.IsDisposed);
        Assert.False(x.Grad!.Value.IsDisposed);
        Assert.Equal(Math.Exp(1) + Math.Exp(2), outerKept.Item(), 1e-12);
    }
}
