using System.Runtime.CompilerServices;
using System.Numerics;

namespace DiffTori.Engine;

/// <summary>
/// Convolution on the CPU by im2col + GEMM, one image per task (images split across cores). Per group g:
/// forward y_g = W_g · col(x_g); input gradient dx_g = col2im(W_gᵀ · dy_g); weight gradient
/// dW_g = Σ_n dy_g · col(x_g)ᵀ. A 1×1, stride-1, unpadded convolution uses the image itself as col.
/// </summary>
internal static class ConvKernels
{
    public static bool IsPointwise(in ConvSpec s) => s.KH == 1 && s.KW == 1 && s.SH == 1 && s.SW == 1 && s.PH == 0 && s.PW == 0;

    public static int ColLength(in ConvSpec s) => s.C / s.Groups * s.KH * s.KW * s.OH * s.OW;

    /// <summary>The im2col columns of the channels at xAt (written into col), or x itself for a pointwise convolution.</summary>
    private static T[] Columns<T>(T[] x, int xAt, int channels, in ConvSpec s, T[] col, out int offset) where T : unmanaged, INumberBase<T>
    {
        if (IsPointwise(s))
        {
            offset = xAt;
            return x;
        }
        Im2Col.Fill<T>(x, xAt, channels, s, col);
        offset = 0;
        return col;
    }

    /// <summary>y[n] = conv(x[n]) for images n in [first, last).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<T>(T[] x, int xOff, T[] w, int wOff, T[] y, int yOff, in ConvSpec s, int first, int last)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int cg = s.C / s.Groups, og = s.O / s.Groups, kk = cg * s.KH * s.KW, cols = s.OH * s.OW;
        var col = ConvScratch<T>.Col(ColLength(s));
        for (int n = first; n < last; n++)
        for (int g = 0; g < s.Groups; g++)
        {
            var b = Columns(x, xOff + (n * s.C + g * cg) * s.H * s.W, cg, s, col, out int bOff);
            var spec = new GemmSpec(1, og, cols, kk, false, false, 1, 0, 0, 0, 0);
            CpuGemm.Run(w, wOff + g * og * kk, b, bOff, y, yOff + (n * s.O + g * og) * cols, spec);
        }
    }

    /// <summary>dx[n] = convᵀ(dy[n]) for images n in [first, last) (overwrites those images of dx).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InputGrad<T>(T[] dy, int dyOff, T[] w, int wOff, T[] dx, int dxOff, in ConvSpec s, int first, int last)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int cg = s.C / s.Groups, og = s.O / s.Groups, kk = cg * s.KH * s.KW, cols = s.OH * s.OW;
        bool pointwise = IsPointwise(s);
        var col = pointwise ? [] : ConvScratch<T>.Col(ColLength(s));
        for (int n = first; n < last; n++)
        for (int g = 0; g < s.Groups; g++)
        {
            int dxAt = dxOff + (n * s.C + g * cg) * s.H * s.W;
            var spec = new GemmSpec(1, kk, cols, og, true, false, 1, 0, 0, 0, 0);
            int dyAt = dyOff + (n * s.O + g * og) * cols;
            if (pointwise)
            {
                CpuGemm.Run(w, wOff + g * og * kk, dy, dyAt, dx, dxAt, spec);
                continue;
            }
            CpuGemm.Run(w, wOff + g * og * kk, dy, dyAt, col, 0, spec);
            dx.AsSpan(dxAt, cg * s.H * s.W).Clear();
            Im2Col.AccumulateCol2Im<T>(col.AsSpan(0, kk * cols), cg, s, dx, dxAt);
        }
    }

    /// <summary>dw = Σ_n dy[n] · col(x[n])ᵀ (overwrites dw).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightGrad<T>(T[] x, int xOff, T[] dy, int dyOff, T[] dw, int dwOff, in ConvSpec s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int cg = s.C / s.Groups, og = s.O / s.Groups, kk = cg * s.KH * s.KW, cols = s.OH * s.OW;
        var col = ConvScratch<T>.Col(ColLength(s));
        if (s.N == 0) dw.AsSpan(dwOff, s.O * kk).Clear();
        for (int n = 0; n < s.N; n++)
        for (int g = 0; g < s.Groups; g++)
        {
            var b = Columns(x, xOff + (n * s.C + g * cg) * s.H * s.W, cg, s, col, out int bOff);
            var spec = new GemmSpec(1, og, kk, cols, false, true, 1, n == 0 ? 0 : 1, 0, 0, 0);
            CpuGemm.Run(dy, dyOff + (n * s.O + g * og) * cols, b, bOff, dw, dwOff + g * og * kk, spec);
        }
    }
}

/// <summary>Splits the images of one convolution call across cores; one cached instance per calling thread.</summary>
internal sealed class ConvJob<T> : IParallelWork where T : unmanaged, IFloatingPointIeee754<T>
{
    [ThreadStatic] private static ConvJob<T>? _forThisThread;
    public static ConvJob<T> ForThisThread => _forThisThread ??= new ConvJob<T>();

    public bool InputGradient;
    public T[] In = [], Weight = [], Out = [];
    public int InOffset, WeightOffset, OutOffset;
    public ConvSpec Spec;

    public void Execute(int part, int parts)
    {
        int first = (int)((long)Spec.N * part / parts), last = (int)((long)Spec.N * (part + 1) / parts);
        if (first >= last) return;
        if (InputGradient) ConvKernels.InputGrad(In, InOffset, Weight, WeightOffset, Out, OutOffset, Spec, first, last);
        else ConvKernels.Forward(In, InOffset, Weight, WeightOffset, Out, OutOffset, Spec, first, last);
    }

    /// <summary>Run over all images, on both cores when there are several images and enough work.</summary>
    public void Run()
    {
        long work = (long)Spec.N * Spec.O * (Spec.C / Spec.Groups) * Spec.KH * Spec.KW * Spec.OH * Spec.OW;
        try
        {
            if (Spec.N > 1 && work >= GemmConfig.ParallelThreshold) CpuParallel.Run(this, CpuParallel.Threads);
            else Execute(0, 1);
        }
        finally
        {
            In = Weight = Out = [];
        }
    }
}

/// <summary>Per-thread im2col workspace (separate from the GEMM's own scratch, which the GEMM call uses meanwhile).</summary>
internal static class ConvScratch<T> where T : unmanaged
{
    [ThreadStatic] private static T[]? _col;

    public static T[] Col(int length)
    {
        if (_col is null || _col.Length < length) _col = GC.AllocateUninitializedArray<T>(Math.Max(length, 64));
        return _col;
    }
}
