using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// Batch-1 matrix–vector products on a weight W [rows, cols], the two directions a forward pass and its
/// vector–Jacobian product need. Both stream W row by row, once, so neither needs a transposed copy: at batch 1
/// the time is the time to read W. W is read either in torch's row-major Linear layout or from a copy packed in
/// panels of eight rows (<see cref="Pack"/>), which the products read front to back: a row-major pass over four or
/// eight rows follows as many separate 2 KB streams, which the prefetchers keep up with from L3 but not from L2,
/// so a 512×512 matrix that stays in L2 between uses (the dynamics at every step) is read about 1.5× faster packed
/// (and aligned, see <see cref="AlignedFloats"/>).
/// Both layouts give the same bits: every output takes the same operations in the same order.
/// </summary>
internal static unsafe class RowGemv
{
    /// <summary>Matrices of at least this many elements (the 512×512 hidden layers) are split over both cores.</summary>
    private const int ParallelElements = 128 * 1024;

    [ThreadStatic] private static GemvJob? _job;

    /// <summary>
    /// Whether a W [rows, cols] is worth a packed copy: large enough to be split over the cores (smaller ones sit
    /// in L1 or are a small part of the time) and of a shape the panels cover (rows a multiple of 8, cols of 16).
    /// </summary>
    public static bool PacksWell(int rows, int cols) =>
        Vector512.IsHardwareAccelerated && (long)rows * cols >= ParallelElements && rows % 8 == 0 && cols % 16 == 0;

    /// <summary>
    /// W [rows, cols] (row-major) into <paramref name="panels"/>: for each block of eight rows, for each chunk of
    /// sixteen columns, the eight rows' chunks one after another (512 bytes), so a pass over eight rows is one
    /// stream. Needs <see cref="PacksWell"/>.
    /// </summary>
    public static void Pack(ReadOnlySpan<float> w, int rows, int cols, Span<float> panels)
    {
        if (!PacksWell(rows, cols) || w.Length < rows * cols || panels.Length < rows * cols)
            throw new ArgumentException($"RowGemv.Pack: a {rows}×{cols} weight ({w.Length} floats, {panels.Length} in the panels) cannot be packed in panels of 8 rows × 16 columns");
        fixed (float* pw = w, pp = panels)
        {
            float* dst = pp;
            for (int r0 = 0; r0 < rows; r0 += 8)
                for (int c = 0; c < cols; c += 16)
                    for (int r = r0; r < r0 + 8; r++, dst += 16)
                        Vector512.Load(pw + (long)r * cols + c).Store(dst);
        }
    }

    /// <summary>
    /// Where the rows of W lie: row-major, or in the panels of <see cref="Pack"/>. Rows r … r + 3 of one block of
    /// four (or eight) start <see cref="RowStride"/> floats apart in both layouts, and a row's next chunk of sixteen
    /// columns is <see cref="ChunkStride"/> floats on, so the kernels below read either layout with the same code.
    /// Columns past the last full chunk exist only in the row-major layout (panels need cols % 16 == 0).
    /// </summary>
    private readonly struct Weights(float* start, int cols, bool panels)
    {
        public readonly int Cols = cols;
        public readonly bool Panels = panels;
        public int RowStride => Panels ? 16 : Cols;
        public int ChunkStride => Panels ? 128 : 16;
        public float* Row(int r) => Panels ? start + (long)(r >> 3) * Cols * 8 + ((r & 7) << 4) : start + (long)r * Cols;
    }

    /// <summary>The layout to read: the panels when given (and the CPU has the 512-bit kernels), else W itself.</summary>
    private static bool UsePanels(ReadOnlySpan<float> panels, int rows, int cols)
    {
        if (panels.IsEmpty || !Vector512.IsHardwareAccelerated) return false;
        if (panels.Length < rows * cols || rows % 8 != 0 || cols % 16 != 0)
            throw new ArgumentException($"RowGemv: panels of {panels.Length} floats do not hold a packed {rows}×{cols} weight");
        return true;
    }

