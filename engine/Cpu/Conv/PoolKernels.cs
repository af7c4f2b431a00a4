using System.Runtime.CompilerServices;
using System.Numerics;

namespace DiffTori.Engine;

/// <summary>
/// 2-D max and average pooling over contiguous [N·C planes of H×W], PyTorch semantics: max ignores padded
/// cells (NaN wins), argmax is the flat h·W + w index in the plane; average divides by the window clipped
/// to the padded image (count_include_pad), i.e. padded zeros count.
/// </summary>
internal static class PoolKernels
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Max<T>(T[] x, int xOff, T[] y, int yOff, int[] argmax, int aOff, in PoolSpec s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int planes = s.N * s.C, oh = s.OH, ow = s.OW;
        for (int p = 0; p < planes; p++)
        {
            int xp = xOff + p * s.H * s.W, yp = p * oh * ow;
            for (int i = 0; i < oh; i++)
            {
                int h0 = i * s.SH - s.PH, h1 = Math.Min(h0 + s.KH, s.H);
                h0 = Math.Max(h0, 0);
                for (int j = 0; j < ow; j++)
                {
                    int w0 = j * s.SW - s.PW, w1 = Math.Min(w0 + s.KW, s.W);
                    w0 = Math.Max(w0, 0);
                    T best = T.NegativeInfinity;
                    int at = h0 * s.W + w0;
                    for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++)
                    {
                        T v = x[xp + h * s.W + w];
                        if (v > best || T.IsNaN(v))
                        {
                            best = v;
                            at = h * s.W + w;
                            if (T.IsNaN(v)) goto done;
                        }
                    }
                done:
                    y[yOff + yp + i * ow + j] = best;
                    argmax[aOff + yp + i * ow + j] = at;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxBackward<T>(T[] dy, int dyOff, int[] argmax, int aOff, T[] dx, int dxOff, in PoolSpec s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int planes = s.N * s.C, outPlane = s.OH * s.OW, inPlane = s.H * s.W;
        dx.AsSpan(dxOff, planes * inPlane).Clear();
        for (int p = 0; p < planes; p++)
        for (int k = 0; k < outPlane; k++)
            dx[dxOff + p * inPlane + argmax[aOff + p * outPlane + k]] += dy[dyOff + p * outPlane + k];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Average<T>(T[] x, int xOff, T[] y, int yOff, in PoolSpec s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int planes = s.N * s.C, oh = s.OH, ow = s.OW;
        for (int p = 0; p < planes; p++)
        {
            int xp = xOff + p * s.H * s.W, yp = yOff + p * oh * ow;
            for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++)
            {
                var (h0, h1, w0, w1, count) = Window(s, i, j);
                T sum = T.Zero;
                for (int h = h0; h < h1; h++)
                for (int w = w0; w < w1; w++)
                    sum += x[xp + h * s.W + w];
                y[yp + i * ow + j] = sum / T.CreateTruncating(count);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AverageBackward<T>(T[] dy, int dyOff, T[] dx, int dxOff, in PoolSpec s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int planes = s.N * s.C, oh = s.OH, ow = s.OW;
        dx.AsSpan(dxOff, planes * s.H * s.W).Clear();
        for (int p = 0; p < planes; p++)
        {
            int xp = dxOff + p * s.H * s.W, yp = dyOff + p * oh * ow;
            for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++)
            {
                var (h0, h1, w0, w1, count) = Window(s, i, j);
                T share = dy[yp + i * ow + j] / T.CreateTruncating(count);
                for (int h = h0; h < h1; h++)
                for (int w = w0; w < w1; w++)
                    dx[xp + h * s.W + w] += share;
            }
        }
    }

    /// <summary>The in-image window of output (i, j) and PyTorch's divisor (window clipped to the padded image).</summary>
    private static (int H0, int H1, int W0, int W1, int Count) Window(in PoolSpec s, int i, int j)
    {
        int h0 = i * s.SH - s.PH, w0 = j * s.SW - s.PW;
        int h1 = Math.Min(h0 + s.KH, s.H + s.PH), w1 = Math.Min(w0 + s.KW, s.W + s.PW);
        int count = (h1 - h0) * (w1 - w0);
        return (Math.Max(h0, 0), Math.Min(h1, s.H), Math.Max(w0, 0), Math.Min(w1, s.W), count);
    }
}
