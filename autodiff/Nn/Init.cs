using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using DiffTori.Engine;

namespace DiffTori.Autodiff.Nn;

/// <summary>The nonlinearity a layer feeds, which sets the gain of the Xavier and Kaiming schemes.</summary>
public enum Nonlinearity { Linear, Sigmoid, Tanh, Relu, LeakyRelu, Selu }

/// <summary>Whether Kaiming init preserves the variance of the forward pass (fan-in) or of the backward pass (fan-out).</summary>
public enum FanMode { FanIn, FanOut }

/// <summary>
/// Parameter initialization schemes, filling an existing tensor in place with the same formulas as
/// torch.nn.init. Random draws come from a seeded <see cref="RandomGenerator"/>: element i of a fill
/// uses counter (first + i), so a seed fixes every initialization. Values are drawn in double on the
/// host and then copied to the tensor's device (initialization is rare; exactness matters more than speed).
/// </summary>
public static class Init
{
    /// <summary>torch.nn.init.calculate_gain: the scale that keeps activations' variance near 1.</summary>
    public static double Gain(Nonlinearity nonlinearity, double negativeSlope = 0.01) => nonlinearity switch
    {
        Nonlinearity.Linear or Nonlinearity.Sigmoid => 1.0,
        Nonlinearity.Tanh => 5.0 / 3.0,
        Nonlinearity.Relu => Math.Sqrt(2.0),
        Nonlinearity.LeakyRelu => Math.Sqrt(2.0 / (1 + negativeSlope * negativeSlope)),
        Nonlinearity.Selu => 0.75,
        _ => throw new ArgumentOutOfRangeException(nameof(nonlinearity), nonlinearity, "Init.Gain: unknown nonlinearity"),
    };

    /// <summary>(fan_in, fan_out) of a weight [out, in, *kernel]: in·∏kernel and out·∏kernel.</summary>
    public static (int FanIn, int FanOut) Fans(in Shape shape)
    {
        if (shape.Rank < 2)
            throw new TensorShapeException($"Init.Fans: fan in and fan out need a weight of rank 2 or more, got shape {shape}");
        int receptive = 1;
        for (int i = 2; i < shape.Rank; i++) receptive *= shape[i];
        return (shape[1] * receptive, shape[0] * receptive);
    }

    public static void Zeros(Tensor t) => Constant(t, 0);
    public static void Ones(Tensor t) => Constant(t, 1);

    public static void Constant(Tensor t, double value)
    {
        RequireFloat("Init.Constant", t);
        t.Device.Backend.Fill(t, value);
    }

    /// <summary>Uniform in [low, high).</summary>
    public static void Uniform(Tensor t, RandomGenerator rng, double low = 0, double high = 1)
    {
        RequireFloat("Init.Uniform", t);
        var values = new double[t.Length];
        ulong first = rng.Take(values.Length);
        for (int i = 0; i < values.Length; i++)
            values[i] = low + (high - low) * Philox.Uniform01(rng.Seed, first + (ulong)i);
        Store(t, values);
    }

    public static void Normal(Tensor t, RandomGenerator rng, double mean = 0, double std = 1)
    {
        RequireFloat("Init.Normal", t);
        Store(t, Gaussian(t.Length, rng, mean, std));
    }

    /// <summary>Glorot and Bengio (2010): uniform in ±gain·√(6 / (fan_in + fan_out)).</summary>
    public static void XavierUniform(Tensor t, RandomGenerator rng, double gain = 1)
    {
        var (fanIn, fanOut) = Fans(t.Shape);
        double bound = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
        Uniform(t, rng, -bound, bound);
    }

    /// <summary>Glorot and Bengio (2010): normal with std gain·√(2 / (fan_in + fan_out)).</summary>
    public static void XavierNormal(Tensor t, RandomGenerator rng, double gain = 1)
    {
        var (fanIn, fanOut) = Fans(t.Shape);
        Normal(t, rng, 0, gain * Math.Sqrt(2.0 / (fanIn + fanOut)));
    }

    /// <summary>He et al. (2015): std = gain / √fan, uniform in ±√3·std. a is the leaky-ReLU slope (torch's argument).</summary>
    public static void KaimingUniform(Tensor t, RandomGenerator rng, double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu)
    {
        double bound = Math.Sqrt(3.0) * KaimingStd(t.Shape, a, mode, nonlinearity);
        Uniform(t, rng, -bound, bound);
    }

