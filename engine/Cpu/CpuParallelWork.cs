namespace DiffTori.Engine;

/// <summary>
/// The engine's allocation-free worker pool (<see cref="CpuParallel"/>) for fused kernels outside the engine
/// (e.g. trajopt's batch-1 matrix–vector products). Subclass it once, keep the instance, put the call's
/// operands in fields and call <see cref="Run"/>: part p of n runs <see cref="Execute"/> on one thread, the
/// caller running part 0. If the pool is busy (another kernel, a nested call) every part runs on the caller.
/// </summary>
public abstract class CpuParallelWork : IParallelWork
{
    /// <summary>Threads a kernel may use (the caller plus the pool's workers).</summary>
    public static int Threads => CpuParallel.Threads;

    /// <summary>Run parts 0..parts-1 (at most <see cref="Threads"/> at once); returns when all are done.</summary>
    public void Run(int parts) => CpuParallel.Run(this, parts);

    /// <summary>Do part <paramref name="part"/> of <paramref name="parts"/>.</summary>
    public abstract void Execute(int part, int parts);
}
