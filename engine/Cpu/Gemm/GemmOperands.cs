using System.Numerics;

namespace DiffTori.Engine;

/// <summary>
/// One matrix product C = alpha·op(A)·op(B) + beta·C over row-major arrays (one batch item).
/// op(A) is M×K (A stored K×M when TransA), op(B) is K×N (B stored N×K when TransB), C is M×N dense.
/// </summary>
internal struct GemmOperands<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T[] A, B, C;
    public int OffsetA, OffsetB, OffsetC;
    public int M, N, K;
    public bool TransA, TransB;
    public T Alpha, Beta;

    /// <summary>True when both describe the same product on the same arrays.</summary>
    public readonly bool SameAs(in GemmOperands<T> o) =>
        ReferenceEquals(A, o.A) && ReferenceEquals(B, o.B) && ReferenceEquals(C, o.C)
        && OffsetA == o.OffsetA && OffsetB == o.OffsetB && OffsetC == o.OffsetC && M == o.M && N == o.N && K == o.K
        && TransA == o.TransA && TransB == o.TransB && Alpha == o.Alpha && Beta == o.Beta;

    /// <summary>Element (i, p) of op(A).</summary>
    public readonly T AAt(int i, int p) => TransA ? A[OffsetA + p * M + i] : A[OffsetA + i * K + p];

    /// <summary>Element (p, j) of op(B).</summary>
    public readonly T BAt(int p, int j) => TransB ? B[OffsetB + j * K + p] : B[OffsetB + p * N + j];
}

/// <summary>Per-thread scratch for packing (grown once, then reused: no allocation in steady state).</summary>
internal static class GemmScratch<T> where T : unmanaged
{
    [ThreadStatic] private static T[]? _packedA, _packedB, _tile, _vector;

    public static T[] PackedA(int length) => Ensure(ref _packedA, length);
    public static T[] PackedB(int length) => Ensure(ref _packedB, length);
    public static T[] Tile(int length) => Ensure(ref _tile, length);
    public static T[] Vector(int length) => Ensure(ref _vector, length);

    private static T[] Ensure(ref T[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length) buffer = GC.AllocateUninitializedArray<T>(Math.Max(length, 64), pinned: false);
        return buffer;
    }
}
