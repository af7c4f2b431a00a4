namespace DiffTori.Envs.Physics;

// The five DeepMind Control Suite models as equations of motion. Every number is read off the suite's
// MJCF files (dm_control 1.0.7): geometry, masses or density, damping, gear, ranges, timestep, integrator.

/// <summary>pendulum.xml: a 1 kg ball (r 0.05) on a massless 0.5 m pole, hinge damping 0.1, dt 0.02, Euler.</summary>
public sealed class PendulumModel : RigidBodyModel
{
    public const double Gravity = 9.81, Length = 0.5;
    public static readonly GeomInertia Ball = GeomInertia.Sphere(0.05, mass: 1.0);

    public PendulumModel() : base(1, 1, 0.02, Integrator.Euler)
    {
        Damping[0] = 0.1;
        Finish();
    }

    /// <summary>Inertia about the hinge: ball's own inertia plus m·l² (y axis).</summary>
    public static double HingeInertia => Ball.Iyy + Ball.Mass * Length * Length;

    public override void MassMatrix(ReadOnlySpan<double> q, Span<double> m) => m[0] = HingeInertia;

    // θ = 0 is upright; gravity pulls the ball away from it: generalized gravity force m·g·l·sin θ.
    public override void BiasForces(ReadOnlySpan<double> q, ReadOnlySpan<double> v, Span<double> c) =>
        c[0] = -Ball.Mass * Gravity * Length * Math.Sin(q[0]);

    public override void ActuatorForces(ReadOnlySpan<double> q, ReadOnlySpan<double> ctrl, Span<double> tau) => tau[0] = ctrl[0];

    public override double Energy(ReadOnlySpan<double> q, ReadOnlySpan<double> v) =>
        0.5 * HingeInertia * v[0] * v[0] + Ball.Mass * Gravity * Length * Math.Cos(q[0]);
}

/// <summary>
/// cartpole.xml: 1 kg cart on a slider (range ±1.8, solref 0.08, damping 5e-4, gear 10) carrying a 0.1 kg
/// capsule pole (r 0.045, length 1, damping 2e-6); dt 0.01, RK4. q = (x, θ), θ = 0 upright.
/// </summary>
public sealed class CartpoleModel : RigidBodyModel
{
    public const double Gravity = 9.81, CartMass = 1.0, Gear = 10.0, PoleCom = 0.5;
    public static readonly GeomInertia Pole = GeomInertia.Capsule(0.045, 1.0, mass: 0.1);

    public CartpoleModel() : base(2, 1, 0.01, Integrator.RungeKutta4)
    {
        Damping[0] = 5e-4;
        Damping[1] = 2e-6;
        Limits = [new JointLimit(0, -1.8, 1.8, timeConstant: 0.08, dampingRatio: 1.0)];
        Finish();
    }

    public override void MassMatrix(ReadOnlySpan<double> q, Span<double> m)
    {
        double ml = Pole.Mass * PoleCom;
        m[0] = CartMass + Pole.Mass;
        m[1] = m[2] = ml * Math.Cos(q[1]);
        m[3] = Pole.Iyy + ml * PoleCom;
    }

    public override void BiasForces(ReadOnlySpan<double> q, ReadOnlySpan<double> v, Span<double> c)
    {
        double ml = Pole.Mass * PoleCom;
        double s = Math.Sin(q[1]);
        c[0] = -ml * s * v[1] * v[1];
        c[1] = -ml * Gravity * s;
    }

    public override void ActuatorForces(ReadOnlySpan<double> q, ReadOnlySpan<double> ctrl, Span<double> tau)
    {
        tau[0] = Gear * ctrl[0];
        tau[1] = 0;
    }

    public override double Energy(ReadOnlySpan<double> q, ReadOnlySpan<double> v)
    {
        Span<double> m = stackalloc double[4];
        FullMassMatrix(q, m);
        double kinetic = 0.5 * (m[0] * v[0] * v[0] + 2 * m[1] * v[0] * v[1] + m[3] * v[1] * v[1]);
        return kinetic + Pole.Mass * Gravity * PoleCom * Math.Cos(q[1]);
    }
}

