using System.Numerics.Tensors;

namespace DiffTori.Engine;

/// <summary>Range checks of int32 index tensors, shared by the indexing ops and the CPU kernels.</summary>
internal static class IndexChecks
{
    /// <summary>
    /// Throws if any index of a contiguous index tensor falls outside [0, extent). Runs on CPU tensors
    /// only (a vectorized min/max pass); device tensors are left to their kernels.
    /// </summary>
    public static void InRange(string op, Tensor index, int axis, int extent)
    {
        if (!index.Device.IsCpu || index.Length == 0) return;
        var values = index.AsSpan<int>();
        int min = TensorPrimitives.Min<int>(values), max = TensorPrimitives.Max<int>(values);
        if (min >= 0 && max < extent) return;
        int bad = min < 0 ? min : max;
        throw new IndexOutOfRangeException(
            $"{op}: index {bad} (at flat position {values.IndexOf(bad)}) is out of range for axis {axis} of extent {extent}");
    }

    /// <summary>The kernel-side message, for an index that slipped past the front-end.</summary>
    public static IndexOutOfRangeException Kernel(string op, int index, int extent) =>
        new($"{op}: index {index} is out of range for an axis of extent {extent}");
}