    /// <summary>y = W·x + b (b may be empty); W read from <paramref name="panels"/> when given (see <see cref="Pack"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(ReadOnlySpan<float> w, ReadOnlySpan<float> b, ReadOnlySpan<float> x, Span<float> y, int rows, int cols, ReadOnlySpan<float> panels = default)
    {
        if (!Vector512.IsHardwareAccelerated || cols < 16)
        {
            for (int r = 0; r < rows; r++) y[r] = TensorPrimitives.Dot(w.Slice(r * cols, cols), x[..cols]) + (b.IsEmpty ? 0 : b[r]);
            return;
        }
        bool packed = UsePanels(panels, rows, cols);
        fixed (float* pw = packed ? panels : w, px = x, py = y)
        {
            var weights = new Weights(pw, cols, packed);
            if ((long)rows * cols >= ParallelElements && CpuParallelWork.Threads > 1)
                (_job ??= new GemvJob()).Run(transposed: false, weights, px, py, rows);
            else ForwardRows(weights, px, py, 0, rows);
        }
        if (!b.IsEmpty) TensorPrimitives.Add(y[..rows], b[..rows], y[..rows]);
    }

    /// <summary>
    /// Y[j] = W·X[j] + b for k inputs X [k, cols] → Y [k, rows]: each block of four rows of W is read from memory
    /// once per sixteen inputs and reused from L1 for all of them (the reward network over all H steps at once).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardBatch(ReadOnlySpan<float> w, ReadOnlySpan<float> b, ReadOnlySpan<float> x, Span<float> y, int rows, int cols, int k, ReadOnlySpan<float> panels = default)
    {
        if (k == 1 || !Vector512.IsHardwareAccelerated || cols < 16)
        {
            for (int j = 0; j < k; j++) Forward(w, b, x.Slice(j * cols, cols), y.Slice(j * rows, rows), rows, cols, panels);
            return;
        }
        bool packed = UsePanels(panels, rows, cols);
        fixed (float* pw = packed ? panels : w, px = x, py = y)
        {
            var weights = new Weights(pw, cols, packed);
            if ((long)rows * cols >= ParallelElements && CpuParallelWork.Threads > 1)
                (_job ??= new GemvJob()).Run(transposed: false, weights, px, py, rows, k);
            else ForwardRowsBatch(weights, px, py, 0, rows, rows, k);
        }
        if (!b.IsEmpty)
            for (int j = 0; j < k; j++) TensorPrimitives.Add(y.Slice(j * rows, rows), b[..rows], y.Slice(j * rows, rows));
    }