/// <summary>
/// acrobot.xml: two 1 kg capsules of length 1 (radii 0.05 and 0.049), hinge damping 0.05, only the elbow
/// actuated (gear 2); dt 0.01, RK4. q = (shoulder, elbow), 0 = pointing straight up.
/// </summary>
public sealed class AcrobotModel : TwoLinkChain
{
    public static readonly GeomInertia UpperArm = GeomInertia.Capsule(0.05, 1.0, mass: 1.0);
    public static readonly GeomInertia LowerArm = GeomInertia.Capsule(0.049, 1.0, mass: 1.0);
    public const double Gear = 2.0;

    public AcrobotModel() : base(1, 0.01, Integrator.RungeKutta4,
        UpperArm.Mass, 0.5, UpperArm.Iyy, 1.0, LowerArm.Mass, 0.5, LowerArm.Iyy, gravity: 9.81)
    {
        Damping[0] = Damping[1] = 0.05;
        Finish();
    }

    public override void ActuatorForces(ReadOnlySpan<double> q, ReadOnlySpan<double> ctrl, Span<double> tau)
    {
        tau[0] = 0;
        tau[1] = Gear * ctrl[0];
    }
}

/// <summary>
/// reacher.xml: arm capsule (r 0.01, length 0.12) and hand capsule (r 0.01, length 0.1) plus a finger ball
/// (r 0.01) at 0.12 on the hand, all at density 1000; hinges about z (no gravity torque), damping 0.01,
/// wrist range ±160°, gear 0.05; dt 0.02, Euler.
/// </summary>
public sealed class ReacherModel : TwoLinkChain
{
    public static readonly GeomInertia Arm = GeomInertia.Capsule(0.01, 0.12);
    public static readonly GeomInertia Hand = GeomInertia.Capsule(0.01, 0.1);
    public static readonly GeomInertia Finger = GeomInertia.Sphere(0.01);
    public const double ArmLength = 0.12, FingerOffset = 0.12, Gear = 0.05;
    public static readonly double WristLimit = 160 * Math.PI / 180;

    // Hand and finger are welded: one rigid link with a combined centre of mass and inertia.
    static readonly double HandLinkMass = Hand.Mass + Finger.Mass;
    static readonly double HandLinkCom = (Hand.Mass * 0.05 + Finger.Mass * FingerOffset) / HandLinkMass;
    static readonly double HandLinkInertia =
        Hand.Iyy + Hand.Mass * Sq(0.05 - HandLinkCom) + Finger.Iyy + Finger.Mass * Sq(FingerOffset - HandLinkCom);

    static double Sq(double x) => x * x;

    public ReacherModel() : base(2, 0.02, Integrator.Euler,
        Arm.Mass, 0.06, Arm.Iyy, ArmLength, HandLinkMass, HandLinkCom, HandLinkInertia, gravity: 0.0)
    {
        Damping[0] = Damping[1] = 0.01;
        Limits = [new JointLimit(1, -WristLimit, WristLimit)];
        Finish();
    }

    public override void ActuatorForces(ReadOnlySpan<double> q, ReadOnlySpan<double> ctrl, Span<double> tau)
    {
        tau[0] = Gear * ctrl[0];
        tau[1] = Gear * ctrl[1];
    }
}

/// <summary>
/// point_mass.xml: a 0.3 kg ball on two slides (x, y), each with range ±0.29 and damping 1, driven through
/// two fixed tendons with gear 0.1; dt 0.02, Euler. Gravity is normal to the plane.
/// </summary>
public sealed class PointMassModel : RigidBodyModel
{
    public const double Mass = 0.3, Gear = 0.1, Range = 0.29;

    public PointMassModel() : base(2, 2, 0.02, Integrator.Euler)
    {
        Damping[0] = Damping[1] = 1.0;
        Limits = [new JointLimit(0, -Range, Range), new JointLimit(1, -Range, Range)];
        Finish();
    }

    public override void MassMatrix(ReadOnlySpan<double> q, Span<double> m)
    {
        m[0] = m[3] = Mass;
        m[1] = m[2] = 0;
    }

    public override void BiasForces(ReadOnlySpan<double> q, ReadOnlySpan<double> v, Span<double> c) => c.Clear();

    public override void ActuatorForces(ReadOnlySpan<double> q, ReadOnlySpan<double> ctrl, Span<double> tau)
    {
        tau[0] = Gear * ctrl[0];
        tau[1] = Gear * ctrl[1];
    }

    public override double Energy(ReadOnlySpan<double> q, ReadOnlySpan<double> v) => 0.5 * Mass * (v[0] * v[0] + v[1] * v[1]);
}
