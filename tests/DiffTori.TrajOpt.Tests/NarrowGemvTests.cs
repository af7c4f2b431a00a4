using DiffTori.TrajOpt;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.TrajOpt.Tests;

/// <summary>
/// NarrowGemv (a wide layer with few inputs, from its blocked transpose) against a float64 loop, over row counts
/// with and without a remainder of 16-row blocks, column counts up to 64, with and without a bias, and batches of
/// inputs whose rows must have the bits of the same input alone.
/// </summary>
public class NarrowGemvTests
{
    private static float[] Random(System.Random rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(2 * rng.NextDouble() - 1);
        return a;
    }

    [Fact]
    public void ForwardMatchesANaiveLoopAndABatchRowItsInputAlone()
    {
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return; // the kernel needs 512-bit vectors; MlpKernel never picks it without them
        var shapes =
            from seed in Gen.Choose(1, 100000)
            from rows in Gen.Elements(256, 272, 384, 512, 528)
            from cols in Gen.Choose(1, 64)
            from k in Gen.Choose(1, 7)
            from bias in Gen.Elements(true, false)
            select (seed, rows, cols, k, bias);
        Prop.ForAll(shapes.ToArbitrary(), s =>
        {
            var (seed, rows, cols, k, withBias) = s;
            Assert.True(NarrowGemv.Suits(rows, cols));
            var rng = new System.Random(seed);
            var w = Random(rng, rows * cols); var b = withBias ? Random(rng, rows) : []; var x = Random(rng, k * cols);
            var packed = new float[rows * cols];
            NarrowGemv.Pack(w, rows, cols, packed);
            var y = Random(rng, k * rows); // garbage, to be overwritten
            NarrowGemv.Forward(packed, b, x, y, rows, cols, k);
            for (int j = 0; j < k; j++)
                for (int r = 0; r < rows; r++)
                {
                    double sum = withBias ? b[r] : 0;
                    for (int c = 0; c < cols; c++) sum += (double)w[r * cols + c] * x[j * cols + c];
                    Assert.True(Math.Abs(sum - y[j * rows + r]) <= 1e-5 * Math.Sqrt(cols) * (1 + Math.Abs(sum)), $"{rows}×{cols}, k {k}: y[{j}, {r}] = {y[j * rows + r]}, expected {sum}");
                }
            var alone = new float[rows];
            for (int j = 0; j < k; j++)
            {
                NarrowGemv.Forward(packed, b, x.AsSpan(j * cols, cols), alone, rows, cols, 1);
                Assert.True(alone.AsSpan().SequenceEqual(y.AsSpan(j * rows, rows)), $"{rows}×{cols}: input {j} of {k} differs from the same input alone");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40));
    }

    /// <summary>Split over the cores by outputs (whole blocks, groups of eight columns), both products give the bits of one core.</summary>
    [Fact]
    public void SplittingOverTheCoresKeepsTheBits()
    {
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return;
        var shapes =
            from seed in Gen.Choose(1, 100000)
            from rows in Gen.Elements(256, 272, 304, 512, 528)
            from cols in Gen.Choose(1, 64)
            from k in Gen.Choose(1, 5)
            select (seed, rows, cols, k);
        Prop.ForAll(shapes.ToArbitrary(), s =>
        {
            var (seed, rows, cols, k) = s;
            var rng = new System.Random(seed);
            var w = Random(rng, rows * cols); var b = Random(rng, rows); var x = Random(rng, k * cols); var g = Random(rng, k * rows);
            var packed = new float[rows * cols];
            NarrowGemv.Pack(w, rows, cols, packed);
            var outputs = new float[2][];
            var gradients = new float[2][];
            try
            {
                for (int split = 0; split < 2; split++)
                {
                    NarrowGemv.SplitOverCores = split == 1;
                    outputs[split] = new float[k * rows];
                    gradients[split] = new float[k * cols];
                    NarrowGemv.Forward(packed, b, x, outputs[split], rows, cols, k);
                    NarrowGemv.Transposed(packed, g, gradients[split], rows, cols, k);
                }
            }
            finally { NarrowGemv.SplitOverCores = true; }
            Assert.True(outputs[0].AsSpan().SequenceEqual(outputs[1]), $"{rows}×{cols}, k {k}: the forward product differs when split");
            Assert.True(gradients[0].AsSpan().SequenceEqual(gradients[1]), $"{rows}×{cols}, k {k}: the transposed product differs when split");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40));
    }

    [Fact]
    public void TransposedMatchesANaiveLoopAndABatchRowItsGradientAlone()
    {
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return;
        var shapes =
            from seed in Gen.Choose(1, 100000)
            from rows in Gen.Elements(256, 272, 384, 512, 528)
            from cols in Gen.Choose(1, 64)
            from k in Gen.Choose(1, 7)
            select (seed, rows, cols, k);
        Prop.ForAll(shapes.ToArbitrary(), s =>
        {
            var (seed, rows, cols, k) = s;
            var rng = new System.Random(seed);
            var w = Random(rng, rows * cols); var g = Random(rng, k * rows);
            var packed = new float[rows * cols];
            NarrowGemv.Pack(w, rows, cols, packed);
            var x = Random(rng, k * cols); // garbage, to be overwritten
            NarrowGemv.Transposed(packed, g, x, rows, cols, k);
            for (int j = 0; j < k; j++)
                for (int c = 0; c < cols; c++)
                {
                    double sum = 0;
                    for (int r = 0; r < rows; r++) sum += (double)w[r * cols + c] * g[j * rows + r];
                    Assert.True(Math.Abs(sum - x[j * cols + c]) <= 1e-5 * Math.Sqrt(rows) * (1 + Math.Abs(sum)), $"{rows}×{cols}, k {k}: x̄[{j}, {c}] = {x[j * cols + c]}, expected {sum}");
                }
            var alone = new float[cols];
            for (int j = 0; j < k; j++)
            {
                NarrowGemv.Transposed(packed, g.AsSpan(j * rows, rows), alone, rows, cols, 1);
                Assert.True(alone.AsSpan().SequenceEqual(x.AsSpan(j * cols, cols)), $"{rows}×{cols}: gradient {j} of {k} differs from the same gradient alone");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40));
    }

    /// <summary>A short W [rows ≤ 64, cols ≥ 256] (a last layer) packed as its transpose: Forward gives Wᵀ·ȳ, Transposed gives W·x.</summary>
    [Fact]
    public void AShortLayerPackedAsItsTransposeGivesBothProducts()
    {
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return;
        var shapes =
            from seed in Gen.Choose(1, 100000)
            from rows in Gen.Choose(1, 64)
            from cols in Gen.Elements(256, 272, 512, 528)
            select (seed, rows, cols);
        Prop.ForAll(shapes.ToArbitrary(), s =>
        {
            var (seed, rows, cols) = s;
            var rng = new System.Random(seed);
            var w = Random(rng, rows * cols); var x = Random(rng, cols); var g = Random(rng, rows);
            var packed = new float[rows * cols];
            NarrowGemv.PackTransposeOf(w, rows, cols, packed);
            var y = new float[rows];
            NarrowGemv.Transposed(packed, x, y, cols, rows, 1);
            var xBar = new float[cols];
            NarrowGemv.Forward(packed, default, g, xBar, cols, rows, 1);
            for (int r = 0; r < rows; r++)
            {
                double sum = 0;
                for (int c = 0; c < cols; c++) sum += (double)w[r * cols + c] * x[c];
                Assert.True(Math.Abs(sum - y[r]) <= 1e-5 * Math.Sqrt(cols) * (1 + Math.Abs(sum)), $"{rows}×{cols}: (W·x)[{r}] = {y[r]}, expected {sum}");
            }
            for (int c = 0; c < cols; c++)
            {
                double sum = 0;
                for (int r = 0; r < rows; r++) sum += (double)w[r * cols + c] * g[r];
                Assert.True(Math.Abs(sum - xBar[c]) <= 1e-5 * Math.Sqrt(rows) * (1 + Math.Abs(sum)), $"{rows}×{cols}: (Wᵀ·ȳ)[{c}] = {xBar[c]}, expected {sum}");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40));
    }

    [Fact]
    public void ShapesItDoesNotCoverAreRejectedByName()
    {
        Assert.False(NarrowGemv.Suits(512, 65));
        Assert.False(NarrowGemv.Suits(250, 56));
        Assert.False(NarrowGemv.Suits(264, 56)); // not whole vectors of outputs
        var ex = Assert.Throws<ArgumentException>(() => NarrowGemv.Pack(new float[512 * 100], 512, 100, new float[512 * 100]));
        Assert.Contains("512×100", ex.Message);
        var exShort = Assert.Throws<ArgumentException>(() => NarrowGemv.PackTransposeOf(new float[100 * 512], 100, 512, new float[100 * 512]));
        Assert.Contains("100×512", exShort.Message);
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return;
        var ex2 = Assert.Throws<ArgumentException>(() => NarrowGemv.Forward(new float[512 * 56], default, new float[56], new float[100], 512, 56, 1));
        Assert.Contains("512×56", ex2.Message);
        var ex3 = Assert.Throws<ArgumentException>(() => NarrowGemv.Transposed(new float[512 * 56], new float[512], new float[10], 512, 56, 1));
        Assert.Contains("512×56", ex3.Message);
    }
}
