using DiffTori.Autodiff.Nn;
using DiffTori.Engine;
using static DiffTori.Autodiff.Tests.Nn.NnTestSupport;

namespace DiffTori.Autodiff.Tests.Nn;

/// <summary>Each layer's forward against a naive loop, and the parametrized layers' gradients against finite differences.</summary>
public sealed class LayerTests
{
    private const DType F64 = DType.Float64;

    [Fact]
    public void Linear_forward_matches_the_naive_sum_over_leading_axes()
    {
        var layer = new Linear(4, 3, new RandomGenerator(1), dtype: F64);
        var x = new Var(Random(new Shape(2, 5, 4), 2));
        var y = layer.Forward(x);
        Assert.Equal(new Shape(2, 5, 3), y.Shape);
        var xv = x.Value.ToDoubleArray();
        var w = layer.Weight.Value.ToDoubleArray();
        var b = layer.Bias!.Value.ToDoubleArray();
        var expected = new double[2 * 5 * 3];
        for (int r = 0; r < 10; r++)
            for (int j = 0; j < 3; j++)
            {
                double s = b[j];
                for (int k = 0; k < 4; k++) s += xv[r * 4 + k] * w[j * 4 + k];
                expected[r * 3 + j] = s;
            }
        AssertClose(expected, y.Value.ToDoubleArray(), 1e-14);
        Assert.Contains("must end in 4", Assert.Throws<TensorShapeException>(() => layer.Forward(new Var(Random(new Shape(2, 3), 1)))).Message);
    }

    [Fact]
    public void Linear_default_init_is_torchs_uniform_bound()
    {
        var layer = new Linear(64, 32, new RandomGenerator(3));
        double bound = 1 / Math.Sqrt(64);
        Assert.All(layer.Weight.Value.ToDoubleArray(), v => Assert.InRange(Math.Abs(v), 0, bound));
        Assert.All(layer.Bias!.Value.ToDoubleArray(), v => Assert.InRange(Math.Abs(v), 0, bound));
        Assert.True(layer.Weight.Value.ToDoubleArray().Max(Math.Abs) > 0.95 * bound);
        Assert.Null(new Linear(3, 2, new RandomGenerator(1), bias: false).Bias);
    }

    [Fact]
    public void Linear_gradients_match_finite_differences()
    {
        var layer = new Linear(4, 3, new RandomGenerator(4), dtype: F64);
        var x = new Var(Random(new Shape(5, 4), 5), requiresGrad: true, name: "x");
        CheckGradients(() => layer.Forward(x), [x, layer.Weight, layer.Bias!], seed: 6);
    }

    private static double[] NaiveConv1d(double[] x, double[] w, double[]? b, int n, int c, int l, int o, int k, int stride, int pad, int dil, int groups, out int lout)
    {
        int lo = (l + 2 * pad - dil * (k - 1) - 1) / stride + 1;
        lout = lo;
        int cg = c / groups, og = o / groups;
        var y = new double[n * o * lo];
        for (int ni = 0; ni < n; ni++)
            for (int oi = 0; oi < o; oi++)
                for (int j = 0; j < lo; j++)
                {
                    double s = b?[oi] ?? 0;
                    int g = oi / og;
                    for (int ci = 0; ci < cg; ci++)
                        for (int ki = 0; ki < k; ki++)
                        {
                            int pos = j * stride - pad + ki * dil;
                            if (pos < 0 || pos >= l) continue;
                            s += x[(ni * c + g * cg + ci) * l + pos] * w[(oi * cg + ci) * k + ki];
                        }
                    y[(ni * o + oi) * lo + j] = s;
                }
        return y;
    }

