namespace DiffTori.Engine;

/// <summary>Layer norm and group norm: both are the row-normalizing LayerNorm kernel plus a broadcast affine.</summary>
public static partial class Ops
{
    /// <summary>
    /// Layer norm over the last normalizedAxes axes, then y·weight + bias (weight/bias have the shape of
    /// those axes, or are null). mean and rstd come out with shape [leading axes] for the backward pass.
    /// </summary>
    public static Tensor LayerNorm(Tensor x, int normalizedAxes, Tensor? weight, Tensor? bias, double eps, out Tensor mean, out Tensor rstd)
    {
        const string name = "layer_norm";
        Require.Float(name, x);
        if (normalizedAxes < 1 || normalizedAxes > x.Rank)
            throw new TensorShapeException($"{name}: normalizedAxes must be in [1, {x.Rank}] for input {x.Shape}, got {normalizedAxes}");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"{name}: eps must be ≥ 0, got {eps}");
        int lead = x.Rank - normalizedAxes;
        Span<int> dims = stackalloc int[x.Rank];
        x.Shape.CopyTo(dims);
        var normalizedShape = new Shape(dims[lead..]);
        var leadingShape = new Shape(dims[..lead]);
        CheckAffine(name, x, weight, normalizedShape, "weight");
        CheckAffine(name, x, bias, normalizedShape, "bias");

        int n = normalizedShape.Length, rows = leadingShape.Length;
        var result = NewLike(x, x.Shape);
        mean = NewLike(x, leadingShape);
        rstd = NewLike(x, leadingShape);
        using (var dense = x.Contiguous())
            x.Device.Backend.LayerNorm(dense, rows, n, eps, result, mean, rstd);
        // weight and bias have the trailing shape, so they broadcast over the leading axes as rows.
        if (weight is not null) x.Device.Backend.Binary(BinaryOp.Mul, result, weight, result);
        if (bias is not null) x.Device.Backend.Binary(BinaryOp.Add, result, bias, result);
        NumericCheck.After(name, result);
        return result;
    }

    /// <summary>Layer norm over the last axis (or over as many trailing axes as weight/bias have), discarding mean and rstd.</summary>
    public static Tensor LayerNorm(Tensor x, Tensor? weight, Tensor? bias, double eps = 1e-5)
    {
        int axes = weight?.Rank ?? bias?.Rank ?? 1;
        var y = LayerNorm(x, Math.Max(axes, 1), weight, bias, eps, out var mean, out var rstd);
        mean.Dispose();
        rstd.Dispose();
        return y;
    }

    /// <summary>Group norm of x [N, C, *] with C divisible by groups; weight/bias [C] or null; mean/rstd [N, groups].</summary>
    public static Tensor GroupNorm(Tensor x, int groups, Tensor? weight, Tensor? bias, double eps, out Tensor mean, out Tensor rstd)
    {
        const string name = "group_norm";
        Require.Float(name, x);
        Require.MinRank(name, x, 2);
        int batch = x.Shape[0], channels = x.Shape[1];
        if (groups < 1 || channels % groups != 0)
            throw new TensorShapeException($"{name}: {channels} channels of input {x.Shape} cannot be split into {groups} groups");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"{name}: eps must be ≥ 0, got {eps}");
        var channelShape = new Shape(channels);
        CheckAffine(name, x, weight, channelShape, "weight");
        CheckAffine(name, x, bias, channelShape, "bias");

        int rows = batch * groups, n = batch == 0 || groups == 0 ? 0 : x.Length / rows;
        var result = NewLike(x, x.Shape);
        mean = NewLike(x, new Shape(batch, groups));
        rstd = NewLike(x, new Shape(batch, groups));
        using (var dense = x.Contiguous())
            x.Device.Backend.LayerNorm(dense, rows, n, eps, result, mean, rstd);
        if (weight is not null || bias is not null)
        {
            // Per-channel affine: view weight/bias [C] as [C, 1, ..., 1] so they broadcast over N and the spatial axes.
            Span<int> perChannel = stackalloc int[x.Rank - 1];
            perChannel.Fill(1);
            perChannel[0] = channels;
            if (weight is not null)
            {
                using var w = weight.Reshape(perChannel);
                x.Device.Backend.Binary(BinaryOp.Mul, result, w, result);
            }
            if (bias is not null)
            {
                using var b = bias.Reshape(perChannel);
                x.Device.Backend.Binary(BinaryOp.Add, result, b, result);
            }
        }
        NumericCheck.After(name, result);
        return result;
    }

    public static Tensor GroupNorm(Tensor x, int groups, Tensor? weight, Tensor? bias, double eps = 1e-5)
    {
        var y = GroupNorm(x, groups, weight, bias, eps, out var mean, out var rstd);
        mean.Dispose();
        rstd.Dispose();
        return y;
    }

    private static void CheckAffine(string op, Tensor x, Tensor? parameter, in Shape expected, string what)
    {
        if (parameter is null) return;
        Require.SameDType(op, x, parameter);
        Require.SameDevice(op, x, parameter);
        if (parameter.Shape != expected)
            throw new TensorShapeException($"{op}: {what} has shape {parameter.Shape}, expected {expected} for input {x.Shape}");
    }
}
