namespace DiffTori.Engine;

// PLACEHOLDER signatures: replaced by the helper that owns this file. The signatures are the contract.
public static partial class Ops
{
    /// <summary>
    /// Layer norm over the last normalizedAxes axes, then y·weight + bias (weight/bias have the shape of
    /// those axes, or are null). mean and rstd come out with shape [leading axes] for the backward pass.
    /// </summary>
    public static Tensor LayerNorm(Tensor x, int normalizedAxes, Tensor? weight, Tensor? bias, double eps, out Tensor mean, out Tensor rstd) => throw new NotImplementedException();
    public static Tensor LayerNorm(Tensor x, Tensor? weight, Tensor? bias, double eps = 1e-5) => throw new NotImplementedException();
    /// <summary>Group norm of x [N, C, *] with C divisible by groups; weight/bias [C] or null; mean/rstd [N, groups].</summary>
    public static Tensor GroupNorm(Tensor x, int groups, Tensor? weight, Tensor? bias, double eps, out Tensor mean, out Tensor rstd) => throw new NotImplementedException();
    public static Tensor GroupNorm(Tensor x, int groups, Tensor? weight, Tensor? bias, double eps = 1e-5) => throw new NotImplementedException();
}
