namespace DiffTori.TrajOpt;

/// <summary>
/// min ½ xᵀHx + qᵀx  s.t. lo ≤ x ≤ hi, for a small SPD H, by projected Newton (Tassa, Mansard &amp; Todorov
/// 2014, "Control-limited differential dynamic programming"): each iteration fixes the clamped set
/// (at a bound with the gradient pushing outward), takes the Newton step on the free set and an
/// Armijo line search along the projected path. The result keeps the Cholesky factor of H_ff on the
/// final free set, which the DDP backward pass needs for its feedback gains.
/// </summary>
public sealed class BoxQp
{
    private readonly int _k;
    private readonly double[] _grad, _search, _trial, _hff, _rhs;
    private readonly int[] _freeIdx;
    private readonly bool[] _oldFree;

    public BoxQp(int size)
    {
        _k = size;
        _grad = new double[size];
        _search = new double[size];
        _trial = new double[size];
        _hff = new double[size * size];
        _rhs = new double[size];
        _freeIdx = new int[size];
        _oldFree = new bool[size];
        Free = new bool[size];
        FreeFactor = new double[size * size];
    }

    /// <summary>Which coordinates are free at the solution.</summary>
    public bool[] Free { get; }
    public int FreeCount { get; private set; }
    /// <summary>Indices of the free coordinates (first FreeCount entries).</summary>
    public ReadOnlySpan<int> FreeIndices => _freeIdx.AsSpan(0, FreeCount);
    /// <summary>Lower Cholesky factor of H restricted to the free set (FreeCount × FreeCount).</summary>
    public double[] FreeFactor { get; }

    /// <summary>Solve into x (its content is the warm start). False when H_ff is not positive definite.</summary>
    public bool Solve(ReadOnlySpan<double> h, ReadOnlySpan<double> q, ReadOnlySpan<double> lo, ReadOnlySpan<double> hi, Span<double> x,
        int maxIterations = 100, double tolerance = 1e-10)
    {
        if (_k == 1) return SolveScalar(h[0], q[0], lo[0], hi[0], ref x[0], maxIterations, tolerance);
        return SolveGeneral(h, q, lo, hi, x, maxIterations, tolerance);
    }

    /// <summary>The general projected-Newton path for any size (also the reference the 1-D path is tested against).</summary>
    internal bool SolveGeneral(ReadOnlySpan<double> h, ReadOnlySpan<double> q, ReadOnlySpan<double> lo, ReadOnlySpan<double> hi, Span<double> x,
        int maxIterations = 100, double tolerance = 1e-10)
    {
        int k = _k;
        for (int i = 0; i < k; i++) x[i] = Math.Clamp(x[i], lo[i], hi[i]);
        double value = Value(h, q, x);
        bool factored = false;
        var oldFree = _oldFree;
        for (int iter = 0; iter < maxIterations; iter++)
        {
            SmallDense.MatVec(h, x, _grad, k, k);
            for (int i = 0; i < k; i++) _grad[i] += q[i];
            int nf = 0;
            bool changed = !factored;
            for (int i = 0; i < k; i++)
            {
                bool clamped = (x[i] <= lo[i] && _grad[i] > 0) || (x[i] >= hi[i] && _grad[i] < 0);
                Free[i] = !clamped;
                if (!clamped) _freeIdx[nf++] = i;
                if (Free[i] != oldFree[i]) changed = true;
            }
            FreeCount = nf;
            if (nf == 0) return true;
            if (changed)
            {
                if (!FactorFree(h)) return false;
                factored = true;
                Free.AsSpan().CopyTo(oldFree);
            }
            double gnorm = 0;
            for (int f = 0; f < nf; f++) gnorm += _grad[_freeIdx[f]] * _grad[_freeIdx[f]];
            if (gnorm < tolerance * tolerance) return true;
            // Newton step on the free set, clamped coordinates held: Δ_f = −H_ff⁻¹ g_f.
            for (int f = 0; f < nf; f++) _rhs[f] = -_grad[_freeIdx[f]];
            SmallDense.CholeskySolve(FreeFactor, nf, _rhs);
            Array.Clear(_search);
            for (int f = 0; f < nf; f++) _search[_freeIdx[f]] = _rhs[f];
            double sdotg = SmallDense.Dot(_search, _grad);
            if (sdotg >= 0) return true; // no descent left (rounding)
            double step = 1, trialValue = 0;
            while (true)
            {
                for (int i = 0; i < k; i++) _trial[i] = Math.Clamp(x[i] + step * _search[i], lo[i], hi[i]);
                trialValue = Value(h, q, _trial);
                if ((trialValue - value) / (step * sdotg) >= 0.1) break;
                step *= 0.6;
                if (step < 1e-20) return true;
            }
            _trial.AsSpan(0, k).CopyTo(x);
            value = trialValue;
        }
        return true;
    }

    /// <summary>
    /// The same projected-Newton iteration for one control (the common case m = 1), in scalars: the free set is
    /// {0} or empty, the Cholesky factor is √h, and the Armijo search runs along the clamped Newton step.
    /// </summary>
    internal bool SolveScalar(double h, double q, double lo, double hi, ref double x, int maxIterations, double tolerance)
    {
        x = Math.Clamp(x, lo, hi);
        double value = x * (0.5 * (h * x) + q);
        double l = 0;
        bool factored = false;
        for (int iter = 0; iter < maxIterations; iter++)
        {
            double grad = h * x + q;
            bool clamped = (x <= lo && grad > 0) || (x >= hi && grad < 0);
            bool changed = !factored || _oldFree[0] == clamped;
            Free[0] = !clamped;
            FreeCount = clamped ? 0 : 1;
            _freeIdx[0] = 0;
            if (clamped) return true;
            if (changed)
            {
                double d = h;
                if (!(d > 0) || double.IsInfinity(d)) return false;
                l = Math.Sqrt(d);
                FreeFactor[0] = l;
                factored = true;
                _oldFree[0] = true;
            }
            if (grad * grad < tolerance * tolerance) return true;
            double search = -grad / l / l;
            double sdotg = search * grad;
            if (sdotg >= 0) return true;
            double step = 1, trial, trialValue;
            while (true)
            {
                trial = Math.Clamp(x + step * search, lo, hi);
                trialValue = trial * (0.5 * (h * trial) + q);
                if ((trialValue - value) / (step * sdotg) >= 0.1) break;
                step *= 0.6;
                if (step < 1e-20) return true;
            }
            x = trial;
            value = trialValue;
        }
        return true;
    }

    /// <summary>Factor H on the current free set (used after Solve to refresh for the final set).</summary>
    private bool FactorFree(ReadOnlySpan<double> h)
    {
        int nf = FreeCount, k = _k;
        for (int a = 0; a < nf; a++)
            for (int b = 0; b < nf; b++)
                _hff[a * nf + b] = h[_freeIdx[a] * k + _freeIdx[b]];
        _hff.AsSpan(0, nf * nf).CopyTo(FreeFactor);
        return SmallDense.Cholesky(FreeFactor, nf);
    }

    private double Value(ReadOnlySpan<double> h, ReadOnlySpan<double> q, ReadOnlySpan<double> x)
    {
        int k = _k;
        double v = 0;
        for (int i = 0; i < k; i++)
        {
            double hx = 0;
            for (int j = 0; j < k; j++) hx += h[i * k + j] * x[j];
            v += x[i] * (0.5 * hx + q[i]);
        }
        return v;
    }
}
