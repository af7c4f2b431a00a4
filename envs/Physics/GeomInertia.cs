namespace DiffTori.Envs.Physics;

/// <summary>
/// Mass and principal inertia of primitive geoms, computed the way MuJoCo's model compiler does:
/// density 1000 unless a mass is given, and a capsule is a cylinder plus two hemispheres.
/// Inertias are about the geom's centre, in its frame (index 2 = the geom's long axis).
/// </summary>
public readonly record struct GeomInertia(double Mass, double Ixx, double Iyy, double Izz)
{
    public const double DefaultDensity = 1000.0;

    public static GeomInertia Sphere(double radius, double? mass = null)
    {
        double m = mass ?? DefaultDensity * 4.0 / 3.0 * Math.PI * radius * radius * radius;
        double i = 0.4 * m * radius * radius;
        return new(m, i, i, i);
    }

    /// <summary>Capsule of the given radius whose cylinder part has length <paramref name="length"/> (fromto length).</summary>
    public static GeomInertia Capsule(double radius, double length, double? mass = null)
    {
        double r2 = radius * radius;
        double volume = Math.PI * (r2 * length + 4.0 / 3.0 * r2 * radius);
        double m = mass ?? DefaultDensity * volume;
        // Split the mass by volume between the two hemispheres (one sphere) and the cylinder.
        double sphereMass = m * 4 * radius / (4 * radius + 3 * length);
        double cylinderMass = m - sphereMass;
        double transverse = cylinderMass * (3 * r2 + length * length) / 12;
        double axial = cylinderMass * r2 / 2;
        double sphereInertia = 0.4 * sphereMass * r2;
        // Hemispheres moved from the sphere centres to the capsule centre (parallel axis, exact).
        transverse += sphereInertia + sphereMass * length * (3 * radius + 2 * length) / 8;
        axial += sphereInertia;
        return new(m, transverse, transverse, axial);
    }

    /// <summary>Box with half-sizes (a, b, c).</summary>
    public static GeomInertia Box(double a, double b, double c, double? mass = null)
    {
        double m = mass ?? DefaultDensity * 8 * a * b * c;
        return new(m, m / 3 * (b * b + c * c), m / 3 * (a * a + c * c), m / 3 * (a * a + b * b));
    }
}
