using DiffTori.Autodiff;

namespace DiffTori.TrajOpt.Examples;

/// <summary>
/// Gym's pendulum as a trajectory problem, used by tests and benchmarks: state [cos θ, sin θ, θ̇] (θ = 0
/// upright), θ̈ = 3g/(2l)·sin θ + 3/(ml²)·u, g = 10, m = l = 1, dt = 0.05, semi-implicit Euler with the
/// angle step applied as an exact rotation of (cos θ, sin θ).
/// </summary>
public static partial class PendulumSwingUp
{
    private static Var Col(Var x, int i) => F.Narrow(x, 1, i, 1);

    /// <summary>Pendulum with state [cos θ, sin θ, θ̇] (θ = 0 upright), dt 0.05, g 10, m 1, l 1, as in gym's Pendulum.</summary>
    public static Var Step(Var x, Var u)
    {
        const double g = 10, m = 1, l = 1, dt = 0.05;
        Var c = Col(x, 0), s = Col(x, 1), w = Col(x, 2);
        var wNext = w + dt * ((3 * g / (2 * l)) * s + (3.0 / (m * l * l)) * u);
        // rotate (cos, sin) by the angle step wNext·dt (exact on the circle)
        var phi = dt * wNext;
        var ca = F.Cos(phi); var sa = F.Sin(phi);
        return F.Concat([c * ca - s * sa, s * ca + c * sa, wNext], 1);
    }

    private const double WAngle = 1, WVel = 0.01, WU = 0.001, WTerm = 10;

    /// <summary>Swing-up: stage (1 − cos θ) + 0.01 θ̇² + 0.001 u², terminal 10·((1 − cos θ) + 0.01 θ̇²), |u| ≤ 2; Var and closed-form models.</summary>
    public static TrajProblem Problem(int horizon = 20) => new TrajProblem(3, 1, horizon,
        Step,
        (x, u, t) => Quadratic(x, WAngle, WVel) + WU * F.Sum(F.Square(u), 1),
        x => Quadratic(x, WTerm, WTerm * WVel))
    { AnalyticCost = new PendulumCost(), AnalyticDynamics = new PendulumDynamics(), StageCostIgnoresTime = true }.WithBounds(-2, 2);

    /// <summary>
    /// wa·(1 − cos θ) + wv·θ̇² per row, as wa + Σ_j x_j·(a_j + b_j·x_j) with a = (−wa, 0, 0), b = (0, 0, wv): one
    /// row-wise sum instead of one per term, so the recorded graph (and its double backward) stays small.
    /// </summary>
    private static Var Quadratic(Var x, double wa, double wv)
    {
        var a = new Var(DiffTori.Engine.Tensor.FromDoubles([-wa, 0, 0], new DiffTori.Engine.Shape(1, 3), x.DType, x.Device));
        var b = new Var(DiffTori.Engine.Tensor.FromDoubles([0, 0, wv], new DiffTori.Engine.Shape(1, 3), x.DType, x.Device));
        return F.Sum(x * (a + b * x), 1) + wa;
    }

    /// <summary>Closed-form step and Jacobians of <see cref="Step"/>.</summary>
    private sealed partial class PendulumDynamics : IAnalyticDynamics
    {
        public void Step(ReadOnlySpan<double> x, ReadOnlySpan<double> u, Span<double> next, Span<double> a, Span<double> b)
        {
            const double dt = 0.05, ga = 15, gb = 3;
            double c = x[0], s = x[1], w = x[2];
            double w1 = w + dt * (ga * s + gb * u[0]);
            var (sp, cp) = LaneMath.SinCos(dt * w1);
            next[0] = c * cp - s * sp; next[1] = s * cp + c * sp; next[2] = w1;
            if (a.IsEmpty) return;
            double dc = -c * sp - s * cp, ds = c * cp - s * sp; // d(next)/dφ
            a[0] = cp; a[1] = -sp + dc * dt * dt * ga; a[2] = dc * dt;
            a[3] = sp; a[4] = cp + ds * dt * dt * ga; a[5] = ds * dt;
            a[6] = 0; a[7] = dt * ga; a[8] = 1;
            b[0] = dc * dt * dt * gb; b[1] = ds * dt * dt * gb; b[2] = dt * gb;
        }
    }

    /// <summary>The same cost in closed form (the MPC loop below solves many times; autodiff Hessians per step would be slow).</summary>
    private sealed partial class PendulumCost : IAnalyticCost
    {
        public double Stage(int t, ReadOnlySpan<double> x, ReadOnlySpan<double> u, Span<double> gx, Span<double> gu, Span<double> hxx, Span<double> huu, Span<double> hux)
        {
            double e = 1 - x[0];
            if (!gx.IsEmpty)
            {
                gx[0] = -WAngle; gx[1] = 0; gx[2] = 2 * WVel * x[2]; gu[0] = 2 * WU * u[0];
                hxx.Clear(); hxx[8] = 2 * WVel; huu[0] = 2 * WU; hux.Clear();
            }
            return WAngle * e + WVel * x[2] * x[2] + WU * u[0] * u[0];
        }

        public double Terminal(ReadOnlySpan<double> x, Span<double> gx, Span<double> hxx)
        {
            double e = 1 - x[0];
            if (!gx.IsEmpty)
            {
                gx[0] = -WTerm; gx[1] = 0; gx[2] = 2 * WTerm * WVel * x[2];
                hxx.Clear(); hxx[8] = 2 * WTerm * WVel;
            }
            return WTerm * (e + WVel * x[2] * x[2]);
        }
    }

}
