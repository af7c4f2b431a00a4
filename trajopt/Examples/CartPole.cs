using DiffTori.Autodiff;

namespace DiffTori.TrajOpt.Examples;

/// <summary>
/// The classic cart-pole (Barto, Sutton &amp; Anderson; cart 1 kg, pole 0.1 kg, half-length 0.5 m, g 9.8),
/// state [x, ẋ, θ, θ̇] with θ = 0 upright, force u, Euler step dt = 0.05. Dynamics as Var ops (the truth for
/// gradients) and in closed form with Jacobians (for the solver; leave it out to get Jacobians by autodiff),
/// quadratic cost to the origin in closed form, |u| ≤ 10.
/// </summary>
public static partial class CartPole
{
    private const double Mc = 1, Mp = 0.1, L = 0.5, G = 9.8, Dt = 0.05;
    private static readonly double[] Q = [1, 0.1, 1, 0.1];
    private const double R = 0.01, Terminal = 10;

    private static Var Col(Var x, int i) => F.Narrow(x, 1, i, 1);

    public static Var Step(Var x, Var u)
    {
        Var vel = Col(x, 1), th = Col(x, 2), w = Col(x, 3);
        var s = F.Sin(th); var c = F.Cos(th);
        var temp = (u + (Mp * L) * F.Square(w) * s) / (Mc + Mp);
        var thAcc = (G * s - c * temp) / (L * (4.0 / 3.0 - (Mp / (Mc + Mp)) * F.Square(c)));
        var xAcc = temp - (Mp * L / (Mc + Mp)) * thAcc * c;
        // x + dt·ẋ for all four components at once (fewer recorded ops than four separate updates).
        return x + Dt * F.Concat([vel, xAcc, w, thAcc], 1);
    }

    /// <summary>The balancing problem; closedFormDynamics false makes the solver take dynamics Jacobians by autodiff.</summary>
    public static TrajProblem Problem(int horizon = 20, bool closedFormDynamics = true) => new TrajProblem(4, 1, horizon, Step,
        (x, u, t) => 0.5 * F.Sum(F.Square(x) * Weights(x), 1) + R * F.Sum(F.Square(u), 1),
        x => (0.5 * Terminal) * F.Sum(F.Square(x) * Weights(x), 1))
    { AnalyticCost = new QuadraticCost(), AnalyticDynamics = closedFormDynamics ? new Dynamics() : null, StageCostIgnoresTime = true }.WithBounds(-10, 10);

    /// <summary><see cref="Step"/> and its Jacobians in closed form (chain rule through temp, θ̈ and ẍ).</summary>
    private sealed partial class Dynamics : IAnalyticDynamics
    {
        public void Step(ReadOnlySpan<double> x, ReadOnlySpan<double> u, Span<double> next, Span<double> a, Span<double> b)
        {
            const double M = Mc + Mp, Ml = Mp * L, Kx = Mp * L / (Mc + Mp), Kd = Mp / (Mc + Mp);
            double vel = x[1], th = x[2], w = x[3];
            var (s, c) = LaneMath.SinCos(th);
            double temp = (u[0] + Ml * (w * w) * s) / M;
            double den = L * (4.0 / 3.0 - Kd * (c * c));
            double num = G * s - c * temp;
            double thAcc = num / den;
            double xAcc = temp - Kx * thAcc * c;
            next[0] = x[0] + Dt * vel; next[1] = vel + Dt * xAcc; next[2] = th + Dt * w; next[3] = w + Dt * thAcc;
            if (a.IsEmpty) return;
            double dTempTh = Ml * (w * w) * c / M, dTempW = 2 * Ml * w * s / M, dTempU = 1 / M;
            double dDenTh = L * Kd * 2 * c * s;
            double dThTh = (G * c + s * temp - c * dTempTh) / den - thAcc * dDenTh / den;
            double dThW = -c * dTempW / den, dThU = -c * dTempU / den;
            double dXTh = dTempTh - Kx * (dThTh * c - thAcc * s), dXW = dTempW - Kx * dThW * c, dXU = dTempU - Kx * dThU * c;
            a.Clear();
            a[0] = 1; a[1] = Dt;
            a[5] = 1; a[6] = Dt * dXTh; a[7] = Dt * dXW;
            a[10] = 1; a[11] = Dt;
            a[14] = Dt * dThTh; a[15] = 1 + Dt * dThW;
            b[0] = 0; b[1] = Dt * dXU; b[2] = 0; b[3] = Dt * dThU;
        }
    }

    private static Var Weights(Var like) => new(DiffTori.Engine.Tensor.FromDoubles(Q, new DiffTori.Engine.Shape(1, 4), like.DType, like.Device));

    private sealed partial class QuadraticCost : IAnalyticCost
    {
        public double Stage(int t, ReadOnlySpan<double> x, ReadOnlySpan<double> u, Span<double> gx, Span<double> gu, Span<double> hxx, Span<double> huu, Span<double> hux)
        {
            double v = R * u[0] * u[0];
            for (int i = 0; i < 4; i++) v += 0.5 * Q[i] * x[i] * x[i];
            if (!gx.IsEmpty)
            {
                hxx.Clear(); hux.Clear();
                for (int i = 0; i < 4; i++) { gx[i] = Q[i] * x[i]; hxx[i * 5] = Q[i]; }
                gu[0] = 2 * R * u[0]; huu[0] = 2 * R;
            }
            return v;
        }

        public double Terminal(ReadOnlySpan<double> x, Span<double> gx, Span<double> hxx)
        {
            double v = 0;
            for (int i = 0; i < 4; i++) v += 0.5 * CartPole.Terminal * Q[i] * x[i] * x[i];
            if (!gx.IsEmpty)
            {
                hxx.Clear();
                for (int i = 0; i < 4; i++) { gx[i] = CartPole.Terminal * Q[i] * x[i]; hxx[i * 5] = CartPole.Terminal * Q[i]; }
            }
            return v;
        }
    }
}
