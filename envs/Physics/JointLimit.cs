namespace DiffTori.Envs.Physics;

/// <summary>
/// A joint range enforced as MuJoCo enforces it: a soft unilateral constraint whose reference acceleration
/// comes from solref (time constant, damping ratio) and whose softness (impedance) comes from solimp.
/// </summary>
public sealed class JointLimit(int dof, double lower, double upper, double timeConstant = 0.02, double dampingRatio = 1.0)
{
    public int Dof { get; } = dof;
    public double Lower { get; } = lower;
    public double Upper { get; } = upper;
    public double TimeConstant { get; } = timeConstant;
    public double DampingRatio { get; } = dampingRatio;

    // MuJoCo's default solimp: dmin, dmax, width, midpoint, power.
    public double ImpedanceMin { get; init; } = 0.9;
    public double ImpedanceMax { get; init; } = 0.95;
    public double ImpedanceWidth { get; init; } = 0.001;
    public double ImpedanceMidpoint { get; init; } = 0.5;
    public double ImpedancePower { get; init; } = 2.0;

    const double MinImpedance = 0.0001, MaxImpedance = 0.9999, MinValue = 1e-15;

    /// <summary>Impedance d(r) in [dmin, dmax] for violation distance r (MuJoCo's getimpedance).</summary>
    public double Impedance(double violation)
    {
        double dmin = Math.Clamp(ImpedanceMin, MinImpedance, MaxImpedance);
        double dmax = Math.Clamp(ImpedanceMax, MinImpedance, MaxImpedance);
        if (ImpedanceWidth <= MinValue || dmin == dmax) return 0.5 * (dmin + dmax);
        double x = Math.Abs(violation) / ImpedanceWidth;
        if (x >= 1) return dmax;
        double p = ImpedancePower, mid = ImpedanceMidpoint;
        double y = p == 1 ? x
            : x <= mid ? Math.Pow(x, p) / Math.Pow(mid, p - 1)
            : 1 - Math.Pow(1 - x, p) / Math.Pow(1 - mid, p - 1);
        return dmin + y * (dmax - dmin);
    }

    /// <summary>
    /// Constraint terms for a row with signed distance <paramref name="distance"/> (negative when violated)
    /// and velocity <paramref name="velocity"/> along the row: regularizer R and reference acceleration.
    /// </summary>
    public (double R, double ReferenceAcceleration) Terms(double distance, double velocity, double invWeight0, double timestep)
    {
        // Reference safety: the time constant is never shorter than two timesteps.
        double timeconst = Math.Max(TimeConstant, 2 * timestep);
        double dmax = Math.Clamp(ImpedanceMax, MinImpedance, MaxImpedance);
        double k = 1 / (dmax * dmax * timeconst * timeconst * DampingRatio * DampingRatio);
        double b = 2 / (dmax * timeconst);
        double imp = Impedance(distance);
        double r = Math.Max(MinValue, (1 - imp) / imp * invWeight0);
        return (r, -b * velocity - k * imp * distance);
    }
}
