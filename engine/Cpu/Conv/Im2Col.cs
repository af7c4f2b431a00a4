using System.Runtime.CompilerServices;
using System.Numerics;

namespace DiffTori.Engine;

/// <summary>
/// The patch matrix of one image and one group: col[(c·KH + kh)·KW + kw, oh·OW + ow] is the input pixel that
/// kernel tap (kh, kw) of channel c sees at output (oh, ow), or 0 in the padding. A convolution is then one
/// GEMM, and <see cref="AccumulateCol2Im"/> (the adjoint, a scatter-add) gives the input gradient.
/// </summary>
internal static class Im2Col
{
    /// <summary>Fill col [channels·KH·KW, OH·OW] from the image planes starting at x[offset] (channels planes of H×W).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Fill<T>(T[] x, int offset, int channels, in ConvSpec s, Span<T> col) where T : unmanaged, INumberBase<T>
    {
        int oh = s.OH, ow = s.OW, plane = s.H * s.W, cols = oh * ow;
        for (int c = 0; c < channels; c++)
        for (int kh = 0; kh < s.KH; kh++)
        for (int kw = 0; kw < s.KW; kw++)
        {
            var row = col.Slice(((c * s.KH + kh) * s.KW + kw) * cols, cols);
            var (owLo, owHi) = ValidRange(ow, s.SW, kw * s.DW - s.PW, s.W);
            int shiftW = kw * s.DW - s.PW;
            for (int y = 0; y < oh; y++)
            {
                var dst = row.Slice(y * ow, ow);
                int ih = y * s.SH - s.PH + kh * s.DH;
                if ((uint)ih >= (uint)s.H || owLo >= owHi) { dst.Clear(); continue; }
                dst[..owLo].Clear();
                dst[owHi..].Clear();
                int src = offset + c * plane + ih * s.W + shiftW;
                if (s.SW == 1) x.AsSpan(src + owLo, owHi - owLo).CopyTo(dst[owLo..owHi]);
                else for (int o = owLo; o < owHi; o++) dst[o] = x[src + o * s.SW];
            }
        }
    }

    /// <summary>dx planes at dx[offset] += the adjoint of <see cref="Fill"/> applied to col.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AccumulateCol2Im<T>(ReadOnlySpan<T> col, int channels, in ConvSpec s, T[] dx, int offset) where T : unmanaged, INumberBase<T>
    {
        int oh = s.OH, ow = s.OW, plane = s.H * s.W, cols = oh * ow;
        for (int c = 0; c < channels; c++)
        for (int kh = 0; kh < s.KH; kh++)
        for (int kw = 0; kw < s.KW; kw++)
        {
            var row = col.Slice(((c * s.KH + kh) * s.KW + kw) * cols, cols);
            var (owLo, owHi) = ValidRange(ow, s.SW, kw * s.DW - s.PW, s.W);
            if (owLo >= owHi) continue;
            int shiftW = kw * s.DW - s.PW;
            for (int y = 0; y < oh; y++)
            {
                int ih = y * s.SH - s.PH + kh * s.DH;
                if ((uint)ih >= (uint)s.H) continue;
                var src = row.Slice(y * ow, ow);
                int dst = offset + c * plane + ih * s.W + shiftW;
                if (s.SW == 1)
                {
                    var d = dx.AsSpan(dst + owLo, owHi - owLo);
                    System.Numerics.Tensors.TensorPrimitives.Add<T>(d, src[owLo..owHi], d);
                }
                else for (int o = owLo; o < owHi; o++) dx[dst + o * s.SW] += src[o];
            }
        }
    }

    /// <summary>Outputs o in [lo, hi) whose input column o·stride + shift lies inside [0, width).</summary>
    private static (int Lo, int Hi) ValidRange(int outputs, int stride, int shift, int width)
    {
        int lo = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
        int hi = width - shift <= 0 ? 0 : Math.Min(outputs, (width - shift - 1) / stride + 1);
        return (Math.Min(lo, outputs), Math.Max(Math.Min(lo, outputs), hi));
    }
}
