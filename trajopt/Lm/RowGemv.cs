using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// Batch-1 matrix–vector products on a row-major weight W [rows, cols] (torch's Linear layout), the two
/// directions a forward pass and its vector–Jacobian product need. Both stream W row by row, once, so
/// neither needs a transposed copy: at batch 1 the time is the time to read W.
/// </summary>
internal static unsafe class RowGemv
{
    /// <summary>Matrices of at least this many elements (the 512×512 hidden layers) are split over both cores.</summary>
    private const int ParallelElements = 128 * 1024;

    [ThreadStatic] private static GemvJob? _job;

    /// <summary>y = W·x + b (b may be empty).</summary>
    public static void Forward(ReadOnlySpan<float> w, ReadOnlySpan<float> b, ReadOnlySpan<float> x, Span<float> y, int rows, int cols)
    {
        if (!Vector512.IsHardwareAccelerated || cols < 16)
        {
            for (int r = 0; r < rows; r++) y[r] = TensorPrimitives.Dot(w.Slice(r * cols, cols), x[..cols]) + (b.IsEmpty ? 0 : b[r]);
            return;
        }
        fixed (float* pw = w, px = x, py = y)
        {
            if ((long)rows * cols >= ParallelElements && CpuParallelWork.Threads > 1)
                (_job ??= new GemvJob()).Run(transposed: false, pw, px, py, rows, cols);
            else ForwardRows(pw, px, py, 0, rows, cols);
        }
        if (!b.IsEmpty) TensorPrimitives.Add(y[..rows], b[..rows], y[..rows]);
    }

    /// <summary>x̄ = Wᵀ·ȳ (overwrites x̄): the input gradient of y = W·x + b.</summary>
    public static void Transposed(ReadOnlySpan<float> w, ReadOnlySpan<float> yBar, Span<float> xBar, int rows, int cols)
    {
        if (!Vector512.IsHardwareAccelerated || cols < 16)
        {
            xBar[..cols].Clear();
            for (int r = 0; r < rows; r++) TensorPrimitives.MultiplyAdd(w.Slice(r * cols, cols), yBar[r], xBar[..cols], xBar[..cols]);
            return;
        }
        fixed (float* pw = w, pg = yBar, px = xBar)
        {
            if ((long)rows * cols >= ParallelElements && CpuParallelWork.Threads > 1)
                (_job ??= new GemvJob()).Run(transposed: true, pw, pg, px, rows, cols);
            else TransposedColumns(pw, pg, px, rows, 0, cols, cols);
        }
    }

    /// <summary>
    /// Y[j] = W·X[j] + b for k inputs X [k, cols] → Y [k, rows]: each block of four rows of W is read from memory
    /// once and reused from L1 for all k inputs (the reward network over all H steps at once).
    /// </summary>
    public static void ForwardBatch(ReadOnlySpan<float> w, ReadOnlySpan<float> b, ReadOnlySpan<float> x, Span<float> y, int rows, int cols, int k)
    {
        if (k == 1 || !Vector512.IsHardwareAccelerated || cols < 16)
        {
            for (int j = 0; j < k; j++) Forward(w, b, x.Slice(j * cols, cols), y.Slice(j * rows, rows), rows, cols);
            return;
        }
        fixed (float* pw = w, px = x, py = y)
        {
            if ((long)rows * cols >= ParallelElements && CpuParallelWork.Threads > 1)
                (_job ??= new GemvJob()).Run(transposed: false, pw, px, py, rows, cols, k);
            else ForwardRowsBatch(pw, px, py, 0, rows, cols, rows, k);
        }
        if (!b.IsEmpty)
            for (int j = 0; j < k; j++) TensorPrimitives.Add(y.Slice(j * rows, rows), b[..rows], y.Slice(j * rows, rows));
    }

