using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests;

public class BinaryOpTests
{
    public static TheoryData<BinaryOp, DType> AllOps()
    {
        var data = new TheoryData<BinaryOp, DType>();
        foreach (var op in Enum.GetValues<BinaryOp>())
        {
            data.Add(op, DType.Float32);
            data.Add(op, DType.Float64);
        }
        return data;
    }

    private static bool IsComparison(BinaryOp op) => op >= BinaryOp.Equal;

    private static (double[] A, double[] B) Values(BinaryOp op, Shape sa, Shape sb, int seed)
    {
        double[] a = Gens.Data(sa, seed), b = Gens.Data(sb, seed + 1);
        if (op == BinaryOp.Pow) a = Gens.Data(sa, seed, 0.2, 3);
        if (op == BinaryOp.Div)
        {
            b = Gens.Data(sb, seed + 1, 0.2, 3);
            for (int i = 0; i < b.Length; i += 2) b[i] = -b[i];
        }
        if (IsComparison(op) || op is BinaryOp.Max or BinaryOp.Min)
        {
            ElemProps.Quantize(a);
            ElemProps.Quantize(b);
        }
        return (a, b);
    }

    /// <summary>A dense tensor, or the same values behind a transposed or sliced view.</summary>
    private static Tensor Make(Shape shape, double[] values, DType dtype, int layout) =>
        layout == 0 ? Tensor.FromDoubles(values, shape, dtype) : ElemRef.Strided(shape, values, dtype, layout == 2);

    [Theory]
    [MemberData(nameof(AllOps))]
    public void EveryBinaryOpBroadcastsLikeNaive(BinaryOp op, DType dtype)
    {
        var gen = from pair in Gens.BroadcastablePair(4, 2000)
                  from seed in Gens.Seed
                  from layoutA in Gen.Choose(0, 2)
                  from layoutB in Gen.Choose(0, 2)
                  select (pair.A, pair.B, seed, layoutA, layoutB);
        ElemProps.Check(gen, c =>
        {
            var (va, vb) = Values(op, c.A, c.B, c.seed);
            using var a = Make(c.A, va, dtype, c.layoutA);
            using var b = Make(c.B, vb, dtype, c.layoutB);
            var shape = Broadcast.Shapes("test", c.A, c.B);
            using var y = Ops.Binary(op, a, b);
            Assert.Equal(shape, y.Shape);
            var expected = ElemRef.Binary(op, a.ToDoubleArray(), c.A, b.ToDoubleArray(), c.B, shape);
            Close.Assert(expected, y.ToDoubleArray(), Close.For(dtype), $"{op} {c.A} {c.B} layouts {c.layoutA}/{c.layoutB}");
        }, 25);
    }

    [Fact]
    public void ScalarAndRowBroadcastFastPathsMatchNaive()
    {
        var m = new Shape(37, 129);
        var va = Gens.Data(m, 1);
        using var a = Tensor.FromDoubles(va, m, DType.Float32);
        using var bias = Gens.Tensor(new Shape(129), 2, DType.Float32);
        using var column = Gens.Tensor(new Shape(37, 1), 3, DType.Float32);
        using var scalar = Tensor.Scalar(1.25, DType.Float32);
        foreach (var (other, what) in new[] { (bias, "row"), (column, "column"), (scalar, "scalar") })
        {
            foreach (var op in new[] { BinaryOp.Add, BinaryOp.Sub, BinaryOp.Mul, BinaryOp.Max })
            {
                using var y = Ops.Binary(op, a, other);
                using var z = Ops.Binary(op, other, a);
                var ya = a.ToDoubleArray();
                var yb = other.ToDoubleArray();
                Close.Assert(ElemRef.Binary(op, ya, m, yb, other.Shape, m), y.ToDoubleArray(), 2e-6, $"{op} a,{what}");
                Close.Assert(ElemRef.Binary(op, yb, other.Shape, ya, m, m), z.ToDoubleArray(), 2e-6, $"{op} {what},a");
            }
        }
    }

    [Fact]
    public void LargeBroadcastRunsInParallelAndMatches()
    {
        var m = new Shape(400, 300);
        using var a = Gens.Tensor(m, 4);
        using var bias = Gens.Tensor(new Shape(300), 5);
        using var y = Ops.Add(a, bias);
        using var at = a.Transpose(0, 1);
        using var b2 = Gens.Tensor(new Shape(300, 400), 6);
        using var z = Ops.Mul(at, b2);
        Close.Assert(ElemRef.Binary(BinaryOp.Add, a.ToDoubleArray(), m, bias.ToDoubleArray(), bias.Shape, m), y.ToDoubleArray(), 1e-12);
        var ztShape = new Shape(300, 400);
        Close.Assert(ElemRef.Binary(BinaryOp.Mul, at.ToDoubleArray(), ztShape, b2.ToDoubleArray(), ztShape, ztShape), z.ToDoubleArray(), 1e-12);
    }

