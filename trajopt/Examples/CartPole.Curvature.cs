namespace DiffTori.TrajOpt.Examples;

// The cart-pole's costate-weighted curvature. Position and velocity enter linearly; only ẍ and θ̈ are curved, in
// z = (θ, θ̇, u). First and second partials over z go through temp, num = g·s − c·temp, den and θ̈ = num/den
// (from num = θ̈·den: num_ij = θ̈_ij den + θ̈_i den_j + θ̈_j den_i + θ̈ den_ij), then ẍ = temp − Kx·θ̈·c.
public static partial class CartPole
{
    private sealed partial class Dynamics : IAnalyticDynamicsCurvature
    {
        public void AddCurvature(ReadOnlySpan<double> x, ReadOnlySpan<double> u, ReadOnlySpan<double> lambda,
            Span<double> hxx, Span<double> huu, Span<double> hux)
        {
            const double M = Mc + Mp, Ml = Mp * L, Kx = Mp * L / (Mc + Mp), Kd = Mp / (Mc + Mp);
            double th = x[2], w = x[3];
            var (s, c) = LaneMath.SinCos(th);
            double temp = (u[0] + Ml * (w * w) * s) / M;
            double den = L * (4.0 / 3.0 - Kd * (c * c));
            double thAcc = (G * s - c * temp) / den;

            // Partials over z = (θ, θ̇, u): first derivatives [3], second derivatives [3×3] (symmetric, full).
            Span<double> s1 = [c, 0, 0], c1 = [-s, 0, 0];
            Span<double> t1 = [Ml * (w * w) * c / M, 2 * Ml * w * s / M, 1 / M];
            Span<double> t2 = stackalloc double[9];
            t2[0] = -Ml * (w * w) * s / M; t2[1] = t2[3] = 2 * Ml * w * c / M; t2[4] = 2 * Ml * s / M;
            Span<double> den1 = stackalloc double[3], q1 = stackalloc double[3];
            for (int i = 0; i < 3; i++)
            {
                den1[i] = -2 * L * Kd * c * c1[i];
                double num1 = G * s1[i] - (c1[i] * temp + c * t1[i]);
                q1[i] = (num1 - thAcc * den1[i]) / den;
            }
            Span<double> h = stackalloc double[9];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                {
                    bool thth = i == 0 && j == 0; // sin and cos are curved in θ only
                    double s2 = thth ? -s : 0, c2 = thth ? -c : 0;
                    double num2 = G * s2 - (c2 * temp + c1[i] * t1[j] + c1[j] * t1[i] + c * t2[i * 3 + j]);
                    double den2 = -2 * L * Kd * (c1[i] * c1[j] + c * c2);
                    double q2 = (num2 - q1[i] * den1[j] - q1[j] * den1[i] - thAcc * den2) / den;
                    double x2 = t2[i * 3 + j] - Kx * (q2 * c + q1[i] * c1[j] + q1[j] * c1[i] + thAcc * c2);
                    h[i * 3 + j] = Dt * (lambda[1] * x2 + lambda[3] * q2);
                }
            // z = (θ, θ̇, u) sits at state indices 2, 3 and control 0.
            for (int i = 0; i < 2; i++)
            {
                for (int j = 0; j < 2; j++) hxx[(2 + i) * 4 + 2 + j] += h[i * 3 + j];
                hux[2 + i] += h[2 * 3 + i];
            }
            huu[0] += h[8];
        }
    }
}
