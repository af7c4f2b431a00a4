using System.Numerics;
using ILGPU;
using ILGPU.Runtime;

namespace DiffTori.Engine;

// Convolution as im2col + the tiled GEMM. The column matrix is [C·KH·KW, N·OH·OW] (row c·KH·KW +
// kh·KW + kw, column n·OH·OW + oh·OW + ow), so each group's rows are one contiguous block and the
// weight gradient is a single product over all images. col2im gathers (no atomics, deterministic).
public sealed partial class GpuBackend
{
    public void Conv2d(Tensor x, Tensor weight, Tensor y, in ConvSpec spec)
    {
        RequireFloat("Conv2d", x);
        var s = ConvArgs.From(spec);
        if (s.L == 0 || spec.N == 0 || spec.O == 0) return;
        using var col = Scratch(new Shape(s.Rows, spec.N * s.L), x.DType);
        Im2col(x, col, s);
        int og = spec.O / spec.Groups, kc = s.Rows / spec.Groups, nl = spec.N * s.L;
        for (int g = 0; g < spec.Groups; g++)
        {
            // y[n, g·og.., :] (og × L) = W_g (og × kc) · col_g[:, n·L..] (kc × L), batched over n.
            var args = new GemmArgs(og, s.L, kc, false, false,
                weight.Offset + g * og * kc, kc, 0,
                col.Offset + g * kc * nl, nl, s.L,
                y.Offset + g * og * s.L, s.L, spec.O * s.L);
            LaunchGemm(weight, col, y, args, spec.N, 1, 0);
        }
    }

    public void Conv2dInputGrad(Tensor dy, Tensor weight, Tensor dx, in ConvSpec spec)
    {
        RequireFloat("Conv2dInputGrad", dy);
        var s = ConvArgs.From(spec);
        if (dx.Length == 0) return;
        using var col = Scratch(new Shape(s.Rows, spec.N * s.L), dy.DType);
        int og = spec.O / spec.Groups, kc = s.Rows / spec.Groups, nl = spec.N * s.L;
        for (int g = 0; g < spec.Groups; g++)
        {
            // dcol_g[:, n·L..] (kc × L) = W_gᵀ (kc × og) · dy[n, g·og.., :] (og × L), batched over n.
            var args = new GemmArgs(kc, s.L, og, true, false,
                weight.Offset + g * og * kc, kc, 0,
                dy.Offset + g * og * s.L, s.L, spec.O * s.L,
                col.Offset + g * kc * nl, nl, s.L);
            LaunchGemm(weight, dy, col, args, spec.N, 1, 0);
        }
        if (dx.DType == DType.Float32) _f32.Col2im(dx.Length, ViewOf<float>(col), ViewOf<float>(dx), dx.Offset, s);
        else _f64.Col2im(dx.Length, ViewOf<double>(col), ViewOf<double>(dx), dx.Offset, s);
    }

    public void Conv2dWeightGrad(Tensor x, Tensor dy, Tensor dw, in ConvSpec spec)
    {
        RequireFloat("Conv2dWeightGrad", x);
        var s = ConvArgs.From(spec);
        if (dw.Length == 0) return;
        if (spec.N == 0 || s.L == 0)
        {
            Fill(dw, 0);
            return;
        }
        int nl = spec.N * s.L, og = spec.O / spec.Groups, kc = s.Rows / spec.Groups;
        using var col = Scratch(new Shape(s.Rows, nl), x.DType);
        Im2col(x, col, s);
        // dy [N, O, L] → dyT [O, N, L], so each group's gradient rows are one (og × N·L) matrix.
        using var dyT = Scratch(new Shape(spec.O, spec.N, s.L), dy.DType);
        using (var dy3 = dy.Reshape(spec.N, spec.O, s.L))
        using (var permuted = dy3.Permute(1, 0, 2))
            Copy(permuted, dyT);
        for (int g = 0; g < spec.Groups; g++)
        {
            // dW_g (og × kc) = dyT_g (og × N·L) · col_gᵀ (N·L × kc).
            var args = new GemmArgs(og, kc, nl, false, true,
                dyT.Offset + g * og * nl, nl, 0,
                col.Offset + g * kc * nl, nl, 0,
                dw.Offset + g * og * kc, kc, 0);
            LaunchGemm(dyT, col, dw, args, 1, 1, 0);
        }
    }

