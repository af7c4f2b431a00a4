using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests;

/// <summary>Runs an FsCheck property with a modest number of cases, throwing on the first counterexample.</summary>
public static class ElemProps
{
    public static void Check<T>(Gen<T> gen, Action<T> body, int maxTest = 30) =>
        Prop.ForAll(gen.ToArbitrary(), body).Check(Config.QuickThrowOnFailure.WithMaxTest(maxTest));

    /// <summary>Round to multiples of 0.5 so that comparisons and arg-reductions meet exact ties.</summary>
    public static double[] Quantize(double[] values)
    {
        for (int i = 0; i < values.Length; i++) values[i] = Math.Round(values[i] * 2) / 2;
        return values;
    }
}
