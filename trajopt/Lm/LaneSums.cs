using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DiffTori.TrajOpt;

/// <summary>
/// The sums of the lanes of several vectors at once, each exactly as <see cref="Vector512.Sum{T}(Vector512{T})"/>
/// adds them: neighbouring lanes first, then pairs of those within each 128-bit quarter, then quarters 0 + 1 and
/// 2 + 3, then the two halves. A row-by-row product ends every output in such a sum, about two dozen instructions
/// each; here sixteen sums share four rounds of shuffles and adds (the same additions of the same operands, so
/// the same bits, which a test checks against Vector512.Sum). Needs AVX-512 (<see cref="IsSupported"/>).
/// </summary>
internal static class LaneSums
{
    public static bool IsSupported => Avx512F.IsSupported;

    /// <summary>Lane i of the result is the sum of the lanes of vᵢ, for sixteen vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Of16(
        Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7,
        Vector512<float> v8, Vector512<float> v9, Vector512<float> v10, Vector512<float> v11,
        Vector512<float> v12, Vector512<float> v13, Vector512<float> v14, Vector512<float> v15) =>
        Halves(Quarters(v0, v1, v2, v3, v4, v5, v6, v7), Quarters(v8, v9, v10, v11, v12, v13, v14, v15));

    /// <summary>Lanes 0–7 of the result are the sums of the lanes of v0 … v7 (lanes 8–15 repeat them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Of8(
        Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7)
    {
        var q = Quarters(v0, v1, v2, v3, v4, v5, v6, v7);
        return Halves(q, q);
    }

    /// <summary>
    /// For eight vectors: [quarters 0 + 1 of v0…v3 | quarters 2 + 3 of v0…v3 | the same for v4…v7], each quarter
    /// already summed within itself.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Quarters(
        Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7)
    {
        var low = WithinQuarters(Neighbours(v0, v1), Neighbours(v2, v3));   // quarter q of v0…v3 in 128-bit lane q
        var high = WithinQuarters(Neighbours(v4, v5), Neighbours(v6, v7));
        return Avx512F.Shuffle4x128(low, high, 0b10_00_10_00) + Avx512F.Shuffle4x128(low, high, 0b11_01_11_01);
    }

    /// <summary>Per 128-bit lane: [a0 + a1, a2 + a3, b0 + b1, b2 + b3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Neighbours(Vector512<float> a, Vector512<float> b) =>
        Avx512F.Shuffle(a, b, 0b10_00_10_00) + Avx512F.Shuffle(a, b, 0b11_01_11_01);

    /// <summary>Per 128-bit lane, from two results of <see cref="Neighbours"/>: the four quarter sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> WithinQuarters(Vector512<float> ab, Vector512<float> cd) =>
        Avx512F.Shuffle(ab, cd, 0b10_00_10_00) + Avx512F.Shuffle(ab, cd, 0b11_01_11_01);

    /// <summary>From two results of <see cref="Quarters"/>: the low half plus the high half of each vector's sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Halves(Vector512<float> first, Vector512<float> second) =>
        Avx512F.Shuffle4x128(first, second, 0b10_00_10_00) + Avx512F.Shuffle4x128(first, second, 0b11_01_11_01);
}
