using System.Numerics;
using DiffTori.Engine;

namespace DiffTori.Autodiff;

/// <summary>
/// One-pass SIMD kernels for the fused backward ops of autodiff (dense CPU float tensors of one shape), with
/// a fallback through engine ops for anything else (GPU, strided views). Each returns a new tensor.
/// </summary>
internal static class ElementwiseKernels
{
    /// <summary>g where x &gt; 0, else g·(y + α).</summary>
    public static Tensor EluGrad(Tensor g, Tensor x, Tensor y, double alpha)
    {
        if (Dense(g, x, y))
        {
            var r = Tensor.Empty(g.Shape, g.DType, g.Device);
            if (g.DType == DType.Float32) EluGrad(g.AsSpan<float>(), x.AsSpan<float>(), y.AsSpan<float>(), r.AsSpan<float>(), (float)alpha);
            else EluGrad(g.AsSpan<double>(), x.AsSpan<double>(), y.AsSpan<double>(), r.AsSpan<double>(), alpha);
            return r;
        }
        using var positive = Ops.Greater(x, 0);
        using var shifted = Ops.Affine(y, 1, alpha);
        using var scaled = Ops.Mul(g, shifted);
        return Ops.Where(positive, g, scaled);
    }

    /// <summary>a·b where x ≤ 0, else 0.</summary>
    public static Tensor ProductWhereNotPositive(Tensor a, Tensor b, Tensor x)
    {
        if (Dense(a, b, x))
        {
            var r = Tensor.Empty(a.Shape, a.DType, a.Device);
            if (a.DType == DType.Float32) ProductWhereNotPositive(a.AsSpan<float>(), b.AsSpan<float>(), x.AsSpan<float>(), r.AsSpan<float>());
            else ProductWhereNotPositive(a.AsSpan<double>(), b.AsSpan<double>(), x.AsSpan<double>(), r.AsSpan<double>());
            return r;
        }
        using var notPositive = Ops.Unary(UnaryOp.LessEqualScalar, x, 0);
        using var product = Ops.Mul(a, b);
        return Ops.Mul(product, notPositive);
    }

    private static bool Dense(Tensor a, Tensor b, Tensor c) =>
        a.Device.IsCpu && b.Device.IsCpu && c.Device.IsCpu && a.IsContiguous && b.IsContiguous && c.IsContiguous
        && a.Shape == b.Shape && a.Shape == c.Shape && a.DType == b.DType && a.DType == c.DType
        && (a.DType == DType.Float32 || a.DType == DType.Float64);

    private static void EluGrad<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> r, T alpha)
        where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<T>.Count;
            var a = new Vector<T>(alpha);
            for (; i <= r.Length - width; i += width)
            {
                var vg = new Vector<T>(g.Slice(i, width));
                var positive = Vector.GreaterThan(new Vector<T>(x.Slice(i, width)), Vector<T>.Zero);
                Vector.ConditionalSelect(positive, vg, vg * (new Vector<T>(y.Slice(i, width)) + a)).CopyTo(r.Slice(i, width));
            }
        }
        for (; i < r.Length; i++) r[i] = x[i] > T.Zero ? g[i] : g[i] * (y[i] + alpha);
    }

    private static void ProductWhereNotPositive<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> x, Span<T> r)
        where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<T>.Count;
            for (; i <= r.Length - width; i += width)
            {
                var positive = Vector.GreaterThan(new Vector<T>(x.Slice(i, width)), Vector<T>.Zero);
                var product = new Vector<T>(a.Slice(i, width)) * new Vector<T>(b.Slice(i, width));
                Vector.ConditionalSelect(positive, Vector<T>.Zero, product).CopyTo(r.Slice(i, width));
            }
        }
        for (; i < r.Length; i++) r[i] = x[i] > T.Zero ? T.Zero : a[i] * b[i];
    }
    /// <summary>mean((a − b)²) as a scalar tensor; a and b have one shape.</summary>
    public static Tensor MeanSquaredError(Tensor a, Tensor b)
    {
        if (!(a.Device.IsCpu && b.Device.IsCpu && a.IsContiguous && b.IsContiguous && IsFloat(a) && a.DType == b.DType))
        {
            using var d = Ops.Sub(a, b);
            using var sq = Ops.Square(d);
            return Ops.Mean(sq);
        }
        double sum = a.DType == DType.Float32
            ? SumOfSquaredDifferences(a.AsSpan<float>(), b.AsSpan<float>())
            : SumOfSquaredDifferences(a.AsSpan<double>(), b.AsSpan<double>());
        return Tensor.Scalar(sum / a.Length, a.DType, a.Device);
    }

    /// <summary>
    /// (a − b)·s·g and its negative, for a scalar g on the CPU, in one pass each (only the ones wanted);
    /// null when the operands are not dense CPU float tensors.
    /// </summary>
    public static (Tensor? A, Tensor? B)? ScaledDifference(Tensor a, Tensor b, Tensor g, double scale, bool wantA, bool wantB)
    {
        if (!(a.Device.IsCpu && b.Device.IsCpu && g.Device.IsCpu && a.IsContiguous && b.IsContiguous && IsFloat(a) && a.DType == b.DType && g.Length == 1))
            return null;
        double s = g.Item() * scale;
        Tensor? ra = wantA ? Tensor.Empty(a.Shape, a.DType, a.Device) : null;
        Tensor? rb = wantB ? Tensor.Empty(a.Shape, a.DType, a.Device) : null;
        if (a.DType == DType.Float32)
        {
            if (ra is not null) ScaledDifference(a.AsSpan<float>(), b.AsSpan<float>(), (float)s, ra.AsSpan<float>());
            if (rb is not null) ScaledDifference(b.AsSpan<float>(), a.AsSpan<float>(), (float)s, rb.AsSpan<float>());
        }
        else
        {
            if (ra is not null) ScaledDifference(a.AsSpan<double>(), b.AsSpan<double>(), s, ra.AsSpan<double>());
            if (rb is not null) ScaledDifference(b.AsSpan<double>(), a.AsSpan<double>(), s, rb.AsSpan<double>());
        }
        return (ra, rb);
    }

    private static bool IsFloat(Tensor t) => t.DType == DType.Float32 || t.DType == DType.Float64;

    /// <summary>Σ (a − b)², summed in double so that a large float32 batch loses no precision.</summary>
    private static double SumOfSquaredDifferences<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, INumber<T>
    {
        double total = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<T>.Count;
            // Vector partial sums over blocks of 64 vectors, each block added to the double total.
            while (i <= a.Length - width)
            {
                var acc = Vector<T>.Zero;
                int end = Math.Min(a.Length - width, i + 64 * width);
                for (; i <= end; i += width)
                {
                    var d = new Vector<T>(a.Slice(i, width)) - new Vector<T>(b.Slice(i, width));
                    acc += d * d;
                }
                total += double.CreateChecked(Vector.Sum(acc));
            }
        }
        for (; i < a.Length; i++)
        {
            double d = double.CreateChecked(a[i] - b[i]);
            total += d * d;
        }
        return total;
    }

    /// <summary>r = (a − b)·s.</summary>
    private static void ScaledDifference<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, T s, Span<T> r) where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<T>.Count;
            var vs = new Vector<T>(s);
            for (; i <= r.Length - width; i += width)
                ((new Vector<T>(a.Slice(i, width)) - new Vector<T>(b.Slice(i, width))) * vs).CopyTo(r.Slice(i, width));
        }
        for (; i < r.Length; i++) r[i] = (a[i] - b[i]) * s;
    }
}
