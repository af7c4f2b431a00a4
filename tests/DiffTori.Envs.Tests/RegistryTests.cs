using DiffTori.Envs.Wrappers;

namespace DiffTori.Envs.Tests;

public class RegistryTests
{
    public static readonly string[] ManagedTasks = ["pendulum-swingup", "cartpole-swingup", "cartpole-swingup-sparse", "acrobot-swingup",
        "reacher-easy", "reacher-hard", "point_mass-easy", "Pendulum-v1", "MountainCarContinuous-v0"];

    [Fact]
    public void Lists_every_managed_task_with_matching_metadata()
    {
        string[] expected = ManagedTasks;
        Assert.All(expected, n => Assert.Contains(n, EnvRegistry.Names));
        foreach (var name in expected)
        {
            var spec = EnvRegistry.Spec(name);
            using var env = EnvRegistry.Make(name, backend: EnvSpec.Managed);
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

    [Fact]
    public void A_name_can_have_several_backends_and_the_first_is_the_default()
    {
        string name = "two-backends-" + Guid.NewGuid().ToString("N");
        EnvRegistry.Register(new EnvSpec(name, EnvSpec.Managed, 3, 1, 10, 1, "managed"), () => new RenamedCounting(name));
        EnvRegistry.Register(new EnvSpec(name, EnvSpec.MuJoCo, 3, 1, 10, 2, "native"), () => new RenamedCounting(name));
        Assert.Equal(EnvSpec.Managed, EnvRegistry.Spec(name).Backend);
        Assert.Equal(2, EnvRegistry.Spec(name, EnvSpec.MuJoCo).ActionRepeat);
        Assert.Single(EnvRegistry.Names, n => n == name);
        Assert.Equal(2, EnvRegistry.Specs.Count(s => s.Name == name));
        Assert.True(EnvRegistry.Contains(name, EnvSpec.MuJoCo));
        var e = Assert.Throws<ArgumentException>(() => EnvRegistry.Make(name, backend: "other"));
        Assert.Contains("managed, mujoco", e.Message);
        Assert.Throws<ArgumentException>(() => EnvRegistry.Register(new EnvSpec(name, EnvSpec.MuJoCo, 3, 1, 10, 2, "again"), () => new CountingEnv()));
    }

    sealed class RenamedCounting(string name) : EnvWrapper(new CountingEnv())
    {
        public override string Name => name;
    }
}