    private void Im2col(Tensor x, Tensor col, in ConvArgs s)
    {
        if (x.DType == DType.Float32) _f32.Im2col(col.Length, ViewOf<float>(x), x.Offset, ViewOf<float>(col), s);
        else _f64.Im2col(col.Length, ViewOf<double>(x), x.Offset, ViewOf<double>(col), s);
    }

    /// <summary>A ConvSpec as plain ints for the kernels, plus L = OH·OW and Rows = C·KH·KW.</summary>
    internal readonly struct ConvArgs
    {
        public readonly int N, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, L, Rows;

        private ConvArgs(in ConvSpec s)
        {
            N = s.N; C = s.C; H = s.H; W = s.W; KH = s.KH; KW = s.KW;
            SH = s.SH; SW = s.SW; PH = s.PH; PW = s.PW; DH = s.DH; DW = s.DW;
            OH = s.OH; OW = s.OW; L = OH * OW; Rows = C * KH * KW;
        }

        public static ConvArgs From(in ConvSpec spec) => new(spec);
    }

    private static void Im2colKernel<T, TNum>(Index1D i, ArrayView<T> x, int xOffset, ArrayView<T> col, ConvArgs s)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int nl = s.N * s.L;
        int row = i / nl, j = i - row * nl;
        int n = j / s.L, l = j - n * s.L;
        int oh = l / s.OW, ow = l - oh * s.OW;
        int kernelArea = s.KH * s.KW;
        int c = row / kernelArea, r = row - c * kernelArea;
        int kh = r / s.KW, kw = r - kh * s.KW;
        int h = oh * s.SH - s.PH + kh * s.DH, w = ow * s.SW - s.PW + kw * s.DW;
        col[i] = h >= 0 && h < s.H && w >= 0 && w < s.W ? x[xOffset + ((n * s.C + c) * s.H + h) * s.W + w] : T.Zero;
    }

    private static void Col2imKernel<T, TNum>(Index1D i, ArrayView<T> col, ArrayView<T> dx, int dxOffset, ConvArgs s)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int w = i % s.W, rest = i / s.W;
        int h = rest % s.H; rest /= s.H;
        int c = rest % s.C, n = rest / s.C;
        int nl = s.N * s.L;
        T sum = T.Zero;
        for (int kh = 0; kh < s.KH; kh++)
        {
            int hs = h + s.PH - kh * s.DH;
            if (hs < 0 || hs % s.SH != 0) continue;
            int oh = hs / s.SH;
            if (oh >= s.OH) continue;
            for (int kw = 0; kw < s.KW; kw++)
            {
                int ws = w + s.PW - kw * s.DW;
                if (ws < 0 || ws % s.SW != 0) continue;
                int ow = ws / s.SW;
                if (ow >= s.OW) continue;
                sum += col[((c * s.KH + kh) * s.KW + kw) * nl + n * s.L + oh * s.OW + ow];
            }
        }
        dx[dxOffset + i] = sum;
    }

    private sealed partial class RealKernels<T, TNum>
    {
        private Action<Index1D, ArrayView<T>, int, ArrayView<T>, ConvArgs>? _im2col;
        private Action<Index1D, ArrayView<T>, ArrayView<T>, int, ConvArgs>? _col2im;

        public Action<Index1D, ArrayView<T>, int, ArrayView<T>, ConvArgs> Im2col =>
            _im2col ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, int, ArrayView<T>, ConvArgs>(Im2colKernel<T, TNum>);
        public Action<Index1D, ArrayView<T>, ArrayView<T>, int, ConvArgs> Col2im =>
            _col2im ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, int, ConvArgs>(Col2imKernel<T, TNum>);
    }
}
