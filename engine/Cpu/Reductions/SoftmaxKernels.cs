using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DiffTori.Engine;

/// <summary>
/// Softmax / log-softmax along n of a dense [outer, n, inner] array, one outer index (and, when
/// inner &gt; 1, one block of up to <see cref="ReduceKernels.Columns"/> columns) at a time. The row
/// maximum is subtracted first, so large inputs cannot overflow.
/// </summary>
internal static class SoftmaxKernels
{
    /// <summary>
    /// One contiguous row (inner = 1) in three passes: the maximum m; exp(x − m) stored (softmax) and summed in
    /// the same pass; then one scale (softmax: y·(1/Σ)) or shift (log-softmax: y = x − (m + log Σ)).
    /// </summary>
    public static void Row<T>(ReadOnlySpan<T> x, Span<T> y, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T m = RowMax(x);
        if (!log)
        {
            T sum = ExpShiftedSum(x, m, y, store: true);
            TensorPrimitives.Multiply(y, T.One / sum, y);
            return;
        }
        T logSum = T.Log(ExpShiftedSum(x, m, y, store: false));
        TensorPrimitives.Subtract(x, m + logSum, y);
    }

    /// <summary>
    /// The row maximum with the plain max instruction (four independent chains). It may skip a NaN, which is
    /// harmless here: exp(NaN − m) makes the sum, and so every output of the row, NaN anyway.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T RowMax<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length, w = Vector512<T>.Count;
        if (!Vector512.IsHardwareAccelerated || n < 4 * w) return TensorPrimitives.Max(x);
        ref T rx = ref MemoryMarshal.GetReference(x);
        var m0 = Vector512.LoadUnsafe(ref rx);
        Vector512<T> m1 = m0, m2 = m0, m3 = m0;
        int i = 0;
        for (; i <= n - 4 * w; i += 4 * w)
        {
            m0 = Vector512.MaxNative(m0, Vector512.LoadUnsafe(ref rx, (nuint)i));
            m1 = Vector512.MaxNative(m1, Vector512.LoadUnsafe(ref rx, (nuint)(i + w)));
            m2 = Vector512.MaxNative(m2, Vector512.LoadUnsafe(ref rx, (nuint)(i + 2 * w)));
            m3 = Vector512.MaxNative(m3, Vector512.LoadUnsafe(ref rx, (nuint)(i + 3 * w)));
        }
        // The rest as whole vectors ending at n (overlap is harmless for a maximum).
        for (; i < n; i += w) m0 = Vector512.MaxNative(m0, Vector512.LoadUnsafe(ref rx, (nuint)Math.Min(i, n - w)));
        var m = Vector512.MaxNative(Vector512.MaxNative(m0, m1), Vector512.MaxNative(m2, m3));
        T best = m[0];
        for (int k = 1; k < w; k++) best = T.MaxNumber(best, m[k]);
        return best;
    }

    /// <summary>Σ exp(x − m), also written to y when store is set: one fused SIMD pass.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T ExpShiftedSum<T>(ReadOnlySpan<T> x, T m, Span<T> y, bool store) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length, i = 0;
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T ry = ref MemoryMarshal.GetReference(y);
        T sum = T.Zero;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
        {
            int w = Vector512<T>.Count;
            var shift = Vector512.Create(m);
            Vector512<T> s0 = Vector512<T>.Zero, s1 = Vector512<T>.Zero;
            // Two independent sums keep the adds off the critical path.
            for (; i <= n - 2 * w; i += 2 * w)
            {
                var e0 = Exp(Vector512.LoadUnsafe(ref rx, (nuint)i) - shift);
                var e1 = Exp(Vector512.LoadUnsafe(ref rx, (nuint)(i + w)) - shift);
                if (store)
                {
                    e0.StoreUnsafe(ref ry, (nuint)i);
                    e1.StoreUnsafe(ref ry, (nuint)(i + w));
                }
                s0 += e0;
                s1 += e1;
            }
            for (; i <= n - w; i += w)
            {
                var e = Exp(Vector512.LoadUnsafe(ref rx, (nuint)i) - shift);
                if (store) e.StoreUnsafe(ref ry, (nuint)i);
                s0 += e;
            }
            sum = Vector512.Sum(s0 + s1);
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<T>.Count)
        {
            int w = Vector256<T>.Count;
            var shift = Vector256.Create(m);
            Vector256<T> s0 = Vector256<T>.Zero;
            for (; i <= n - w; i += w)
            {
                var e = Exp(Vector256.LoadUnsafe(ref rx, (nuint)i) - shift);
                if (store) e.StoreUnsafe(ref ry, (nuint)i);
                s0 += e;
            }
            sum = Vector256.Sum(s0);
        }
        for (; i < n; i++)
        {
            T e = T.Exp(Unsafe.Add(ref rx, i) - m);
            if (store) Unsafe.Add(ref ry, i) = e;
            sum += e;
        }
        return sum;
    }

    // Vector exp of x − m ≤ 0 for the two element types (the JIT keeps only the branch for T).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Exp<T>(Vector512<T> v) where T : unmanaged =>
        typeof(T) == typeof(float) ? FastExp.NonPositive(v.AsSingle()).As<float, T>() : Vector512.Exp(v.AsDouble()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Exp<T>(Vector256<T> v) where T : unmanaged =>
        typeof(T) == typeof(float) ? FastExp.NonPositive(v.AsSingle()).As<float, T>() : Vector256.Exp(v.AsDouble()).As<double, T>();

    /// <summary>Columns [c0, c0 + count) of outer index o when inner &gt; 1.</summary>
    public static void Block<T>(ReadOnlySpan<T> x, Span<T> y, int n, int inner, int o, int c0, int count, bool log)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int baseIndex = o * n * inner + c0;
        Span<T> maxBuffer = stackalloc T[ReduceKernels.Columns], sumBuffer = stackalloc T[ReduceKernels.Columns], tmpBuffer = stackalloc T[ReduceKernels.Columns];
        var max = maxBuffer[..count];
        var sum = sumBuffer[..count];
        var tmp = tmpBuffer[..count];
        x.Slice(baseIndex, count).CopyTo(max);
        for (int j = 1; j < n; j++) TensorPrimitives.Max(max, x.Slice(baseIndex + j * inner, count), max);
        sum.Clear();
        for (int j = 0; j < n; j++)
        {
            var yj = y.Slice(baseIndex + j * inner, count);
            TensorPrimitives.Subtract(x.Slice(baseIndex + j * inner, count), max, yj);
            if (log)
            {
                TensorPrimitives.Exp(yj, tmp);
                TensorPrimitives.Add(sum, tmp, sum);
            }
            else
            {
                TensorPrimitives.Exp(yj, yj);
                TensorPrimitives.Add(sum, yj, sum);
            }
        }
        if (log) TensorPrimitives.Log(sum, sum);
        for (int j = 0; j < n; j++)
        {
            var yj = y.Slice(baseIndex + j * inner, count);
            if (log) TensorPrimitives.Subtract(yj, sum, yj);
            else TensorPrimitives.Divide(yj, sum, yj);
        }
    }
}

/// <summary>Layer normalization of contiguous rows: y = (x − mean)·rstd, rstd = 1/sqrt(var + eps), population variance.</summary>
internal static class LayerNormKernels
{
    public static void Row<T>(ReadOnlySpan<T> x, Span<T> y, out T mean, out T rstd, T eps) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T n = T.CreateTruncating(x.Length);
        mean = TensorPrimitives.Sum(x) / n;
        TensorPrimitives.Subtract(x, mean, y);
        T variance = TensorPrimitives.SumOfSquares<T>(y) / n;
        rstd = T.One / T.Sqrt(variance + eps);
        TensorPrimitives.Multiply(y, rstd, y);
    }
}
