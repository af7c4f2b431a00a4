using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DiffTori.Engine;

/// <summary>
/// Add, subtract, multiply and divide of two large dense spans (no broadcast scalar) with 256-bit vectors.
/// Why not TensorPrimitives' 512-bit loops: when the operands stream from L3 (the elementwise ops of large
/// tensors), 256-bit loads and stores were faster on the project's Zen 4 machine. A 1M-element float32 add on
/// two cores, for 8 random placements of the three arrays within a page: 76–80 µs against 80–84 µs, faster in
/// every one (128-bit vectors did about as well as 256-bit ones). Speed depends on the placement, though: in one
/// placement tried 512-bit loops won (86 against 92 µs). Each lane is the same IEEE operation as
/// TensorPrimitives', so the values are identical.
/// </summary>
internal static class StreamingBinary
{
    /// <summary>True for the ops this kernel computes.</summary>
    public static bool Supports(BinaryOp op) =>
        op is BinaryOp.Add or BinaryOp.Sub or BinaryOp.Mul or BinaryOp.Div && Vector256.IsHardwareAccelerated;

    /// <summary>
    /// y = a op b elementwise (equal lengths). y may be a or b itself; a y that only partly overlaps an input is
    /// handed to TensorPrimitives, which rejects it.
    /// </summary>
    public static void Apply<T>(BinaryOp op, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (a.Length != y.Length || b.Length != y.Length)
            throw new ArgumentException($"binary {op}: spans of lengths {a.Length}, {b.Length} and {y.Length} differ");
        if (PartlyOverlaps(a, y) || PartlyOverlaps(b, y))
        {
            BinarySpan.ApplyOne(op, a, b, y, false, false);
            return;
        }
        switch (op)
        {
            case BinaryOp.Add: Run<T, AddLanes<T>>(a, b, y); break;
            case BinaryOp.Sub: Run<T, SubLanes<T>>(a, b, y); break;
            case BinaryOp.Mul: Run<T, MulLanes<T>>(a, b, y); break;
            case BinaryOp.Div: Run<T, DivLanes<T>>(a, b, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "streaming binary: only add, sub, mul and div");
        }
    }

    private static bool PartlyOverlaps<T>(ReadOnlySpan<T> x, Span<T> y) => x.Overlaps(y, out int offset) && offset != 0;

    /// <summary>Two vectors per step (as PyTorch's AVX2 loops do), then a scalar tail of fewer than 2·width elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TOp : struct, ILanes<T>
    {
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rb = ref MemoryMarshal.GetReference(b);
        ref T ry = ref MemoryMarshal.GetReference(y);
        nuint n = (nuint)y.Length, w = (nuint)Vector256<T>.Count, i = 0;
        for (; i + 2 * w <= n; i += 2 * w)
        {
            TOp.Apply(Vector256.LoadUnsafe(ref ra, i), Vector256.LoadUnsafe(ref rb, i)).StoreUnsafe(ref ry, i);
            TOp.Apply(Vector256.LoadUnsafe(ref ra, i + w), Vector256.LoadUnsafe(ref rb, i + w)).StoreUnsafe(ref ry, i + w);
        }
        for (; i < n; i++) Unsafe.Add(ref ry, i) = TOp.Apply(Unsafe.Add(ref ra, i), Unsafe.Add(ref rb, i));
    }

    private interface ILanes<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        static abstract Vector256<T> Apply(Vector256<T> a, Vector256<T> b);
        static abstract T Apply(T a, T b);
    }

    private readonly struct AddLanes<T> : ILanes<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a + b;
        public static T Apply(T a, T b) => a + b;
    }

    private readonly struct SubLanes<T> : ILanes<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a - b;
        public static T Apply(T a, T b) => a - b;
    }

    private readonly struct MulLanes<T> : ILanes<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a * b;
        public static T Apply(T a, T b) => a * b;
    }

    private readonly struct DivLanes<T> : ILanes<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a / b;
        public static T Apply(T a, T b) => a / b;
    }
}
