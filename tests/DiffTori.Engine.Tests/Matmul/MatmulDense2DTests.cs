using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests.Matmul;

/// <summary>
/// The one-pass path of the result overload Ops.Matmul(a, b, result) for 2-D operands: values against a naive
/// loop over awkward sizes (dense operands, transposed views, transpose flags, alpha/beta, both dtypes), and the
/// same errors as the general path when something does not fit.
/// </summary>
public class MatmulDense2DTests
{
    /// <summary>alpha·op(A)·op(B) + beta·C0 in float64, op(X) read element by element from the logical tensors.</summary>
    private static double[] Naive(double[,] opA, double[,] opB, double[] c0, double alpha, double beta)
    {
        int m = opA.GetLength(0), k = opA.GetLength(1), n = opB.GetLength(1);
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += opA[i, p] * opB[p, j];
                c[i * n + j] = alpha * s + (beta == 0 ? 0 : beta * c0[i * n + j]);
            }
        return c;
    }

    /// <summary>op(x) as a 2-D array: x itself, or its transpose when the op flag is set.</summary>
    private static double[,] Op(Tensor x, bool transpose)
    {
        var v = x.ToDoubleArray();
        int r = x.Shape[0], c = x.Shape[1];
        var o = transpose ? new double[c, r] : new double[r, c];
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++)
                if (transpose) o[j, i] = v[i * c + j]; else o[i, j] = v[i * c + j];
        return o;
    }

    /// <summary>An r×c operand, either dense or a transposed view of a dense c×r matrix.</summary>
    private static Tensor Operand(int r, int c, bool asView, int seed, DType dtype)
    {
        if (!asView) return Gens.Tensor(new Shape(r, c), seed, dtype);
        using var dense = Gens.Tensor(new Shape(c, r), seed, dtype);
        return dense.MT;
    }

    [Fact]
    public void MatchesNaiveLoopOverAwkwardSizes()
    {
        var extent = Gen.Elements(1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 48, 64, 65);
        var gen =
            from m in extent
            from n in extent
            from k in extent
            from flags in Gen.Choose(0, 15)
            from scale in Gen.Elements((1.0, 0.0), (2.0, 0.5), (-0.5, 1.0))
            from f32 in Gen.Elements(true, false)
            from seed in Gens.Seed
            select (m, n, k, flags, scale, f32, seed);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60), Prop.ForAll(gen.ToArbitrary(), x =>
        {
            var (m, n, k, flags, (alpha, beta), f32, seed) = x;
            bool transA = (flags & 1) != 0, transB = (flags & 2) != 0, viewA = (flags & 4) != 0, viewB = (flags & 8) != 0;
            var dtype = f32 ? DType.Float32 : DType.Float64;
            using var a = Operand(transA ? k : m, transA ? m : k, viewA, seed, dtype);
            using var b = Operand(transB ? n : k, transB ? k : n, viewB, seed + 1, dtype);
            using var c = Gens.Tensor(new Shape(m, n), seed + 2, dtype);
            var c0 = c.ToDoubleArray();
            Ops.Matmul(a, b, c, transA, transB, alpha, beta);
            var expected = Naive(Op(a, transA), Op(b, transB), c0, alpha, beta);
            Close.Assert(expected, c.ToDoubleArray(), f32 ? 1e-4 * Math.Max(1, k) : 1e-11 * Math.Max(1, k), $"{m}x{k}x{n} flags {flags}");
        }));
    }

    [Fact]
    public void StridedOperandsFallBackToTheGeneralPath()
    {
        // A column slice is neither dense nor a transposed dense matrix: the general path copies it.
        using var wide = Gens.Tensor(new Shape(5, 12), 1);
        using var a = wide.Slice(1, 0, 12, 2);
        using var b = Gens.Tensor(new Shape(6, 4), 2);
        using var c = Tensor.Zeros(new Shape(5, 4), DType.Float64);
        Ops.Matmul(a, b, c);
        Close.Assert(Naive(Op(a.Contiguous(), false), Op(b, false), new double[20], 1, 0), c.ToDoubleArray(), 1e-12);
    }

    [Fact]
    public void BadCallsReportTheGeneralPathsErrors()
    {
        using var a = Tensor.Zeros(new Shape(2, 3), DType.Float64);
        using var b = Tensor.Zeros(new Shape(3, 4), DType.Float64);
        using var wrongShape = Tensor.Zeros(new Shape(2, 5), DType.Float64);
        var e = Assert.Throws<TensorShapeException>(() => Ops.Matmul(a, b, wrongShape));
        Assert.Contains("matmul", e.Message);
        Assert.Contains("[2, 4]", e.Message);

        using var inner = Tensor.Zeros(new Shape(4, 4), DType.Float64);
        e = Assert.Throws<TensorShapeException>(() => Ops.Matmul(a, inner, Tensor.Zeros(new Shape(2, 4), DType.Float64)));
        Assert.Contains("inner dimensions differ", e.Message);

        using var f32 = Tensor.Zeros(new Shape(2, 4), DType.Float32);
        var d = Assert.Throws<ArgumentException>(() => Ops.Matmul(a, b, f32));
        Assert.Contains("dtype", d.Message);

        using var big = Tensor.Zeros(new Shape(4, 4), DType.Float64);
        using var strided = big.Slice(1, 0, 4, 2).Slice(0, 0, 2);
        var s = Assert.Throws<ArgumentException>(() => Ops.Matmul(a, Tensor.Zeros(new Shape(3, 2), DType.Float64), strided));
        Assert.Contains("contiguous", s.Message);

        using var ints = Tensor.Zeros(new Shape(2, 3), DType.Int32);
        var i = Assert.Throws<ArgumentException>(() => Ops.Matmul(ints, b, Tensor.Zeros(new Shape(2, 4), DType.Float64)));
        Assert.Contains("float32 or float64", i.Message);

        var disposed = Tensor.Zeros(new Shape(3, 4), DType.Float64);
        disposed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Ops.Matmul(a, disposed, Tensor.Zeros(new Shape(2, 4), DType.Float64)));
    }

    [Fact]
    public void TransposedViewsAllocateNothing()
    {
        using var aDense = Gens.Tensor(new Shape(24, 16), 1, DType.Float32);
        using var at = aDense.MT;
        using var b = Gens.Tensor(new Shape(24, 20), 2, DType.Float32);
        using var c = Tensor.Empty(new Shape(16, 20), DType.Float32);
        for (int i = 0; i < 200; i++) { Ops.Matmul(at, b, c); Ops.Matmul(aDense, b, c, transA: true); }
        Assert.Equal(0, SteadyStateAllocation.AllocatedBy(() => { Ops.Matmul(at, b, c); Ops.Matmul(aDense, b, c, transA: true); }, calls: 100));
    }
}
