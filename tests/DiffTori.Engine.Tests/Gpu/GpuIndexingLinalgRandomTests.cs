using DiffTori.Engine;

namespace DiffTori.Engine.Tests.Gpu;

public class GpuIndexingLinalgRandomTests
{
    [Fact]
    public void IndexSelectAndIndexAddWithRepeatedIndices()
    {
        const int outer = 2, n = 4, inner = 3;
        var xv = Gens.Data(new Shape(outer, n, inner), 1);
        int[] index = [3, 0, 3, 1, 3];
        using var x = Sim.FromDoubles(xv, new Shape(outer, n, inner));
        using var idx = Tensor.FromArray<int>(index, Sim.Device);
        using var y = Tensor.Empty(new Shape(outer, index.Length, inner), DType.Float64, Sim.Device);
        var backend = Sim.Device.Backend;
        backend.IndexSelect(x, outer, n, inner, idx, y);
        var ey = new double[y.Length];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < index.Length; j++)
                for (int i = 0; i < inner; i++)
                    ey[(o * index.Length + j) * inner + i] = xv[(o * n + index[j]) * inner + i];
        Close.Assert(ey, y.ToDoubleArray(), 0, "index select");

        // Add y back into a copy of x: repeated index 3 must receive all three contributions (atomics).
        using var acc = Sim.FromDoubles(xv, new Shape(outer, n, inner));
        backend.IndexAdd(y, outer, n, inner, idx, acc);
        var ea = (double[])xv.Clone();
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < index.Length; j++)
                for (int i = 0; i < inner; i++)
                    ea[(o * n + index[j]) * inner + i] += ey[(o * index.Length + j) * inner + i];
        Close.Assert(ea, acc.ToDoubleArray(), 1e-12, "index add");
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void GatherAndScatterAdd(DType dtype)
    {
        const int outer = 3, n = 5, inner = 2, k = 4;
        var xv = Gens.Data(new Shape(outer, n, inner), 2);
        if (dtype == DType.Float32) xv = Array.ConvertAll(xv, v => (double)(float)v);
        var random = new System.Random(3);
        var index = new int[outer * k * inner];
        for (int e = 0; e < index.Length; e++) index[e] = random.Next(n);
        using var x = Sim.FromDoubles(xv, new Shape(outer, n, inner), dtype);
        using var idx = Tensor.FromArray<int>(index, new Shape(outer, k, inner), Sim.Device);
        using var y = Tensor.Empty(new Shape(outer, k, inner), dtype, Sim.Device);
        var backend = Sim.Device.Backend;
        backend.Gather(x, outer, n, inner, idx, k, y);
        var ey = new double[y.Length];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < k; j++)
                for (int i = 0; i < inner; i++)
                {
                    int e = (o * k + j) * inner + i;
                    ey[e] = xv[(o * n + index[e]) * inner + i];
                }
        Close.Assert(ey, y.ToDoubleArray(), 0, "gather");

        using var scattered = Tensor.Zeros(new Shape(outer, n, inner), dtype, Sim.Device);
        backend.ScatterAdd(y, outer, n, inner, idx, k, scattered);
        var es = new double[outer * n * inner];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < k; j++)
                for (int i = 0; i < inner; i++)
                {
                    int e = (o * k + j) * inner + i;
                    es[(o * n + index[e]) * inner + i] += ey[e];
                }
        Close.Assert(es, scattered.ToDoubleArray(), dtype == DType.Float32 ? 1e-6 : 1e-12, "scatter add");
    }

    /// <summary>Symmetric positive definite matrices A = M·Mᵀ + n·I.</summary>
    private static double[] SpdBatch(int batch, int n, int seed)
    {
        var m = Gens.Data(new Shape(batch, n, n), seed);
        var a = new double[batch * n * n];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = i == j ? n : 0;
                    for (int k = 0; k < n; k++) s += m[(b * n + i) * n + k] * m[(b * n + j) * n + k];
                    a[(b * n + i) * n + j] = s;
                }
        return a;
    }

    private static double[] MatMul(double[] a, double[] b, int batch, int n, int m, int k, bool transA = false)
    {
        var c = new double[batch * n * k];
        for (int t = 0; t < batch; t++)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < k; j++)
                {
                    double s = 0;
                    for (int p = 0; p < m; p++)
                        s += (transA ? a[(t * m + p) * n + i] : a[(t * n + i) * m + p]) * b[(t * m + p) * k + j];
                    c[(t * n + i) * k + j] = s;
                }
        return c;
    }

    [Fact]
    public void CholeskyReconstructsAndReportsTheFailingPivot()
    {
        const int batch = 3, n = 5;
        var a = SpdBatch(batch, n, 4);
        a[(2 * n + 2) * n + 2] = -100;                   // batch 2 is not positive definite at pivot 3
        using var at = Sim.FromDoubles(a, new Shape(batch, n, n));
        using var l = Tensor.Empty(at.Shape, DType.Float64, Sim.Device);
        using var info = Tensor.Empty(new Shape(batch), DType.Int32, Sim.Device);
        Sim.Device.Backend.Cholesky(at, l, info);
        Assert.Equal(new[] { 0, 0, 3 }, info.ToArray<int>());
        var lv = l.ToDoubleArray();
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int k = 0; k < n; k++) s += lv[(b * n + i) * n + k] * lv[(b * n + j) * n + k];
                    Assert.Equal(a[(b * n + i) * n + j], s, 9);
                    if (j > i) Assert.Equal(0, lv[(b * n + i) * n + j]);
                }
    }

    [Theory]
    [InlineData(true, false, false)]
    [InlineData(true, true, false)]
    [InlineData(false, false, true)]
    [InlineData(false, true, true)]
    public void TriangularSolveSatisfiesTheSystem(bool lower, bool transpose, bool unit)
    {
        const int batch = 2, n = 4, k = 3;
        var a = Gens.Data(new Shape(batch, n, n), 5);
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < n; i++)
            {
                a[(b * n + i) * n + i] = 3 + i;          // well conditioned
                for (int j = 0; j < n; j++)
                    if (lower ? j > i : j < i) a[(b * n + i) * n + j] = 1e6; // garbage the solver must not read
            }
        var bv = Gens.Data(new Shape(batch, n, k), 6);
        using var at = Sim.FromDoubles(a, new Shape(batch, n, n));
        using var bt = Sim.FromDoubles(bv, new Shape(batch, n, k));
        using var x = Tensor.Empty(bt.Shape, DType.Float64, Sim.Device);
        Sim.Device.Backend.TriangularSolve(at, bt, x, lower, transpose, unit);
        var tri = (double[])a.Clone();
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    if (lower ? j > i : j < i) tri[(b * n + i) * n + j] = 0;
                    if (unit && i == j) tri[(b * n + i) * n + j] = 1;
                }
        Close.Assert(bv, MatMul(tri, x.ToDoubleArray(), batch, n, n, k, transpose), 1e-12, "op(A)·X = B");
    }

    [Fact]
    public void LuFactorAndSolve()
    {
        const int batch = 2, n = 5, k = 2;
        var a = Gens.Data(new Shape(batch, n, n), 7);
        a[0] = 0;                                         // forces a row swap at step 0
        var bv = Gens.Data(new Shape(batch, n, k), 8);
        using var at = Sim.FromDoubles(a, new Shape(batch, n, n));
        using var lu = Tensor.Empty(at.Shape, DType.Float64, Sim.Device);
        using var piv = Tensor.Empty(new Shape(batch, n), DType.Int32, Sim.Device);
        using var info = Tensor.Empty(new Shape(batch), DType.Int32, Sim.Device);
        var backend = Sim.Device.Backend;
        backend.LuFactor(at, lu, piv, info);
        Assert.Equal(new[] { 0, 0 }, info.ToArray<int>());
        Assert.NotEqual(0, piv.ToArray<int>()[0]);
        using var bt = Sim.FromDoubles(bv, new Shape(batch, n, k));
        using var x = Tensor.Empty(bt.Shape, DType.Float64, Sim.Device);
        backend.LuSolve(lu, piv, bt, x);
        Close.Assert(bv, MatMul(a, x.ToDoubleArray(), batch, n, n, k), 1e-10, "A·X = B");

        using var singular = Sim.FromDoubles(new double[] { 1, 2, 2, 4 }, new Shape(1, 2, 2));
        using var lu2 = Tensor.Empty(singular.Shape, DType.Float64, Sim.Device);
        using var piv2 = Tensor.Empty(new Shape(1, 2), DType.Int32, Sim.Device);
        using var info2 = Tensor.Empty(new Shape(1), DType.Int32, Sim.Device);
        backend.LuFactor(singular, lu2, piv2, info2);
        Assert.Equal(2, info2.ToArray<int>()[0]);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void RandomDrawsAreThePhiloxFunctionsOfTheCounter(DType dtype)
    {
        const ulong seed = 1234567, counter = 99;
        var shape = new Shape(5, 7);
        using var y = Tensor.Empty(shape, dtype, Sim.Device);
        var backend = Sim.Device.Backend;
        Func<double, double> round = dtype == DType.Float32 ? v => (float)v : v => v;
        // Uniform draws are integer arithmetic and exact; normals go through log/cos, which a real GPU's
        // libdevice may round an ulp away from .NET's (seen on an H100), so those compare to a few ulps.
        double transcendentalTol = dtype == DType.Float32 ? 1e-6 : 1e-14;

        backend.RandomUniform(y, seed, counter, -1, 3);
        var u = y.ToDoubleArray();
        for (int i = 0; i < u.Length; i++) Assert.Equal(round(-1 + 4 * Philox.Uniform01(seed, counter + (ulong)i)), u[i]);

        backend.RandomNormal(y, seed, counter, 0.5, 2);
        var g = y.ToDoubleArray();
        for (int i = 0; i < g.Length; i++) Assert.Equal(round(0.5 + 2 * Philox.Normal(seed, counter + (ulong)i)), g[i], transcendentalTol);

        backend.RandomTruncatedNormal(y, seed, counter, 0, 1, -0.5, 1.5);
        var t = y.ToDoubleArray();
        for (int i = 0; i < t.Length; i++)
        {
            Assert.InRange(t[i], -0.5, 1.5);
            Assert.Equal(round(Philox.TruncatedNormal(seed, counter + (ulong)i, -0.5, 1.5)), t[i], transcendentalTol);
        }

        using var ints = Tensor.Empty(shape, DType.Int32, Sim.Device);
        backend.RandomIntegers(ints, seed, counter, -3, 4);
        var n = ints.ToArray<int>();
        for (int i = 0; i < n.Length; i++) Assert.Equal(Philox.Integer(seed, counter + (ulong)i, -3, 4), n[i]);
    }

    [Fact]
    public void RandomAgreesWithTheCpuBackendWhereItExists()
    {
        using var yc = Tensor.Empty(new Shape(40), DType.Float32);
        Device.Cpu.Backend.RandomNormal(yc, 7, 3, 0, 1);
        using var yg = Tensor.Empty(new Shape(40), DType.Float32, Sim.Device);
        yg.Device.Backend.RandomNormal(yg, 7, 3, 0, 1);
        Assert.Equal(yc.ToArray<float>(), yg.ToArray<float>());
        Device.Cpu.Backend.RandomUniform(yc, 7, 3, -2, 2);
        yg.Device.Backend.RandomUniform(yg, 7, 3, -2, 2);
        Assert.Equal(yc.ToArray<float>(), yg.ToArray<float>());
    }
}

