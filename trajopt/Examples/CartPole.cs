using DiffTori.Autodiff;

namespace DiffTori.TrajOpt.Examples;

/// <summary>
/// The classic cart-pole (Barto, Sutton &amp; Anderson; cart 1 kg, pole 0.1 kg, half-length 0.5 m, g 9.8),
/// state [x, ẋ, θ, θ̇] with θ = 0 upright, force u, Euler step dt = 0.05. Dynamics as Var ops (the solver
/// gets Jacobians by autodiff), quadratic cost to the origin in closed form, |u| ≤ 10.
/// </summary>
public static class CartPole
{
    private const double Mc = 1, Mp = 0.1, L = 0.5, G = 9.8, Dt = 0.05;
    private static readonly double[] Q = [1, 0.1, 1, 0.1];
    private const double R = 0.01, Terminal = 10;

    private static Var Col(Var x, int i) => F.Narrow(x, 1, i, 1);

    public static Var Step(Var x, Var u)
    {
        Var pos = Col(x, 0), vel = Col(x, 1), th = Col(x, 2), w = Col(x, 3);
        var s = F.Sin(th); var c = F.Cos(th);
        var temp = (u + (Mp * L) * F.Square(w) * s) / (Mc + Mp);
        var thAcc = (G * s - c * temp) / (L * (4.0 / 3.0 - (Mp / (Mc + Mp)) * F.Square(c)));
        var xAcc = temp - (Mp * L / (Mc + Mp)) * thAcc * c;
        return F.Concat([pos + Dt * vel, vel + Dt * xAcc, th + Dt * w, w + Dt * thAcc], 1);
    }

    public static TrajProblem Problem(int horizon = 20) => new TrajProblem(4, 1, horizon, Step,
        (x, u, t) => 0.5 * F.Sum(F.Square(x) * Weights(x), 1) + R * F.Sum(F.Square(u), 1),
        x => (0.5 * Terminal) * F.Sum(F.Square(x) * Weights(x), 1))
    { AnalyticCost = new QuadraticCost() }.WithBounds(-10, 10);

    private static Var Weights(Var like) => new(DiffTori.Engine.Tensor.FromDoubles(Q, new DiffTori.Engine.Shape(1, 4), like.DType, like.Device));

    private sealed class QuadraticCost : IAnalyticCost
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
