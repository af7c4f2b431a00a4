namespace DiffTori.TrajOpt;

/// <summary>
/// Everything one <see cref="Ilqr"/> solve works in: the nominal and trial trajectories, the gains, the
/// per-example status and the linearization, all flat double arrays (example-major, then time). A solve
/// takes the buffers of its thread and gives them back, so repeated solves of one shape (MPC, training,
/// benchmarks) allocate none of this again.
/// </summary>
internal sealed class IlqrBuffers
{
    [ThreadStatic] private static IlqrBuffers? _cached;

    public readonly int B, T, N, M;
    public readonly double[] X0, U, X, UNew, XNew, Kff, Kfb, Cost, Reg, GradNorm, Dv1, Dv2;
    public readonly bool[] Active, Converged, Searching;
    public readonly int[] Iterations;
    public readonly Linearization Lin;
    // Batched line search (Var dynamics): one time slice of the batch.
    public readonly double[] SliceX, SliceU, SliceNext, NewCost;
    /// <summary>Scratch of each worker thread.</summary>
    public readonly IlqrWorkspace[] Workers;

    private IlqrBuffers(int b, int t, int n, int m)
    {
        B = b; T = t; N = n; M = m;
        X0 = new double[b * n]; U = new double[b * t * m]; X = new double[b * (t + 1) * n];
        UNew = new double[U.Length]; XNew = new double[X.Length];
        Kff = new double[b * t * m]; Kfb = new double[b * t * m * n];
        Cost = new double[b]; Reg = new double[b]; GradNorm = new double[b]; Dv1 = new double[b]; Dv2 = new double[b];
        Active = new bool[b]; Converged = new bool[b]; Searching = new bool[b]; Iterations = new int[b];
        Lin = new Linearization(b, t, n, m);
        SliceX = new double[b * n]; SliceU = new double[b * m]; SliceNext = new double[b * n]; NewCost = new double[b];
        Workers = new IlqrWorkspace[Math.Max(1, Environment.ProcessorCount)];
        for (int i = 0; i < Workers.Length; i++) Workers[i] = new IlqrWorkspace(n, m);
    }

    /// <summary>This thread's buffers for the shape (B, T, n, m), reset; new ones when the shape changed or they are in use.</summary>
    public static IlqrBuffers Rent(int b, int t, int n, int m)
    {
        var c = _cached;
        _cached = null;
        if (c is null || c.B != b || c.T != t || c.N != n || c.M != m) c = new IlqrBuffers(b, t, n, m);
        Array.Clear(c.Cost); Array.Clear(c.Reg); Array.Clear(c.GradNorm); Array.Clear(c.Dv1); Array.Clear(c.Dv2);
        Array.Clear(c.Active); Array.Clear(c.Converged); Array.Clear(c.Searching); Array.Clear(c.Iterations);
        Array.Clear(c.Kff); Array.Clear(c.Kfb);
        var l = c.Lin;
        Array.Clear(l.A); Array.Clear(l.Bu); Array.Clear(l.Lx); Array.Clear(l.Lxx); Array.Clear(l.Lu); Array.Clear(l.Luu); Array.Clear(l.Lux);
        return c;
    }

    public static void Return(IlqrBuffers b) => _cached = b;

    public Span<double> KffSpan(int b, int t) => Kff.AsSpan((b * T + t) * M, M);
    public Span<double> KfbSpan(int b, int t) => Kfb.AsSpan((b * T + t) * M * N, M * N);
}

/// <summary>Per-thread scratch of the backward pass, gradient norm and single-example line search.</summary>
internal sealed class IlqrWorkspace
{
    public IlqrWorkspace(int n, int m)
    {
        Dx = new double[n]; Next = new double[n];
        Backward = new BoxDdpBackward(n, m);
        Lanes = IlqrLanes.Applies(m) ? new IlqrLanes(n) : null;
    }
    public readonly double[] Dx, Next;
    /// <summary>The one-example backward pass and gradient norm, with their scratch.</summary>
    public readonly BoxDdpBackward Backward;
    /// <summary>The box QP (the backward pass's), for the lanes' per-lane feedforward steps.</summary>
    public BoxQp Qp => Backward.Qp;
    /// <summary>The eight-lane backward pass, where it applies (m = 1, 512-bit SIMD).</summary>
    public readonly IlqrLanes? Lanes;
    /// <summary>Examples of the current group that are still active.</summary>
    public readonly int[] Group = new int[IlqrLanes.Lanes];
}
