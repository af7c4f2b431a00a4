using DiffTori.Engine;

namespace DiffTori.Envs.Vector;

/// <summary>Turns flat batches of observations into engine tensors.</summary>
public static class BatchTensor
{
    /// <summary>A [rows, columns] tensor of <paramref name="dtype"/> from row-major <paramref name="flat"/>.</summary>
    public static Tensor FromRows(ReadOnlySpan<double> flat, int rows, int columns, Device? device = null, DType dtype = DType.Float32)
    {
        if (flat.Length != rows * columns)
            throw new ArgumentException($"BatchTensor.FromRows: {flat.Length} values cannot form [{rows}, {columns}].");
        return Tensor.FromDoubles(flat, new Shape(rows, columns), dtype, device);
    }

    /// <summary>One observation as a [1, obs] tensor.</summary>
    public static Tensor FromObservation(ReadOnlySpan<double> observation, Device? device = null, DType dtype = DType.Float32) =>
        FromRows(observation, 1, observation.Length, device, dtype);
}
