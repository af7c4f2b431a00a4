using DiffTori.Envs.Wrappers;

namespace DiffTori.Envs.Tests;

public class RegistryTests
{
    [Fact]
    public void Lists_every_managed_task_with_matching_metadata()
    {
        string[] expected = ["pendulum-swingup", "cartpole-swingup", "cartpole-swingup-sparse", "acrobot-swingup",
            "reacher-easy", "reacher-hard", "point_mass-easy", "Pendulum-v1", "MountainCarContinuous-v0"];
        Assert.All(expected, n => Assert.Contains(n, EnvRegistry.Names));
        foreach (var name in expected)
        {
            var spec = EnvRegistry.Spec(name);
            using var env = EnvRegistry.Make(name);
            Assert.Equal(EnvSpec.Managed, spec.Backend);
            Assert.Equal(spec.ObservationDimension, env.ObservationSpace.Dimension);
            Assert.Equal(spec.ActionDimension, env.ActionSpace.Dimension);
            Assert.Equal(spec.EpisodeLength, env.MaxEpisodeSteps);
            Assert.All(env.ActionSpace.Low, x => Assert.Equal(-1, x));
            Assert.All(env.ActionSpace.High, x => Assert.Equal(1, x));
        }
        Assert.Equal(8, EnvRegistry.Spec("cartpole-swingup").ActionRepeat);
        Assert.Equal(4, EnvRegistry.Spec("reacher-easy").ActionRepeat);
    }

    [Fact]
    public void Make_applies_repeat_limit_and_statistics()
    {
        using var env = EnvRegistry.MakeForTraining("cartpole-swingup");
        Assert.IsType<EpisodeStatistics>(env);
        Assert.Equal(8, EnvWrapper.Find<ActionRepeat>(env)!.Repeat);
        Assert.Equal(125, env.MaxEpisodeSteps);
        using var limited = EnvRegistry.Make("pendulum-swingup", actionRepeat: 2, timeLimit: 10);
        Assert.Equal(10, limited.MaxEpisodeSteps);
    }

    [Fact]
    public void Unknown_and_duplicate_names_are_errors()
    {
        var e = Assert.Throws<ArgumentException>(() => EnvRegistry.Make("no-such-task"));
        Assert.Contains("no-such-task", e.Message);
        Assert.Contains("pendulum-swingup", e.Message);
        Assert.Throws<ArgumentException>(() => EnvRegistry.Register(EnvRegistry.Spec("reacher-easy"), () => new CountingEnv()));
    }

    [Fact]
    public void Register_adds_a_task_that_Make_builds()
    {
        string name = "counting-test-" + Guid.NewGuid().ToString("N");
        EnvRegistry.Register(new EnvSpec(name, EnvSpec.MuJoCo, 3, 1, 10, 2, "test"), () => new RenamedCounting(name));
        using var env = EnvRegistry.Make(name, actionRepeat: null);
        Assert.Equal(5, env.MaxEpisodeSteps);
        Assert.Contains(name, EnvRegistry.Names);
    }

    sealed class RenamedCounting(string name) : EnvWrapper(new CountingEnv())
    {
        public override string Name => name;
    }
}