    /// <summary>X̄[j] = Wᵀ·Ȳ[j] for k gradients Ȳ [k, rows] → X̄ [k, cols] (overwritten); W is read in 64×64 tiles reused from L1 for all k.</summary>
    public static void TransposedBatch(ReadOnlySpan<float> w, ReadOnlySpan<float> yBar, Span<float> xBar, int rows, int cols, int k)
    {
        if (k == 1 || !Vector512.IsHardwareAccelerated || cols < 16)
        {
            for (int j = 0; j < k; j++) Transposed(w, yBar.Slice(j * rows, rows), xBar.Slice(j * cols, cols), rows, cols);
            return;
        }
        fixed (float* pw = w, pg = yBar, px = xBar)
        {
            if ((long)rows * cols >= ParallelElements && CpuParallelWork.Threads > 1)
                (_job ??= new GemvJob()).Run(transposed: true, pw, pg, px, rows, cols, k);
            else TransposedColumnsBatch(pw, pg, px, rows, 0, cols, cols, k);
        }
    }

    /// <summary>Both directions split over the worker pool: forward by rows, transposed by 16-aligned column ranges (no reduction).</summary>
    private sealed class GemvJob : CpuParallelWork
    {
        private float* _w, _in, _out;
        private int _rows, _cols, _k;
        private bool _transposed;

        public void Run(bool transposed, float* w, float* input, float* output, int rows, int cols, int k = 1)
        {
            _transposed = transposed; _w = w; _in = input; _out = output; _rows = rows; _cols = cols; _k = k;
            try { Run(2); }
            finally { _w = _in = _out = null; }
        }

        public override void Execute(int part, int parts)
        {
            if (_transposed)
            {
                int blocks = (_cols + 15) / 16;
                int c0 = Math.Min(_cols, blocks * part / parts * 16), c1 = Math.Min(_cols, blocks * (part + 1) / parts * 16);
                if (_k == 1) TransposedColumns(_w, _in, _out, _rows, c0, c1, _cols);
                else TransposedColumnsBatch(_w, _in, _out, _rows, c0, c1, _cols, _k);
            }
            else
            {
                int quads = (_rows + 3) / 4;
                int r0 = Math.Min(_rows, quads * part / parts * 4), r1 = Math.Min(_rows, quads * (part + 1) / parts * 4);
                if (_k == 1) ForwardRows(_w, _in, _out, r0, r1, _cols);
                else ForwardRowsBatch(_w, _in, _out, r0, r1, _cols, _rows, _k);
            }
        }
    }

