using System.Runtime.Intrinsics;

namespace DiffTori.TrajOpt.Examples;

// The closed-form pendulum for eight examples at once (one per Vector512 lane), same expressions as the scalar
// Step/Stage/Terminal in the same order and the same sin/cos, so a lane rounds exactly as the scalar model.
public static partial class PendulumSwingUp
{
    private sealed partial class PendulumDynamics : IAnalyticDynamicsLanes
    {
        public void StepLanes(ReadOnlySpan<Vector512<double>> x, ReadOnlySpan<Vector512<double>> u, Span<Vector512<double>> next,
            Span<Vector512<double>> a, Span<Vector512<double>> b)
        {
            const double dt = 0.05, ga = 15, gb = 3;
            var c = x[0]; var s = x[1]; var w = x[2];
            var w1 = w + dt * (ga * s + gb * u[0]);
            var (sp, cp) = LaneMath.SinCos(dt * w1);
            next[0] = c * cp - s * sp; next[1] = s * cp + c * sp; next[2] = w1;
            if (a.IsEmpty) return;
            var dc = -c * sp - s * cp; var ds = c * cp - s * sp; // d(next)/dφ
            a[0] = cp; a[1] = -sp + dc * dt * dt * ga; a[2] = dc * dt;
            a[3] = sp; a[4] = cp + ds * dt * dt * ga; a[5] = ds * dt;
            a[6] = Vector512<double>.Zero; a[7] = Vector512.Create(dt * ga); a[8] = Vector512<double>.One;
            b[0] = dc * dt * dt * gb; b[1] = ds * dt * dt * gb; b[2] = Vector512.Create(dt * gb);
        }
    }

    private sealed partial class PendulumCost : IAnalyticCostLanes
    {
        public Vector512<double> StageLanes(int t, ReadOnlySpan<Vector512<double>> x, ReadOnlySpan<Vector512<double>> u,
            Span<Vector512<double>> gx, Span<Vector512<double>> gu, Span<Vector512<double>> hxx, Span<Vector512<double>> huu, Span<Vector512<double>> hux)
        {
            var e = Vector512<double>.One - x[0];
            var value = WAngle * e + WVel * x[2] * x[2] + WU * u[0] * u[0];
            if (!gx.IsEmpty)
            {
                gx[0] = Vector512.Create(-WAngle); gx[1] = Vector512<double>.Zero; gx[2] = 2 * WVel * x[2]; gu[0] = 2 * WU * u[0];
                hxx.Clear(); hxx[8] = Vector512.Create(2 * WVel); huu[0] = Vector512.Create(2 * WU); hux.Clear();
            }
            return value;
        }

        public Vector512<double> TerminalLanes(ReadOnlySpan<Vector512<double>> x, Span<Vector512<double>> gx, Span<Vector512<double>> hxx)
        {
            var e = Vector512<double>.One - x[0];
            if (!gx.IsEmpty)
            {
                gx[0] = Vector512.Create(-WTerm); gx[1] = Vector512<double>.Zero; gx[2] = 2 * WTerm * WVel * x[2];
                hxx.Clear(); hxx[8] = Vector512.Create(2 * WTerm * WVel);
            }
            return WTerm * (e + WVel * x[2] * x[2]);
        }
    }
}
