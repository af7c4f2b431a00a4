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
            // p = (0, p1, p2, p3); p_c = 0 leaves the c row as α·p and no γ or β terms.
            const double p1 = dt * dt * ga, p2 = dt, p3 = dt * dt * gb;
            hxx[1] += alpha * p1; hxx[2] += alpha * p2;
            hxx[3] += alpha * p1; hxx[4] += gamma * p1 * p1 + 2 * beta * p1; hxx[5] += gamma * p1 * p2 + beta * p2;
            hxx[6] += alpha * p2; hxx[7] += gamma * p1 * p2 + beta * p2; hxx[8] += gamma * p2 * p2;
            hux[0] += alpha * p3; hux[1] += gamma * p1 * p3 + beta * p3; hux[2] += gamma * p2 * p3;
            huu[0] += gamma * p3 * p3;
        }
    }
}
