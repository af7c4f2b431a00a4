using DiffTori.Engine;

namespace DiffTori.Engine.Tests;

/// <summary>Argument errors, NumericCheck, and the zero-allocation promise of the result overloads.</summary>
public class ElementwiseContractTests
{
    [Fact]
    public void BroadcastErrorNamesTheOpAndBothShapes()
    {
        using var a = Tensor.Zeros(new Shape(2, 3));
        using var b = Tensor.Zeros(new Shape(4));
        var e = Assert.Throws<TensorShapeException>(() => Ops.Add(a, b));
        Assert.Contains("add", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4]", e.Message);
        var m = Assert.Throws<TensorShapeException>(() => Ops.Mul(b, a));
        Assert.Contains("mul", m.Message);
        var w = Assert.Throws<TensorShapeException>(() => Ops.Where(a, a, b));
        Assert.Contains("where", w.Message);
    }

    [Fact]
    public void DTypeDeviceAndDestinationErrorsNameTheOp()
    {
        using var f = Tensor.Zeros(new Shape(3), DType.Float32);
        using var d = Tensor.Zeros(new Shape(3), DType.Float64);
        using var i = Tensor.Zeros(new Shape(3), DType.Int32);
        Assert.Contains("sub", Assert.Throws<ArgumentException>(() => Ops.Sub(f, d)).Message);
        Assert.Contains("exp", Assert.Throws<ArgumentException>(() => Ops.Exp(i)).Message);
        using var wrong = Tensor.Zeros(new Shape(4), DType.Float32);
        var e = Assert.Throws<TensorShapeException>(() => Ops.Unary(UnaryOp.Tanh, f, wrong));
        Assert.Contains("tanh", e.Message);
        Assert.Contains("[4]", e.Message);
        Assert.Contains("add_", Assert.Throws<TensorShapeException>(() => Ops.AddInPlace(f, Tensor.Zeros(new Shape(2, 3)))).Message);
    }

    [Fact]
    public void NumericCheckNamesLogForTheLogOfANegativeNumber()
    {
        using var x = Tensor.FromDoubles([1, -1], new Shape(2), DType.Float32);
        using (NumericCheck.Scope())
        {
            var e = Assert.Throws<NonFiniteException>(() => Ops.Log(x));
            Assert.StartsWith("log", e.Message);
            using var ok = Ops.Exp(x);
        }
        using var unchecked_ = Ops.Log(x); // off again: NaN comes back quietly
        Assert.True(double.IsNaN(unchecked_.ToDoubleArray()[1]));
    }

    [Fact]
    public void NumericCheckScopeCoversItsOwnThreadOnly()
    {
        using var x = Tensor.FromDoubles([1, -1], new Shape(2), DType.Float32);
        using (NumericCheck.Scope())
        {
            // Another thread's ops (a test running beside this one) are not checked...
            bool otherGotNaN = false;
            var other = new Thread(() =>
            {
                try { using var y = Ops.Log(x); otherGotNaN = double.IsNaN(y.ToDoubleArray()[1]); }
                catch (NonFiniteException) { } // the scope leaked to this thread: otherGotNaN stays false
            });
            other.Start();
            other.Join();
            Assert.True(otherGotNaN);
            // ...while this thread's are, also inside a nested scope and after it closes.
            using (NumericCheck.Scope()) Assert.Throws<NonFiniteException>(() => Ops.Log(x));
            Assert.Throws<NonFiniteException>(() => Ops.Log(x));
        }
        using var quiet = Ops.Log(x);
        Assert.True(double.IsNaN(quiet.ToDoubleArray()[1]));
    }

    [Fact]
    public void ResultOverloadsAllocateNothingInSteadyState()
    {
        using var a = Gens.Tensor(new Shape(17, 33), 1, DType.Float32);
        using var b = Gens.Tensor(new Shape(17, 33), 2, DType.Float32);
        using var bias = Gens.Tensor(new Shape(33), 3, DType.Float32);
        using var y = Tensor.Empty(new Shape(17, 33), DType.Float32);
        using var at = Gens.Tensor(new Shape(33, 17), 4, DType.Float32);
        using var t = at.Transpose(0, 1);

        void Work()
        {
            Ops.Add(a, b, y);
            Ops.Binary(BinaryOp.Mul, a, bias, y);
            Ops.Binary(BinaryOp.Greater, t, b, y);
            Ops.Unary(UnaryOp.Tanh, a, y);
            Ops.Unary(UnaryOp.Mish, t, y);
            Ops.Unary(UnaryOp.Softplus, a, y, 1, 20);
            Ops.Sigmoid(a, y);
            Ops.AddInPlace(y, b, 0.5);
            Ops.AddInPlace(y, bias);
            Ops.AddInPlace(y, bias, -0.25);
        }

        Assert.Equal(0, SteadyStateAllocation.AllocatedBy(Work, calls: 100));
    }
}
