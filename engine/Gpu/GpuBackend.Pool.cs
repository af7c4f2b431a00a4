using System.Numerics;
using ILGPU;
using ILGPU.Runtime;

namespace DiffTori.Engine;

// Max and average pooling: one thread per output; the backward passes gather, one thread per input
// cell, from the windows that contain it (no atomics, deterministic).
public sealed partial class GpuBackend
{
    public void MaxPool2d(Tensor x, Tensor y, Tensor argmax, in PoolSpec spec)
    {
        RequireFloat("MaxPool2d", x);
        var s = PoolArgs.From(spec, x.Offset, y.Offset, argmax.Offset);
        if (y.Length == 0) return;
        if (x.DType == DType.Float32) _f32.MaxPool(y.Length, ViewOf<float>(x), ViewOf<float>(y), ViewOf<int>(argmax), s);
        else _f64.MaxPool(y.Length, ViewOf<double>(x), ViewOf<double>(y), ViewOf<int>(argmax), s);
    }

    public void MaxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx, in PoolSpec spec)
    {
        RequireFloat("MaxPool2dBackward", dy);
        // Here "x" is dx (the gathered-into input) and "y" is dy.
        var s = PoolArgs.From(spec, dx.Offset, dy.Offset, argmax.Offset);
        if (dx.Length == 0) return;
        if (dy.DType == DType.Float32) _f32.MaxPoolBackward(dx.Length, ViewOf<float>(dy), ViewOf<int>(argmax), ViewOf<float>(dx), s);
        else _f64.MaxPoolBackward(dx.Length, ViewOf<double>(dy), ViewOf<int>(argmax), ViewOf<double>(dx), s);
    }

    public void AvgPool2d(Tensor x, Tensor y, in PoolSpec spec)
    {
        RequireFloat("AvgPool2d", x);
        var s = PoolArgs.From(spec, x.Offset, y.Offset, 0);
        if (y.Length == 0) return;
        if (x.DType == DType.Float32) _f32.AvgPool(y.Length, ViewOf<float>(x), ViewOf<float>(y), s);
        else _f64.AvgPool(y.Length, ViewOf<double>(x), ViewOf<double>(y), s);
    }

    public void AvgPool2dBackward(Tensor dy, Tensor dx, in PoolSpec spec)
    {
        RequireFloat("AvgPool2dBackward", dy);
        var s = PoolArgs.From(spec, dx.Offset, dy.Offset, 0);
        if (dx.Length == 0) return;
        if (dy.DType == DType.Float32) _f32.AvgPoolBackward(dx.Length, ViewOf<float>(dy), ViewOf<float>(dx), s);
        else _f64.AvgPoolBackward(dx.Length, ViewOf<double>(dy), ViewOf<double>(dx), s);
    }

    /// <summary>A PoolSpec as plain ints, with the offsets of the input-side, output-side and argmax tensors.</summary>
    internal readonly struct PoolArgs
    {
        public readonly int H, W, KH, KW, SH, SW, PH, PW, OH, OW, XOffset, YOffset, ArgOffset;

        private PoolArgs(in PoolSpec s, int xOffset, int yOffset, int argOffset)
        {
            H = s.H; W = s.W; KH = s.KH; KW = s.KW; SH = s.SH; SW = s.SW; PH = s.PH; PW = s.PW;
            OH = s.OH; OW = s.OW; XOffset = xOffset; YOffset = yOffset; ArgOffset = argOffset;
        }

        public static PoolArgs From(in PoolSpec spec, int xOffset, int yOffset, int argOffset) => new(spec, xOffset, yOffset, argOffset);

        /// <summary>First and last output row (or column) whose window covers input position p.</summary>
        public static void Covering(int p, int pad, int kernel, int stride, int outputs, out int first, out int last)
        {
            int lowest = p + pad - kernel + 1;
            first = lowest <= 0 ? 0 : (lowest + stride - 1) / stride;
            last = (p + pad) / stride;
            if (last > outputs - 1) last = outputs - 1;
        }
    }

    private static void MaxPoolKernel<T, TNum>(Index1D i, ArrayView<T> x, ArrayView<T> y, ArrayView<int> argmax, PoolArgs s)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int plane = i / (s.OH * s.OW), cell = i - plane * s.OH * s.OW;
        int oh = cell / s.OW, ow = cell - oh * s.OW;
        int planeStart = s.XOffset + plane * s.H * s.W;
        T best = T.NegativeInfinity;
        int bestAt = -1;
        for (int kh = 0; kh < s.KH; kh++)
        {
            int h = oh * s.SH - s.PH + kh;
            if (h < 0 || h >= s.H) continue;
            for (int kw = 0; kw < s.KW; kw++)
            {
                int w = ow * s.SW - s.PW + kw;
                if (w < 0 || w >= s.W) continue;
                T v = x[planeStart + h * s.W + w];
                if (bestAt < 0 || v > best || (T.IsNaN(v) && !T.IsNaN(best)))
                {
                    best = v;
                    bestAt = h * s.W + w;
                }
            }
        }
        y[s.YOffset + i] = best;
        argmax[s.ArgOffset + i] = bestAt < 0 ? 0 : bestAt;
    }

    private static void MaxPoolBackwardKernel<T, TNum>(Index1D i, ArrayView<T> dy, ArrayView<int> argmax, ArrayView<T> dx, PoolArgs s)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int plane = i / (s.H * s.W), cell = i - plane * s.H * s.W;
        int h = cell / s.W, w = cell - h * s.W;
        PoolArgs.Covering(h, s.PH, s.KH, s.SH, s.OH, out int oh0, out int oh1);
        PoolArgs.Covering(w, s.PW, s.KW, s.SW, s.OW, out int ow0, out int ow1);
        int outStart = plane * s.OH * s.OW;
        T sum = T.Zero;
        for (int oh = oh0; oh <= oh1; oh++)
            for (int ow = ow0; ow <= ow1; ow++)
            {
                int o = outStart + oh * s.OW + ow;
                if (argmax[s.ArgOffset + o] == cell) sum += dy[s.YOffset + o];
            }
        dx[s.XOffset + i] = sum;
    }

    private static void AvgPoolKernel<T, TNum>(Index1D i, ArrayView<T> x, ArrayView<T> y, PoolArgs s)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int plane = i / (s.OH * s.OW), cell = i - plane * s.OH * s.OW;
        int oh = cell / s.OW, ow = cell - oh * s.OW;
        int planeStart = s.XOffset + plane * s.H * s.W;
        T sum = T.Zero;
        for (int kh = 0; kh < s.KH; kh++)
        {
            int h = oh * s.SH - s.PH + kh;
            if (h < 0 || h >= s.H) continue;
            for (int kw = 0; kw < s.KW; kw++)
            {
                int w = ow * s.SW - s.PW + kw;
                if (w >= 0 && w < s.W) sum += x[planeStart + h * s.W + w];
            }
        }
        y[s.YOffset + i] = sum / TNum.FromDouble(s.KH * s.KW);
    }

    private static void AvgPoolBackwardKernel<T, TNum>(Index1D i, ArrayView<T> dy, ArrayView<T> dx, PoolArgs s)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int plane = i / (s.H * s.W), cell = i - plane * s.H * s.W;
        int h = cell / s.W, w = cell - h * s.W;
        PoolArgs.Covering(h, s.PH, s.KH, s.SH, s.OH, out int oh0, out int oh1);
        PoolArgs.Covering(w, s.PW, s.KW, s.SW, s.OW, out int ow0, out int ow1);
        int outStart = s.YOffset + plane * s.OH * s.OW;
        T sum = T.Zero;
        for (int oh = oh0; oh <= oh1; oh++)
            for (int ow = ow0; ow <= ow1; ow++)
                sum += dy[outStart + oh * s.OW + ow];
        dx[s.XOffset + i] = sum / TNum.FromDouble(s.KH * s.KW);
    }

    private sealed partial class RealKernels<T, TNum>
    {
        private Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<int>, PoolArgs>? _maxPool;
        private Action<Index1D, ArrayView<T>, ArrayView<int>, ArrayView<T>, PoolArgs>? _maxPoolBackward;
        private Action<Index1D, ArrayView<T>, ArrayView<T>, PoolArgs>? _avgPool;
        private Action<Index1D, ArrayView<T>, ArrayView<T>, PoolArgs>? _avgPoolBackward;

        public Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<int>, PoolArgs> MaxPool =>
            _maxPool ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<int>, PoolArgs>(MaxPoolKernel<T, TNum>);
        public Action<Index1D, ArrayView<T>, ArrayView<int>, ArrayView<T>, PoolArgs> MaxPoolBackward =>
            _maxPoolBackward ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<int>, ArrayView<T>, PoolArgs>(MaxPoolBackwardKernel<T, TNum>);
        public Action<Index1D, ArrayView<T>, ArrayView<T>, PoolArgs> AvgPool =>
            _avgPool ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, PoolArgs>(AvgPoolKernel<T, TNum>);
        public Action<Index1D, ArrayView<T>, ArrayView<T>, PoolArgs> AvgPoolBackward =>
            _avgPoolBackward ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, PoolArgs>(AvgPoolBackwardKernel<T, TNum>);
    }
}
