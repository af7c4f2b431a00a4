using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// y = W·x + b for a wide, narrow W [rows, cols] (a network's first layer: 512 outputs from the 56 inputs
/// [z, a]), from a transposed copy of W in blocks of outputs. Row by row (<see cref="RowGemv"/>), each of the 512
/// outputs would end in a horizontal sum of a vector that only saw 56 products, and those sums are most of the
/// time; here sixteen outputs share each vector and every step is x[c]·Wᵀ[c, block] added in place, so there are
/// none. The copy holds each block of 128 outputs (then 16) as its own [cols, block] matrix, so a block is read
/// front to back (a whole Wᵀ would put its rows 2 KB apart, and a block's 56 of them would fight over a few L1
/// sets). Each output sums its products in column order, the same for every batch size. The same copy gives the
/// transposed product Wᵀ·ȳ (<see cref="Transposed"/>: a column of W is contiguous within each block), and a short
/// layer (512 → 50) packed as its transpose gets both of its products from these two kernels.
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

    /// <summary>
    /// Packs M = Wᵀ for a short W [wRows, wCols] (few outputs from many inputs: a last layer, 512 → 50), so that
    /// <see cref="Forward"/> gives Wᵀ·ȳ and <see cref="Transposed"/> gives W·x, both reading the copy front to back.
    /// The block of M that starts at row r is the columns r … r + width − 1 of W, row after row.
    /// </summary>
    public static void PackTransposeOf(ReadOnlySpan<float> w, int wRows, int wCols, Span<float> packed)
    {
        if (!Suits(wCols, wRows) || w.Length < wRows * wCols || packed.Length < wRows * wCols)
            throw new ArgumentException($"NarrowGemv.PackTransposeOf: the transpose of a {wRows}×{wCols} weight ({w.Length} floats, {packed.Length} in the copy) is not a narrow layer");
        for (int r0 = 0; r0 < wCols; r0 += BlockWidth(r0, wCols))
        {
            int width = BlockWidth(r0, wCols);
            for (int c = 0; c < wRows; c++) w.Slice(c * wCols + r0, width).CopyTo(packed.Slice(r0 * wRows + c * width, width));
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
            if (SplitOverCores && CpuParallelWork.Threads > 1) (_job ??= new NarrowJob()).Run(transposed: false, pw, pb, px, py, rows, cols, k);
            else ForwardRows(pw, pb, px, py, rows, cols, k, 0, rows);
        }
    }

    /// <summary>
    /// Whether the products are split over the worker pool (by outputs, each computed as on one core: the same bits
    /// either way). On by default; tests turn it off to compare.
    /// </summary>
    internal static bool SplitOverCores { get; set; } = true;

    /// <summary>Outputs [r0, r1) of <see cref="Forward"/> (r0 and r1 at block starts).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardRows(float* pw, float* pb, float* px, float* py, int rows, int cols, int k, int r0, int r1)
    {
        for (int r = r0; r < r1; r += BlockWidth(r, rows))
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

    /// <summary>The first output of part p of n in <see cref="Forward"/> (rows for p = n): whole blocks, the 128-wide ones shared out first.</summary>
    private static int RowSplit(int rows, int part, int parts)
    {
        int wide = rows / Block, narrow = (rows - wide * Block) / 16;
        // Units of 16 outputs; a wide block is 8 units and is never cut.
        int units = wide * 8 + narrow, target = (int)((long)units * part / parts);
        int r = Math.Min(target / 8, wide) * Block;
        if (target > wide * 8) r = wide * Block + (target - wide * 8) * 16;
        return r;
    }

    /// <summary>The first column of part p of n in <see cref="Transposed"/>: groups of eight, the single columns with the last part.</summary>
    private static int ColumnSplit(int cols, int part, int parts) => part == parts ? cols : (cols / 8) * part / parts * 8;

    [ThreadStatic] private static NarrowJob? _job;

    /// <summary>Both products split over the worker pool by outputs (every output computed as on one core).</summary>
    private sealed class NarrowJob : CpuParallelWork
    {
        private float* _w, _b, _in, _out;
        private int _rows, _cols, _k;
        private bool _transposed;

        public void Run(bool transposed, float* w, float* b, float* input, float* output, int rows, int cols, int k)
        {
            _transposed = transposed;
            _w = w; _b = b; _in = input; _out = output;
            _rows = rows; _cols = cols; _k = k;
            try { Run(2); }
            finally { _w = _b = _in = _out = null; }
        }

        public override void Execute(int part, int parts)
        {
            if (_transposed) TransposedColumns(_w, _in, _out, _rows, _cols, _k, ColumnSplit(_cols, part, parts), ColumnSplit(_cols, part + 1, parts));
            else ForwardRows(_w, _b, _in, _out, _rows, _cols, _k, RowSplit(_rows, part, parts), RowSplit(_rows, part + 1, parts));
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

    /// <summary>
    /// X̄[j] = Wᵀ·Ȳ[j] for k gradients Ȳ [k, rows] → X̄ [k, cols], with W packed by <see cref="Pack"/>: each output is the
    /// dot product of a column of W, which the copy holds contiguously within each block, with Ȳ. Eight columns at a
    /// time share each vector of Ȳ and end in one round of <see cref="LaneSums"/>; the columns past the last eight
    /// run one at a time with the same steps, so every output has the same bits whichever group it falls in.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transposed(ReadOnlySpan<float> packed, ReadOnlySpan<float> yBar, Span<float> xBar, int rows, int cols, int k)
    {
        if (!Suits(rows, cols) || packed.Length < rows * cols || yBar.Length < k * rows || xBar.Length < k * cols)
            throw new ArgumentException($"NarrowGemv.Transposed: {k} gradients of a {rows}×{cols} layer do not fit the given spans");
        fixed (float* pw = packed, pg = yBar, px = xBar)
        {
            if (SplitOverCores && CpuParallelWork.Threads > 1) (_job ??= new NarrowJob()).Run(transposed: true, pw, null, pg, px, rows, cols, k);
            else TransposedColumns(pw, pg, px, rows, cols, k, 0, cols);
        }
    }

    /// <summary>Columns [c0, c1) of <see cref="Transposed"/> (c0 a multiple of eight).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposedColumns(float* pw, float* pg, float* px, int rows, int cols, int k, int c0, int c1)
    {
        for (int j = 0; j < k; j++)
        {
            float* g = pg + (long)j * rows, x = px + (long)j * cols;
            int c = c0;
            if (LaneSums.IsSupported)
                for (; c + 8 <= c1; c += 8) EightColumns(pw, rows, cols, c, g).GetLower().Store(x + c);
            for (; c < c1; c++) x[c] = Vector512.Sum(OneColumn(pw, rows, cols, c, g));
        }
    }

    /// <summary>The lane sums of columns c … c + 7 of W against g (lane i: column c + i), as <see cref="OneColumn"/> forms each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector512<float> EightColumns(float* w, int rows, int cols, int c, float* g)
    {
        var a0 = Vector512<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0; var a4 = a0; var a5 = a0; var a6 = a0; var a7 = a0;
        for (int r = 0; r < rows; r += BlockWidth(r, rows))
        {
            int width = BlockWidth(r, rows);
            float* p = w + (long)r * cols + (long)c * width;
            for (int v = 0; v < width; v += 16, p += 16)
            {
                var gv = Vector512.Load(g + r + v);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(p), gv, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(p + width), gv, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 2 * width), gv, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 3 * width), gv, a3);
                a4 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 4 * width), gv, a4);
                a5 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 5 * width), gv, a5);
                a6 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 6 * width), gv, a6);
                a7 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 7 * width), gv, a7);
            }
        }
        return LaneSums.Of8(a0, a1, a2, a3, a4, a5, a6, a7);
    }

    /// <summary>Column c of W against g, sixteen rows per lane-wise step, blocks in order (its lane sum is the output).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector512<float> OneColumn(float* w, int rows, int cols, int c, float* g)
    {
        var a = Vector512<float>.Zero;
        for (int r = 0; r < rows; r += BlockWidth(r, rows))
        {
            int width = BlockWidth(r, rows);
            float* p = w + (long)r * cols + (long)c * width;
            for (int v = 0; v < width; v += 16) a = Vector512.FusedMultiplyAdd(Vector512.Load(p + v), Vector512.Load(g + r + v), a);
        }
        return a;
    }
}