    [Fact]
    public void Conv1d_forward_matches_the_naive_correlation()
    {
        var conv = new Conv1d(4, 6, 3, new RandomGenerator(7), stride: 2, padding: 1, dilation: 2, groups: 2, dtype: F64);
        Assert.Equal(new Shape(6, 2, 3), conv.Weight.Shape);
        var x = new Var(Random(new Shape(2, 4, 9), 8));
        var y = conv.Forward(x);
        var expected = NaiveConv1d(x.Value.ToDoubleArray(), conv.Weight.Value.ToDoubleArray(), conv.Bias!.Value.ToDoubleArray(), 2, 4, 9, 6, 3, 2, 1, 2, 2, out int lout);
        Assert.Equal(new Shape(2, 6, lout), y.Shape);
        AssertClose(expected, y.Value.ToDoubleArray(), 1e-13);
    }

    [Fact]
    public void Conv1d_gradients_match_finite_differences()
    {
        var conv = new Conv1d(2, 3, 3, new RandomGenerator(9), stride: 2, padding: 1, dtype: F64);
        var x = new Var(Random(new Shape(2, 2, 7), 10), requiresGrad: true, name: "x");
        CheckGradients(() => conv.Forward(x), [x, conv.Weight, conv.Bias!], seed: 11);
    }

    [Fact]
    public void Conv2d_forward_matches_the_naive_correlation_and_gradients_match_finite_differences()
    {
        var conv = new Conv2d(2, 3, (3, 2), new RandomGenerator(12), stride: (2, 1), padding: (1, 1), dtype: F64);
        var x = new Var(Random(new Shape(2, 2, 5, 4), 13), requiresGrad: true, name: "x");
        var y = conv.Forward(x);
        int oh = (5 + 2 - 3) / 2 + 1, ow = (4 + 2 - 2) / 1 + 1;
        Assert.Equal(new Shape(2, 3, oh, ow), y.Shape);
        var xv = x.Value.ToDoubleArray();
        var w = conv.Weight.Value.ToDoubleArray();
        var b = conv.Bias!.Value.ToDoubleArray();
        var expected = new double[2 * 3 * oh * ow];
        for (int n = 0; n < 2; n++)
            for (int o = 0; o < 3; o++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        double s = b[o];
                        for (int c = 0; c < 2; c++)
                            for (int ki = 0; ki < 3; ki++)
                                for (int kj = 0; kj < 2; kj++)
                                {
                                    int r = i * 2 - 1 + ki, q = j - 1 + kj;
                                    if (r < 0 || r >= 5 || q < 0 || q >= 4) continue;
                                    s += xv[((n * 2 + c) * 5 + r) * 4 + q] * w[((o * 2 + c) * 3 + ki) * 2 + kj];
                                }
                        expected[((n * 3 + o) * oh + i) * ow + j] = s;
                    }
        AssertClose(expected, y.Value.ToDoubleArray(), 1e-13);
        CheckGradients(() => conv.Forward(x), [x, conv.Weight, conv.Bias!], seed: 14);
    }

    [Fact]
    public void ConvTranspose1d_forward_scatters_each_input_through_the_kernel()
    {
        const int n = 2, cin = 4, cout = 6, l = 5, k = 3, stride = 2, pad = 1, outPad = 1, groups = 2;
        var conv = new ConvTranspose1d(cin, cout, k, new RandomGenerator(15), stride, pad, outPad, groups, dtype: F64);
        Assert.Equal(new Shape(cin, cout / groups, k), conv.Weight.Shape);
        var x = new Var(Random(new Shape(n, cin, l), 16), requiresGrad: true, name: "x");
        var y = conv.Forward(x);
        int lout = (l - 1) * stride - 2 * pad + (k - 1) + outPad + 1;
        Assert.Equal(new Shape(n, cout, lout), y.Shape);
        var xv = x.Value.ToDoubleArray();
        var w = conv.Weight.Value.ToDoubleArray();
        var b = conv.Bias!.Value.ToDoubleArray();
        var expected = new double[n * cout * lout];
        for (int ni = 0; ni < n; ni++)
            for (int o = 0; o < cout; o++)
                for (int j = 0; j < lout; j++) expected[(ni * cout + o) * lout + j] = b[o];
        int cg = cin / groups, og = cout / groups;
        for (int ni = 0; ni < n; ni++)
            for (int c = 0; c < cin; c++)
                for (int i = 0; i < l; i++)
                    for (int oo = 0; oo < og; oo++)
                        for (int ki = 0; ki < k; ki++)
                        {
                            int j = i * stride - pad + ki;
                            if (j < 0 || j >= lout) continue;
                            int o = (c / cg) * og + oo;
                            expected[(ni * cout + o) * lout + j] += xv[(ni * cin + c) * l + i] * w[(c * og + oo) * k + ki];
                        }
        AssertClose(expected, y.Value.ToDoubleArray(), 1e-13);
        CheckGradients(() => conv.Forward(x), [x, conv.Weight, conv.Bias!], seed: 17);
    }

