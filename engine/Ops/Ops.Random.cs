namespace DiffTori.Engine;

// PLACEHOLDER signatures: replaced by the helper that owns this file. The signatures are the contract.
public static partial class Ops
{
    public static Tensor Uniform(in Shape shape, RandomGenerator rng, double low = 0, double high = 1, DType dtype = DType.Float32, Device? device = null) => throw new NotImplementedException();
    public static Tensor Normal(in Shape shape, RandomGenerator rng, double mean = 0, double std = 1, DType dtype = DType.Float32, Device? device = null) => throw new NotImplementedException();
    /// <summary>Normal(mean, std) restricted to [low, high] (absolute bounds, as torch.nn.init.trunc_normal_).</summary>
    public static Tensor TruncatedNormal(in Shape shape, RandomGenerator rng, double mean = 0, double std = 1, double low = -2, double high = 2, DType dtype = DType.Float32, Device? device = null) => throw new NotImplementedException();
    /// <summary>Int32 uniform in [low, high).</summary>
    public static Tensor Integers(in Shape shape, RandomGenerator rng, int low, int high, Device? device = null) => throw new NotImplementedException();
    /// <summary>A random permutation of 0..n-1 (int32); identical on every device.</summary>
    public static Tensor Permutation(int n, RandomGenerator rng, Device? device = null) => throw new NotImplementedException();
    // In-place fills of an existing tensor (for parameter initialization without a new allocation).
    public static void FillUniform(Tensor target, RandomGenerator rng, double low = 0, double high = 1) => throw new NotImplementedException();
    public static void FillNormal(Tensor target, RandomGenerator rng, double mean = 0, double std = 1) => throw new NotImplementedException();
}
