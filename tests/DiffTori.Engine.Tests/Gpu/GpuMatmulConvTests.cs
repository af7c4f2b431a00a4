using DiffTori.Engine;

namespace DiffTori.Engine.Tests.Gpu;

public class GpuMatmulConvTests
{
    /// <summary>C = alpha·op(A)·op(B) + beta·C by the definition.</summary>
    private static double[] ReferenceGemm(double[] a, double[] b, double[] c, in GemmSpec s)
    {
        var result = (double[])c.Clone();
        for (int t = 0; t < s.Batch; t++)
            for (int i = 0; i < s.M; i++)
                for (int j = 0; j < s.N; j++)
                {
                    double sum = 0;
                    for (int k = 0; k < s.K; k++)
                    {
                        double av = s.TransA ? a[t * s.BatchStrideA + k * s.M + i] : a[t * s.BatchStrideA + i * s.K + k];
                        double bv = s.TransB ? b[t * s.BatchStrideB + j * s.K + k] : b[t * s.BatchStrideB + k * s.N + j];
                        sum += av * bv;
                    }
                    int at = t * s.BatchStrideC + i * s.N + j;
                    result[at] = s.Alpha * sum + (s.Beta == 0 ? 0 : s.Beta * c[at]);
                }
        return result;
    }

    [Theory]
    [InlineData(false, false, 1.0, 0.0, DType.Float64)]
    [InlineData(true, false, 0.5, 1.0, DType.Float64)]
    [InlineData(false, true, 1.0, -2.0, DType.Float32)]
    [InlineData(true, true, -1.5, 0.0, DType.Float32)]
    public void GemmBatchedWithTransposesAndScaling(bool transA, bool transB, double alpha, double beta, DType dtype)
    {
        const int batch = 2, m = 17, n = 18, k = 20;      // not multiples of the 16-wide tile
        var spec = new GemmSpec(batch, m, n, k, transA, transB, alpha, beta, m * k, 0, m * n); // B broadcast (stride 0)
        var av = Gens.Data(new Shape(batch * m * k), 1);
        var bv = Gens.Data(new Shape(k * n), 2);
        var cv = Gens.Data(new Shape(batch * m * n), 3);
        if (beta == 0) Array.Fill(cv, double.NaN);        // beta = 0 must ignore C's old contents
        GemmMatchesReference(av, bv, cv, spec, dtype, "gemm");
    }

    [Theory]
    [InlineData(false, false, DType.Float32)]
    [InlineData(true, true, DType.Float64)]
    [InlineData(true, false, DType.Float32)]
    public void LargerGemmUsesTheRegisterBlockedKernel(bool transA, bool transB, DType dtype)
    {
        const int m = 70, n = 67, k = 19;                   // > 32 on both sides, not multiples of 64
        var spec = new GemmSpec(1, m, n, k, transA, transB, 1.25, 0.5, 0, 0, 0);
        var av = Gens.Data(new Shape(m * k), 21);
        var bv = Gens.Data(new Shape(k * n), 22);
        var cv = Gens.Data(new Shape(m * n), 23);
        GemmMatchesReference(av, bv, cv, spec, dtype, "blocked gemm");
    }

    /// <summary>Run the device's GEMM on the data (rounded to float32 first when that is the dtype) and compare with the loop reference.</summary>
    private static void GemmMatchesReference(double[] av, double[] bv, double[] cv, GemmSpec spec, DType dtype, string what)
    {
        if (dtype == DType.Float32)
        {
            av = Array.ConvertAll(av, v => (double)(float)v);
            bv = Array.ConvertAll(bv, v => (double)(float)v);
            cv = Array.ConvertAll(cv, v => (double)(float)v);
        }
        using var a = Sim.FromDoubles(av, new Shape(av.Length), dtype);
        using var b = Sim.FromDoubles(bv, new Shape(bv.Length), dtype);
        using var c = Sim.FromDoubles(cv, new Shape(cv.Length), dtype);
        c.Device.Backend.Gemm(a, b, c, spec);
        Close.Assert(ReferenceGemm(av, bv, cv, spec), c.ToDoubleArray(), dtype == DType.Float32 ? 1e-5 : 1e-12, what);
    }

