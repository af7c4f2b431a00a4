using DiffTori.Envs.MuJoCo.Models;

namespace DiffTori.Envs.MuJoCo.Tasks;

/// <summary>
/// Cheetah run (dm_control suite): limited joints uniform in their ranges, then 200 settling steps; reward
/// rises linearly with the torso subtree's forward speed and saturates at 10 m/s. Observation: qpos without
/// rootx, qvel. 1000 steps of 10 ms.
/// </summary>
public sealed class CheetahRun : MuJoCoTask
{
    public const double RunSpeed = 10;
    private readonly int _speedSensor;

    public CheetahRun(string name = "cheetah-run")
        : base(name, MuJoCoModels.Xml("cheetah"), subSteps: 1, maxEpisodeSteps: 1000, observationSize: 17)
    {
        _speedSensor = Model.GetId(MjObject.Sensor, "torso_subtreelinvel");
    }


    protected override void InitializeEpisode(TaskRandom random)
    {
        var qpos = Data.Qpos;
        var limited = Model.JntLimited;
        var range = Model.JntRange;
        for (int j = 0; j < Model.NJnt; j++) // every cheetah joint has one dof, so joint j is qpos[j]
            if (limited[j] != 0) qpos[j] = random.Uniform(range[2 * j], range[2 * j + 1]);
        Physics.Step(200); // let it settle on the ground before the episode starts
        Data.Time = 0;
    }

    protected override void WriteObservation(Span<double> o)
    {
        Data.Qpos[1..].CopyTo(o);
        Data.Qvel.CopyTo(o[(Model.Nq - 1)..]);
    }

    protected override double Reward() =>
        Tolerance.Evaluate(Data.Sensor(_speedSensor)[0], RunSpeed, double.PositiveInfinity,
                     margin: RunSpeed, sigmoid: Sigmoid.Linear, valueAtMargin: 0);
}