    [Fact]
    public void LayerNorm_forward_matches_the_naive_normalization_over_trailing_axes()
    {
        var ln = new LayerNorm([2, 3], eps: 1e-5, dtype: F64);
        Randomize(ln.Weight!, 18);
        Randomize(ln.Bias!, 19);
        var x = new Var(Random(new Shape(4, 2, 3), 20, scale: 3), requiresGrad: true, name: "x");
        var y = ln.Forward(x).Value.ToDoubleArray();
        var xv = x.Value.ToDoubleArray();
        var w = ln.Weight!.Value.ToDoubleArray();
        var b = ln.Bias!.Value.ToDoubleArray();
        var expected = new double[xv.Length];
        for (int r = 0; r < 4; r++)
        {
            var row = xv.AsSpan(r * 6, 6).ToArray();
            double mean = row.Average(), variance = row.Select(v => (v - mean) * (v - mean)).Average();
            for (int i = 0; i < 6; i++) expected[r * 6 + i] = (row[i] - mean) / Math.Sqrt(variance + 1e-5) * w[i] + b[i];
        }
        AssertClose(expected, y, 1e-12);
        CheckGradients(() => ln.Forward(x), [x, ln.Weight!, ln.Bias!], seed: 21);
        Assert.Throws<TensorShapeException>(() => ln.Forward(new Var(Random(new Shape(4, 3, 2), 1))));
    }

    [Fact]
    public void LayerNorm_defaults_to_ones_and_zeros()
    {
        var ln = new LayerNorm(5);
        Assert.All(ln.Weight!.Value.ToFloatArray(), v => Assert.Equal(1f, v));
        Assert.All(ln.Bias!.Value.ToFloatArray(), v => Assert.Equal(0f, v));
        Assert.Empty(new LayerNorm(5, elementwiseAffine: false).NamedParameters());
    }

    [Fact]
    public void GroupNorm_forward_matches_the_naive_group_statistics()
    {
        var gn = new GroupNorm(2, 4, dtype: F64);
        Randomize(gn.Weight!, 22);
        Randomize(gn.Bias!, 23);
        var x = new Var(Random(new Shape(3, 4, 5), 24, scale: 2));
        var y = gn.Forward(x).Value.ToDoubleArray();
        var xv = x.Value.ToDoubleArray();
        var w = gn.Weight!.Value.ToDoubleArray();
        var b = gn.Bias!.Value.ToDoubleArray();
        var expected = new double[xv.Length];
        for (int n = 0; n < 3; n++)
            for (int g = 0; g < 2; g++)
            {
                int start = (n * 4 + g * 2) * 5;   // two channels of five positions each
                var group = xv.AsSpan(start, 10).ToArray();
                double mean = group.Average(), variance = group.Select(v => (v - mean) * (v - mean)).Average();
                for (int i = 0; i < 10; i++)
                {
                    int channel = g * 2 + i / 5;
                    expected[start + i] = (group[i] - mean) / Math.Sqrt(variance + 1e-5) * w[channel] + b[channel];
                }
            }
        AssertClose(expected, y, 1e-12);
        Assert.Throws<ArgumentException>(() => new GroupNorm(3, 4));
    }

