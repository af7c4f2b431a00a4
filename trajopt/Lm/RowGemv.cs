using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace DiffTori.TrajOpt;

/// <summary>
/// Batch-1 matrix–vector products on a row-major weight W [rows, cols] (torch's Linear layout), the two
/// directions a forward pass and its vector–Jacobian product need. Both stream W row by row, once, so
/// neither needs a transposed copy: at batch 1 the time is the time to read W.
/// </summary>
internal static unsafe class RowGemv
{
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
            int vecEnd = cols & ~15;
            int r = 0;
            // Four rows at a time share each load of x.
            for (; r + 4 <= rows; r += 4)
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
            for (; r < rows; r++)
            {
                float* wr = pw + (long)r * cols;
                var a = Vector512<float>.Zero;
                for (int k = 0; k < vecEnd; k += 16) a = Vector512.FusedMultiplyAdd(Vector512.Load(wr + k), Vector512.Load(px + k), a);
                float s = Vector512.Sum(a);
                for (int k = vecEnd; k < cols; k++) s += wr[k] * px[k];
                py[r] = s;
            }
        }
        if (!b.IsEmpty) TensorPrimitives.Add(y[..rows], b[..rows], y[..rows]);
    }

    /// <summary>x̄ = Wᵀ·ȳ (overwrites x̄): the input gradient of y = W·x + b.</summary>
    public static void Transposed(ReadOnlySpan<float> w, ReadOnlySpan<float> yBar, Span<float> xBar, int rows, int cols)
    {
        xBar[..cols].Clear();
        if (!Vector512.IsHardwareAccelerated || cols < 16)
        {
            for (int r = 0; r < rows; r++) TensorPrimitives.MultiplyAdd(w.Slice(r * cols, cols), yBar[r], xBar[..cols], xBar[..cols]);
            return;
        }
        fixed (float* pw = w, pg = yBar, px = xBar)
        {
            // A block of 64 columns lives in four registers while every row adds into it.
            int c = 0;
            for (; c + 64 <= cols; c += 64)
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
            for (; c + 16 <= cols; c += 16)
            {
                var s = Vector512<float>.Zero;
                float* wr = pw + c;
                for (int r = 0; r < rows; r++, wr += cols) s = Vector512.FusedMultiplyAdd(Vector512.Load(wr), Vector512.Create(pg[r]), s);
                s.Store(px + c);
            }
            for (; c < cols; c++)
            {
                float s = 0;
                for (int r = 0; r < rows; r++) s += pw[(long)r * cols + c] * pg[r];
                px[c] = s;
            }
        }
    }
}
