namespace DiffTori.TrajOpt;

/// <summary>
/// A float buffer whose first element sits on a 64-byte boundary: one cache line, one 512-bit vector. An ordinary
/// array's elements start 16 bytes into a line, so every vector load from it straddles two lines, and from L1 that
/// costs the packed kernels about a third of their speed. The array is pinned, so the aligned offset stays valid.
/// </summary>
internal sealed unsafe class AlignedFloats
{
    private const int AlignFloats = 16; // 64 bytes
    private readonly float[] _array;
    private readonly int _offset;

    public AlignedFloats(int length)
    {
        _array = GC.AllocateArray<float>(length + AlignFloats, pinned: true);
        fixed (float* p = _array) _offset = (int)((64 - ((nint)p & 63)) & 63) / sizeof(float);
        Length = length;
    }

    public int Length { get; }

    public Span<float> Span => _array.AsSpan(_offset, Length);
}
