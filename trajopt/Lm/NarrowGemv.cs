using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DiffTori.TrajOpt;

/// <summary>
/// y = W·x + b for a wide, narrow W [rows, cols] (a network's first layer: 512 outputs from the 56 inputs
/// [z, a]), from a transposed copy of W in blocks of outputs. Row by row (<see cref="RowGemv"/>), each of the 512
/// outputs would end in a horizontal sum of a vector that only saw 56 products, and those sums are most of the
/// time; here sixteen outputs share each vector and every step is x[c]·Wᵀ[c, block] added in place, so there are
/// none. The copy holds each block of 128 outputs (then 16) as its own [cols, block] matrix, so a block is read
/// front to back (a whole Wᵀ would put its rows 2 KB apart, and a block's 56 of them would fight over a few L1
/// sets). Each output sums its products in column order, the same for every batch size.
/// </summary>
internal static unsafe class NarrowGemv
{
    private const int Block = 128;

    /// <summary>Whether W [rows, cols] is read faster this way: few inputs, many outputs (whole vectors of them).</summary>
    public static bool Suits(int rows, int cols) =>
        Vector512.IsHardwareAccelerated && cols <= 64 && rows >= 256 && rows % 16 == 0;

    /// <summary>Width of the block of outputs that starts at row r (128, then 16 for the rest).</summary>
    private static int BlockWidth(int r, int rows) => r + Block <= rows ? Block : 16;

    /// <summary>
    /// W [rows, cols] (row-major) into <paramref name="packed"/>: the block of outputs that starts at row r is the
    /// matrix [cols, width] at r·cols.
    /// </summary>
    public static void Pack(ReadOnlySpan<float> w, int rows, int cols, Span<float> packed)
    {
        if (!Suits(rows, cols) || w.Length < rows * cols || packed.Length < rows * cols)
            throw new ArgumentException($"NarrowGemv.Pack: a {rows}×{cols} weight ({w.Length} floats, {packed.Length} in the copy) is not a narrow layer");
        fixed (float* pw = w, pp = packed)
            for (int r0 = 0; r0 < rows; r0 += BlockWidth(r0, rows))
            {
                int width = BlockWidth(r0, rows);
                float* block = pp + (long)r0 * cols;
                for (int i = 0; i < width; i++)
                {
                    float* row = pw + (long)(r0 + i) * cols;
                    for (int c = 0; c < cols; c++) block[c * width + i] = row[c];
                }
            }
    }

    /// <summary>Y[j] = W·X[j] + b for k inputs X [k, cols] → Y [k, rows], with W packed by <see cref="Pack"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(ReadOnlySpan<float> packed, ReadOnlySpan<float> b, ReadOnlySpan<float> x, Span<float> y, int rows, int cols, int k)
    {
        if (!Suits(rows, cols) || packed.Length < rows * cols || x.Length < k * cols || y.Length < k * rows || (!b.IsEmpty && b.Length < rows))
            throw new ArgumentException($"NarrowGemv.Forward: {k} inputs of a {rows}×{cols} layer do not fit the given spans");
        fixed (float* pw = packed, pb = b, px = x, py = y)
        {
            for (int r = 0; r < rows; r += BlockWidth(r, rows))
            {
                float* block = pw + (long)r * cols, bias = pb == null ? null : pb + r;
                bool wide = BlockWidth(r, rows) == Block;
                for (int j = 0; j < k; j++)
                {
                    if (wide) EightVectors(block, cols, px + (long)j * cols, bias, py + (long)j * rows + r);
                    else OneVector(block, cols, px + (long)j * cols, bias, py + (long)j * rows + r);
                }
            }
        }
    }

    /// <summary>y[0..128) = Σ_c x[c]·block[c, 0..128) (+ b), eight vectors: eight independent sums in flight.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void EightVectors(float* w, int cols, float* x, float* b, float* y)
    {
        var a0 = Vector512<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0; var a4 = a0; var a5 = a0; var a6 = a0; var a7 = a0;
        for (int c = 0; c < cols; c++, w += Block)
        {
            var xc = Vector512.Create(x[c]);
            a0 = Vector512.FusedMultiplyAdd(Vector512.Load(w), xc, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Load(w + 16), xc, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.Load(w + 32), xc, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.Load(w + 48), xc, a3);
            a4 = Vector512.FusedMultiplyAdd(Vector512.Load(w + 64), xc, a4);
            a5 = Vector512.FusedMultiplyAdd(Vector512.Load(w + 80), xc, a5);
            a6 = Vector512.FusedMultiplyAdd(Vector512.Load(w + 96), xc, a6);
            a7 = Vector512.FusedMultiplyAdd(Vector512.Load(w + 112), xc, a7);
        }
        if (b != null)
        {
            a0 += Vector512.Load(b); a1 += Vector512.Load(b + 16); a2 += Vector512.Load(b + 32); a3 += Vector512.Load(b + 48);
            a4 += Vector512.Load(b + 64); a5 += Vector512.Load(b + 80); a6 += Vector512.Load(b + 96); a7 += Vector512.Load(b + 112);
        }
        a0.Store(y); a1.Store(y + 16); a2.Store(y + 32); a3.Store(y + 48);
        a4.Store(y + 64); a5.Store(y + 80); a6.Store(y + 96); a7.Store(y + 112);
    }

    /// <summary>As <see cref="EightVectors"/> for a block of sixteen outputs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OneVector(float* w, int cols, float* x, float* b, float* y)
    {
        var a = Vector512<float>.Zero;
        for (int c = 0; c < cols; c++, w += 16) a = Vector512.FusedMultiplyAdd(Vector512.Load(w), Vector512.Create(x[c]), a);
        if (b != null) a += Vector512.Load(b);
        a.Store(y);
    }
}
