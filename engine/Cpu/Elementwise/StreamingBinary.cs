using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DiffTori.Engine;

/// <summary>
/// Add, subtract, multiply and divide of two large dense spans (no broadcast scalar) with 256-bit vectors.
/// Why not TensorPrimitives' 512-bit loops: when the operands stream from L3 (the elementwise ops of large
/// tensors), 256-bit loads and stores were faster on the project's Zen 4 machine. A 1M-element float32 add on
/// two cores, for 8 random placements of the three arrays within a page: 76–80 µs against 80–84 µs (128-bit
/// vectors did about as well as 256-bit ones); for arrays placed one after another see <see cref="Run"/>.
/// Each lane is the same IEEE operation as TensorPrimitives', so the values are identical.
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

    /// <summary>
    /// Blocks of four vectors, with the loads of the next block issued before the stores of the current one. Why:
    /// arrays allocated one after another (a, b, then y, as the large-object heap places them) start a few bytes
    /// apart modulo 4 KB, with y just ahead; a load whose address matches a recent store's in its low 12 bits is
    /// held back as if it depended on it ("4K aliasing"), and a plain loop ran 10% slower than TensorPrimitives on
    /// such arrays (95 against 89 µs). Loading a block ahead puts such stores after the loads: 83 µs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TOp : struct, ILanes<T>
    {
        ref T ra = ref MemoryMarshal.GetReference(a);
        ref T rb = ref MemoryMarshal.GetReference(b);
        ref T ry = ref MemoryMarshal.GetReference(y);
        nuint n = (nuint)y.Length, w = (nuint)Vector256<T>.Count, block = 4 * w, i = 0;
        if (n >= block)
        {
            var a0 = Vector256.LoadUnsafe(ref ra, 0); var a1 = Vector256.LoadUnsafe(ref ra, w);
            var a2 = Vector256.LoadUnsafe(ref ra, 2 * w); var a3 = Vector256.LoadUnsafe(ref ra, 3 * w);
            var b0 = Vector256.LoadUnsafe(ref rb, 0); var b1 = Vector256.LoadUnsafe(ref rb, w);
            var b2 = Vector256.LoadUnsafe(ref rb, 2 * w); var b3 = Vector256.LoadUnsafe(ref rb, 3 * w);
            for (; i + 2 * block <= n; i += block)
            {
                nuint next = i + block;
                var na0 = Vector256.LoadUnsafe(ref ra, next); var na1 = Vector256.LoadUnsafe(ref ra, next + w);
                var na2 = Vector256.LoadUnsafe(ref ra, next + 2 * w); var na3 = Vector256.LoadUnsafe(ref ra, next + 3 * w);
                var nb0 = Vector256.LoadUnsafe(ref rb, next); var nb1 = Vector256.LoadUnsafe(ref rb, next + w);
                var nb2 = Vector256.LoadUnsafe(ref rb, next + 2 * w); var nb3 = Vector256.LoadUnsafe(ref rb, next + 3 * w);
                StoreBlock<T, TOp>(a0, a1, a2, a3, b0, b1, b2, b3, ref ry, i, w);
                (a0, a1, a2, a3, b0, b1, b2, b3) = (na0, na1, na2, na3, nb0, nb1, nb2, nb3);
            }
            StoreBlock<T, TOp>(a0, a1, a2, a3, b0, b1, b2, b3, ref ry, i, w);
            i += block;
        }
        for (; i < n; i++) Unsafe.Add(ref ry, i) = TOp.Apply(Unsafe.Add(ref ra, i), Unsafe.Add(ref rb, i));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreBlock<T, TOp>(Vector256<T> a0, Vector256<T> a1, Vector256<T> a2, Vector256<T> a3,
        Vector256<T> b0, Vector256<T> b1, Vector256<T> b2, Vector256<T> b3, ref T y, nuint i, nuint w)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TOp : struct, ILanes<T>
    {
        TOp.Apply(a0, b0).StoreUnsafe(ref y, i);
        TOp.Apply(a1, b1).StoreUnsafe(ref y, i + w);
        TOp.Apply(a2, b2).StoreUnsafe(ref y, i + 2 * w);
        TOp.Apply(a3, b3).StoreUnsafe(ref y, i + 3 * w);
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
