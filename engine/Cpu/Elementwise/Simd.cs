using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DiffTori.Engine;

/// <summary>A comparison as a type, so the vector loops below are specialized per comparison (no per-element switch).</summary>
internal interface ICompare<T> where T : unmanaged, INumber<T>
{
    static abstract bool Scalar(T a, T b);
    static abstract Vector512<T> V512(Vector512<T> a, Vector512<T> b);
    static abstract Vector256<T> V256(Vector256<T> a, Vector256<T> b);
}

internal struct IsGreater<T> : ICompare<T> where T : unmanaged, INumber<T>
{
    public static bool Scalar(T a, T b) => a > b;
    public static Vector512<T> V512(Vector512<T> a, Vector512<T> b) => Vector512.GreaterThan(a, b);
    public static Vector256<T> V256(Vector256<T> a, Vector256<T> b) => Vector256.GreaterThan(a, b);
}

internal struct IsGreaterEqual<T> : ICompare<T> where T : unmanaged, INumber<T>
{
    public static bool Scalar(T a, T b) => a >= b;
    public static Vector512<T> V512(Vector512<T> a, Vector512<T> b) => Vector512.GreaterThanOrEqual(a, b);
    public static Vector256<T> V256(Vector256<T> a, Vector256<T> b) => Vector256.GreaterThanOrEqual(a, b);
}

internal struct IsLess<T> : ICompare<T> where T : unmanaged, INumber<T>
{
    public static bool Scalar(T a, T b) => a < b;
    public static Vector512<T> V512(Vector512<T> a, Vector512<T> b) => Vector512.LessThan(a, b);
    public static Vector256<T> V256(Vector256<T> a, Vector256<T> b) => Vector256.LessThan(a, b);
}

internal struct IsLessEqual<T> : ICompare<T> where T : unmanaged, INumber<T>
{
    public static bool Scalar(T a, T b) => a <= b;
    public static Vector512<T> V512(Vector512<T> a, Vector512<T> b) => Vector512.LessThanOrEqual(a, b);
    public static Vector256<T> V256(Vector256<T> a, Vector256<T> b) => Vector256.LessThanOrEqual(a, b);
}

internal struct IsEqual<T> : ICompare<T> where T : unmanaged, INumber<T>
{
    public static bool Scalar(T a, T b) => a == b;
    public static Vector512<T> V512(Vector512<T> a, Vector512<T> b) => Vector512.Equals(a, b);
    public static Vector256<T> V256(Vector256<T> a, Vector256<T> b) => Vector256.Equals(a, b);
}

internal struct IsNotEqual<T> : ICompare<T> where T : unmanaged, INumber<T>
{
    public static bool Scalar(T a, T b) => a != b;
    public static Vector512<T> V512(Vector512<T> a, Vector512<T> b) => ~Vector512.Equals(a, b);
    public static Vector256<T> V256(Vector256<T> a, Vector256<T> b) => ~Vector256.Equals(a, b);
}

