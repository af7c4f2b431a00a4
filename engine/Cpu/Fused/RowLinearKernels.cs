using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DiffTori.Engine;

/// <summary>
/// A linear layer on a single input row (batch 1: acting, planning, a policy query), forward and backward,
/// each as one pass over the weight W [out, in] split between the cores by output rows. The split is the
/// same as the batch-1 GEMV's and the same on every call, so each core keeps its rows of W in its own L2.
/// - forward: y[o] = act(b[o] + W[o,:]·x), the bias and the activation (none or ELU) applied in the epilogue;
/// - backward: gradW[o,:] = g[o]·x (written, or added) and gradX = Σ_o g[o]·W[o,:] from the same read of W
///   (each core sums its rows into its own scratch row; the caller adds the partial rows after the join),
///   and optionally dots[o] = W[o,:]·x from the same sweep (the batch-1 backward of a·W, see Ops.RowMatmulBackward).
/// One cached job per calling thread: no allocation in steady state.
/// </summary>
internal sealed class RowLinearJob<T> : IParallelWork where T : unmanaged, IFloatingPointIeee754<T>
{
    [ThreadStatic] private static RowLinearJob<T>? _forThisThread;
    public static RowLinearJob<T> ForThisThread => _forThisThread ??= new RowLinearJob<T>();

    /// <summary>Weights of at least this many elements (256 KB in float32) are split between the cores; below, a fork-join costs about what it saves.</summary>
    public const int ParallelElements = 1 << 16;

    private T[] _w = [], _x = [], _y = [], _b = [], _g = [], _gw = [], _dots = [], _partials = [];
    private int _offW, _offX, _offY, _offB, _offG, _offGw, _offDots, _rows, _cols;
    private bool _backward, _hasBias, _elu, _accumulate, _wantX, _wantW, _wantDots;
    private T _alpha;

    public static int PartsFor(int rows, int cols) =>
        (long)rows * cols >= ParallelElements && rows >= 8 ? CpuParallel.Threads : 1;

    /// <summary>y = act(W·x + b) for W [rows, cols] (rows = outputs); elu picks ELU(alpha) as the activation.</summary>
    public void Forward(T[] w, int offW, T[] x, int offX, T[]? b, int offB, T[] y, int offY, int rows, int cols, bool elu, T alpha)
    {
        (_w, _offW, _x, _offX, _y, _offY, _rows, _cols) = (w, offW, x, offX, y, offY, rows, cols);
        (_b, _offB, _hasBias, _elu, _alpha, _backward) = (b ?? [], offB, b is not null, elu, alpha, false);
        try { Launch(PartsFor(rows, cols)); }
        finally { Clear(); }
    }

    /// <summary>
    /// gradW = g ⊗ x (+ gradW when accumulate) and gradX = gᵀ·W (written) for W [rows, cols], g [rows], x [cols].
    /// gradW may be null (only gradX wanted); gradX may be null (only gradW wanted). dots, when given, gets
    /// dots[o] = W[o,:]·x (written) from the same read of W.
    /// </summary>
    public void Backward(T[] w, int offW, T[] g, int offG, T[] x, int offX, T[]? gradW, int offGw, bool accumulate,
        T[]? gradX, int offGx, int rows, int cols, T[]? dots = null, int offDots = 0)
    {
        int parts = PartsFor(rows, cols);
        (_w, _offW, _g, _offG, _x, _offX, _rows, _cols) = (w, offW, g, offG, x, offX, rows, cols);
        (_gw, _offGw, _accumulate, _backward) = (gradW ?? [], offGw, accumulate, true);
        bool wantX = gradX is not null;
        if (wantX && _partials.Length < parts * cols) _partials = new T[parts * cols];
        (_wantX, _wantW, _wantDots, _dots, _offDots) = (wantX, gradW is not null, dots is not null, dots ?? [], offDots);
        try
        {
            Launch(parts);
            if (wantX)
            {
                var target = gradX.AsSpan(offGx, cols);
                _partials.AsSpan(0, cols).CopyTo(target);
                for (int p = 1; p < parts; p++) System.Numerics.Tensors.TensorPrimitives.Add(target, _partials.AsSpan(p * cols, cols), target);
            }
        }
        finally { Clear(); }
    }

    private void Launch(int parts)
    {
        if (parts <= 1) Execute(0, 1);
        else CpuParallel.Run(this, parts);
    }

    private void Clear()
    {
        _w = _x = _y = _b = _g = _gw = _dots = [];
        _wantDots = false;
    }

