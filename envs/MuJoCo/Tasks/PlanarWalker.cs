using DiffTori.Envs.MuJoCo.Models;

namespace DiffTori.Envs.MuJoCo.Tasks;

/// <summary>
/// Walker stand/walk/run (dm_control suite): random limited and rotational joints; reward = stand term
/// (torso height ≥ 1.2 m, upright) times, when moving, a linear term in forward speed (≥ 1 m/s walk, ≥ 8 m/s run).
/// Observation: (xx, xz) of every body but the world, torso height, qvel. 1000 steps of 25 ms (10 physics steps).
/// </summary>
public sealed class PlanarWalker : MuJoCoTask
{
    public const double StandHeight = 1.2, WalkSpeed = 1, RunSpeed = 8;
    private readonly double _moveSpeed;
    private readonly int _torso, _speedSensor;

    public PlanarWalker(double moveSpeed, string name)
        : base(name, MuJoCoModels.Xml("walker"), subSteps: 10, maxEpisodeSteps: 1000, observationSize: 24)
    {
        _moveSpeed = moveSpeed;
        _torso = Model.GetId(MjObject.Body, "torso");
        _speedSensor = Model.GetId(MjObject.Sensor, "torso_subtreelinvel");
    }

    public static PlanarWalker Stand() => new(0, "walker-stand");
    public static PlanarWalker Walk() => new(WalkSpeed, "walker-walk");
    public static PlanarWalker Run() => new(RunSpeed, "walker-run");


    protected override void InitializeEpisode(TaskRandom random) =>
        JointRandomizer.RandomizeLimitedAndRotational(Model, Data, random);

    protected override void WriteObservation(Span<double> o)
    {
        int k = 0;
        for (int b = 1; b < Model.NBody; b++)
        {
            o[k++] = XMat(b, XX);
            o[k++] = XMat(b, XZ);
        }
        o[k++] = Data.XPos[3 * _torso + 2];
        Data.Qvel.CopyTo(o[k..]);
    }

    protected override double Reward()
    {
        double standing = Tolerance.Evaluate(Data.XPos[3 * _torso + 2], StandHeight, double.PositiveInfinity, margin: StandHeight / 2);
        double upright = (1 + XMat(_torso, ZZ)) / 2;
        double stand = (3 * standing + upright) / 4;
        if (_moveSpeed == 0) return stand;
        double move = Tolerance.Evaluate(Data.Sensor(_speedSensor)[0], _moveSpeed, double.PositiveInfinity,
                                   margin: _moveSpeed / 2, sigmoid: Sigmoid.Linear, valueAtMargin: 0.5);
        return stand * (5 * move + 1) / 6;
    }
}
