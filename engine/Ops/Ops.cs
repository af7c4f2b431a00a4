namespace DiffTori.Engine;

/// <summary>
/// Every tensor operation, as static functions. Each checks its arguments (errors name the op and the
/// shapes), allocates its result from the pool, calls the device's kernel and, when
/// <see cref="NumericCheck"/> is on, checks the result. Overloads that take a <c>result</c> write
/// into a caller-owned tensor and allocate nothing, for hot loops.
/// One partial file per family of ops.
/// </summary>
public static partial class Ops
{
    /// <summary>Sizes of [outer, n, inner] when a contiguous tensor is split around one axis.</summary>
    public static (int Outer, int N, int Inner) SplitAround(in Shape shape, int axis)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= shape[i];
        for (int i = axis + 1; i < shape.Rank; i++) inner *= shape[i];
        return (outer, shape[axis], inner);
    }

    /// <summary>A new uninitialized tensor on x's device with x's dtype.</summary>
    internal static Tensor NewLike(Tensor x, in Shape shape) => Tensor.Empty(shape, x.DType, x.Device);
}
