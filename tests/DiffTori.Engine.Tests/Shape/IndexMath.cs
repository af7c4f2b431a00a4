using DiffTori.Engine;

namespace DiffTori.Engine.Tests;

/// <summary>Index arithmetic done the slow, obvious way, as the reference for data-movement tests.</summary>
internal static class IndexMath
{
    public static int[] Unravel(int flat, int[] dims)
    {
        var index = new int[dims.Length];
        for (int a = dims.Length - 1; a >= 0; a--)
        {
            index[a] = flat % dims[a];
            flat /= dims[a];
        }
        return index;
    }

    public static int Ravel(int[] index, int[] dims)
    {
        int flat = 0;
        for (int a = 0; a < dims.Length; a++) flat = flat * dims[a] + index[a];
        return flat;
    }

    public static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>Random ints in [0, n) (n ≥ 1), reproducible from a seed.</summary>
    public static int[] Indices(int count, int n, int seed)
    {
        var random = new System.Random(seed);
        var result = new int[count];
        for (int i = 0; i < count; i++) result[i] = random.Next(n);
        return result;
    }
}
