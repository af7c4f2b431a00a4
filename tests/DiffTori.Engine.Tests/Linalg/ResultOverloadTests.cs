using DiffTori.Engine;

namespace DiffTori.Engine.Tests;

/// <summary>The allocation-free forms give the allocating forms' numbers and allocate nothing in steady state.</summary>
public class ResultOverloadTests
{
    [Theory]
    [InlineData(DType.Float64, 6)]
    [InlineData(DType.Float32, 17)]
    public void ResultFormsMatchAndAllocateNothing(DType dtype, int n)
    {
        int batch = 5, k = 3;
        var random = new System.Random(n);
        using var a = Tensor.FromDoubles(MatrixRef.Spd(batch, n, random), new Shape(batch, n, n), dtype);
        using var b = Tensor.FromDoubles(MatrixRef.Random(batch * n * k, random), new Shape(batch, n, k), dtype);
        using var l = Tensor.Empty(a.Shape, dtype);
        using var lu = Tensor.Empty(a.Shape, dtype);
        using var info = Tensor.Empty(new Shape(batch), DType.Int32);
        using var pivots = Tensor.Empty(new Shape(batch, n), DType.Int32);
        using var x = Tensor.Empty(b.Shape, dtype);
        using var y = Tensor.Empty(b.Shape, dtype);
        using var z = Tensor.Empty(b.Shape, dtype);

        void All()
        {
            Ops.Cholesky(a, l, info);
            Ops.CholeskySolve(l, b, x);
            Ops.TriangularSolve(l, b, y, lower: true, transposeA: true);
            Ops.LuFactor(a, lu, pivots, info);
            Ops.LuSolve(lu, pivots, b, z);
        }

        Assert.Equal(0, SteadyStateAllocation.AllocatedBy(All, calls: 10));

        using var l2 = Ops.Cholesky(a);
        using var x2 = Ops.CholeskySolve(l2, b);
        using var y2 = Ops.TriangularSolve(l2, b, lower: true, transposeA: true);
        using var z2 = Ops.Solve(a, b);
        Assert.Equal(l2.ToDoubleArray(), l.ToDoubleArray());
        Assert.Equal(x2.ToDoubleArray(), x.ToDoubleArray());
        Assert.Equal(y2.ToDoubleArray(), y.ToDoubleArray());
        Assert.Equal(z2.ToDoubleArray(), z.ToDoubleArray());

        // In place: the right-hand side may be the result.
        using var inPlace = b.Clone();
        Ops.CholeskySolve(l, inPlace, inPlace);
        Assert.Equal(x.ToDoubleArray(), inPlace.ToDoubleArray());
    }

    [Fact]
    public void ResultFormsCheckShapes()
    {
        using var a = Tensor.Zeros(new Shape(2, 3, 3));
        using var wrong = Tensor.Zeros(new Shape(2, 3, 2));
        using var info = Tensor.Zeros(new Shape(2), DType.Int32);
        Assert.Contains("cholesky", Assert.Throws<TensorShapeException>(() => Ops.Cholesky(a, wrong, info)).Message);
        using var single = Tensor.Zeros(new Shape(3, 3));
        Assert.Contains("rank 3", Assert.Throws<TensorShapeException>(() => Ops.Cholesky(single, single, info)).Message);
        using var b = Tensor.Zeros(new Shape(3, 3, 1));
        var e = Assert.Throws<TensorShapeException>(() => Ops.TriangularSolve(a, b, b, lower: true));
        Assert.Contains("[3, 3, 1]", e.Message);
        Assert.Contains("[2, 3, 3]", e.Message);
    }
}
