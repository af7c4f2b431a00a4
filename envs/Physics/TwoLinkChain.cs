namespace DiffTori.Envs.Physics;

/// <summary>
/// A planar two-link serial chain (double pendulum) with hinges about one axis: link 1 turns by q0 about a
/// fixed pivot, link 2 by q1 relative to link 1 at distance <see cref="Length1"/>. Links are described by
/// mass, distance of their centre of mass from their own hinge, and inertia about that centre.
/// Absolute link angles are φ1 = q0, φ2 = q0 + q1; gravity (if any) acts against φ = 0's direction.
/// </summary>
public abstract class TwoLinkChain : RigidBodyModel
{
    protected TwoLinkChain(int actuators, double timestep, Integrator integrator,
        double mass1, double com1, double inertia1, double length1,
        double mass2, double com2, double inertia2, double gravity)
        : base(2, actuators, timestep, integrator)
    {
        Mass1 = mass1; Com1 = com1; Inertia1 = inertia1; Length1 = length1;
        Mass2 = mass2; Com2 = com2; Inertia2 = inertia2; Gravity = gravity;
    }

    public double Mass1 { get; }
    public double Com1 { get; }
    public double Inertia1 { get; }
    public double Length1 { get; }
    public double Mass2 { get; }
    public double Com2 { get; }
    public double Inertia2 { get; }

    /// <summary>g along −(φ = 0 direction); 0 for a chain in the horizontal plane.</summary>
    public double Gravity { get; }

    public override void MassMatrix(ReadOnlySpan<double> q, Span<double> m)
    {
        double coupling = Mass2 * Length1 * Com2 * Math.Cos(q[1]);
        double m22 = Inertia2 + Mass2 * Com2 * Com2;
        m[0] = Inertia1 + Mass1 * Com1 * Com1 + Mass2 * Length1 * Length1 + m22 + 2 * coupling;
        m[1] = m[2] = m22 + coupling;
        m[3] = m22;
    }

    public override void BiasForces(ReadOnlySpan<double> q, ReadOnlySpan<double> v, Span<double> c)
    {
        // h = ½·∂M₁₁/∂q₁ = ∂M₁₂/∂q₁; the Christoffel terms of a two-link chain.
        double h = -Mass2 * Length1 * Com2 * Math.Sin(q[1]);
        double phi1 = q[0], phi2 = q[0] + q[1];
        double g2 = Gravity * Mass2 * Com2 * Math.Sin(phi2);
        double g1 = Gravity * (Mass1 * Com1 + Mass2 * Length1) * Math.Sin(phi1) + g2;
        c[0] = h * (2 * v[0] * v[1] + v[1] * v[1]) - g1;
        c[1] = -h * v[0] * v[0] - g2;
    }

    public override double Energy(ReadOnlySpan<double> q, ReadOnlySpan<double> v)
    {
        Span<double> m = stackalloc double[4];
        FullMassMatrix(q, m);
        double kinetic = 0.5 * (m[0] * v[0] * v[0] + 2 * m[1] * v[0] * v[1] + m[3] * v[1] * v[1]);
        double height = (Mass1 * Com1 + Mass2 * Length1) * Math.Cos(q[0]) + Mass2 * Com2 * Math.Cos(q[0] + q[1]);
        return kinetic + Gravity * height;
    }
}
