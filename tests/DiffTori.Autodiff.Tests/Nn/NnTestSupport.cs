using DiffTori.Engine;

namespace DiffTori.Autodiff.Tests.Nn;

/// <summary>Naive references and central finite differences (float64) for the layer tests.</summary>
internal static class NnTestSupport
{
    public static Tensor Random(Shape shape, int seed, double scale = 1)
    {
        var r = new Random(seed);
        var v = new double[shape.Length];
        for (int i = 0; i < v.Length; i++) v[i] = (r.NextDouble() * 2 - 1) * scale;
        return Tensor.FromDoubles(v, shape, DType.Float64);
    }

    /// <summary>Overwrite a float64 parameter with reproducible random values (so affine parts are not trivially 1 and 0).</summary>
    public static void Randomize(Var p, int seed) => p.Value.CopyFrom(Random(p.Shape, seed));

    public static void AssertClose(double[] expected, double[] actual, double tol, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])),
                $"{what} element {i}: expected {expected[i]}, got {actual[i]}");
    }

    /// <summary>
    /// Check the backward pass of loss = Σ weights ⊙ f() against central differences for every
    /// element of every input (float64, contiguous), one element at a time.
    /// </summary>
    public static void CheckGradients(Func<Var> f, IReadOnlyList<Var> inputs, int seed, double h = 1e-6, double tol = 1e-6)
    {
        using var probe = f().Value.Clone();
        var weights = new Var(Random(probe.Shape, seed));
        foreach (var x in inputs) x.Grad = null;
        var loss = F.Sum(f() * weights);
        loss.Backward();
        foreach (var x in inputs)
        {
            Assert.NotNull(x.Grad);
            var analytic = x.Grad!.Value.ToDoubleArray();
            var data = x.Value.AsSpan<double>();
            var numeric = new double[data.Length];
            for (int i = 0; i < data.Length; i++)
            {
                double keep = data[i];
                data[i] = keep + h;
                double up = Eval(f, weights);
                data[i] = keep - h;
                double down = Eval(f, weights);
                data[i] = keep;
                numeric[i] = (up - down) / (2 * h);
            }
            AssertClose(numeric, analytic, tol, $"gradient of '{x.Name}'");
        }
    }

    private static double Eval(Func<Var> f, Var weights)
    {
        using (Autograd.NoGrad()) return F.Sum(f() * weights).Item();
    }
}
