using System.Numerics;
using System.Numerics.Tensors;

namespace DiffTori.Engine;

/// <summary>
/// Every <see cref="BinaryOp"/> over flat spans. Either operand may be a broadcast scalar (a one-element
/// span with its flag set), which maps to TensorPrimitives' span-scalar overloads. y may be the same
/// span as a or b.
/// </summary>
internal static class BinarySpan
{
    public static void Apply<T>(BinaryOp op, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y, bool aScalar, bool bScalar)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!CacheSlices.Split<T>(y.Length))
        {
            ApplyOne(op, a, b, y, aScalar, bScalar);
            return;
        }
        // Slice by slice, so the result is written through the cache (see CacheSlices). Operands this large
        // stream from L3, where the 256-bit kernel of StreamingBinary is faster for the arithmetic ops.
        bool streaming = !aScalar && !bScalar && StreamingBinary.Supports(op);
        int slice = CacheSlices.Length<T>();
        for (int start = 0; start < y.Length; start += slice)
        {
            int len = Math.Min(slice, y.Length - start);
            if (streaming) StreamingBinary.Apply(op, a.Slice(start, len), b.Slice(start, len), y.Slice(start, len));
            else ApplyOne(op, aScalar ? a : a.Slice(start, len), bScalar ? b : b.Slice(start, len), y.Slice(start, len), aScalar, bScalar);
        }
    }

    /// <summary>One call of TensorPrimitives (or of the comparison kernels) over the whole spans.</summary>
    internal static void ApplyOne<T>(BinaryOp op, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y, bool aScalar, bool bScalar)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (aScalar && bScalar)
        {
            // Both operands constant along the row: compute one value and fill.
            T one = default;
            ApplyOne(op, a[..1], b[..1], new Span<T>(ref one), false, false);
            y.Fill(one);
            return;
        }
        switch (op)
        {
            case BinaryOp.Add:
                if (bScalar) TensorPrimitives.Add(a, b[0], y);
                else if (aScalar) TensorPrimitives.Add(b, a[0], y);
                else TensorPrimitives.Add(a, b, y);
                break;
            case BinaryOp.Sub:
                if (bScalar) TensorPrimitives.Subtract(a, b[0], y);
                else if (aScalar) TensorPrimitives.Subtract(a[0], b, y);
                else TensorPrimitives.Subtract(a, b, y);
                break;
            case BinaryOp.Mul:
                if (bScalar) TensorPrimitives.Multiply(a, b[0], y);
                else if (aScalar) TensorPrimitives.Multiply(b, a[0], y);
                else TensorPrimitives.Multiply(a, b, y);
                break;
            case BinaryOp.Div:
                if (bScalar) TensorPrimitives.Divide(a, b[0], y);
                else if (aScalar) TensorPrimitives.Divide(a[0], b, y);
                else TensorPrimitives.Divide(a, b, y);
                break;
            case BinaryOp.Max:
                if (bScalar) TensorPrimitives.Max(a, b[0], y);
                else if (aScalar) TensorPrimitives.Max(b, a[0], y);
                else TensorPrimitives.Max(a, b, y);
                break;
            case BinaryOp.Min:
                if (bScalar) TensorPrimitives.Min(a, b[0], y);
                else if (aScalar) TensorPrimitives.Min(b, a[0], y);
                else TensorPrimitives.Min(a, b, y);
                break;
            case BinaryOp.Pow:
                if (bScalar) TensorPrimitives.Pow(a, b[0], y);
                else if (aScalar) TensorPrimitives.Pow(a[0], b, y);
                else TensorPrimitives.Pow(a, b, y);
                break;
            case BinaryOp.Equal: Simd.Compare<T, IsEqual<T>>(a, b, y, aScalar, bScalar); break;
            case BinaryOp.NotEqual: Simd.Compare<T, IsNotEqual<T>>(a, b, y, aScalar, bScalar); break;
            case BinaryOp.Greater: Simd.Compare<T, IsGreater<T>>(a, b, y, aScalar, bScalar); break;
            case BinaryOp.GreaterEqual: Simd.Compare<T, IsGreaterEqual<T>>(a, b, y, aScalar, bScalar); break;
            case BinaryOp.Less: Simd.Compare<T, IsLess<T>>(a, b, y, aScalar, bScalar); break;
            case BinaryOp.LessEqual: Simd.Compare<T, IsLessEqual<T>>(a, b, y, aScalar, bScalar); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op");
        }
    }
}