    public static TheoryData<string, Func<Layer>, Func<double, double>> Activations() => new()
    {
        { "relu", () => new Relu(), v => Math.Max(v, 0) },
        { "elu", () => new Elu(0.7), v => v > 0 ? v : 0.7 * (Math.Exp(v) - 1) },
        { "mish", () => new Mish(), v => v * Math.Tanh(Math.Log(1 + Math.Exp(v))) },
        { "silu", () => new Silu(), v => v / (1 + Math.Exp(-v)) },
        { "tanh", () => new Tanh(), Math.Tanh },
        { "sigmoid", () => new Sigmoid(), v => 1 / (1 + Math.Exp(-v)) },
        { "softplus", () => new Softplus(2, 5), v => 2 * v > 5 ? v : Math.Log(1 + Math.Exp(2 * v)) / 2 },
    };

    [Theory]
    [MemberData(nameof(Activations))]
    public void Activation_layers_compute_their_formula(string name, Func<Layer> make, Func<double, double> reference)
    {
        double[] xs = [-4, -1.5, -0.3, 0, 0.2, 1, 2.4, 2.6, 6];
        var y = make().Forward(new Var(Tensor.FromDoubles(xs, new Shape(3, 3), F64))).Value.ToDoubleArray();
        AssertClose(xs.Select(reference).ToArray(), y, 1e-12, name);
    }

    [Fact]
    public void Dropout_zeroes_a_fraction_p_in_training_and_is_the_identity_in_eval()
    {
        var drop = new Dropout(0.3, new RandomGenerator(25));
        var x = new Var(Tensor.Full(new Shape(100, 100), 2.0, F64));
        var y = drop.Forward(x).Value.ToDoubleArray();
        int zeros = y.Count(v => v == 0);
        Assert.All(y, v => Assert.True(v == 0 || Math.Abs(v - 2 / 0.7) < 1e-12));
        Assert.InRange(zeros / 10000.0, 0.28, 0.32);
        drop.Eval();
        Assert.False(drop.Training);
        Assert.Equal(x.Value.ToDoubleArray(), drop.Forward(x).Value.ToDoubleArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1.0, new RandomGenerator(1)));
    }

    [Fact]
    public void Sinusoidal_embedding_matches_the_formula()
    {
        var emb = new SinusoidalPosEmb(8, F64);
        double[] t = [0, 1, 7.5];
        var y = emb.Forward(new Var(Tensor.FromDoubles(t, new Shape(3), F64)));
        Assert.Equal(new Shape(3, 8), y.Shape);
        var expected = new double[24];
        for (int b = 0; b < 3; b++)
            for (int j = 0; j < 4; j++)
            {
                double f = Math.Exp(-j * Math.Log(10000) / 3);
                expected[b * 8 + j] = Math.Sin(t[b] * f);
                expected[b * 8 + 4 + j] = Math.Cos(t[b] * f);
            }
        AssertClose(expected, y.Value.ToDoubleArray(), 1e-13);
        Assert.Empty(emb.NamedParameters());
    }

    [Fact]
    public void Networks_are_twice_differentiable_with_respect_to_their_input()
    {
        // DiffTORI backpropagates through solver steps that contain gradients of these networks.
        var mlp = Mlp.Build([4, 6, 3], () => new Mish(), new RandomGenerator(26), layerNorm: true, dtype: F64);
        var x = Random(new Shape(2, 4), 27);
        GradCheck.Assert(xs => mlp.Forward(xs[0]), [x], secondOrder: true);

        var conv = new Sequential(new Conv1d(2, 3, 3, new RandomGenerator(28), padding: 1, dtype: F64), new Elu(), new GroupNorm(1, 3, dtype: F64));
        GradCheck.Assert(xs => conv.Forward(xs[0]), [Random(new Shape(2, 2, 5), 29)], secondOrder: true);
    }
}
