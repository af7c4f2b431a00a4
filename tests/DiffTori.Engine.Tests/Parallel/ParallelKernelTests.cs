using DiffTori.Engine;

namespace DiffTori.Engine.Tests.Parallel;

/// <summary>
/// Large elementwise, reduction and softmax calls run on the persistent CPU worker pool: they must allocate
/// nothing in steady state, and split across threads they must give exactly the serial kernel's values.
/// </summary>
public class ParallelKernelTests
{
    // Above Parallelism.MinElements, so every call below takes the parallel branch.
    private const int Rows = 512, Cols = 512, N = 1 << 20;

    private static Tensor Random(Shape shape, int seed, DType dtype)
    {
        var random = new System.Random(seed);
        var data = new double[shape.Length];
        for (int i = 0; i < data.Length; i++) data[i] = random.NextDouble() * 6 - 3;
        return Tensor.FromDoubles(data, shape).Cast(dtype);
    }

    private static long AllocatedBy(Action work) => SteadyStateAllocation.AllocatedBy(work);

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void LargeResultOverloadsAllocateNothing(DType dtype)
    {
        using var a = Random(new Shape(N), 1, dtype);
        using var b = Random(new Shape(N), 2, dtype);
        using var y = Tensor.Empty(new Shape(N), dtype);
        using var m = Random(new Shape(Rows, Cols), 3, dtype);
        using var mt = m.Transpose(0, 1);
        using var bias = Random(new Shape(Cols), 4, dtype);
        using var sm = Tensor.Empty(new Shape(Rows, Cols), dtype);
        using var sums = Tensor.Empty(new Shape(Rows), dtype);
        using var colSums = Tensor.Empty(new Shape(Cols), dtype);
        var backend = m.Device.Backend;

        Assert.Equal(0, AllocatedBy(() => Ops.Add(a, b, y)));
        Assert.Equal(0, AllocatedBy(() => Ops.Tanh(a, y)));
        Assert.Equal(0, AllocatedBy(() => Ops.Unary(UnaryOp.Exp, mt, sm)));            // strided rows
        Assert.Equal(0, AllocatedBy(() => Ops.Binary(BinaryOp.Mul, m, bias, sm)));      // broadcast rows
        Assert.Equal(0, AllocatedBy(() => backend.Softmax(m, Rows, Cols, 1, sm, log: false)));
        Assert.Equal(0, AllocatedBy(() => backend.Softmax(m, Rows, Cols, 1, sm, log: true)));
        Assert.Equal(0, AllocatedBy(() => backend.Reduce(ReduceOp.Sum, m, Rows, Cols, 1, sums, 0)));
        Assert.Equal(0, AllocatedBy(() => backend.Reduce(ReduceOp.Sum, m, 1, Rows, Cols, colSums, 0)));
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void ParallelElementwiseEqualsSerialKernel(DType dtype)
    {
        if (dtype == DType.Float32) ElementwiseCase<float>(dtype);
        else ElementwiseCase<double>(dtype);
    }

    private static void ElementwiseCase<T>(DType dtype) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        using var a = Random(new Shape(N), 5, dtype);
        using var b = Random(new Shape(N), 6, dtype);
        using var y = Tensor.Empty(new Shape(N), dtype);
        var expected = new T[N];

        Ops.Add(a, b, y);
        BinarySpan.Apply<T>(BinaryOp.Add, a.AsSpan<T>(), b.AsSpan<T>(), expected, false, false);
        Assert.Equal(expected, y.ToArray<T>());

        Ops.Tanh(a, y);
        UnarySpan.Apply<T>(UnaryOp.Tanh, a.AsSpan<T>(), expected, 0, 0);
        Assert.Equal(expected, y.ToArray<T>());

        // Strided (transposed) input: the row-wise parallel path against the flat serial kernel on a dense copy.
        using var m = Random(new Shape(Rows, Cols), 7, dtype);
        using var mt = m.Transpose(0, 1);
        using var dense = mt.Contiguous();
        using var ym = Tensor.Empty(new Shape(Cols, Rows), dtype);
        Ops.Unary(UnaryOp.Silu, mt, ym);
        var silu = new T[Rows * Cols];
        UnarySpan.Apply<T>(UnaryOp.Silu, dense.AsSpan<T>(), silu, 0, 0);
        Assert.Equal(silu, ym.ToArray<T>());
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void ParallelSoftmaxAndSumEqualSerialKernels(DType dtype)
    {
        if (dtype == DType.Float32) ReductionCase<float>(dtype);
        else ReductionCase<double>(dtype);
    }

    private static void ReductionCase<T>(DType dtype) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        using var m = Random(new Shape(Rows, Cols), 8, dtype);
        var x = m.ToArray<T>();
        foreach (bool log in new[] { false, true })
        {
            using var y = log ? Ops.LogSoftmax(m, -1) : Ops.Softmax(m, -1);
            var expected = new T[x.Length];
            for (int r = 0; r < Rows; r++) SoftmaxKernels.Row<T>(x.AsSpan(r * Cols, Cols), expected.AsSpan(r * Cols, Cols), log);
            Assert.Equal(expected, y.ToArray<T>());
        }

        using var rowSums = Ops.Sum(m, [1]);
        var sums = new T[Rows];
        for (int r = 0; r < Rows; r++) ReduceKernels.Row(ReduceOp.Sum, x.AsSpan(r * Cols, Cols), sums, [], r, 0);
        Assert.Equal(sums, rowSums.ToArray<T>());

        using var colSums = Ops.Sum(m, [0]);
        var cols = new T[Cols];
        for (int c0 = 0; c0 < Cols; c0 += ReduceKernels.Columns)
            ReduceKernels.Block<T>(ReduceOp.Sum, x, Rows, Cols, 0, c0, Math.Min(ReduceKernels.Columns, Cols - c0), cols, [], 0);
        Assert.Equal(cols, colSums.ToArray<T>());
    }

    [Fact]
    public void SoftmaxMatchesFloat64ReferenceOnLargeRows()
    {
        using var m = Random(new Shape(Rows, Cols), 9, DType.Float32);
        var x = m.ToDoubleArray();
        using var y = Ops.Softmax(m, -1);
        using var ly = Ops.LogSoftmax(m, -1);
        var expected = new double[x.Length];
        var expectedLog = new double[x.Length];
        for (int r = 0; r < Rows; r++)
        {
            var row = x.AsSpan(r * Cols, Cols);
            double max = double.NegativeInfinity, sum = 0;
            foreach (double v in row) max = Math.Max(max, v);
            foreach (double v in row) sum += Math.Exp(v - max);
            for (int c = 0; c < Cols; c++)
            {
                expected[r * Cols + c] = Math.Exp(row[c] - max) / sum;
                expectedLog[r * Cols + c] = row[c] - max - Math.Log(sum);
            }
        }
        var got = y.ToDoubleArray();
        for (int i = 0; i < got.Length; i++)
            Assert.True(Math.Abs(got[i] / expected[i] - 1) < 2e-6, $"softmax[{i}] = {got[i]:R}, expected {expected[i]:R}");
        Close.Assert(expectedLog, ly.ToDoubleArray(), 2e-6, "log_softmax");
    }
}
