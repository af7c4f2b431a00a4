using DiffTori.Engine;
using DiffTori.Rl.Agents;

namespace DiffTori.Rl.Tests;

public class DiffToriScheduleTests
{
    private static (DiffToriAgent Agent, double[] Before) Make(string schedule)
    {
        var cfg = new RlConfig
        {
            Agent = "difftori", LatentDim = 3, HiddenDim = 8, EncoderDim = 8, Horizon = 2, SolverIterations = 4, SolverStepSize = 0.002,
            ResidualOffset = 10, PgStartSteps = 0, PgSchedule = schedule, HorizonScheduleSteps = 0,
        };
        var agent = new DiffToriAgent(3, 1, cfg);
        var rng = new RandomGenerator(4);
        foreach (var p in agent.Model.Parameters()) Ops.FillNormal(p.Value, rng, 0, 0.3);
        return (agent, agent.Told.Dynamics.Parameters()[0].Value.ToDoubleArray());
    }

    private static bool Changed(DiffToriAgent agent, double[] before) =>
        !agent.Told.Dynamics.Parameters()[0].Value.ToDoubleArray().SequenceEqual(before);

    [Fact]
    public void StepSchedule_UpdatesTheModelAfterEveryAction()
    {
        var (agent, before) = Make("step");
        agent.BeginEpisode();
        agent.Act([0.1, 0.2, 0.3], envStep: 10, eval: false);
        Assert.True(Changed(agent, before));
        Assert.Equal(1, agent.PgOptimizer.StepCount);
        Assert.True(double.IsFinite(agent.LastPgLoss));
    }

    [Fact]
    public void EpisodeSchedule_AccumulatesAndStepsOnceAtTheEnd()
    {
        var (agent, before) = Make("episode");
        agent.BeginEpisode();
        for (int i = 0; i < 3; i++) agent.Act([0.1 * i, 0.2, 0.3], envStep: 10 + i, eval: false);
        Assert.False(Changed(agent, before));
        agent.EndEpisode();
        Assert.True(Changed(agent, before));
        Assert.Equal(1, agent.PgOptimizer.StepCount);
    }

    [Fact]
    public void EvaluationActions_NeverTrainTheModel()
    {
        var (agent, before) = Make("step");
        agent.BeginEpisode();
        var a = agent.Act([0.1, 0.2, 0.3], envStep: 10, eval: true);
        var b = agent.Act([0.1, 0.2, 0.3], envStep: 10, eval: true);
        Assert.False(Changed(agent, before));
        Assert.Equal(a, b); // deterministic without exploration noise
        Assert.Equal(0, agent.PgOptimizer.StepCount);
    }
}
