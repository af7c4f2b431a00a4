using DiffTori.Engine;

namespace DiffTori.Engine.Tests.Matmul;

/// <summary>
/// Ops.Linear on the shapes of a small MLP: batch 1 (the matrix-vector dot kernel, W rows contiguous),
/// a few rows, and batch 512 (the packed GEMM), against a float64 naive x·Wᵀ + b.
/// </summary>
public class LinearGemvTests
{
    [Theory]
    [InlineData(1, 512, 512)]
    [InlineData(1, 56, 512)]
    [InlineData(1, 512, 50)]
    [InlineData(1, 7, 5)]     // K below one vector: scalar tail only
    [InlineData(1, 17, 3)]    // a masked last vector, N not a multiple of four
    [InlineData(1, 4099, 37)] // large weight: outputs split between threads, uneven parts
    [InlineData(3, 56, 50)]
    [InlineData(4, 33, 9)]
    [InlineData(512, 56, 512)]
    [InlineData(512, 512, 50)]
    public void LinearMatchesNaive(int rows, int inFeatures, int outFeatures)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        foreach (bool withBias in new[] { true, false })
        {
            var random = new System.Random(rows * 1000 + inFeatures + outFeatures);
            double[] Data(int n) => Enumerable.Range(0, n).Select(_ => random.NextDouble() * 2 - 1).ToArray();
            var xs = Data(rows * inFeatures);
            var ws = Data(outFeatures * inFeatures);
            var bs = Data(outFeatures);
            using var x = Tensor.FromDoubles(xs, new Shape(rows, inFeatures)).Cast(dtype);
            using var w = Tensor.FromDoubles(ws, new Shape(outFeatures, inFeatures)).Cast(dtype);
            using var b = Tensor.FromDoubles(bs, new Shape(outFeatures)).Cast(dtype);
            using var y = Ops.Linear(x, w, withBias ? b : null);
            Assert.Equal(new Shape(rows, outFeatures), y.Shape);

            // Compare against the inputs as stored (float32-rounded for float32), errors scaled by Σ|x||w|.
            var xr = x.ToDoubleArray();
            var wr = w.ToDoubleArray();
            var br = b.ToDoubleArray();
            var got = y.ToDoubleArray();
            double eps = dtype == DType.Float32 ? 1e-6 : 1e-14;
            for (int i = 0; i < rows; i++)
            for (int j = 0; j < outFeatures; j++)
            {
                double sum = withBias ? br[j] : 0, scale = withBias ? Math.Abs(br[j]) : 0;
                for (int p = 0; p < inFeatures; p++)
                {
                    sum += xr[i * inFeatures + p] * wr[j * inFeatures + p];
                    scale += Math.Abs(xr[i * inFeatures + p] * wr[j * inFeatures + p]);
                }
                double error = Math.Abs(got[i * outFeatures + j] - sum);
                Assert.True(error <= eps * (scale + 1),
                    $"linear {dtype} [{rows},{inFeatures}]->{outFeatures} bias={withBias}: y[{i},{j}] = {got[i * outFeatures + j]:R}, expected {sum:R}");
            }
        }
    }

    [Fact]
    public void BatchOneLinearIntoResultAllocatesNothing()
    {
        // The GEMV behind Linear, through the allocation-free Matmul overload: y = x·Wᵀ (+ y).
        using var x = Tensor.Ones(new Shape(1, 512));
        using var w = Tensor.Ones(new Shape(512, 512));
        using var y = Tensor.Zeros(new Shape(1, 512));
        Assert.Equal(0, SteadyStateAllocation.AllocatedBy(() => Ops.Matmul(x, w, y, transB: true, beta: 1)));

        Ops.Matmul(x, w, y, transB: true);
        for (int i = 0; i < 20; i++) Ops.Matmul(x, w, y, transB: true, beta: 1);
        Assert.All(y.ToArray<float>(), v => Assert.Equal(512f * 21, v));
    }
}
