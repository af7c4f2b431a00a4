namespace DiffTori.Engine;

/// <summary>
/// Random tensors. Each draw of n numbers takes counters [c, c + n) from the generator (rng.Take(n)),
/// and element i is a pure function of (seed, c + i): the same on every device, however draws are split.
/// </summary>
public static partial class Ops
{
    public static Tensor Uniform(in Shape shape, RandomGenerator rng, double low = 0, double high = 1, DType dtype = DType.Float32, Device? device = null)
    {
        var result = Tensor.Empty(shape, FloatDType("uniform", dtype), device);
        FillUniform(result, rng, low, high);
        return result;
    }

    public static Tensor Normal(in Shape shape, RandomGenerator rng, double mean = 0, double std = 1, DType dtype = DType.Float32, Device? device = null)
    {
        var result = Tensor.Empty(shape, FloatDType("normal", dtype), device);
        FillNormal(result, rng, mean, std);
        return result;
    }

    /// <summary>Normal(mean, std) restricted to [low, high] (absolute bounds, as torch.nn.init.trunc_normal_).</summary>
    public static Tensor TruncatedNormal(in Shape shape, RandomGenerator rng, double mean = 0, double std = 1, double low = -2, double high = 2, DType dtype = DType.Float32, Device? device = null)
    {
        const string op = "truncated_normal";
        FloatDType(op, dtype);
        if (!(std > 0) || !double.IsFinite(std))
            throw new ArgumentOutOfRangeException(nameof(std), $"{op}: std must be positive and finite, got {std}");
        if (!(low < high))
            throw new ArgumentOutOfRangeException(nameof(low), $"{op}: needs low < high, got [{low}, {high}]");
        var result = Tensor.Empty(shape, dtype, device);
        ulong counter = rng.Take(result.Length);
        if (result.Length > 0) result.Device.Backend.RandomTruncatedNormal(result, rng.Seed, counter, mean, std, low, high);
        NumericCheck.After(op, result);
        return result;
    }

    /// <summary>Int32 uniform in [low, high).</summary>
    public static Tensor Integers(in Shape shape, RandomGenerator rng, int low, int high, Device? device = null)
    {
        if (low >= high)
            throw new ArgumentOutOfRangeException(nameof(low), $"integers: needs low < high, got [{low}, {high}) for shape {shape}");
        var result = Tensor.Empty(shape, DType.Int32, device);
        ulong counter = rng.Take(result.Length);
        if (result.Length > 0) result.Device.Backend.RandomIntegers(result, rng.Seed, counter, low, high);
        return result;
    }

    /// <summary>A random permutation of 0..n-1 (int32); identical on every device.</summary>
    /// <remarks>Sorts 0..n-1 by one 64-bit Philox key per counter on the host, then uploads.</remarks>
    public static Tensor Permutation(int n, RandomGenerator rng, Device? device = null)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), $"permutation: n must be non-negative, got {n}");
        ulong counter = rng.Take(n);
        var keys = new ulong[n];
        var order = new int[n];
        for (int i = 0; i < n; i++)
        {
            var block = Philox.Block(rng.Seed, counter + (ulong)i);
            keys[i] = ((ulong)block.X0 << 32) | block.X1;
            order[i] = i;
        }
        // Sorting keys with their indices is deterministic; equal 64-bit keys (chance about n²/2⁶⁵) are the only
        // case where the order is up to the sort algorithm, and it is the same algorithm on every device.
        Array.Sort(keys, order);
        return Tensor.FromArray<int>(order, new Shape(n), device);
    }

    // In-place fills of an existing tensor (for parameter initialization without a new allocation).
    public static void FillUniform(Tensor target, RandomGenerator rng, double low = 0, double high = 1)
    {
        const string op = "uniform";
        CheckFillTarget(op, target);
        if (!(low <= high) || !double.IsFinite(high - low))
            throw new ArgumentOutOfRangeException(nameof(low), $"{op}: needs finite low <= high, got [{low}, {high})");
        ulong counter = rng.Take(target.Length);
        if (target.Length > 0) target.Device.Backend.RandomUniform(target, rng.Seed, counter, low, high);
        NumericCheck.After(op, target);
    }

    public static void FillNormal(Tensor target, RandomGenerator rng, double mean = 0, double std = 1)
    {
        const string op = "normal";
        CheckFillTarget(op, target);
        if (!(std >= 0) || !double.IsFinite(std))
            throw new ArgumentOutOfRangeException(nameof(std), $"{op}: std must be non-negative and finite, got {std}");
        ulong counter = rng.Take(target.Length);
        if (target.Length > 0) target.Device.Backend.RandomNormal(target, rng.Seed, counter, mean, std);
        NumericCheck.After(op, target);
    }

    private static DType FloatDType(string op, DType dtype) =>
        dtype.IsFloatingPoint() ? dtype : throw new ArgumentException($"{op}: dtype must be float32 or float64, got {dtype.Name()}");

    private static void CheckFillTarget(string op, Tensor target)
    {
        Require.Float(op, target);
        if (!target.IsContiguous)
            throw new ArgumentException($"{op}: the target must be contiguous (shape {target.Shape}, strides {target.Strides})");
    }
}