public class GpuAgainstCpuLinalgIndexingTests
{
    [Fact]
    public void LinalgAndIndexingAgreeWithTheCpuBackend()
    {
        const int batch = 2, n = 4, k = 3;
        var a = Gens.Data(new Shape(batch, n, n), 31);
        for (int b = 0; b < batch; b++) a[(b * n + 1) * n + 1] += 5;
        using var ac = Tensor.FromArray(a, new Shape(batch, n, n));
        using var bc = Gens.Tensor(new Shape(batch, n, k), 32);
        using var luC = Tensor.Empty(ac.Shape, DType.Float64);
        using var pivC = Tensor.Empty(new Shape(batch, n), DType.Int32);
        using var infoC = Tensor.Empty(new Shape(batch), DType.Int32);
        Device.Cpu.Backend.LuFactor(ac, luC, pivC, infoC);
        using var xC = Tensor.Empty(bc.Shape, DType.Float64);
        Device.Cpu.Backend.LuSolve(luC, pivC, bc, xC);

        using var ag = ac.To(Sim.Device);
        using var bg = bc.To(Sim.Device);
        using var luG = Tensor.Empty(ac.Shape, DType.Float64, Sim.Device);
        using var pivG = Tensor.Empty(new Shape(batch, n), DType.Int32, Sim.Device);
        using var infoG = Tensor.Empty(new Shape(batch), DType.Int32, Sim.Device);
        using var xG = Tensor.Empty(bc.Shape, DType.Float64, Sim.Device);
        var gpu = Sim.Device.Backend;
        gpu.LuFactor(ag, luG, pivG, infoG);
        gpu.LuSolve(luG, pivG, bg, xG);
        Assert.Equal(pivC.ToArray<int>(), pivG.ToArray<int>());
        Assert.Equal(infoC.ToArray<int>(), infoG.ToArray<int>());
        Close.Assert(luC.ToDoubleArray(), luG.ToDoubleArray(), 1e-12, "lu");
        Close.Assert(xC.ToDoubleArray(), xG.ToDoubleArray(), 1e-12, "lu solve");

        using var tC = Tensor.Empty(bc.Shape, DType.Float64);
        using var tG = Tensor.Empty(bc.Shape, DType.Float64, Sim.Device);
        Device.Cpu.Backend.TriangularSolve(luC, bc, tC, false, true, false);
        gpu.TriangularSolve(luG, bg, tG, false, true, false);
        Close.Assert(tC.ToDoubleArray(), tG.ToDoubleArray(), 1e-12, "triangular solve");

        using var idxC = Tensor.FromArray(new[] { 2, 0, 2 });
        using var idxG = idxC.To(Sim.Device);
        using var selC = Tensor.Empty(new Shape(batch, 3, k), DType.Float64);
        using var selG = Tensor.Empty(new Shape(batch, 3, k), DType.Float64, Sim.Device);
        Device.Cpu.Backend.IndexSelect(bc, batch, n, k, idxC, selC);
        gpu.IndexSelect(bg, batch, n, k, idxG, selG);
        Close.Assert(selC.ToDoubleArray(), selG.ToDoubleArray(), 0, "index select");
    }
}
