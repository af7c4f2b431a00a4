namespace DiffTori.Envs.MuJoCo.Tasks;

/// <summary>
/// dm_control's randomizers.randomize_limited_and_rotational_joints: limited hinge/slide joints uniform in
/// their range, free hinges uniform in [-π, π), ball joints a random orientation (within the limit angle
/// when limited), free joints a random orientation (their position untouched).
/// </summary>
public static class JointRandomizer
{
    private const int Free = 0, Ball = 1, Slide = 2, Hinge = 3; // mjtJoint

    public static void RandomizeLimitedAndRotational(MjModel model, MjData data, TaskRandom random)
    {
        var qpos = data.Qpos;
        var types = model.JntType;
        var limited = model.JntLimited;
        var range = model.JntRange;
        var adr = model.JntQposAdr;
        for (int j = 0; j < model.NJnt; j++)
        {
            int a = adr[j];
            double lo = range[2 * j], hi = range[2 * j + 1];
            bool isLimited = limited[j] != 0;
            switch (types[j])
            {
                case Hinge or Slide when isLimited:
                    qpos[a] = random.Uniform(lo, hi);
                    break;
                case Hinge:
                    qpos[a] = random.Uniform(-Math.PI, Math.PI);
                    break;
                case Ball when isLimited:
                    LimitedQuaternion(random, hi, qpos.Slice(a, 4));
                    break;
                case Ball:
                    NormalQuaternion(random, qpos.Slice(a, 4));
                    break;
                case Free:
                {
                    // dm_control draws rand(4) (uniform [0, 1)) for the free joint's orientation, then normalizes.
                    var q = qpos.Slice(a + 3, 4);
                    for (int i = 0; i < 4; i++) q[i] = random.Uniform(0, 1);
                    Normalize(q);
                    break;
                }
            }
        }
    }

    private static void NormalQuaternion(TaskRandom random, Span<double> q)
    {
        for (int i = 0; i < 4; i++) q[i] = random.Normal();
        Normalize(q);
    }

    /// <summary>Rotation about a random axis by an angle uniform in [0, limit].</summary>
    private static void LimitedQuaternion(TaskRandom random, double limit, Span<double> q)
    {
        double x = random.Normal(), y = random.Normal(), z = random.Normal();
        double n = Math.Sqrt(x * x + y * y + z * z);
        double angle = random.Uniform(0, limit);
        double s = Math.Sin(angle / 2) / n;
        q[0] = Math.Cos(angle / 2); q[1] = x * s; q[2] = y * s; q[3] = z * s;
    }

    private static void Normalize(Span<double> q)
    {
        double n = Math.Sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
        for (int i = 0; i < 4; i++) q[i] /= n;
    }
}
