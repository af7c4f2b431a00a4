using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DiffTori.Engine;

/// <summary>
/// The epilogue of a batched linear layer in one pass over its output, in place: y = act(y + b) row by row
/// (bias optional, activation none or ELU). The product itself is written with beta = 0 first, so compared
/// with copying the bias into y, a GEMM that reads y back, and a separate ELU into a new tensor, this saves
/// two passes over the output and a buffer. float32 ELU uses the engine's float exp (FastExp); rows are
/// split between the cores in blocks. One cached job per calling thread (no allocation).
/// </summary>
internal sealed class BiasActivationJob<T> : ChunkedWork where T : unmanaged, IFloatingPointIeee754<T>
{
    [ThreadStatic] private static BiasActivationJob<T>? _forThisThread;
    public static BiasActivationJob<T> ForThisThread => _forThisThread ??= new BiasActivationJob<T>();

    /// <summary>About this many elements per chunk: small outputs run on the calling thread.</summary>
    private const int ChunkElements = 1 << 14;

    private T[] _y = [], _b = [];
    private int _offY, _offB, _rows, _cols, _rowsPerChunk;
    private bool _hasBias, _elu;
    private T _alpha;

    public void Run(T[] y, int offY, int rows, int cols, T[]? b, int offB, bool elu, T alpha)
    {
        (_y, _offY, _rows, _cols, _b, _offB, _hasBias, _elu, _alpha) = (y, offY, rows, cols, b ?? [], offB, b is not null, elu, alpha);
        _rowsPerChunk = Math.Max(1, ChunkElements / Math.Max(cols, 1));
        RunChunks((rows + _rowsPerChunk - 1) / _rowsPerChunk);
    }

    protected override void RunChunk(int chunk)
    {
        int first = chunk * _rowsPerChunk, last = Math.Min(_rows, first + _rowsPerChunk);
        for (int r = first; r < last; r++) Row(_y.AsSpan(_offY + r * _cols, _cols));
    }

    protected override void Clear() => _y = _b = [];

    private void Row(Span<T> y) =>
        LinearEpilogueKernel.Apply(y, _hasBias ? _b.AsSpan(_offB, _cols) : default, _hasBias, _elu, _alpha);
}

/// <summary>y = act(y + b) over one span (bias optional, activation none or ELU), SIMD; shared by the linear kernels.</summary>
internal static class LinearEpilogueKernel
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply<T>(Span<T> y, ReadOnlySpan<T> b, bool hasBias, bool elu, T alphaValue) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!hasBias && !elu) return;
        int j = 0;
        if (typeof(T) == typeof(float) && Vector512.IsHardwareAccelerated)
        {
            var ys = System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(y);
            var bs = System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(b);
            var alpha = Vector512.Create(float.CreateTruncating(alphaValue));
            for (; j + Vector512<float>.Count <= ys.Length; j += Vector512<float>.Count)
            {
                var z = Vector512.Create(ys.Slice(j, Vector512<float>.Count));
                if (hasBias) z += Vector512.Create(bs.Slice(j, Vector512<float>.Count));
                if (elu)
                {
                    var negative = alpha * (FastExp.NonPositive(Vector512.Min(z, Vector512<float>.Zero)) - Vector512<float>.One);
                    z = Vector512.ConditionalSelect(Vector512.GreaterThan(z, Vector512<float>.Zero), z, negative);
                }
                z.CopyTo(ys.Slice(j, Vector512<float>.Count));
            }
        }
        else if (typeof(T) == typeof(double) && Vector512.IsHardwareAccelerated)
        {
            var alpha = Vector512.Create(alphaValue);
            for (; j + Vector512<T>.Count <= y.Length; j += Vector512<T>.Count)
            {
                var z = Vector512.Create<T>(y.Slice(j, Vector512<T>.Count));
                if (hasBias) z += Vector512.Create<T>(b.Slice(j, Vector512<T>.Count));
                if (elu)
                {
                    var negative = alpha * (Vector512.Exp(Vector512.Min(z, Vector512<T>.Zero).AsDouble()).As<double, T>() - Vector512<T>.One);
                    z = Vector512.ConditionalSelect(Vector512.GreaterThan(z, Vector512<T>.Zero), z, negative);
                }
                z.CopyTo(y.Slice(j, Vector512<T>.Count));
            }
        }
        for (; j < y.Length; j++)
        {
            T z = hasBias ? y[j] + b[j] : y[j];
            y[j] = elu && !(z > T.Zero) ? alphaValue * (T.Exp(T.Min(z, T.Zero)) - T.One) : z;
        }
    }
}
