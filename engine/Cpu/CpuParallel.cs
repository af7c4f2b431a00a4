using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace DiffTori.Engine;

/// <summary>A piece of work split in parts; part p of n runs on one thread. Implemented by cached job objects.</summary>
internal interface IParallelWork
{
    void Execute(int part, int parts);
}

/// <summary>
/// A tiny fork-join pool for the CPU kernels: persistent worker threads (one per extra core), so that splitting
/// a kernel (GEMM, conv, elementwise, reductions) across cores allocates nothing (unlike Parallel.For, which
/// allocates tasks and closures per call). The caller runs part 0 itself; worker w always runs part w + 1, so a
/// kernel that splits its data the same way on every call finds each part in the same core's cache.
/// Hand-off and completion go through per-worker sequence numbers that both sides spin on; a worker that has had no
/// work for <see cref="SpinTicks"/> blocks on an event, and only then does posting cost a wake-up system call.
/// If the pool is already in use (another thread's kernel, or a nested call), the work runs on the calling thread.
/// On a busy machine a worker may be slow to wake: when the caller is done with its own part and a worker
/// has not started within a microsecond, the caller takes that part back and runs it instead of waiting.
/// </summary>
internal static class CpuParallel
{
    /// <summary>Threads a kernel may use (the caller plus the workers).</summary>
    public static readonly int Threads = Math.Clamp(Environment.ProcessorCount, 1, 16);

    /// <summary>
    /// How long an idle worker (and a caller waiting for a worker) polls before it blocks. Kernels come in
    /// bursts (a training step is hundreds of them) and waking a blocked thread costs tens of microseconds on
    /// a virtual machine, so a worker that keeps polling between consecutive calls joins each of them at once.
    /// </summary>
    internal static readonly long SpinTicks = Stopwatch.Frequency / 10_000; // 100 µs

    /// <summary>
    /// After this much polling a waiting thread also yields its core between polls: on a loaded machine the thread
    /// it waits for may be queued on the same core, and pure spinning would keep it from running.
    /// </summary>
    private static readonly long YieldTicks = Stopwatch.Frequency / 100_000; // 10 µs

    private static readonly Worker[] Workers = CreateWorkers();
    private static int _busy;
    private static long _lastSmallCall;

    /// <summary>Run parts 0..parts-1 (at most <see cref="Threads"/>), waking workers that sleep.</summary>
    public static void Run(IParallelWork work, int parts) => Run(work, parts, small: false);

    /// <summary>
    /// Like <see cref="Run(IParallelWork, int)"/> for work of only a few microseconds, where a wake-up system call
    /// would cost as much as the part itself: sleeping workers are woken only when such calls come in a burst
    /// (the previous one less than <see cref="SpinTicks"/> ago); otherwise everything runs on the calling thread.
    /// </summary>
    public static void RunSmall(IParallelWork work, int parts) => Run(work, parts, small: true);

