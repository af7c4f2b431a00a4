using System.Runtime.Intrinsics;

namespace DiffTori.TrajOpt.Examples;

// The closed-form cart-pole for eight examples at once (one per Vector512 lane), same expressions as the scalar
// Step/Stage/Terminal in the same order, so only sin/cos may round differently.
public static partial class CartPole
{
    private sealed partial class Dynamics : IAnalyticDynamicsLanes
    {
        public void StepLanes(ReadOnlySpan<Vector512<double>> x, ReadOnlySpan<Vector512<double>> u, Span<Vector512<double>> next)
        {
            const double M = Mc + Mp, Ml = Mp * L, Kx = Mp * L / (Mc + Mp), Kd = Mp / (Mc + Mp);
            var vel = x[1]; var th = x[2]; var w = x[3];
            var (s, c) = Vector512.SinCos(th);
            var temp = (u[0] + Ml * (w * w) * s) / Vector512.Create(M);
            var den = L * (Vector512.Create(4.0 / 3.0) - Kd * (c * c));
            var num = G * s - c * temp;
            var thAcc = num / den;
            var xAcc = temp - Kx * thAcc * c;
            next[0] = x[0] + Dt * vel; next[1] = vel + Dt * xAcc; next[2] = th + Dt * w; next[3] = w + Dt * thAcc;
        }
    }

    private sealed partial class QuadraticCost : IAnalyticCostLanes
    {
        public Vector512<double> StageLanes(int t, ReadOnlySpan<Vector512<double>> x, ReadOnlySpan<Vector512<double>> u)
        {
            var v = R * u[0] * u[0];
            for (int i = 0; i < 4; i++) v += 0.5 * Q[i] * x[i] * x[i];
            return v;
        }

        public Vector512<double> TerminalLanes(ReadOnlySpan<Vector512<double>> x)
        {
            var v = Vector512<double>.Zero;
            for (int i = 0; i < 4; i++) v += 0.5 * CartPole.Terminal * Q[i] * x[i] * x[i];
            return v;
        }
    }
}
