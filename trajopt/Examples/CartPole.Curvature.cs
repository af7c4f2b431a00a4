namespace DiffTori.TrajOpt.Examples;

// The cart-pole's costate-weighted curvature. Position and velocity enter linearly; only ẍ and θ̈ are curved, in
// z = (θ, θ̇, u). Second partials go through temp = (u + Ml·θ̇²·s)/M, num = g·s − c·temp, den = L(4/3 − Kd·c²) and
// θ̈ = num/den (from num = θ̈·den: num_ij = θ̈_ij den + θ̈_i den_j + θ̈_j den_i + θ̈ den_ij), then ẍ = temp − Kx·θ̈·c.
// temp is linear in u and den depends on θ only, so the (θ̇, u) and (u, u) entries vanish.
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
            double q = (G * s - c * temp) / den; // θ̈, rounded as Step rounds it
            double inv = 1 / den;
            // temp's partials (tU = 1/M; its second partials in u vanish).
            double tTh = Ml * (w * w) * c / M, tW = 2 * Ml * w * s / M, tU = 1 / M;
            double tThTh = -Ml * (w * w) * s / M, tThW = 2 * Ml * w * c / M, tWW = 2 * Ml * s / M;
            double denTh = 2 * L * Kd * c * s, denThTh = 2 * L * Kd * (c * c - s * s);
            // θ̈'s first partials.
            double qTh = (G * c + s * temp - c * tTh - q * denTh) * inv, qW = -c * tW * inv, qU = -c * tU * inv;
            // θ̈'s second partials.
            double qThTh = (-G * s + c * temp + 2 * s * tTh - c * tThTh - 2 * qTh * denTh - q * denThTh) * inv;
            double qThW = (s * tW - c * tThW - qW * denTh) * inv;
            double qThU = (s * tU - qU * denTh) * inv;
            double qWW = -c * tWW * inv;
            // ẍ's second partials (c_θ = −s, c_θθ = −c).
            double xThTh = tThTh - Kx * (qThTh * c - 2 * qTh * s - q * c);
            double xThW = tThW - Kx * (qThW * c - qW * s);
            double xThU = -Kx * (qThU * c - qU * s);
            double xWW = tWW - Kx * qWW * c;
            double l1 = Dt * lambda[1], l3 = Dt * lambda[3];
            // z = (θ, θ̇, u) sits at state indices 2, 3 and control 0.
            double hThW = l1 * xThW + l3 * qThW;
            hxx[10] += l1 * xThTh + l3 * qThTh; hxx[11] += hThW;
            hxx[14] += hThW; hxx[15] += l1 * xWW + l3 * qWW;
            hux[2] += l1 * xThU + l3 * qThU;
        }
    }
}
