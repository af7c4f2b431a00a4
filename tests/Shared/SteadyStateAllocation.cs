namespace DiffTori;

/// <summary>Managed bytes a piece of work allocates per batch of calls once it is warm.</summary>
internal static class SteadyStateAllocation
{
    /// <summary>
    /// Bytes allocated by <paramref name="calls"/> calls after a warm-up (JIT, worker threads, cached jobs). The
    /// runtime itself may allocate a few bytes once while it re-compiles a hot method (tiered JIT, which finishes on a
    /// background thread), so up to five rounds are tried, with a pause before each retry to let that finish: work
    /// that allocates per call allocates in every round.
    /// </summary>
    public static long AllocatedBy(Action work, int calls = 20)
    {
        for (int i = 0; i < 5; i++) work();
        long allocated = 0;
        for (int round = 0; round < 5; round++)
        {
            if (round > 0) Thread.Sleep(50);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < calls; i++) work();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated == 0) break;
        }
        return allocated;
    }
}