    /// <summary>y[r] = W[r, :]·x for r in [r0, r1).</summary>
    private static void ForwardRows(float* pw, float* px, float* py, int r0, int r1, int cols)
    {
        int vecEnd = cols & ~15;
        int r = r0;
        // Four rows at a time share each load of x.
        for (; r + 4 <= r1; r += 4)
        {
            float* w0 = pw + (long)r * cols, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols;
            var a0 = Vector512<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
            for (int k = 0; k < vecEnd; k += 16)
            {
                var xv = Vector512.Load(px + k);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(w0 + k), xv, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(w1 + k), xv, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Load(w2 + k), xv, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Load(w3 + k), xv, a3);
            }
            float s0 = Vector512.Sum(a0), s1 = Vector512.Sum(a1), s2 = Vector512.Sum(a2), s3 = Vector512.Sum(a3);
            for (int k = vecEnd; k < cols; k++)
            {
                float xk = px[k];
                s0 += w0[k] * xk; s1 += w1[k] * xk; s2 += w2[k] * xk; s3 += w3[k] * xk;
            }
            py[r] = s0; py[r + 1] = s1; py[r + 2] = s2; py[r + 3] = s3;
        }
        for (; r < r1; r++)
        {
            float* wr = pw + (long)r * cols;
            var a = Vector512<float>.Zero;
            for (int k = 0; k < vecEnd; k += 16) a = Vector512.FusedMultiplyAdd(Vector512.Load(wr + k), Vector512.Load(px + k), a);
            float s = Vector512.Sum(a);
            for (int k = vecEnd; k < cols; k++) s += wr[k] * px[k];
            py[r] = s;
        }
    }

    /// <summary>x̄[c] = Σ_r ȳ[r]·W[r, c] for c in [c0, c1).</summary>
    private static void TransposedColumns(float* pw, float* pg, float* px, int rows, int c0, int c1, int cols)
    {
        // A block of 64 columns lives in four registers while every row adds into it.
        int c = c0;
        for (; c + 64 <= c1; c += 64)
        {
            var s0 = Vector512<float>.Zero; var s1 = s0; var s2 = s0; var s3 = s0;
            float* wr = pw + c;
            for (int r = 0; r < rows; r++, wr += cols)
            {
                var g = Vector512.Create(pg[r]);
                s0 = Vector512.FusedMultiplyAdd(Vector512.Load(wr), g, s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.Load(wr + 16), g, s1);
                s2 = Vector512.FusedMultiplyAdd(Vector512.Load(wr + 32), g, s2);
                s3 = Vector512.FusedMultiplyAdd(Vector512.Load(wr + 48), g, s3);
            }
            s0.Store(px + c); s1.Store(px + c + 16); s2.Store(px + c + 32); s3.Store(px + c + 48);
        }
        for (; c + 16 <= c1; c += 16)
        {
            var s = Vector512<float>.Zero;
            float* wr = pw + c;
            for (int r = 0; r < rows; r++, wr += cols) s = Vector512.FusedMultiplyAdd(Vector512.Load(wr), Vector512.Create(pg[r]), s);
            s.Store(px + c);
        }
        for (; c < c1; c++)
        {
            float s = 0;
            for (int r = 0; r < rows; r++) s += pw[(long)r * cols + c] * pg[r];
            px[c] = s;
        }
    }

    /// <summary>Y[j][r] = W[r, :]·X[j] for r in [r0, r1) and j &lt; k, one block of four rows at a time.</summary>
    private static void ForwardRowsBatch(float* pw, float* px, float* py, int r0, int r1, int cols, int rows, int k)
    {
        int r = r0;
        for (; r + 4 <= r1; r += 4)
            for (int j = 0; j < k; j++) ForwardRows(pw, px + (long)j * cols, py + (long)j * rows, r, r + 4, cols);
        if (r < r1)
            for (int j = 0; j < k; j++) ForwardRows(pw, px + (long)j * cols, py + (long)j * rows, r, r1, cols);
    }

    /// <summary>X̄[j][c] = Σ_r Ȳ[j][r]·W[r, c] for c in [c0, c1) and j &lt; k, over tiles of 64 rows.</summary>
    private static void TransposedColumnsBatch(float* pw, float* pg, float* px, int rows, int c0, int c1, int cols, int k)
    {
        const int TileRows = 64;
        for (int j = 0; j < k; j++) new Span<float>(px + (long)j * cols + c0, c1 - c0).Clear();
        for (int rt = 0; rt < rows; rt += TileRows)
        {
            int rEnd = Math.Min(rows, rt + TileRows);
            for (int j = 0; j < k; j++)
            {
                float* g = pg + (long)j * rows, x = px + (long)j * cols;
                int c = c0;
                for (; c + 64 <= c1; c += 64)
                {
                    var s0 = Vector512.Load(x + c); var s1 = Vector512.Load(x + c + 16);
                    var s2 = Vector512.Load(x + c + 32); var s3 = Vector512.Load(x + c + 48);
                    float* wr = pw + (long)rt * cols + c;
                    for (int r = rt; r < rEnd; r++, wr += cols)
                    {
                        var gv = Vector512.Create(g[r]);
                        s0 = Vector512.FusedMultiplyAdd(Vector512.Load(wr), gv, s0);
                        s1 = Vector512.FusedMultiplyAdd(Vector512.Load(wr + 16), gv, s1);
                        s2 = Vector512.FusedMultiplyAdd(Vector512.Load(wr + 32), gv, s2);
                        s3 = Vector512.FusedMultiplyAdd(Vector512.Load(wr + 48), gv, s3);
                    }
                    s0.Store(x + c); s1.Store(x + c + 16); s2.Store(x + c + 32); s3.Store(x + c + 48);
                }
                for (; c + 16 <= c1; c += 16)
                {
                    var s = Vector512.Load(x + c);
                    float* wr = pw + (long)rt * cols + c;
                    for (int r = rt; r < rEnd; r++, wr += cols) s = Vector512.FusedMultiplyAdd(Vector512.Load(wr), Vector512.Create(g[r]), s);
                    s.Store(x + c);
                }
                for (; c < c1; c++)
                {
                    float s = x[c];
                    for (int r = rt; r < rEnd; r++) s += pw[(long)r * cols + c] * g[r];
                    x[c] = s;
                }
            }
        }
    }
}
