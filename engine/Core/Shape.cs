using System.Runtime.CompilerServices;
using System.Text;

namespace DiffTori.Engine;

/// <summary>Up to <see cref="Shape.MaxRank"/> ints stored inline, so shapes and strides never touch the heap.</summary>
[InlineArray(Shape.MaxRank)]
internal struct DimBuffer
{
    private int _element0;
}

/// <summary>The extent of each axis of a tensor. A value type: creating or copying one allocates nothing.</summary>
public readonly struct Shape : IEquatable<Shape>
{
    public const int MaxRank = 8;

    private readonly DimBuffer _dims;

    /// <summary>Number of axes (0 for a scalar).</summary>
    public int Rank { get; }

    public Shape(params ReadOnlySpan<int> dims)
    {
        if (dims.Length > MaxRank)
            throw new ArgumentException($"shape has rank {dims.Length}; at most {MaxRank} axes are supported");
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] < 0)
                throw new ArgumentException($"shape {Format(dims)} has a negative extent on axis {i}");
            _dims[i] = dims[i];
        }
        Rank = dims.Length;
    }

    public static Shape Scalar => default;

    public int this[int axis]
    {
        get
        {
            if ((uint)axis >= (uint)Rank)
                throw new IndexOutOfRangeException($"axis {axis} is out of range for shape {this}");
            return _dims[axis];
        }
    }

    /// <summary>
    /// Index-from-end support (<c>shape[^1]</c> is the last axis). Without this overload C# would
    /// rewrite <c>^1</c> using <see cref="Length"/>, which counts elements, not axes.
    /// </summary>
    public int this[Index axis] => this[axis.GetOffset(Rank)];

    /// <summary>Total number of elements (1 for a scalar).</summary>
    public int Length
    {
        get
        {
            long n = 1;
            for (int i = 0; i < Rank; i++) n *= _dims[i];
            if (n > int.MaxValue) throw new OverflowException($"shape {this} has more than int.MaxValue elements");
            return (int)n;
        }
    }

    /// <summary>Python-style axis: -1 is the last axis. Throws naming the op when out of range.</summary>
    public int NormalizeAxis(int axis, string op = "axis")
    {
        int a = axis < 0 ? axis + Rank : axis;
        if ((uint)a >= (uint)Rank)
            throw new ArgumentOutOfRangeException(nameof(axis), $"{op}: axis {axis} is out of range for a tensor of shape {this} (rank {Rank})");
        return a;
    }

    /// <summary>A copy with one extent changed.</summary>
    public Shape With(int axis, int extent)
    {
        Span<int> d = stackalloc int[Rank];
        CopyTo(d);
        d[axis] = extent;
        return new Shape(d);
    }

    /// <summary>A copy with an axis of the given extent inserted at position axis.</summary>
    public Shape Insert(int axis, int extent)
    {
        Span<int> d = stackalloc int[Rank + 1];
        for (int i = 0, j = 0; i < Rank + 1; i++) d[i] = i == axis ? extent : _dims[j++];
        return new Shape(d);
    }

    /// <summary>A copy with one axis removed.</summary>
    public Shape Remove(int axis)
    {
        Span<int> d = stackalloc int[Math.Max(Rank - 1, 0)];
        for (int i = 0, j = 0; i < Rank; i++) if (i != axis) d[j++] = _dims[i];
        return new Shape(d);
    }

    public void CopyTo(Span<int> destination)
    {
        for (int i = 0; i < Rank; i++) destination[i] = _dims[i];
    }

    public int[] ToArray()
    {
        var a = new int[Rank];
        CopyTo(a);
        return a;
    }

    public bool Equals(Shape other)
    {
        if (Rank != other.Rank) return false;
        for (int i = 0; i < Rank; i++) if (_dims[i] != other._dims[i]) return false;
        return true;
    }

    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    public override int GetHashCode()
    {
        var h = new HashCode();
        for (int i = 0; i < Rank; i++) h.Add(_dims[i]);
        return h.ToHashCode();
    }

    public override string ToString()
    {
        Span<int> d = stackalloc int[Rank];
        CopyTo(d);
        return Format(d);
    }

    internal static string Format(ReadOnlySpan<int> dims)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < dims.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(dims[i]);
        }
        return sb.Append(']').ToString();
    }

    public static implicit operator Shape(int[] dims) => new(dims);
}

/// <summary>Element step per axis of a view (0 for a broadcast axis). A value type like <see cref="Shape"/>.</summary>
public readonly struct Strides
{
    private readonly DimBuffer _steps;

    public int Rank { get; }

    public Strides(params ReadOnlySpan<int> steps)
    {
        if (steps.Length > Shape.MaxRank)
            throw new ArgumentException($"strides have rank {steps.Length}; at most {Shape.MaxRank} axes are supported");
        for (int i = 0; i < steps.Length; i++) _steps[i] = steps[i];
        Rank = steps.Length;
    }

    public int this[int axis] => (uint)axis < (uint)Rank
        ? _steps[axis]
        : throw new IndexOutOfRangeException($"axis {axis} is out of range for strides of rank {Rank}");

    /// <summary>Row-major (C order) strides of a contiguous tensor of the given shape.</summary>
    public static Strides RowMajor(in Shape shape)
    {
        Span<int> s = stackalloc int[shape.Rank];
        int step = 1;
        for (int i = shape.Rank - 1; i >= 0; i--)
        {
            s[i] = step;
            step *= Math.Max(shape[i], 1);
        }
        return new Strides(s);
    }

    public void CopyTo(Span<int> destination)
    {
        for (int i = 0; i < Rank; i++) destination[i] = _steps[i];
    }

    public override string ToString()
    {
        Span<int> d = stackalloc int[Rank];
        CopyTo(d);
        return Shape.Format(d);
    }
}