    [Fact]
    public void ComparisonsGiveOneOrZeroInTheOperandDType()
    {
        using var a = Tensor.FromDoubles([1, 2, 3, double.NaN], new Shape(4), DType.Float32);
        using var b = Tensor.FromDoubles([2, 2, 2, 2], new Shape(4), DType.Float32);
        using var gt = Ops.Greater(a, b);
        using var ge = Ops.GreaterEqual(a, b);
        using var lt = Ops.Less(a, b);
        using var le = Ops.LessEqual(a, b);
        using var eq = Ops.Equal(a, b);
        using var ne = Ops.NotEqual(a, b);
        Assert.Equal(DType.Float32, gt.DType);
        Assert.Equal([0, 0, 1, 0], gt.ToDoubleArray());
        Assert.Equal([0, 1, 1, 0], ge.ToDoubleArray());
        Assert.Equal([1, 0, 0, 0], lt.ToDoubleArray());
        Assert.Equal([1, 1, 0, 0], le.ToDoubleArray());
        Assert.Equal([0, 1, 0, 0], eq.ToDoubleArray());
        Assert.Equal([1, 0, 1, 1], ne.ToDoubleArray());
    }

    [Fact]
    public void WhereBroadcastsAllThreeOperands()
    {
        var gen = from pair in Gens.BroadcastablePair(3, 1500)
                  from condFrom in Gen.Choose(0, 2)
                  from seed in Gens.Seed
                  from dtype in Gen.Elements(DType.Float32, DType.Float64)
                  from strided in Gen.Elements(false, true)
                  select (pair.A, pair.B, condFrom, seed, dtype, strided);
        ElemProps.Check(gen, c =>
        {
            var condShape = c.condFrom == 0 ? c.A : c.condFrom == 1 ? c.B : Shape.Scalar;
            var vc = Gens.Data(condShape, c.seed).Select(v => v < -0.7 ? 0.0 : v < 0.5 ? -2 : 1).ToArray();
            using var cond = Tensor.FromDoubles(vc, condShape, c.dtype);
            using var a = c.strided ? ElemRef.Strided(c.A, Gens.Data(c.A, c.seed + 1), c.dtype, true) : Gens.Tensor(c.A, c.seed + 1, c.dtype);
            using var b = Gens.Tensor(c.B, c.seed + 2, c.dtype);
            using var y = Ops.Where(cond, a, b);
            var shape = Broadcast.Shapes("test", condShape, c.A, c.B);
            Assert.Equal(shape, y.Shape);
            double[] ca = cond.ToDoubleArray(), aa = a.ToDoubleArray(), ba = b.ToDoubleArray();
            var expected = new double[shape.Length];
            for (int i = 0; i < expected.Length; i++)
            {
                var index = ElemRef.Unravel(i, shape);
                expected[i] = ca[ElemRef.BroadcastIndex(index, condShape)] != 0
                    ? aa[ElemRef.BroadcastIndex(index, c.A)] : ba[ElemRef.BroadcastIndex(index, c.B)];
            }
            Assert.Equal(expected, y.ToDoubleArray());
        }, 40);
    }

    [Fact]
    public void WhereAcceptsAnInt32Mask()
    {
        using var mask = Tensor.FromArray(new[] { 1, 0, 3 });
        using var a = Tensor.FromDoubles([1, 2, 3], new Shape(3), DType.Float64);
        using var b = Tensor.FromDoubles([-1, -2, -3], new Shape(3), DType.Float64);
        using var y = Ops.Where(mask, a, b);
        Assert.Equal([1, -2, 3], y.ToDoubleArray());
    }

    [Fact]
    public void ResultOverloadAndAddInPlaceAccumulate()
    {
        using var a = Tensor.FromDoubles([1, 2, 3, 4, 5, 6], new Shape(2, 3), DType.Float64);
        using var row = Tensor.FromDoubles([10, 20, 30], new Shape(3), DType.Float64);
        Ops.Binary(BinaryOp.Add, a, row, a);
        Assert.Equal([11, 22, 33, 14, 25, 36], a.ToDoubleArray());
        Ops.AddInPlace(a, row, -0.5);
        Assert.Equal([6, 12, 18, 9, 15, 21], a.ToDoubleArray());
        using var same = Tensor.FromDoubles([1, 1, 1, 1, 1, 1], new Shape(2, 3), DType.Float64);
        Ops.AddInPlace(a, same, 2);
        Assert.Equal([8, 14, 20, 11, 17, 23], a.ToDoubleArray());
        Ops.AddInPlace(a, row);
        Assert.Equal([18, 34, 50, 21, 37, 53], a.ToDoubleArray());
        using var narrow = a.Narrow(1, 0, 2); // a strided target is refused
        Assert.Throws<ArgumentException>(() => Ops.AddInPlace(narrow, same.Narrow(1, 0, 2)));
    }

    [Fact]
    public void AddInPlacePropertyMatchesNaive()
    {
        var gen = from pair in Gens.BroadcastablePair(3, 1500)
                  from seed in Gens.Seed
                  from scale in Gen.Elements(1.0, -0.5, 3.0)
                  select (pair.A, pair.B, seed, scale);
        ElemProps.Check(gen, c =>
        {
            var full = Broadcast.Shapes("test", c.A, c.B);
            using var target = Gens.Tensor(full, c.seed);
            using var source = Gens.Tensor(c.B, c.seed + 1);
            var before = target.ToDoubleArray();
            var src = source.ToDoubleArray();
            Ops.AddInPlace(target, source, c.scale);
            var expected = new double[before.Length];
            for (int i = 0; i < expected.Length; i++)
                expected[i] = before[i] + c.scale * src[ElemRef.BroadcastIndex(ElemRef.Unravel(i, full), c.B)];
            Close.Assert(expected, target.ToDoubleArray(), 1e-12);
        }, 30);
    }
}
