using System.Globalization;
using System.Text;

namespace DiffTori.Engine;

public sealed partial class Tensor
{
    /// <summary>Copy the elements (row-major) into a new managed array of the tensor's own element type.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        if (DTypeExtensions.Of<T>() != DType)
            throw new InvalidCastException($"ToArray<{typeof(T).Name}> on a {DType.Name()} tensor of shape {Shape}; use ToDoubleArray() or Cast()");
        using var dense = Contiguous();
        var result = new T[Length];
        dense.Device.Backend.Download(dense, result.AsSpan());
        return result;
    }

    /// <summary>The elements, row-major, converted to double whatever the dtype.</summary>
    public double[] ToDoubleArray()
    {
        switch (DType)
        {
            case DType.Float64: return ToArray<double>();
            case DType.Float32: return Array.ConvertAll(ToArray<float>(), x => (double)x);
            default: return Array.ConvertAll(ToArray<int>(), x => (double)x);
        }
    }

    public float[] ToFloatArray() => DType == DType.Float32 ? ToArray<float>() : Array.ConvertAll(ToDoubleArray(), x => (float)x);

    /// <summary>The value of a one-element tensor.</summary>
    public double Item()
    {
        if (Length != 1) throw new InvalidOperationException($"Item() needs a tensor with one element, got shape {Shape}");
        return ToDoubleArray()[0];
    }

    /// <summary>Read one element (slow: for tests and printing, not for loops).</summary>
    [System.Runtime.CompilerServices.IndexerName("Element")]
    public double this[params int[] index]
    {
        get
        {
            using var element = ElementView(index);
            return element.Item();
        }
        set
        {
            using var element = ElementView(index);
            element.Device.Backend.Fill(element, value);
        }
    }

    private Tensor ElementView(int[] index)
    {
        if (index.Length != Rank)
            throw new IndexOutOfRangeException($"index of rank {index.Length} for a tensor of shape {Shape}");
        int offset = Offset;
        for (int i = 0; i < Rank; i++)
        {
            if ((uint)index[i] >= (uint)Shape[i])
                throw new IndexOutOfRangeException($"index {index[i]} is out of range for axis {i} of shape {Shape}");
            offset += index[i] * Strides[i];
        }
        return View(Shape.Scalar, default, offset);
    }

    public override string ToString() => ToString(maxElements: 64);

    /// <summary>Nested-bracket text like NumPy's, eliding the middle of long axes.</summary>
    public string ToString(int maxElements)
    {
        if (IsDisposed) return $"Tensor(disposed, shape={Shape})";
        var values = ToDoubleArray();
        var sb = new StringBuilder("tensor(");
        if (Rank == 0) sb.Append(Format(values[0]));
        else AppendAxis(sb, values, 0, 0, Length > maxElements ? 3 : int.MaxValue, 7);
        sb.Append(", shape=").Append(Shape).Append(", dtype=").Append(DType.Name());
        if (!Device.IsCpu) sb.Append(", device=").Append(Device.Name);
        return sb.Append(')').ToString();
    }

    private void AppendAxis(StringBuilder sb, double[] values, int axis, int start, int edge, int indent)
    {
        int n = Shape[axis];
        int block = 1;
        for (int i = axis + 1; i < Rank; i++) block *= Shape[i];
        sb.Append('[');
        for (int i = 0; i < n; i++)
        {
            if (n > 2 * edge && i == edge)
            {
                sb.Append("...");
                i = n - edge - 1;
                sb.Append(axis == Rank - 1 ? ", " : ",\n" + new string(' ', indent + axis + 1));
                continue;
            }
            if (axis == Rank - 1) sb.Append(Format(values[start + i]));
            else AppendAxis(sb, values, axis + 1, start + i * block, edge, indent);
            if (i < n - 1) sb.Append(axis == Rank - 1 ? ", " : ",\n" + new string(' ', indent + axis + 1));
        }
        sb.Append(']');
    }

    private string Format(double v) => DType == DType.Int32
        ? ((long)v).ToString(CultureInfo.InvariantCulture)
        : v.ToString("G6", CultureInfo.InvariantCulture);
}
