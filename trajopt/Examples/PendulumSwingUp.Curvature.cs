namespace DiffTori.TrajOpt.Examples;

// The pendulum's costate-weighted curvature. Over z = (c, s, θ̇, u) the angle step φ = dt·θ̇' is linear, φ = pᵀz with
// p = dt·(0, dt·ga, 1, dt·gb), and θ̇' is linear too, so only the rotated pair (c cos φ − s sin φ, s cos φ + c sin φ)
// is curved: λ0∇²f0 + λ1∇²f1 = α(e_c pᵀ + p e_cᵀ) + β(e_s pᵀ + p e_sᵀ) + γ ppᵀ.
public static partial class PendulumSwingUp
{
    private sealed partial class PendulumDynamics : IAnalyticDynamicsCurvature
    {
        public void AddCurvature(ReadOnlySpan<double> x, ReadOnlySpan<double> u, ReadOnlySpan<double> lambda,
            Span<double> hxx, Span<double> huu, Span<double> hux)
        {
            const double dt = 0.05, ga = 15, gb = 3;
            double c = x[0], s = x[1], w = x[2];
            double w1 = w + dt * (ga * s + gb * u[0]);
            var (sp, cp) = LaneMath.SinCos(dt * w1);
            double l0 = lambda[0], l1 = lambda[1];
            double alpha = l1 * cp - l0 * sp;                     // ∂²(λ·f)/∂c∂φ
            double beta = -l0 * cp - l1 * sp;                     // ∂²(λ·f)/∂s∂φ
            double gamma = l0 * (s * sp - c * cp) - l1 * (s * cp + c * sp); // ∂²(λ·f)/∂φ²
            Span<double> p = [0, dt * dt * ga, dt, dt * dt * gb];
            Span<double> h = stackalloc double[16];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    h[i * 4 + j] = gamma * p[i] * p[j]
                        + alpha * ((i == 0 ? p[j] : 0) + (j == 0 ? p[i] : 0))
                        + beta * ((i == 1 ? p[j] : 0) + (j == 1 ? p[i] : 0));
            for (int i = 0; i < 3; i++)
            {
                for (int j = 0; j < 3; j++) hxx[i * 3 + j] += h[i * 4 + j];
                hux[i] += h[3 * 4 + i];
            }
            huu[0] += h[15];
        }
    }
}
