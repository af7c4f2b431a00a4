using DiffTori.Engine;

namespace DiffTori.Autodiff.Tests;

/// <summary>Small helpers for building float64 Vars and comparing values in tests.</summary>
internal static class TestData
{
    public static Var Leaf(double[] values, params int[] shape) =>
        new(Tensor.FromDoubles(values, new Shape(shape), DType.Float64), requiresGrad: true);

    public static Var Const(double[] values, params int[] shape) =>
        new(Tensor.FromDoubles(values, new Shape(shape), DType.Float64));

    public static Var Random(int seed, double low, double high, bool requiresGrad, params int[] shape) =>
        new(AutodiffGens.Values(new Shape(shape), seed, low, high), requiresGrad);

    public static void Close(double[] expected, Var actual, double tolerance, string what = "values") =>
        Close(expected, actual.Value.ToDoubleArray(), tolerance, what);

    public static void Close(double[] expected, double[] actual, double tolerance, string what = "values")
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * (1 + Math.Abs(expected[i])),
                $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R}");
    }

    /// <summary>Central finite-difference gradient of a scalar function of one float64 tensor.</summary>
    public static double[] NumericGradient(Func<Var, Var> f, Var x, double eps = 1e-6)
    {
        var data = x.Value.Clone();
        var values = data.CpuArray<double>();
        var probe = new Var(data);
        var grad = new double[x.Length];
        using (Autograd.NoGrad())
        {
            for (int i = 0; i < grad.Length; i++)
            {
                double saved = values[i];
                values[i] = saved + eps;
                double plus = f(probe).Item();
                values[i] = saved - eps;
                double minus = f(probe).Item();
                values[i] = saved;
                grad[i] = (plus - minus) / (2 * eps);
            }
        }
        return grad;
    }
}