    private static void Run(IParallelWork work, int parts, bool small)
    {
        parts = Math.Min(parts, Threads);
        if (parts <= 1 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int p = 0; p < parts; p++) work.Execute(p, parts);
            return;
        }
        try
        {
            if (small && !SmallCallMayFork(parts))
            {
                for (int p = 0; p < parts; p++) work.Execute(p, parts);
                return;
            }
            for (int w = 0; w < parts - 1; w++) Workers[w].Post(work, w + 1, parts);
            Exception? mine = null;
            try { work.Execute(0, parts); }
            catch (Exception e) { mine = e; }
            for (int w = 0; w < parts - 1; w++)
            {
                if (Workers[w].Join(out var error))
                {
                    mine ??= error;
                    continue;
                }
                try { work.Execute(w + 1, parts); }
                catch (Exception e) { mine ??= e; }
            }
            if (mine is not null) ExceptionDispatchInfo.Capture(mine).Throw();
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>
    /// True when the workers are polling, or when they sleep but the previous small call that found them asleep
    /// was less than <see cref="SpinTicks"/> ago (a burst: waking them now pays off over the following calls).
    /// </summary>
    private static bool SmallCallMayFork(int parts)
    {
        bool asleep = false;
        for (int w = 0; w < parts - 1; w++) asleep |= Workers[w].Sleeping;
        if (!asleep) return true;
        long now = Stopwatch.GetTimestamp();
        bool burst = now - _lastSmallCall < SpinTicks;
        _lastSmallCall = now;
        return burst;
    }

    private static Worker[] CreateWorkers()
    {
        var workers = new Worker[Threads - 1];
        for (int i = 0; i < workers.Length; i++) workers[i] = new Worker(i + 1);
        return workers;
    }

    /// <summary>
    /// What a caller and a worker exchange, in three groups 128 bytes apart (no two share a cache line or an
    /// adjacent-line prefetch pair), each written by one side only in the steady state:
    /// - the post (caller): the part and a sequence number that counts posts;
    /// - the claim (worker): the number of the last post taken. The caller writes it only to take back a part
    ///   the worker has not started, so the worker's claim is normally an update of a line it already owns;
    /// - the completion (worker): the number of the last post finished, and its error.
    /// A hand-off then moves just the post line to the worker and the completion line back.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 448)]
    private struct HandOff
    {
        [FieldOffset(64)] public IParallelWork? Work;
        [FieldOffset(72)] public int Posted;
        [FieldOffset(76)] public int Part;
        [FieldOffset(80)] public int Parts;
        /// <summary>1 while the caller is blocked (or about to block) on the completion event.</summary>
        [FieldOffset(84)] public int CallerWaiting;

        [FieldOffset(192)] public int Claimed;

        [FieldOffset(320)] public Exception? Error;
        [FieldOffset(328)] public int Done;
        /// <summary>1 while the worker is blocked (or about to block) on its wake-up event.</summary>
        [FieldOffset(332)] public int WorkerSleeping;
    }

    private sealed class Worker
    {
        /// <summary>
        /// How long a caller done with its own part waits for the worker to finish before it looks whether the
        /// worker has started at all (and takes the part back if not). Looking sooner would pull the claim line
        /// away from the worker on every call; a worker that has started usually finishes within this time.
        /// </summary>
        private static readonly long GraceTicks = Stopwatch.Frequency / 1_000_000; // 1 µs

        private readonly ManualResetEventSlim _wake = new(false, spinCount: 1);
        private readonly ManualResetEventSlim _done = new(false, spinCount: 1);
        private HandOff _h;
        /// <summary>Number of the latest post (only the caller holding the pool touches it).</summary>
        private int _sequence;
        /// <summary>True when the last part posted was taken back because the worker had not started it.</summary>
        private bool _late;

        public Worker(int index)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = $"DiffTori CPU worker {index}" };
            thread.Start();
        }

        public bool Sleeping => Volatile.Read(ref _h.WorkerSleeping) != 0;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Post(IParallelWork work, int part, int parts)
        {
            _h.Work = work;
            _h.Part = part;
            _h.Parts = parts;
            _sequence = unchecked(_sequence + 1);
            // A full fence between publishing the post and reading the sleeping flag (the worker does the mirror
            // image), so that either the worker sees the post or this thread sees that it must wake the worker.
            Interlocked.Exchange(ref _h.Posted, _sequence);
            if (Volatile.Read(ref _h.WorkerSleeping) != 0) _wake.Set();
        }

        /// <summary>
        /// Wait for the posted part: true when the worker ran it (its exception, if any, in error); false when
        /// the worker had not started it and the caller took it back (the caller must then run it).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public bool Join(out Exception? error)
        {
            int s = _sequence;
            // After a call where the worker was late, look at once (on a busy machine it stays late for a while).
            if (!SpinFor(ref _h.Done, s, _late ? 0 : GraceTicks))
            {
                if (Volatile.Read(ref _h.Claimed) != s && Interlocked.CompareExchange(ref _h.Claimed, s, unchecked(s - 1)) == unchecked(s - 1))
                {
                    _late = true;
                    error = null;
                    return false;
                }
                WaitFor(ref _h.Done, s, equal: true, ref _h.CallerWaiting, _done);
            }
            _late = false;
            error = _h.Error;
            return true;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Loop()
        {
            int seen = 0;
            while (true)
            {
                WaitFor(ref _h.Posted, seen, equal: false, ref _h.WorkerSleeping, _wake);
                int s = Volatile.Read(ref _h.Posted);
                seen = s;
                // A part the caller took back (claimed already) is skipped.
                if (Interlocked.CompareExchange(ref _h.Claimed, s, unchecked(s - 1)) != unchecked(s - 1)) continue;
                Exception? error = null;
                try { _h.Work!.Execute(_h.Part, _h.Parts); }
                catch (Exception e) { error = e; }
                _h.Error = error;
                // Full fence before reading the caller's waiting flag (the mirror image of the caller's).
                Interlocked.Exchange(ref _h.Done, s);
                if (Volatile.Read(ref _h.CallerWaiting) != 0) _done.Set();
            }
        }

        /// <summary>
        /// Spin until (field == value) == equal; if that takes longer than <see cref="SpinTicks"/>, raise the
        /// sleeping flag (so the other side knows to set the signal) and block on the signal until it holds.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void WaitFor(ref int field, int value, bool equal, ref int sleepingFlag, ManualResetEventSlim signal)
        {
            if (SpinUntil(ref field, value, equal)) return;
            Interlocked.Exchange(ref sleepingFlag, 1);
            while ((Volatile.Read(ref field) == value) != equal)
            {
                signal.Wait();
                signal.Reset();
            }
            Volatile.Write(ref sleepingFlag, 0);
        }

        /// <summary>Poll until field == value (true) or the given ticks have passed (false).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static bool SpinFor(ref int field, int value, long ticks)
        {
            if (Volatile.Read(ref field) == value) return true;
            if (ticks <= 0) return false;
            long start = Stopwatch.GetTimestamp();
            while (true)
            {
                for (int i = 0; i < 16; i++)
                {
                    if (Volatile.Read(ref field) == value) return true;
                    Thread.SpinWait(1);
                }
                if (Stopwatch.GetTimestamp() - start > ticks) return Volatile.Read(ref field) == value;
            }
        }

        /// <summary>
        /// Poll until (field == value) == equal (true) or <see cref="SpinTicks"/> have passed (false); after
        /// <see cref="YieldTicks"/> the core is offered to other threads between rounds of polling.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static bool SpinUntil(ref int field, int value, bool equal)
        {
            if ((Volatile.Read(ref field) == value) == equal) return true;
            long start = Stopwatch.GetTimestamp();
            while (true)
            {
                for (int i = 0; i < 64; i++)
                {
                    if ((Volatile.Read(ref field) == value) == equal) return true;
                    Thread.SpinWait(1);
                }
                long waited = Stopwatch.GetTimestamp() - start;
                if (waited > SpinTicks) return (Volatile.Read(ref field) == value) == equal;
                if (waited > YieldTicks) Thread.Yield();
            }
        }
    }
}