    /// <summary>He et al. (2015): normal with std = gain / √fan.</summary>
    public static void KaimingNormal(Tensor t, RandomGenerator rng, double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu) =>
        Normal(t, rng, 0, KaimingStd(t.Shape, a, mode, nonlinearity));

    private static double KaimingStd(in Shape shape, double a, FanMode mode, Nonlinearity nonlinearity)
    {
        var (fanIn, fanOut) = Fans(shape);
        int fan = mode == FanMode.FanIn ? fanIn : fanOut;
        if (fan == 0) throw new TensorShapeException($"Init.Kaiming: a weight of shape {shape} has zero fan");
        return Gain(nonlinearity, a) / Math.Sqrt(fan);
    }

    /// <summary>
    /// Saxe et al. (2014), as torch.nn.init.orthogonal_: view the weight as rows = shape[0] by
    /// cols = the rest, take the Q factor of a Gaussian matrix (signs fixed by R's diagonal so Q is
    /// uniformly distributed), scale by gain. Rows are orthonormal when rows ≤ cols, columns otherwise.
    /// </summary>
    public static void Orthogonal(Tensor t, RandomGenerator rng, double gain = 1)
    {
        RequireFloat("Init.Orthogonal", t);
        if (t.Rank < 2)
            throw new TensorShapeException($"Init.Orthogonal: needs a weight of rank 2 or more, got shape {t.Shape}");
        int rows = t.Shape[0], cols = t.Length / Math.Max(rows, 1);
        if (t.Length == 0) return;
        var flat = Gaussian(rows * cols, rng, 0, 1);
        bool tall = rows >= cols;
        // Work on an m×n matrix with m ≥ n (column-major as an array of columns for Gram-Schmidt).
        int m = tall ? rows : cols, n = tall ? cols : rows;
        var columns = new double[n][];
        for (int j = 0; j < n; j++)
        {
            columns[j] = new double[m];
            for (int i = 0; i < m; i++) columns[j][i] = tall ? flat[i * cols + j] : flat[j * cols + i];
        }
        OrthonormalizeColumns(columns);
        var values = new double[rows * cols];
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++)
            {
                double q = gain * columns[j][i];
                if (tall) values[i * cols + j] = q;
                else values[j * cols + i] = q;
            }
        Store(t, values);
    }

    /// <summary>
    /// The Q factor of the QR decomposition, in place, by modified Gram-Schmidt applied twice
    /// ("twice is enough": the second pass removes the rounding the first leaves). Dividing by the
    /// norm keeps R's diagonal positive, which is the sign convention torch applies.
    /// </summary>
    private static void OrthonormalizeColumns(double[][] columns)
    {
        for (int j = 0; j < columns.Length; j++)
        {
            var v = columns[j];
            for (int pass = 0; pass < 2; pass++)
                for (int k = 0; k < j; k++)
                {
                    var q = columns[k];
                    double dot = TensorPrimitives.Dot<double>(q, v);
                    TensorPrimitives.MultiplyAdd(q, -dot, v, v);
                }
            double norm = TensorPrimitives.Norm<double>(v);
            if (norm < 1e-12)
                throw new InvalidOperationException("Init.Orthogonal: the Gaussian draw was rank-deficient (column norm below 1e-12)");
            for (int i = 0; i < v.Length; i++) v[i] /= norm;
        }
    }

    private static double[] Gaussian(int count, RandomGenerator rng, double mean, double std)
    {
        var values = new double[count];
        ulong first = rng.Take(count);
        for (int i = 0; i < count; i++) values[i] = mean + std * Philox.Normal(rng.Seed, first + (ulong)i);
        return values;
    }

    private static void Store(Tensor t, double[] values)
    {
        using var source = Tensor.FromDoubles(values, t.Shape, t.DType, t.Device);
        t.CopyFrom(source);
    }

    private static void RequireFloat(string op, Tensor t)
    {
        if (!t.DType.IsFloatingPoint())
            throw new ArgumentException($"{op}: parameters must be float32 or float64, got {t.DType.Name()} {t.Shape}");
    }
}
