using DiffTori.Envs.MuJoCo;
using DiffTori.Envs.MuJoCo.Models;
using Xunit.Abstractions;

namespace DiffTori.Envs.Tests.MuJoCo;

/// <summary>
/// Our MJCF models against the DeepMind Control Suite reference files: same sizes, timestep, integrator and
/// body masses, and the same 500-agent-step trajectory (physics steps x the task's substeps) under the same
/// seeded random controls, from the same random start.
/// </summary>
public class ModelFidelityTests(ITestOutputHelper output)
{
    /// <summary>
    /// Max allowed |Δqpos|, |Δqvel| over 500 steps. The models compile to the same mjModel, so the simulations agree
    /// to rounding; 1e-9 leaves room for a different but equivalent way of writing the same geometry (e.g. fromto
    /// vs pos/quat) without hiding a wrong mass, damping or size (those show up at 1e-3 or more within 500 steps).
    /// </summary>
    public const double Tolerance = 1e-9;

    /// <summary>Our model, the reference file, and physics steps per agent step (the task's control substeps).</summary>
    public static TheoryData<string, string, int> Models => new()
    {
        { "pendulum", "pendulum.xml", 1 },
        { "cartpole", "cartpole.xml", 1 },
        { "acrobot", "acrobot.xml", 1 },
        { "reacher", "reacher.xml", 1 },
        { "cheetah", "cheetah.xml", 1 },
        { "walker", "walker.xml", 10 },
        { "hopper", "hopper.xml", 4 },
        { "finger", "finger.xml", 2 },
        { "ball_in_cup", "ball_in_cup.xml", 10 },
        { "quadruped", "quadruped.xml", 4 },
    };

    [MuJoCoTheory(needsReference: true)]
    [MemberData(nameof(Models))]
    public void OurModelReproducesTheReferenceTrajectory(string ours, string referenceFile, int subSteps)
    {
        using var reference = ReferenceModels.Load(referenceFile);
        using var model = MjPhysics.FromXml(MuJoCoModels.Xml(ours));
        var (r, m) = (reference.Model, model.Model);
        Assert.Equal((r.Nq, r.Nv, r.Nu, r.Na, r.NBody, r.NJnt, r.NSensorData), (m.Nq, m.Nv, m.Nu, m.Na, m.NBody, m.NJnt, m.NSensorData));
        Assert.Equal(r.Timestep, m.Timestep);
        Assert.Equal(r.Integrator, m.Integrator);
        Assert.True(TrajectoryComparison.MaxAbsDiff(r.BodyMass, m.BodyMass) < 1e-12, "body masses differ");
        Assert.True(TrajectoryComparison.MaxAbsDiff(r.ActuatorGear, m.ActuatorGear) == 0, "actuator gears differ");
        Assert.True(TrajectoryComparison.MaxAbsDiff(r.ActuatorCtrlRange, m.ActuatorCtrlRange) == 0, "ctrl ranges differ");

        foreach (int seed in new[] { 1, 2 })
        {
            var drift = TrajectoryComparison.Run(reference, model, seed, steps: 500, subSteps);
            output.WriteLine($"{ours} seed {seed}: {drift}");
            Assert.True(drift.MaxQpos <= Tolerance && drift.MaxQvel <= Tolerance, $"{ours} seed {seed}: {drift} exceeds {Tolerance:E0}");
        }
    }

    [MuJoCoFact(needsReference: true)]
    public void TheComparisonDetectsASmallPhysicsChange()
    {
        // Same model with the pendulum's damping changed by 1%: the comparison must flag it.
        using var reference = MjPhysics.FromFile(TestPaths.Reference("pendulum.xml"));
        using var changed = MjPhysics.FromXml(MuJoCoModels.Xml("pendulum").Replace("damping=\"0.1\"", "damping=\"0.101\""));
        var drift = TrajectoryComparison.Run(reference, changed, seed: 1, steps: 500);
        output.WriteLine($"damping +1%: {drift}");
        Assert.True(drift.MaxQvel > 1e3 * Tolerance, $"a 1% damping change went unnoticed: {drift}");
    }
}