    [Fact]
    public void GemmAgreesWithTheCpuBackendWhereItExists()
    {
        var spec = new GemmSpec(2, 9, 5, 20, false, true, 1, 0, 180, 100, 45);
        using var ac = Gens.Tensor(new Shape(2, 9, 20), 4, DType.Float32);
        using var bc = Gens.Tensor(new Shape(2, 5, 20), 5, DType.Float32);
        using var cc = Tensor.Zeros(new Shape(2, 9, 5), DType.Float32);
        Device.Cpu.Backend.Gemm(ac, bc, cc, spec);
        using var ag = ac.To(Sim.Device);
        using var bg = bc.To(Sim.Device);
        using var cg = Tensor.Zeros(cc.Shape, DType.Float32, Sim.Device);
        cg.Device.Backend.Gemm(ag, bg, cg, spec);
        Close.Assert(cc.ToDoubleArray(), cg.ToDoubleArray(), 1e-5, "gemm vs cpu");
    }

    private static double[] ReferenceConv(double[] x, double[] w, in ConvSpec s)
    {
        int cg = s.C / s.Groups, og = s.O / s.Groups;
        var y = new double[s.N * s.O * s.OH * s.OW];
        for (int n = 0; n < s.N; n++)
            for (int o = 0; o < s.O; o++)
                for (int oh = 0; oh < s.OH; oh++)
                    for (int ow = 0; ow < s.OW; ow++)
                    {
                        double sum = 0;
                        int g = o / og;
                        for (int c = 0; c < cg; c++)
                            for (int kh = 0; kh < s.KH; kh++)
                                for (int kw = 0; kw < s.KW; kw++)
                                {
                                    int h = oh * s.SH - s.PH + kh * s.DH, ww = ow * s.SW - s.PW + kw * s.DW;
                                    if (h < 0 || h >= s.H || ww < 0 || ww >= s.W) continue;
                                    sum += x[((n * s.C + g * cg + c) * s.H + h) * s.W + ww] * w[((o * cg + c) * s.KH + kh) * s.KW + kw];
                                }
                        y[((n * s.O + o) * s.OH + oh) * s.OW + ow] = sum;
                    }
        return y;
    }

    public static TheoryData<ConvSpec> ConvCases() => new()
    {
        new ConvSpec(2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1),
        new ConvSpec(1, 4, 9, 8, 6, 3, 2, 2, 1, 0, 1, 2, 1, 2),   // strided, dilated, grouped
        new ConvSpec(3, 2, 1, 10, 2, 1, 3, 1, 2, 0, 1, 1, 1, 1),  // 1-D (H = 1)
    };

