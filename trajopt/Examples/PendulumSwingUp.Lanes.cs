using System.Runtime.Intrinsics;

namespace DiffTori.TrajOpt.Examples;

// The closed-form pendulum for eight examples at once (one per Vector512 lane), same expressions as the scalar
// Step/Stage/Terminal in the same order, so only sin/cos may round differently.
public static partial class PendulumSwingUp
{
    private sealed partial class PendulumDynamics : IAnalyticDynamicsLanes
    {
        public void StepLanes(ReadOnlySpan<Vector512<double>> x, ReadOnlySpan<Vector512<double>> u, Span<Vector512<double>> next)
        {
            const double dt = 0.05, ga = 15, gb = 3;
            var c = x[0]; var s = x[1]; var w = x[2];
            var w1 = w + dt * (ga * s + gb * u[0]);
            var (sp, cp) = Vector512.SinCos(dt * w1);
            next[0] = c * cp - s * sp; next[1] = s * cp + c * sp; next[2] = w1;
        }
    }

    private sealed partial class PendulumCost : IAnalyticCostLanes
    {
        public Vector512<double> StageLanes(int t, ReadOnlySpan<Vector512<double>> x, ReadOnlySpan<Vector512<double>> u)
        {
            var e = Vector512<double>.One - x[0];
            return WAngle * e + WVel * x[2] * x[2] + WU * u[0] * u[0];
        }

        public Vector512<double> TerminalLanes(ReadOnlySpan<Vector512<double>> x)
        {
            var e = Vector512<double>.One - x[0];
            return WTerm * (e + WVel * x[2] * x[2]);
        }
    }
}
