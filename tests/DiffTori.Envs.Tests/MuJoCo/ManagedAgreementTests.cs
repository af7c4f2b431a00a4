using DiffTori.Envs.MuJoCo;
using Xunit.Abstractions;
using ManagedReacher = DiffTori.Envs.Tasks.Dmc.Reacher;
using MuJoCoReacher = DiffTori.Envs.MuJoCo.Tasks.Reacher;

namespace DiffTori.Envs.Tests.MuJoCo;

/// <summary>
/// The managed (pure C#) DeepMind Control tasks against their MuJoCo twins: the same seed gives the same start,
/// and from the same state with the same actions the trajectories, observations and rewards agree.
/// </summary>
public class ManagedAgreementTests(ITestOutputHelper output)
{
    /// <summary>Managed name, MuJoCo name, agent steps compared, tolerance on qpos/qvel/observation/reward (observed: ≤ 1e-13).</summary>
    public static TheoryData<string, string, int, double> Pairs => new()
    {
        { "pendulum-swingup", "mujoco/pendulum-swingup", 500, 1e-9 },
        { "cartpole-swingup", "mujoco/cartpole-swingup", 500, 1e-9 },
        { "cartpole-swingup-sparse", "mujoco/cartpole-swingup-sparse", 500, 1e-9 },
        { "acrobot-swingup", "mujoco/acrobot-swingup", 500, 1e-9 },
        { "reacher-easy", "mujoco/reacher-easy", 500, 1e-9 },
        { "reacher-hard", "mujoco/reacher-hard", 500, 1e-9 },
    };

    [MuJoCoTheory]
    [MemberData(nameof(Pairs))]
    public void ManagedTaskAgreesWithMuJoCo(string managedName, string mujocoName, int steps, double tolerance)
    {
        using var managed = EnvRegistry.Make(managedName);
        using var mujoco = EnvRegistry.Make(mujocoName);
        var ms = (IPhysicsState)managed;
        var js = (IPhysicsState)mujoco;
        Assert.Equal(js.PositionDimension, ms.PositionDimension);
        Assert.Equal(js.VelocityDimension, ms.VelocityDimension);

        double startGap = TrajectoryComparison.MaxAbsDiff(managed.Reset(21), mujoco.Reset(21));
        output.WriteLine($"{managedName}: same-seed start observations differ by {startGap:E2}");
        Assert.True(startGap < 1e-12, $"the same seed should give the same start (both draw dm_control's order from one generator): {startGap:E2}");

        // Drive both from the MuJoCo task's start state.
        var qpos = new double[js.PositionDimension];
        var qvel = new double[js.VelocityDimension];
        js.GetState(qpos, qvel);
        if (mujoco is MuJoCoReacher reacher) ((ManagedReacher)managed).SetTarget(reacher.Target.X, reacher.Target.Y);
        ms.SetState(qpos, qvel);
        Assert.True(TrajectoryComparison.MaxAbsDiff(ms.CurrentObservation, js.CurrentObservation) < 1e-12, "same state, different observation");

        var random = new Random(5);
        var action = new double[managed.ActionSpace.Dimension];
        var qposM = new double[qpos.Length];
        var qvelM = new double[qvel.Length];
        double maxState = 0, maxObs = 0, maxReward = 0;
        for (int t = 0; t < steps; t++)
        {
            for (int i = 0; i < action.Length; i++) action[i] = 2 * random.NextDouble() - 1;
            var a = managed.Step(action);
            var b = mujoco.Step(action);
            ms.GetState(qposM, qvelM);
            js.GetState(qpos, qvel);
            maxState = Math.Max(maxState, Math.Max(TrajectoryComparison.MaxAbsDiff(qposM, qpos), TrajectoryComparison.MaxAbsDiff(qvelM, qvel)));
            maxObs = Math.Max(maxObs, TrajectoryComparison.MaxAbsDiff(a.Observation, b.Observation));
            maxReward = Math.Max(maxReward, Math.Abs(a.Reward - b.Reward));
        }
        output.WriteLine($"{managedName} vs {mujocoName}: {steps} steps, max |Δstate| {maxState:E2}, max |Δobs| {maxObs:E2}, max |Δreward| {maxReward:E2}");
        Assert.True(maxState <= tolerance, $"state drift {maxState:E2} > {tolerance:E0}");
        Assert.True(maxObs <= tolerance, $"observation drift {maxObs:E2} > {tolerance:E0}");
        Assert.True(maxReward <= tolerance, $"reward drift {maxReward:E2} > {tolerance:E0}");
    }
}