    [Theory]
    [MemberData(nameof(ConvCases))]
    public void ConvolutionAndItsGradientsMatchTheDefinition(ConvSpec s)
    {
        var xShape = new Shape(s.N, s.C, s.H, s.W);
        var wShape = new Shape(s.O, s.C / s.Groups, s.KH, s.KW);
        var yShape = new Shape(s.N, s.O, s.OH, s.OW);
        var xv = Gens.Data(xShape, 7);
        var wv = Gens.Data(wShape, 8);
        var dyv = Gens.Data(yShape, 9);
        using var x = Sim.FromDoubles(xv, xShape);
        using var w = Sim.FromDoubles(wv, wShape);
        using var dy = Sim.FromDoubles(dyv, yShape);
        using var y = Tensor.Empty(yShape, DType.Float64, Sim.Device);
        var backend = Sim.Device.Backend;
        backend.Conv2d(x, w, y, s);
        Close.Assert(ReferenceConv(xv, wv, s), y.ToDoubleArray(), 1e-12, "conv");

        // The gradients are the adjoints of the (linear) convolution: <dy, conv(e_i)> per basis input.
        using var dx = Tensor.Empty(xShape, DType.Float64, Sim.Device);
        backend.Conv2dInputGrad(dy, w, dx, s);
        var expectedDx = new double[xv.Length];
        for (int i = 0; i < xv.Length; i++)
        {
            var e = new double[xv.Length];
            e[i] = 1;
            expectedDx[i] = Dot(ReferenceConv(e, wv, s), dyv);
        }
        Close.Assert(expectedDx, dx.ToDoubleArray(), 1e-12, "conv input grad");

        using var dw = Tensor.Empty(wShape, DType.Float64, Sim.Device);
        backend.Conv2dWeightGrad(x, dy, dw, s);
        var expectedDw = new double[wv.Length];
        for (int i = 0; i < wv.Length; i++)
        {
            var e = new double[wv.Length];
            e[i] = 1;
            expectedDw[i] = Dot(ReferenceConv(xv, e, s), dyv);
        }
        Close.Assert(expectedDw, dw.ToDoubleArray(), 1e-12, "conv weight grad");
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    [Fact]
    public void PoolingForwardAndBackward()
    {
        var s = new PoolSpec(2, 2, 5, 6, 3, 2, 2, 2, 1, 1);
        var xShape = new Shape(s.N, s.C, s.H, s.W);
        var yShape = new Shape(s.N, s.C, s.OH, s.OW);
        var xv = Gens.Data(xShape, 10);
        var dyv = Gens.Data(yShape, 11);
        using var x = Sim.FromDoubles(xv, xShape);
        using var dy = Sim.FromDoubles(dyv, yShape);
        using var y = Tensor.Empty(yShape, DType.Float64, Sim.Device);
        using var arg = Tensor.Empty(yShape, DType.Int32, Sim.Device);
        using var avg = Tensor.Empty(yShape, DType.Float64, Sim.Device);
        using var dxMax = Tensor.Empty(xShape, DType.Float64, Sim.Device);
        using var dxAvg = Tensor.Empty(xShape, DType.Float64, Sim.Device);
        var backend = Sim.Device.Backend;
        backend.MaxPool2d(x, y, arg, s);
        backend.AvgPool2d(x, avg, s);
        backend.MaxPool2dBackward(dy, arg, dxMax, s);
        backend.AvgPool2dBackward(dy, dxAvg, s);

        var ey = new double[yShape.Length];
        var ea = new double[yShape.Length];
        var earg = new double[yShape.Length];
        var edxMax = new double[xShape.Length];
        var edxAvg = new double[xShape.Length];
        int plane = s.H * s.W;
        for (int p = 0; p < s.N * s.C; p++)
            for (int oh = 0; oh < s.OH; oh++)
                for (int ow = 0; ow < s.OW; ow++)
                {
                    int o = (p * s.OH + oh) * s.OW + ow;
                    double best = double.NegativeInfinity, sum = 0;
                    int bestAt = -1;
                    for (int kh = 0; kh < s.KH; kh++)
                        for (int kw = 0; kw < s.KW; kw++)
                        {
                            int h = oh * s.SH - s.PH + kh, w = ow * s.SW - s.PW + kw;
                            if (h < 0 || h >= s.H || w < 0 || w >= s.W) continue;
                            double v = xv[p * plane + h * s.W + w];
                            sum += v;
                            if (v > best) { best = v; bestAt = h * s.W + w; }
                            edxAvg[p * plane + h * s.W + w] += dyv[o] / (s.KH * s.KW);
                        }
                    ey[o] = best;
                    earg[o] = bestAt;
                    ea[o] = sum / (s.KH * s.KW);
                    edxMax[p * plane + bestAt] += dyv[o];
                }
        Close.Assert(ey, y.ToDoubleArray(), 0, "max pool");
        Close.Assert(earg, arg.ToDoubleArray(), 0, "argmax");
        Close.Assert(ea, avg.ToDoubleArray(), 1e-12, "avg pool");
        Close.Assert(edxMax, dxMax.ToDoubleArray(), 1e-12, "max pool backward");
        Close.Assert(edxAvg, dxAvg.ToDoubleArray(), 1e-12, "avg pool backward");
    }
}