/// <summary>
/// A parallel loop over chunks 0..count-1 for the elementwise and reduction kernels. Subclasses are cached
/// per thread and hold the call's operands in fields, so a parallel call allocates nothing.
/// Part p of the pool owns a fixed, contiguous range of chunks (the same on every call with the same count, so
/// each core streams the same part of the data and finds what stayed in its cache), and takes its chunks from
/// the front; a thread done with its own range steals the remaining chunks of the others from the back, so a
/// thread the OS delays does not hold up the call.
/// </summary>
internal abstract class ChunkedWork : IParallelWork
{
    /// <summary>One padded slot per part: the range [front, back) of chunks not yet taken, packed in one long.</summary>
    private readonly long[] _ranges = new long[(CpuParallel.Threads + 1) * SlotStride];
    private const int SlotStride = 16; // 128 bytes: no two slots share a cache line (or an adjacent-line prefetch pair)
    private int _parts;

    /// <summary>Run every chunk once, spread over the pool; returns when all are done.</summary>
    protected void RunChunks(int count)
    {
        int parts = Math.Min(count, CpuParallel.Threads);
        _parts = parts;
        for (int p = 0; p < parts; p++)
        {
            long front = (long)count * p / parts, back = (long)count * (p + 1) / parts;
            Volatile.Write(ref Slot(p), back << 32 | front);
        }
        try { CpuParallel.Run(this, parts); }
        finally { Clear(); }
    }

    public void Execute(int part, int parts)
    {
        while (TakeFront(part, out int chunk)) RunChunk(chunk);
        for (int other = 1; other < _parts; other++)
        {
            int victim = (part + other) % _parts;
            while (TakeBack(victim, out int chunk)) RunChunk(chunk);
        }
    }

    private bool TakeFront(int part, out int chunk)
    {
        ref long slot = ref Slot(part);
        while (true)
        {
            long range = Volatile.Read(ref slot);
            int front = (int)range, back = (int)(range >> 32);
            chunk = front;
            if (front >= back) return false;
            if (Interlocked.CompareExchange(ref slot, (long)back << 32 | (uint)(front + 1), range) == range) return true;
        }
    }

    private bool TakeBack(int part, out int chunk)
    {
        ref long slot = ref Slot(part);
        while (true)
        {
            long range = Volatile.Read(ref slot);
            int front = (int)range, back = (int)(range >> 32);
            chunk = back - 1;
            if (front >= back) return false;
            if (Interlocked.CompareExchange(ref slot, (long)(back - 1) << 32 | (uint)front, range) == range) return true;
        }
    }

    /// <summary>Part p's slot (slot 0 of the array is left unused, away from the array's header).</summary>
    private ref long Slot(int part) => ref _ranges[(part + 1) * SlotStride];

    protected abstract void RunChunk(int chunk);

    /// <summary>Drop references to the call's arrays, so a cached job does not keep them alive.</summary>
    protected abstract void Clear();
}
