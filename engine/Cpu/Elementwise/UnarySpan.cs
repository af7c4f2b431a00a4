using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DiffTori.Engine;

/// <summary>
/// Every <see cref="UnaryOp"/> over flat spans. Single-step ops go straight to TensorPrimitives (SIMD);
/// composite ops (Silu, Elu, Softplus, Mish, Sign) run a few TensorPrimitives passes over chunks small
/// enough to stay in L1, so they are SIMD too and need no heap scratch. y may be the same span as x.
/// </summary>
internal static class UnarySpan
{
    /// <summary>Elements per chunk of composite ops (4 scratch chunks of doubles = 8 KB of stack).</summary>
    public const int Chunk = 256;

    public static void Apply<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> y, double p0, double p1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!CacheSlices.Split<T>(y.Length))
        {
            ApplyOne(op, x, y, p0, p1);
            return;
        }
        // Slice by slice, so the result is written through the cache (see CacheSlices).
        int slice = CacheSlices.Length<T>();
        for (int start = 0; start < y.Length; start += slice)
        {
            int len = Math.Min(slice, y.Length - start);
            ApplyOne(op, x.Slice(start, len), y.Slice(start, len), p0, p1);
        }
    }

    private static void ApplyOne<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> y, double p0, double p1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T a = T.CreateTruncating(p0), b = T.CreateTruncating(p1);
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, y); break;
            case UnaryOp.Exp: TensorPrimitives.Exp(x, y); break;
            case UnaryOp.Log: TensorPrimitives.Log(x, y); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, y); break;
            case UnaryOp.Rsqrt: TensorPrimitives.ReciprocalSqrt(x, y); break;
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
            case UnaryOp.Relu: TensorPrimitives.Max(x, T.Zero, y); break;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, y); break;
            case UnaryOp.Sin: TensorPrimitives.Sin(x, y); break;
            case UnaryOp.Cos: TensorPrimitives.Cos(x, y); break;
            case UnaryOp.Square: TensorPrimitives.Multiply(x, x, y); break;
            case UnaryOp.Reciprocal: TensorPrimitives.Reciprocal(x, y); break;
            case UnaryOp.Clamp:
                TensorPrimitives.Max(x, a, y);
                TensorPrimitives.Min(y, b, y);
                break;
            case UnaryOp.PowScalar:
                if (p0 == 2) TensorPrimitives.Multiply(x, x, y);
                else if (p0 == 1) x.CopyTo(y);
                else TensorPrimitives.Pow(x, a, y);
                break;
            case UnaryOp.Affine:
                TensorPrimitives.Multiply(x, a, y);
                if (p1 != 0) TensorPrimitives.Add(y, b, y);
                break;
            case UnaryOp.DivScalarBy: TensorPrimitives.Divide(a, x, y); break;
            case UnaryOp.GreaterScalar: Simd.Compare<T, IsGreater<T>>(x, new ReadOnlySpan<T>(in a), y, false, true); break;
            case UnaryOp.GreaterEqualScalar: Simd.Compare<T, IsGreaterEqual<T>>(x, new ReadOnlySpan<T>(in a), y, false, true); break;
            case UnaryOp.LessScalar: Simd.Compare<T, IsLess<T>>(x, new ReadOnlySpan<T>(in a), y, false, true); break;
            case UnaryOp.LessEqualScalar: Simd.Compare<T, IsLessEqual<T>>(x, new ReadOnlySpan<T>(in a), y, false, true); break;
            case UnaryOp.EqualScalar: Simd.Compare<T, IsEqual<T>>(x, new ReadOnlySpan<T>(in a), y, false, true); break;
            case UnaryOp.MaxScalar: TensorPrimitives.Max(x, a, y); break;
            case UnaryOp.MinScalar: TensorPrimitives.Min(x, a, y); break;
            case UnaryOp.IsNonFinite: Simd.IsNonFinite(x, y); break;
            case UnaryOp.Tanh or UnaryOp.Elu or UnaryOp.Silu or UnaryOp.Mish or UnaryOp.Softplus or UnaryOp.Sign:
                Composite(op, x, y, a, b);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unknown unary op");
        }
    }

    private static void Composite<T>(UnaryOp op, ReadOnlySpan<T> x, Span<T> y, T a, T b)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T zero = T.Zero;
        Span<T> t0 = stackalloc T[Chunk], t1 = stackalloc T[Chunk], t2 = stackalloc T[Chunk], t3 = stackalloc T[Chunk];
        for (int start = 0; start < x.Length; start += Chunk)
        {
            int len = Math.Min(Chunk, x.Length - start);
            var xs = x.Slice(start, len);
            var ys = y.Slice(start, len);
            Span<T> u = t0[..len], v = t1[..len], w = t2[..len], s = t3[..len];
            switch (op)
            {
                case UnaryOp.Tanh:
                    Tanh<T>(xs, ys, u);
                    break;
                case UnaryOp.Silu: // x·σ(x)
                    TensorPrimitives.Sigmoid(xs, u);
                    TensorPrimitives.Multiply(xs, u, ys);
                    break;
                case UnaryOp.Elu: // x > 0 ? x : α·(eˣ − 1), exp taken of min(x, 0) so it cannot overflow
                    TensorPrimitives.Min(xs, T.Zero, u);
                    TensorPrimitives.Exp(u, u);
                    TensorPrimitives.Subtract(u, T.One, u);
                    TensorPrimitives.Multiply(u, a, u);
                    Simd.SelectGreater(xs, T.Zero, xs, u, ys);
                    break;
                case UnaryOp.Softplus: // z = βx; z > threshold ? x : softplus(z)/β
                    TensorPrimitives.Multiply(xs, a, u);
                    StableSoftplus(u, v, w, s);
                    TensorPrimitives.Divide(v, a, v);
                    Simd.SelectGreater(u, b, xs, v, ys);
                    break;
                case UnaryOp.Mish: // x·tanh(softplus(x))
                    StableSoftplus(xs, u, v, w);
                    Tanh<T>(u, u, v);
                    TensorPrimitives.Multiply(xs, u, ys);
                    break;
                case UnaryOp.Sign: // (x > 0) − (x < 0): 0 for ±0 (and NaN, as torch 1.13)
                    Simd.Compare<T, IsGreater<T>>(xs, new ReadOnlySpan<T>(in zero), u, false, true);
                    Simd.Compare<T, IsLess<T>>(xs, new ReadOnlySpan<T>(in zero), v, false, true);
                    TensorPrimitives.Subtract(u, v, ys);
                    break;
            }
        }
    }

    /// <summary>Taylor coefficients of tanh(x)/x in powers of x², highest first (x¹⁸ … x⁰).</summary>
    internal static readonly double[] TanhSeries =
    [
        -443861162.0 / 1856156927625, 6404582.0 / 10854718875, -929569.0 / 638512875, 21844.0 / 6081075,
        -1382.0 / 155925, 62.0 / 2835, -17.0 / 315, 2.0 / 15, -1.0 / 3, 1.0,
    ];

    /// <summary>
    /// tanh with full relative accuracy near 0 (float32 with SIMD: the fused <see cref="FastTanh"/>, same method). TensorPrimitives.Tanh is accurate to an ulp or two of its
    /// result only away from 0 (near 0 it goes through eˣ-style cancellation: 3e−4 relative error in
    /// float32, 3e−8 in float64, and tanh(0) ≠ 0). Below a threshold the odd Taylor series replaces it:
    /// float32 uses terms to x¹⁹ below 0.5, float64 the same terms below 1/16; the truncation error
    /// there is under 1e−9 and 1e−19 relative. scratch must be x's length; y may be x.
    /// </summary>
    internal static void Tanh<T>(ReadOnlySpan<T> x, Span<T> y, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && (Vector512.IsHardwareAccelerated || Vector256.IsHardwareAccelerated))
        {
            FastTanh.Apply(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y));
            return;
        }
        TensorPrimitives.Tanh(x, scratch);
        T threshold = T.CreateTruncating(typeof(T) == typeof(float) ? 0.5 : 0.0625);
        if (x.Length > 0 && T.Abs(TensorPrimitives.MinMagnitude(x)) >= threshold)
        {
            scratch.CopyTo(y); // nothing small in this chunk
            return;
        }
        Span<T> coefficients = stackalloc T[TanhSeries.Length];
        for (int k = 0; k < coefficients.Length; k++) coefficients[k] = T.CreateTruncating(TanhSeries[k]);
        Simd.OddSeriesBelow<T>(x, scratch, y, threshold, coefficients);
    }

    /// <summary>
    /// result = log(1 + eᶻ) = max(z, 0) + log1p(e^−|z|), which never overflows. log1p(e) for e in (0, 1] is
    /// log(s) − ((s − 1) − e)/s with s = fl(1 + e): the second term removes the rounding error of s,
    /// so tiny e keeps full relative accuracy. e and s are scratch.
    /// </summary>
    internal static void StableSoftplus<T>(ReadOnlySpan<T> z, Span<T> result, Span<T> e, Span<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Abs(z, e);
        TensorPrimitives.Negate(e, e);
        TensorPrimitives.Exp(e, e);                      // e = e^−|z| in (0, 1]
        TensorPrimitives.Add(e, T.One, s);               // s = fl(1 + e)
        TensorPrimitives.Subtract(s, T.One, result);
        TensorPrimitives.Subtract(result, e, result);
        TensorPrimitives.Divide(result, s, result);      // correction ((s − 1) − e)/s
        TensorPrimitives.Log(s, s);
        TensorPrimitives.Subtract(s, result, result);    // log1p(e)
        TensorPrimitives.Max(z, T.Zero, e);
        TensorPrimitives.Add(result, e, result);
    }
}
