using System.Runtime.Intrinsics;

namespace DiffTori.TrajOpt;

/// <summary>Products of a Riccati step shared by the lane-batched sweeps (eight examples per Vector512, one control).</summary>
internal static class LaneRiccati
{
    /// <summary>Vxx·A [n×n] and Vxx·B [n] of the value Hessian with the step's dynamics Jacobians; the order of the sums fixes the rounding both sweeps rely on.</summary>
    public static void ValueTimesDynamics(Vector512<double>[] vxx, Vector512<double>[] a, Vector512<double>[] bv,
        Vector512<double>[] vxxA, Vector512<double>[] vxxB, int n)
    {
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                var acc = Vector512<double>.Zero;
                for (int s = 0; s < n; s++) acc += vxx[i * n + s] * a[s * n + j];
                vxxA[i * n + j] = acc;
            }
            var accB = Vector512<double>.Zero;
            for (int s = 0; s < n; s++) accB += vxx[i * n + s] * bv[s];
            vxxB[i] = accB;
        }
    }
}
