namespace DiffTori.Envs;

/// <summary>
/// A simulated environment whose physical state (generalized positions and velocities, in MuJoCo's
/// qpos/qvel order and units) can be read and written, so two simulators can be driven from one state.
/// </summary>
public interface IPhysicsState
{
    int PositionDimension { get; }
    int VelocityDimension { get; }

    void GetState(Span<double> qpos, Span<double> qvel);

    /// <summary>Overwrites qpos/qvel; the episode goes on from there (the step counter is kept).</summary>
    void SetState(ReadOnlySpan<double> qpos, ReadOnlySpan<double> qvel);

    /// <summary>The observation of the current state (the env's buffer).</summary>
    double[] CurrentObservation { get; }
}
