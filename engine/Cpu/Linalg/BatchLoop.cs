namespace DiffTori.Engine;

/// <summary>One independent unit of work per batch entry (or outer slab) of a kernel.</summary>
internal interface IBatchJob
{
    void Run(int item);
}

/// <summary>
/// Runs a job for items 0..count-1: inline for small work, on the CPU worker pool when there are several
/// items and enough work to pay for waking the other cores. The job is a struct copied into a cached
/// runner, so neither path allocates.
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

    private static void RunParallel<TJob>(int count, TJob job) where TJob : struct, IBatchJob =>
        BatchRunner<TJob>.ForThisThread.Run(count, job);

    /// <summary>One chunk = one item.</summary>
    private sealed class BatchRunner<TJob> : ChunkedWork where TJob : struct, IBatchJob
    {
        [ThreadStatic] private static BatchRunner<TJob>? _forThisThread;
        public static BatchRunner<TJob> ForThisThread => _forThisThread ??= new BatchRunner<TJob>();

        private TJob _job;

        public void Run(int count, TJob job)
        {
            _job = job;
            RunChunks(count);
        }

        protected override void RunChunk(int chunk) => _job.Run(chunk);

        protected override void Clear() => _job = default;
    }
}