/// <summary>
/// Hand-written vector loops for what TensorPrimitives lacks: comparisons giving 1/0 in the operand
/// type, and selects. Vector512 where the CPU has it, else Vector256, then a scalar tail.
/// Every loop reads element i before writing element i, so y may be the same span as an input.
/// </summary>
internal static class Simd
{
    /// <summary>y = a cmp b ? 1 : 0; a scalar operand is passed as a one-element span with its broadcast flag.</summary>
    public static void Compare<T, TCmp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y, bool aScalar, bool bScalar)
        where T : unmanaged, INumber<T>
        where TCmp : struct, ICompare<T>
    {
        int n = y.Length, i = 0;
        if (n == 0) return;
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rb = ref MemoryMarshal.GetReference(b);
        ref T ry = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
        {
            var one = Vector512<T>.One;
            var va = Vector512.Create(a[0]);
            var vb = Vector512.Create(b[0]);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var x0 = aScalar ? va : Vector512.LoadUnsafe(ref ra, (nuint)i);
                var x1 = bScalar ? vb : Vector512.LoadUnsafe(ref rb, (nuint)i);
                (TCmp.V512(x0, x1) & one).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var one = Vector256<T>.One;
            var va = Vector256.Create(a[0]);
            var vb = Vector256.Create(b[0]);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var x0 = aScalar ? va : Vector256.LoadUnsafe(ref ra, (nuint)i);
                var x1 = bScalar ? vb : Vector256.LoadUnsafe(ref rb, (nuint)i);
                (TCmp.V256(x0, x1) & one).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        for (; i < n; i++)
            Unsafe.Add(ref ry, i) = TCmp.Scalar(aScalar ? a[0] : Unsafe.Add(ref ra, i), bScalar ? b[0] : Unsafe.Add(ref rb, i)) ? T.One : T.Zero;
    }

    /// <summary>y = key &gt; threshold ? ifGreater : otherwise (NaN keys take 'otherwise').</summary>
    public static void SelectGreater<T>(ReadOnlySpan<T> key, T threshold, ReadOnlySpan<T> ifGreater, ReadOnlySpan<T> otherwise, Span<T> y)
        where T : unmanaged, INumber<T>
    {
        int n = y.Length, i = 0;
        ref T rk = ref MemoryMarshal.GetReference(key);
        ref T rg = ref MemoryMarshal.GetReference(ifGreater);
        ref T ro = ref MemoryMarshal.GetReference(otherwise);
        ref T ry = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
        {
            var t = Vector512.Create(threshold);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var mask = Vector512.GreaterThan(Vector512.LoadUnsafe(ref rk, (nuint)i), t);
                Vector512.ConditionalSelect(mask, Vector512.LoadUnsafe(ref rg, (nuint)i), Vector512.LoadUnsafe(ref ro, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var t = Vector256.Create(threshold);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var mask = Vector256.GreaterThan(Vector256.LoadUnsafe(ref rk, (nuint)i), t);
                Vector256.ConditionalSelect(mask, Vector256.LoadUnsafe(ref rg, (nuint)i), Vector256.LoadUnsafe(ref ro, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        for (; i < n; i++)
            Unsafe.Add(ref ry, i) = Unsafe.Add(ref rk, i) > threshold ? Unsafe.Add(ref rg, i) : Unsafe.Add(ref ro, i);
    }

    /// <summary>y = condition ≠ 0 ? a : b over equal-length spans.</summary>
    public static void Where<T>(ReadOnlySpan<T> condition, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y)
        where T : unmanaged, INumber<T>
    {
        int n = y.Length, i = 0;
        ref T rc = ref MemoryMarshal.GetReference(condition);
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rb = ref MemoryMarshal.GetReference(b);
        ref T ry = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var isZero = Vector512.Equals(Vector512.LoadUnsafe(ref rc, (nuint)i), Vector512<T>.Zero);
                Vector512.ConditionalSelect(isZero, Vector512.LoadUnsafe(ref rb, (nuint)i), Vector512.LoadUnsafe(ref ra, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var isZero = Vector256.Equals(Vector256.LoadUnsafe(ref rc, (nuint)i), Vector256<T>.Zero);
                Vector256.ConditionalSelect(isZero, Vector256.LoadUnsafe(ref rb, (nuint)i), Vector256.LoadUnsafe(ref ra, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        for (; i < n; i++)
            Unsafe.Add(ref ry, i) = Unsafe.Add(ref rc, i) != T.Zero ? Unsafe.Add(ref ra, i) : Unsafe.Add(ref rb, i);
    }

    /// <summary>y = 1 where x is NaN or ±∞, else 0 (x − x is 0 exactly for finite x).</summary>
    public static void IsNonFinite<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, INumber<T>
    {
        int n = y.Length, i = 0;
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T ry = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var v = Vector512.LoadUnsafe(ref rx, (nuint)i);
                (~Vector512.Equals(v - v, Vector512<T>.Zero) & Vector512<T>.One).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var v = Vector256.LoadUnsafe(ref rx, (nuint)i);
                (~Vector256.Equals(v - v, Vector256<T>.Zero) & Vector256<T>.One).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            var v = Unsafe.Add(ref rx, i);
            Unsafe.Add(ref ry, i) = v - v == T.Zero ? T.Zero : T.One;
        }
    }

    /// <summary>
    /// y = |x| &lt; threshold ? x·P(x²) : library, with P given by its coefficients from the highest power
    /// down (Horner). One fused pass: used to patch the small-|x| range of an approximation.
    /// </summary>
    public static void OddSeriesBelow<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> library, Span<T> y, T threshold, ReadOnlySpan<T> coefficients)
        where T : unmanaged, INumber<T>
    {
        int n = y.Length, i = 0;
        ref T rx = ref MemoryMarshal.GetReference(x);
        ref T rl = ref MemoryMarshal.GetReference(library);
        ref T ry = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
        {
            var t = Vector512.Create(threshold);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var v = Vector512.LoadUnsafe(ref rx, (nuint)i);
                var v2 = v * v;
                var p = Vector512.Create(coefficients[0]);
                for (int k = 1; k < coefficients.Length; k++) p = p * v2 + Vector512.Create(coefficients[k]);
                var small = Vector512.LessThan(Vector512.Abs(v), t);
                Vector512.ConditionalSelect(small, v * p, Vector512.LoadUnsafe(ref rl, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var t = Vector256.Create(threshold);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var v = Vector256.LoadUnsafe(ref rx, (nuint)i);
                var v2 = v * v;
                var p = Vector256.Create(coefficients[0]);
                for (int k = 1; k < coefficients.Length; k++) p = p * v2 + Vector256.Create(coefficients[k]);
                var small = Vector256.LessThan(Vector256.Abs(v), t);
                Vector256.ConditionalSelect(small, v * p, Vector256.LoadUnsafe(ref rl, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            T v = Unsafe.Add(ref rx, i);
            if (T.Abs(v) < threshold)
            {
                T v2 = v * v, p = coefficients[0];
                for (int k = 1; k < coefficients.Length; k++) p = p * v2 + coefficients[k];
                Unsafe.Add(ref ry, i) = v * p;
            }
            else Unsafe.Add(ref ry, i) = Unsafe.Add(ref rl, i);
        }
    }
}
