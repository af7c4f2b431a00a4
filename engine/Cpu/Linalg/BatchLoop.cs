namespace DiffTori.Engine;

/// <summary>One independent unit of work per batch entry (or outer slab) of a kernel.</summary>
internal interface IBatchJob
{
    void Run(int item);
}

/// <summary>
/// Runs a job for items 0..count-1: inline for small work, Parallel.For when there are several items
/// and enough work to pay for waking the other cores. The job is a struct, so the serial path allocates nothing.
/// </summary>
internal static class BatchLoop
{
    /// <summary>Below this many scalar operations in total the thread hand-off costs more than it saves.</summary>
    public const long ParallelThreshold = 1 << 17;

    public static void Run<TJob>(int count, long totalWork, TJob job) where TJob : struct, IBatchJob
    {
        if (count > 1 && totalWork >= ParallelThreshold && Environment.ProcessorCount > 1)
        {
            RunParallel(count, job);
            return;
        }
        for (int i = 0; i < count; i++) job.Run(i);
    }

    // Kept apart so that the closure is only allocated when the parallel path is taken.
    private static void RunParallel<TJob>(int count, TJob job) where TJob : struct, IBatchJob =>
        Parallel.For(0, count, i => job.Run(i));
}