    /// <summary>
    /// X̄[j] = Wᵀ·Ȳ[j] for k gradients Ȳ [k, rows] → X̄ [k, cols] (overwritten): the input gradients of y = W·x + b.
    /// W is streamed row by row, as the forward pass reads it. A large W is cut into two row halves whose partial
    /// sums are added at the end, on one core or two alike, so the bits do not depend on the core count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TransposedBatch(ReadOnlySpan<float> w, ReadOnlySpan<float> yBar, Span<float> xBar, int rows, int cols, int k, ReadOnlySpan<float> panels = default)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            for (int j = 0; j < k; j++)
            {
                var x = xBar.Slice(j * cols, cols);
                x.Clear();
                for (int r = 0; r < rows; r++) TensorPrimitives.MultiplyAdd(w.Slice(r * cols, cols), yBar[j * rows + r], x, x);
            }
            return;
        }
        bool packed = UsePanels(panels, rows, cols);
        fixed (float* pw = packed ? panels : w, pg = yBar, px = xBar)
        {
            var weights = new Weights(pw, cols, packed);
            if ((long)rows * cols < ParallelElements) TransposedRows(weights, pg, px, 0, rows, rows, k);
            else
            {
                var job = _job ??= new GemvJob();
                var half = job.Partial(k * cols);
                fixed (float* ph = half)
                {
                    job.Run(transposed: true, weights, pg, px, rows, k, ph);
                    TensorPrimitives.Add(xBar[..(k * cols)], half, xBar[..(k * cols)]);
                }
            }
        }
    }

    /// <summary>
    /// Both directions split over the worker pool by rows of W: forward rows write their own outputs; the
    /// transposed product's second row half writes a partial sum that the caller adds (always two halves, run
    /// one after the other when there is one core). Each core reads the same rows in both directions, so what
    /// stayed in its L2 from one product serves the next.
    /// </summary>
    private sealed class GemvJob : CpuParallelWork
    {
        private Weights _w;
        private float* _in, _out, _partial;
        private int _rows, _k;
        private bool _transposed;
        private AlignedFloats _partialBuffer = new(0);

        /// <summary>
        /// <paramref name="length"/> floats for the second half's partial sums, aligned as the first half's output
        /// (the caller's buffers are), so that neither core's loads straddle cache lines.
        /// </summary>
        public Span<float> Partial(int length)
        {
            if (_partialBuffer.Length < length) _partialBuffer = new AlignedFloats(length);
            return _partialBuffer.Span[..length];
        }

        public void Run(bool transposed, Weights w, float* input, float* output, int rows, int k = 1, float* partial = null)
        {
            _transposed = transposed; _w = w; _in = input; _out = output; _rows = rows; _k = k; _partial = partial;
            try
            {
                if (Threads > 1) Run(2);
                else { Execute(0, 2); Execute(1, 2); }
            }
            finally { _w = default; _in = _out = _partial = null; }
        }

        public override void Execute(int part, int parts)
        {
            // Halves of whole blocks of eight rows (so panels stay whole) when the rows allow, else of four: the
            // same halves in both layouts, so the transposed product's two partial sums, and its bits, agree.
            int unit = _rows % 8 == 0 ? 8 : 4, blocks = (_rows + unit - 1) / unit;
            int r0 = Math.Min(_rows, blocks * part / parts * unit), r1 = Math.Min(_rows, blocks * (part + 1) / parts * unit);
            if (_transposed) TransposedRows(_w, _in, part == 0 ? _out : _partial, r0, r1, _rows, _k);
            else if (_k == 1) ForwardRows(_w, _in, _out, r0, r1);
            else ForwardRowsBatch(_w, _in, _out, r0, r1, _rows, _k);
        }
    }

    /// <summary>y[r] = W[r, :]·x for r in [r0, r1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardRows(Weights w, float* px, float* py, int r0, int r1)
    {
        int cols = w.Cols, vecEnd = cols & ~15, rs = w.RowStride, cs = w.ChunkStride;
        // A tail of eight or more columns (a 56-wide first layer) takes one half-width step instead of scalars.
        bool halfTail = cols - vecEnd >= 8;
        var xTail = halfTail ? Vector512.Create(Vector256.Load(px + vecEnd), Vector256<float>.Zero) : default;
        int scalarStart = halfTail ? vecEnd + 8 : vecEnd;
        int r = r0;
        // Panels a whole one at a time, so that W is read front to back.
        if (w.Panels)
            for (; r + 8 <= r1; r += 8) ForwardPanel(w.Row(r), px, py + r, cols);
        // Four rows at a time share each load of x.
        for (; r + 4 <= r1; r += 4)
        {
            float* w0 = w.Row(r), w1 = w0 + rs, w2 = w1 + rs, w3 = w2 + rs;
            var a0 = Vector512<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
            long o = 0;
            for (int k = 0; k < vecEnd; k += 16, o += cs)
            {
                var xv = Vector512.Load(px + k);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(w0 + o), xv, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(w1 + o), xv, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Load(w2 + o), xv, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Load(w3 + o), xv, a3);
            }
            if (halfTail)
            {
                a0 = Vector512.FusedMultiplyAdd(HalfRow(w0 + vecEnd), xTail, a0);
                a1 = Vector512.FusedMultiplyAdd(HalfRow(w1 + vecEnd), xTail, a1);
                a2 = Vector512.FusedMultiplyAdd(HalfRow(w2 + vecEnd), xTail, a2);
                a3 = Vector512.FusedMultiplyAdd(HalfRow(w3 + vecEnd), xTail, a3);
            }
            if (scalarStart == cols && LaneSums.IsSupported)
            {
                // No columns left over: the four sums in one round of shuffles (the same bits as one at a time).
                LaneSums.Of8(a0, a1, a2, a3, a0, a1, a2, a3).GetLower().GetLower().Store(py + r);
                continue;
            }
            float s0 = Vector512.Sum(a0), s1 = Vector512.Sum(a1), s2 = Vector512.Sum(a2), s3 = Vector512.Sum(a3);
            for (int k = scalarStart; k < cols; k++)
            {
                float xk = px[k];
                s0 += w0[k] * xk; s1 += w1[k] * xk; s2 += w2[k] * xk; s3 += w3[k] * xk;
            }
            py[r] = s0; py[r + 1] = s1; py[r + 2] = s2; py[r + 3] = s3;
        }
        // Single rows (row-major only: panels come in whole blocks of eight).
        for (; r < r1; r++)
        {
            float* wr = w.Row(r);
            var a = Vector512<float>.Zero;
            for (int k = 0; k < vecEnd; k += 16) a = Vector512.FusedMultiplyAdd(Vector512.Load(wr + k), Vector512.Load(px + k), a);
            if (halfTail) a = Vector512.FusedMultiplyAdd(HalfRow(wr + vecEnd), xTail, a);
            float s = Vector512.Sum(a);
            for (int k = scalarStart; k < cols; k++) s += wr[k] * px[k];
            py[r] = s;
        }
    }

    /// <summary>y[i] = W[i, :]·x for the eight rows of the panel at p, each sum as <see cref="ForwardRows"/> forms it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardPanel(float* p, float* px, float* y, int cols)
    {
        var a0 = Vector512<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0; var a4 = a0; var a5 = a0; var a6 = a0; var a7 = a0;
        for (int c = 0; c < cols; c += 16, p += 128)
        {
            var xv = Vector512.Load(px + c);
            a0 = Vector512.FusedMultiplyAdd(Vector512.Load(p), xv, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 16), xv, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 32), xv, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 48), xv, a3);
            a4 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 64), xv, a4);
            a5 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 80), xv, a5);
            a6 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 96), xv, a6);
            a7 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 112), xv, a7);
        }
        if (LaneSums.IsSupported) LaneSums.Of8(a0, a1, a2, a3, a4, a5, a6, a7).GetLower().Store(y);
        else
        {
            y[0] = Vector512.Sum(a0); y[1] = Vector512.Sum(a1); y[2] = Vector512.Sum(a2); y[3] = Vector512.Sum(a3);
            y[4] = Vector512.Sum(a4); y[5] = Vector512.Sum(a5); y[6] = Vector512.Sum(a6); y[7] = Vector512.Sum(a7);
        }
    }

    /// <summary>Eight floats at p in the low half of a vector, zeros above.</summary>
    private static Vector512<float> HalfRow(float* p) => Vector512.Create(Vector256.Load(p), Vector256<float>.Zero);

    /// <summary>
    /// Inputs per pass over W in the batched products: sixteen rows of 512 floats (32 KB) stay in L1 while W
    /// streams past them; with all of a large batch at once, the inputs themselves would stream from L2 for every
    /// block of W.
    /// </summary>
    private const int InputBlock = 16;

    /// <summary>
    /// Y[j][r] = W[r, :]·X[j] for r in [r0, r1) and j &lt; k: per block of <see cref="InputBlock"/> inputs, one block
    /// of four rows at a time, four inputs at once (sixteen independent sums, so the FMAs are not waiting on each
    /// other), the rest one input at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardRowsBatch(Weights w, float* px, float* py, int r0, int r1, int rows, int k)
    {
        int cols = w.Cols;
        for (int j0 = 0; j0 < k; j0 += InputBlock)
        {
            int j1 = Math.Min(k, j0 + InputBlock), r = r0;
            for (; r + 4 <= r1; r += 4)
            {
                int j = j0;
                for (; j + 4 <= j1; j += 4) FourRowsFourInputs(w, r, px + (long)j * cols, py + (long)j * rows + r, rows);
                for (; j < j1; j++) ForwardRows(w, px + (long)j * cols, py + (long)j * rows, r, r + 4);
            }
            if (r < r1)
                for (int j = j0; j < j1; j++) ForwardRows(w, px + (long)j * cols, py + (long)j * rows, r, r1);
        }
    }

    /// <summary>
    /// y[j·ldy + i] = W[r + i, :]·X[j] for four rows from r and four inputs at x. Each of the sixteen sums takes the
    /// steps <see cref="ForwardRows"/> takes for it (full vectors in order, the half tail, the vector sum, then
    /// scalars), so an output has the same bits whichever path computed it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FourRowsFourInputs(Weights weights, int r, float* x, float* y, int ldy)
    {
        int cols = weights.Cols, rs = weights.RowStride, cs = weights.ChunkStride;
        float* w = weights.Row(r), w1 = w + rs, w2 = w1 + rs, w3 = w2 + rs;
        float* x1 = x + cols, x2 = x1 + cols, x3 = x2 + cols;
        var a00 = Vector512<float>.Zero; var a01 = a00; var a02 = a00; var a03 = a00;
        var a10 = a00; var a11 = a00; var a12 = a00; var a13 = a00;
        var a20 = a00; var a21 = a00; var a22 = a00; var a23 = a00;
        var a30 = a00; var a31 = a00; var a32 = a00; var a33 = a00; // aJI: input J, row I
        int vecEnd = cols & ~15;
        long o = 0;
        for (int c = 0; c < vecEnd; c += 16, o += cs)
        {
            var v0 = Vector512.Load(w + o); var v1 = Vector512.Load(w1 + o); var v2 = Vector512.Load(w2 + o); var v3 = Vector512.Load(w3 + o);
            var xv = Vector512.Load(x + c);
            a00 = Vector512.FusedMultiplyAdd(v0, xv, a00); a01 = Vector512.FusedMultiplyAdd(v1, xv, a01);
            a02 = Vector512.FusedMultiplyAdd(v2, xv, a02); a03 = Vector512.FusedMultiplyAdd(v3, xv, a03);
            xv = Vector512.Load(x1 + c);
            a10 = Vector512.FusedMultiplyAdd(v0, xv, a10); a11 = Vector512.FusedMultiplyAdd(v1, xv, a11);
            a12 = Vector512.FusedMultiplyAdd(v2, xv, a12); a13 = Vector512.FusedMultiplyAdd(v3, xv, a13);
            xv = Vector512.Load(x2 + c);
            a20 = Vector512.FusedMultiplyAdd(v0, xv, a20); a21 = Vector512.FusedMultiplyAdd(v1, xv, a21);
            a22 = Vector512.FusedMultiplyAdd(v2, xv, a22); a23 = Vector512.FusedMultiplyAdd(v3, xv, a23);
            xv = Vector512.Load(x3 + c);
            a30 = Vector512.FusedMultiplyAdd(v0, xv, a30); a31 = Vector512.FusedMultiplyAdd(v1, xv, a31);
            a32 = Vector512.FusedMultiplyAdd(v2, xv, a32); a33 = Vector512.FusedMultiplyAdd(v3, xv, a33);
        }
        if (cols - vecEnd >= 8) // row-major only, as every tail below
        {
            var v0 = HalfRow(w + vecEnd); var v1 = HalfRow(w1 + vecEnd); var v2 = HalfRow(w2 + vecEnd); var v3 = HalfRow(w3 + vecEnd);
            var xv = HalfRow(x + vecEnd);
            a00 = Vector512.FusedMultiplyAdd(v0, xv, a00); a01 = Vector512.FusedMultiplyAdd(v1, xv, a01);
            a02 = Vector512.FusedMultiplyAdd(v2, xv, a02); a03 = Vector512.FusedMultiplyAdd(v3, xv, a03);
            xv = HalfRow(x1 + vecEnd);
            a10 = Vector512.FusedMultiplyAdd(v0, xv, a10); a11 = Vector512.FusedMultiplyAdd(v1, xv, a11);
            a12 = Vector512.FusedMultiplyAdd(v2, xv, a12); a13 = Vector512.FusedMultiplyAdd(v3, xv, a13);
            xv = HalfRow(x2 + vecEnd);
            a20 = Vector512.FusedMultiplyAdd(v0, xv, a20); a21 = Vector512.FusedMultiplyAdd(v1, xv, a21);
            a22 = Vector512.FusedMultiplyAdd(v2, xv, a22); a23 = Vector512.FusedMultiplyAdd(v3, xv, a23);
            xv = HalfRow(x3 + vecEnd);
            a30 = Vector512.FusedMultiplyAdd(v0, xv, a30); a31 = Vector512.FusedMultiplyAdd(v1, xv, a31);
            a32 = Vector512.FusedMultiplyAdd(v2, xv, a32); a33 = Vector512.FusedMultiplyAdd(v3, xv, a33);
            vecEnd += 8;
        }
        if (vecEnd == cols && LaneSums.IsSupported)
        {
            // No columns left over: all sixteen sums in one round of shuffles, input j's four in 128-bit lane j.
            var sums = LaneSums.Of16(a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33);
            sums.GetLower().GetLower().Store(y);
            sums.GetLower().GetUpper().Store(y + ldy);
            sums.GetUpper().GetLower().Store(y + 2 * ldy);
            sums.GetUpper().GetUpper().Store(y + 3 * ldy);
            return;
        }
        FinishFour(w, x, y, cols, vecEnd, a00, a01, a02, a03);
        FinishFour(w, x1, y + ldy, cols, vecEnd, a10, a11, a12, a13);
        FinishFour(w, x2, y + 2 * ldy, cols, vecEnd, a20, a21, a22, a23);
        FinishFour(w, x3, y + 3 * ldy, cols, vecEnd, a30, a31, a32, a33);
    }

    /// <summary>The vector sums of one input's four rows, plus the scalar columns from <paramref name="from"/> on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishFour(float* w, float* x, float* y, int cols, int from, Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
    {
        float* w1 = w + cols, w2 = w1 + cols, w3 = w2 + cols;
        float s0 = Vector512.Sum(a0), s1 = Vector512.Sum(a1), s2 = Vector512.Sum(a2), s3 = Vector512.Sum(a3);
        for (int c = from; c < cols; c++)
        {
            float xc = x[c];
            s0 += w[c] * xc; s1 += w1[c] * xc; s2 += w2[c] * xc; s3 += w3[c] * xc;
        }
        y[0] = s0; y[1] = s1; y[2] = s2; y[3] = s3;
    }

    /// <summary>
    /// X̄[j] = Σ_{r0 ≤ r &lt; r1} Ȳ[j][r]·W[r, :] for j &lt; k (overwritten): per block of <see cref="InputBlock"/>
    /// gradients, eight rows of W at a time (then four, then one), each block read once for all the block's gradients.
    /// Every gradient meets the rows in the same order whatever its block, so its bits do not depend on k.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposedRows(Weights w, float* pg, float* px, int r0, int r1, int rows, int k)
    {
        int cols = w.Cols;
        new Span<float>(px, k * cols).Clear();
        for (int j0 = 0; j0 < k; j0 += InputBlock)
        {
            int j1 = Math.Min(k, j0 + InputBlock), r = r0;
            for (; r + 8 <= r1; r += 8) AddEightRows(w.Row(r), w.RowStride, w.ChunkStride, cols, pg + (long)j0 * rows + r, rows, px + (long)j0 * cols, j1 - j0);
            // Four rows, then single rows (row-major only: panels come in whole blocks of eight).
            for (; r + 4 <= r1; r += 4)
                for (int j = j0; j < j1; j++) AddFourRows(w.Row(r), cols, pg + (long)j * rows + r, px + (long)j * cols);
            for (; r < r1; r++)
                for (int j = j0; j < j1; j++) AddRow(w.Row(r), cols, pg[(long)j * rows + r], px + (long)j * cols);
        }
    }

    /// <summary>
    /// X[j] += Σ_{i&lt;8} G[j][i]·W[i, :] for the eight rows at w (rows <paramref name="rs"/> floats apart, chunks of
    /// sixteen columns <paramref name="cs"/> apart) and j &lt; k (G[j] at g + j·ldg, X[j] at x + j·cols): each vector
    /// of the eight rows is loaded once for all k gradients.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddEightRows(float* w, int rs, int cs, int cols, float* g, int ldg, float* x, int k)
    {
        int c = 0;
        for (float* wc = w; c + 16 <= cols; c += 16, wc += cs)
        {
            var v0 = Vector512.Load(wc); var v1 = Vector512.Load(wc + rs);
            var v2 = Vector512.Load(wc + 2 * rs); var v3 = Vector512.Load(wc + 3 * rs);
            var v4 = Vector512.Load(wc + 4 * rs); var v5 = Vector512.Load(wc + 5 * rs);
            var v6 = Vector512.Load(wc + 6 * rs); var v7 = Vector512.Load(wc + 7 * rs);
            for (int j = 0; j < k; j++)
            {
                // Four short chains, summed as a tree: the eight products are independent.
                float* gj = g + (long)j * ldg, xj = x + (long)j * cols + c;
                var s01 = Vector512.FusedMultiplyAdd(v1, Vector512.Create(gj[1]), v0 * Vector512.Create(gj[0]));
                var s23 = Vector512.FusedMultiplyAdd(v3, Vector512.Create(gj[3]), v2 * Vector512.Create(gj[2]));
                var s45 = Vector512.FusedMultiplyAdd(v5, Vector512.Create(gj[5]), v4 * Vector512.Create(gj[4]));
                var s67 = Vector512.FusedMultiplyAdd(v7, Vector512.Create(gj[7]), v6 * Vector512.Create(gj[6]));
                (Vector512.Load(xj) + ((s01 + s23) + (s45 + s67))).Store(xj);
            }
        }
        if (c < cols)
        {
            // The columns past the last full vector (row-major only), four rows at a time.
            for (int j = 0; j < k; j++)
            {
                AddFourRowsFrom(w, cols, g + (long)j * ldg, x + (long)j * cols, c);
                AddFourRowsFrom(w + 4 * cols, cols, g + (long)j * ldg + 4, x + (long)j * cols, c);
            }
        }
    }

    /// <summary>x += Σ_{i&lt;4} g[i]·W[i, :] for the four rows at w.</summary>
    private static void AddFourRows(float* w, int cols, float* g, float* x) => AddFourRowsFrom(w, cols, g, x, 0);

    /// <summary>x[c…] += Σ_{i&lt;4} g[i]·W[i, c…] from column <paramref name="c"/> on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddFourRowsFrom(float* w, int cols, float* g, float* x, int c)
    {
        float* w1 = w + cols, w2 = w1 + cols, w3 = w2 + cols;
        float g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3];
        var v0 = Vector512.Create(g0); var v1 = Vector512.Create(g1); var v2 = Vector512.Create(g2); var v3 = Vector512.Create(g3);
        for (; c + 16 <= cols; c += 16)
        {
            var s01 = Vector512.FusedMultiplyAdd(Vector512.Load(w1 + c), v1, Vector512.Load(w + c) * v0);
            var s23 = Vector512.FusedMultiplyAdd(Vector512.Load(w3 + c), v3, Vector512.Load(w2 + c) * v2);
            (Vector512.Load(x + c) + (s01 + s23)).Store(x + c);
        }
        if (c + 8 <= cols)
        {
            var s01 = Vector256.FusedMultiplyAdd(Vector256.Load(w1 + c), Vector256.Create(g1), Vector256.Load(w + c) * Vector256.Create(g0));
            var s23 = Vector256.FusedMultiplyAdd(Vector256.Load(w3 + c), Vector256.Create(g3), Vector256.Load(w2 + c) * Vector256.Create(g2));
            (Vector256.Load(x + c) + (s01 + s23)).Store(x + c);
            c += 8;
        }
        for (; c < cols; c++) x[c] += (w[c] * g0 + w1[c] * g1) + (w2[c] * g2 + w3[c] * g3);
    }

    /// <summary>x += g·W[r, :] for the one row at w.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddRow(float* w, int cols, float g, float* x)
    {
        var v = Vector512.Create(g);
        int c = 0;
        for (; c + 16 <= cols; c += 16) Vector512.FusedMultiplyAdd(Vector512.Load(w + c), v, Vector512.Load(x + c)).Store(x + c);
        for (; c < cols; c++) x[c] += w[c] * g;
    }
}
