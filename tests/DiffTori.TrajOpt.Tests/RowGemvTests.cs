using DiffTori.TrajOpt;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.TrajOpt.Tests;

/// <summary>
/// RowGemv's three products (W·x + b, k of them at once, and k transposed products Wᵀ·ȳ) against float64 loops,
/// over shapes that hit every path: tails of 1–15 columns, 8-column half tails, row counts that are not multiples
/// of 4 or 8, batches of up to nine inputs (two blocks of four and one more) and of more than one block of sixteen,
/// and matrices large enough to be split over the worker pool.
/// </summary>
public class RowGemvTests
{
    private static readonly Gen<(int Seed, int Rows, int Cols, int K)> Shapes =
        from seed in Gen.Choose(1, 100000)
        from rows in Gen.OneOf(Gen.Choose(1, 40), Gen.Elements(50, 255, 256, 257, 512, 513))
        from cols in Gen.OneOf(Gen.Choose(1, 40), Gen.Elements(56, 57, 64, 255, 300, 512))
        from k in Gen.OneOf(Gen.Choose(1, 9), Gen.Elements(16, 17, 35))
        select (seed, rows, cols, k);

    private static float[] Random(System.Random rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(2 * rng.NextDouble() - 1);
        return a;
    }

    /// <summary>Each entry within a tolerance scaled by the length of the sum that made it.</summary>
    private static void AssertClose(double[] expected, float[] actual, int terms, string what)
    {
        double tol = 1e-6 * Math.Sqrt(terms) * 4;
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])),
                $"{what}[{i}]: {actual[i]} vs {expected[i]}");
    }

    [Fact]
    public void ForwardAndBatchMatchNaiveLoops() =>
        Prop.ForAll(Shapes.ToArbitrary(), s =>
        {
            var (seed, rows, cols, k) = s;
            var rng = new System.Random(seed);
            var w = Random(rng, rows * cols); var b = Random(rng, rows); var x = Random(rng, k * cols);
            var expected = new double[k * rows];
            for (int j = 0; j < k; j++)
                for (int r = 0; r < rows; r++)
                {
                    double sum = b[r];
                    for (int c = 0; c < cols; c++) sum += (double)w[r * cols + c] * x[j * cols + c];
                    expected[j * rows + r] = sum;
                }
            var single = new float[rows];
            RowGemv.Forward(w, b, x.AsSpan(0, cols), single, rows, cols);
            AssertClose(expected[..rows], single, cols, "Forward");
            var batch = new float[k * rows];
            RowGemv.ForwardBatch(w, b, x, batch, rows, cols, k);
            AssertClose(expected, batch, cols, "ForwardBatch");
            // A row's bits do not depend on the rows sharing its batch (four inputs at once, or one).
            for (int j = 0; j < k; j++)
            {
                RowGemv.Forward(w, b, x.AsSpan(j * cols, cols), single, rows, cols);
                Assert.True(single.AsSpan().SequenceEqual(batch.AsSpan(j * rows, rows)), $"ForwardBatch row {j} of {k} differs from Forward alone");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));

    [Fact]
    public void TransposedBatchMatchesNaiveLoopsAndOverwrites() =>
        Prop.ForAll(Shapes.ToArbitrary(), s =>
        {
            var (seed, rows, cols, k) = s;
            var rng = new System.Random(seed);
            var w = Random(rng, rows * cols); var g = Random(rng, k * rows);
            var expected = new double[k * cols];
            for (int j = 0; j < k; j++)
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < cols; c++) expected[j * cols + c] += (double)w[r * cols + c] * g[j * rows + r];
            // Garbage in the output must be overwritten, not added to.
            var xBar = Random(rng, k * cols);
            RowGemv.TransposedBatch(w, g, xBar, rows, cols, k);
            AssertClose(expected, xBar, rows, "TransposedBatch");
            // A gradient's bits do not depend on the gradients sharing its batch.
            var alone = new float[cols];
            for (int j = 0; j < k; j++)
            {
                RowGemv.TransposedBatch(w, g.AsSpan(j * rows, rows), alone, rows, cols, 1);
                Assert.True(alone.AsSpan().SequenceEqual(xBar.AsSpan(j * cols, cols)), $"TransposedBatch row {j} of {k} differs from the same product alone");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));

    /// <summary>Shapes the panels take: rows a multiple of 8 and cols of 16, at least 128k elements (split over the cores).</summary>
    private static readonly Gen<(int Seed, int Rows, int Cols, int K)> PanelShapes =
        from seed in Gen.Choose(1, 100000)
        from rows in Gen.Elements(272, 384, 512, 520)
        from cols in Gen.Elements(496, 512, 528)
        from k in Gen.OneOf(Gen.Choose(1, 9), Gen.Elements(16, 17))
        select (seed, rows, cols, k);

    /// <summary>
    /// The packed layout changes where W is read from, not the arithmetic: all three products give the row-major
    /// bits, whether the panels start on a cache line or not.
    /// </summary>
    [Fact]
    public void PanelsGiveTheBitsOfTheRowMajorLayout() =>
        Prop.ForAll(PanelShapes.ToArbitrary(), Gen.Elements(0, 3).ToArbitrary(), (s, shift) =>
        {
            var (seed, rows, cols, k) = s;
            Assert.True(RowGemv.PacksWell(rows, cols) || !System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated);
            if (!RowGemv.PacksWell(rows, cols)) return;
            var rng = new System.Random(seed);
            var w = Random(rng, rows * cols); var b = Random(rng, rows); var x = Random(rng, k * cols); var g = Random(rng, k * rows);
            var panels = new float[rows * cols + shift].AsSpan(shift);
            RowGemv.Pack(w, rows, cols, panels);

            var plain = new float[k * rows]; var packed = new float[k * rows];
            RowGemv.ForwardBatch(w, b, x, plain, rows, cols, k);
            RowGemv.ForwardBatch(w, b, x, packed, rows, cols, k, panels);
            Assert.True(plain.AsSpan().SequenceEqual(packed), $"ForwardBatch {rows}×{cols}, k {k}: panels differ from row-major");
            RowGemv.Forward(w, b, x.AsSpan(0, cols), plain.AsSpan(0, rows), rows, cols);
            RowGemv.Forward(w, b, x.AsSpan(0, cols), packed.AsSpan(0, rows), rows, cols, panels);
            Assert.True(plain.AsSpan(0, rows).SequenceEqual(packed.AsSpan(0, rows)), $"Forward {rows}×{cols}: panels differ from row-major");

            var plainBar = new float[k * cols]; var packedBar = new float[k * cols];
            RowGemv.TransposedBatch(w, g, plainBar, rows, cols, k);
            RowGemv.TransposedBatch(w, g, packedBar, rows, cols, k, panels);
            Assert.True(plainBar.AsSpan().SequenceEqual(packedBar), $"TransposedBatch {rows}×{cols}, k {k}: panels differ from row-major");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(25));

    [Fact]
    public void PackAndPanelsRejectShapesTheyDoNotCover()
    {
        var w = new float[100 * 512];
        var ex = Assert.Throws<ArgumentException>(() => RowGemv.Pack(w, 100, 512, new float[100 * 512]));
        Assert.Contains("100×512", ex.Message);
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return;
        var big = new float[512 * 512];
        var ex2 = Assert.Throws<ArgumentException>(() => RowGemv.Forward(big, default, new float[512], new float[512], 512, 512, new float[10]));
        Assert.Contains("512×512", ex2.Message);
    }
}