    /// <summary>Part p of n takes the output rows of groups [p·G/n, (p+1)·G/n) of four rows (as the batch-1 GEMV).</summary>
    public void Execute(int part, int parts)
    {
        int groups = (_rows + 3) / 4;
        int start = (int)((long)groups * part / parts) * 4, end = Math.Min(_rows, (int)((long)groups * (part + 1) / parts) * 4);
        if (_backward)
        {
            if (_wantX) _partials.AsSpan(part * _cols, _cols).Clear();
            if (start < end) BackwardRows(start, end, part);
        }
        else if (start < end) ForwardRows(start, end);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ForwardRows(int start, int end)
    {
        int k = _cols;
        ref T x = ref _x[_offX];
        int o = start;
        for (; o + 4 <= end; o += 4)
        {
            ref T w0 = ref _w[_offW + o * k];
            Dot4(ref w0, ref Unsafe.Add(ref w0, k), ref Unsafe.Add(ref w0, 2 * k), ref Unsafe.Add(ref w0, 3 * k), ref x, k,
                out _y[_offY + o], out _y[_offY + o + 1], out _y[_offY + o + 2], out _y[_offY + o + 3]);
        }
        for (; o < end; o++)
        {
            ref T w0 = ref _w[_offW + o * k];
            Dot4(ref w0, ref w0, ref w0, ref w0, ref x, k, out _y[_offY + o], out _, out _, out _);
        }
        // Bias and activation over this part's outputs in one vector pass.
        LinearEpilogueKernel.Apply(_y.AsSpan(_offY + start, end - start), _hasBias ? _b.AsSpan(_offB + start, end - start) : default, _hasBias, _elu, _alpha);
    }

    /// <summary>
    /// Four dot products of length k against x: Vector512 blocks, then one Vector256 block folded into the low
    /// half of the same sums (one horizontal sum per row, which dominates when k is small, e.g. 56), then scalars.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot4(ref T w0, ref T w1, ref T w2, ref T w3, ref T x, int k, out T d0, out T d1, out T d2, out T d3)
    {
        int p = 0;
        d0 = d1 = d2 = d3 = T.Zero;
        if (Vector512.IsHardwareAccelerated && k >= Vector256<T>.Count)
        {
            Vector512<T> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; p + Vector512<T>.Count <= k; p += Vector512<T>.Count)
            {
                var xv = Vector512.LoadUnsafe(ref x, (nuint)p);
                s0 = MicroKernel.Fma(Vector512.LoadUnsafe(ref w0, (nuint)p), xv, s0);
                s1 = MicroKernel.Fma(Vector512.LoadUnsafe(ref w1, (nuint)p), xv, s1);
                s2 = MicroKernel.Fma(Vector512.LoadUnsafe(ref w2, (nuint)p), xv, s2);
                s3 = MicroKernel.Fma(Vector512.LoadUnsafe(ref w3, (nuint)p), xv, s3);
            }
            if (p + Vector256<T>.Count <= k)
            {
                var xv = Vector512.Create(Vector256.LoadUnsafe(ref x, (nuint)p), Vector256<T>.Zero);
                s0 = MicroKernel.Fma(Vector512.Create(Vector256.LoadUnsafe(ref w0, (nuint)p), Vector256<T>.Zero), xv, s0);
                s1 = MicroKernel.Fma(Vector512.Create(Vector256.LoadUnsafe(ref w1, (nuint)p), Vector256<T>.Zero), xv, s1);
                s2 = MicroKernel.Fma(Vector512.Create(Vector256.LoadUnsafe(ref w2, (nuint)p), Vector256<T>.Zero), xv, s2);
                s3 = MicroKernel.Fma(Vector512.Create(Vector256.LoadUnsafe(ref w3, (nuint)p), Vector256<T>.Zero), xv, s3);
                p += Vector256<T>.Count;
            }
            d0 = Vector512.Sum(s0); d1 = Vector512.Sum(s1); d2 = Vector512.Sum(s2); d3 = Vector512.Sum(s3);
        }
        else if (Vector256.IsHardwareAccelerated && k >= Vector256<T>.Count)
        {
            Vector256<T> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; p + Vector256<T>.Count <= k; p += Vector256<T>.Count)
            {
                var xv = Vector256.LoadUnsafe(ref x, (nuint)p);
                s0 = MicroKernel.Fma(Vector256.LoadUnsafe(ref w0, (nuint)p), xv, s0);
                s1 = MicroKernel.Fma(Vector256.LoadUnsafe(ref w1, (nuint)p), xv, s1);
                s2 = MicroKernel.Fma(Vector256.LoadUnsafe(ref w2, (nuint)p), xv, s2);
                s3 = MicroKernel.Fma(Vector256.LoadUnsafe(ref w3, (nuint)p), xv, s3);
            }
            d0 = Vector256.Sum(s0); d1 = Vector256.Sum(s1); d2 = Vector256.Sum(s2); d3 = Vector256.Sum(s3);
        }
        for (; p < k; p++)
        {
            T xp = Unsafe.Add(ref x, p);
            d0 += Unsafe.Add(ref w0, p) * xp;
            d1 += Unsafe.Add(ref w1, p) * xp;
            d2 += Unsafe.Add(ref w2, p) * xp;
            d3 += Unsafe.Add(ref w3, p) * xp;
        }
    }

    /// <summary>
    /// For each of this part's rows o: partial[:] += g[o]·W[o,:] and dots[o] = W[o,:]·x from one sweep of W, then
    /// gradW[o,:] (=|+=) g[o]·x, which does not read W. Without dots, the sweep takes rows eight at a time
    /// (<see cref="BackwardEightRows"/>); with dots and no input gradient, four at a time (<see cref="Dot4"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BackwardRows(int start, int end, int part)
    {
        int o = start;
        if (Vector512.IsHardwareAccelerated && _wantX && !_wantDots && _cols >= Vector512<T>.Count)
        {
            int vecEnd = _cols / Vector512<T>.Count * Vector512<T>.Count;
            for (; o + 8 <= end; o += 8)
            {
                BackwardEightRows(o, part, vecEnd);
                if (vecEnd < _cols)
                    for (int r = o; r < o + 8; r++) InputAndDotRow(r, part, vecEnd);
            }
        }
        else if (_wantDots && !_wantX)
        {
            // The backward of a·W: four dot products share each load of x (one chain per row was latency-bound).
            int k = _cols;
            ref T x = ref _x[_offX];
            for (; o + 4 <= end; o += 4)
            {
                ref T w0 = ref _w[_offW + o * k];
                Dot4(ref w0, ref Unsafe.Add(ref w0, k), ref Unsafe.Add(ref w0, 2 * k), ref Unsafe.Add(ref w0, 3 * k), ref x, k,
                    out _dots[_offDots + o], out _dots[_offDots + o + 1], out _dots[_offDots + o + 2], out _dots[_offDots + o + 3]);
            }
        }
        if (_wantX || _wantDots)
            for (; o < end; o++) InputAndDotRow(o, part, 0);
        if (_wantW)
            for (int r = start; r < end; r++) WeightGradientRow(r);
    }

    /// <summary>
    /// Columns [0, vecEnd) of eight rows o … o+7 without dots: each vector of W is loaded once, the eight
    /// products are summed as a tree and the partial gradient row is read and written once per eight rows
    /// (a row at a time, that load and store per row was the bottleneck).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BackwardEightRows(int o, int part, int vecEnd)
    {
        int k = _cols, w = Vector512<T>.Count;
        ref T acc = ref _partials[part * k];
        ref T w0 = ref _w[_offW + o * k];
        ref T g = ref _g[_offG + o];
        var g0 = Vector512.Create(g); var g1 = Vector512.Create(Unsafe.Add(ref g, 1));
        var g2 = Vector512.Create(Unsafe.Add(ref g, 2)); var g3 = Vector512.Create(Unsafe.Add(ref g, 3));
        var g4 = Vector512.Create(Unsafe.Add(ref g, 4)); var g5 = Vector512.Create(Unsafe.Add(ref g, 5));
        var g6 = Vector512.Create(Unsafe.Add(ref g, 6)); var g7 = Vector512.Create(Unsafe.Add(ref g, 7));
        for (int p = 0; p < vecEnd; p += w)
        {
            ref T wp = ref Unsafe.Add(ref w0, p);
            var v0 = Vector512.LoadUnsafe(ref wp); var v1 = Vector512.LoadUnsafe(ref wp, (nuint)k);
            var v2 = Vector512.LoadUnsafe(ref wp, (nuint)(2 * k)); var v3 = Vector512.LoadUnsafe(ref wp, (nuint)(3 * k));
            var v4 = Vector512.LoadUnsafe(ref wp, (nuint)(4 * k)); var v5 = Vector512.LoadUnsafe(ref wp, (nuint)(5 * k));
            var v6 = Vector512.LoadUnsafe(ref wp, (nuint)(6 * k)); var v7 = Vector512.LoadUnsafe(ref wp, (nuint)(7 * k));
            var sum = (MicroKernel.Fma(v1, g1, v0 * g0) + MicroKernel.Fma(v3, g3, v2 * g2))
                + (MicroKernel.Fma(v5, g5, v4 * g4) + MicroKernel.Fma(v7, g7, v6 * g6));
            (Vector512.LoadUnsafe(ref acc, (nuint)p) + sum).StoreUnsafe(ref acc, (nuint)p);
        }
    }

    /// <summary>Row o from column p0 on: the partial gradient row and the dot, one vector at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void InputAndDotRow(int o, int part, int p0)
    {
        int k = _cols;
        bool wantX = _wantX, wantDots = _wantDots;
        ref T x = ref _x[_offX];
        ref T acc = ref wantX ? ref _partials[part * k] : ref x;
        T go = _g[_offG + o];
        ref T w = ref _w[_offW + o * k];
        int p = p0;
        T dot = T.Zero;
        if (Vector512.IsHardwareAccelerated)
        {
            var gv = Vector512.Create(go);
            var dv = Vector512<T>.Zero;
            for (; p + Vector512<T>.Count <= k; p += Vector512<T>.Count)
            {
                if (wantDots) dv = MicroKernel.Fma(Vector512.LoadUnsafe(ref w, (nuint)p), Vector512.LoadUnsafe(ref x, (nuint)p), dv);
                if (wantX) MicroKernel.Fma(gv, Vector512.LoadUnsafe(ref w, (nuint)p), Vector512.LoadUnsafe(ref acc, (nuint)p)).StoreUnsafe(ref acc, (nuint)p);
            }
            if (wantDots) dot = Vector512.Sum(dv);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var gv = Vector256.Create(go);
            var dv = Vector256<T>.Zero;
            for (; p + Vector256<T>.Count <= k; p += Vector256<T>.Count)
            {
                if (wantDots) dv = MicroKernel.Fma(Vector256.LoadUnsafe(ref w, (nuint)p), Vector256.LoadUnsafe(ref x, (nuint)p), dv);
                if (wantX) MicroKernel.Fma(gv, Vector256.LoadUnsafe(ref w, (nuint)p), Vector256.LoadUnsafe(ref acc, (nuint)p)).StoreUnsafe(ref acc, (nuint)p);
            }
            if (wantDots) dot += Vector256.Sum(dv);
        }
        for (; p < k; p++)
        {
            if (wantDots) dot += Unsafe.Add(ref w, p) * Unsafe.Add(ref x, p);
            if (wantX) Unsafe.Add(ref acc, p) += go * Unsafe.Add(ref w, p);
        }
        if (wantDots) _dots[_offDots + o] = dot;
    }

    /// <summary>gradW[o,:] = g[o]·x (or added): fused multiply-adds by Vector512, then Vector256, then scalars.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WeightGradientRow(int o)
    {
        int k = _cols, p = 0;
        bool accumulate = _accumulate;
        ref T x = ref _x[_offX];
        ref T gw = ref _gw[_offGw + o * k];
        T go = _g[_offG + o];
        if (Vector512.IsHardwareAccelerated)
        {
            var gv = Vector512.Create(go);
            for (; p + Vector512<T>.Count <= k; p += Vector512<T>.Count)
            {
                var xv = Vector512.LoadUnsafe(ref x, (nuint)p);
                (accumulate ? MicroKernel.Fma(gv, xv, Vector512.LoadUnsafe(ref gw, (nuint)p)) : gv * xv).StoreUnsafe(ref gw, (nuint)p);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var gv = Vector256.Create(go);
            for (; p + Vector256<T>.Count <= k; p += Vector256<T>.Count)
            {
                var xv = Vector256.LoadUnsafe(ref x, (nuint)p);
                (accumulate ? MicroKernel.Fma(gv, xv, Vector256.LoadUnsafe(ref gw, (nuint)p)) : gv * xv).StoreUnsafe(ref gw, (nuint)p);
            }
        }
        for (; p < k; p++)
            Unsafe.Add(ref gw, p) = accumulate ? Unsafe.Add(ref gw, p) + go * Unsafe.Add(ref x, p) : go * Unsafe.Add(ref x, p);
    }
}
