using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DiffTori.Engine;

/// <summary>
/// e^x in float32 arithmetic for x ≤ 0 (softmax's exp(x − max), tanh's exp(−2|x|) and ELU's exp(min(x, 0)) need no
/// more). Public for trajopt's graph-free planning kernel, whose ELU computes as the engine's fused bias–ELU does.
/// The library's Vector512.Exp(float) computes in float64 internally, twice the work at float32's accuracy.
/// Method: x = n·ln2 + r with n = round(x·log₂e) and |r| ≤ ln2/2 (ln2 split in two parts so r is exact),
/// e^r by a degree-6 polynomial (Cephes expf coefficients, about 1 ulp), and 2ⁿ built in the exponent bits.
/// Below −87.33 (where e^x leaves the normal range) the result is 0; NaN stays NaN.
/// </summary>
public static class FastExp
{
    private const float Lowest = -87.33654f;
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693359375f, Ln2Low = -2.12194440e-4f;
    /// <summary>1.5·2²³: adding it rounds to an integer that then sits in the low mantissa bits.</summary>
    private const float RoundMagic = 12582912f;
    private const int RoundMagicBits = 0x4B400000;
    private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
        P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> NonPositive(Vector512<float> x)
    {
        var underflow = Vector512.LessThan(x, Vector512.Create(Lowest));
        x = Vector512.ConditionalSelect(underflow, Vector512.Create(Lowest), x);
        var t = Vector512.FusedMultiplyAdd(x, Vector512.Create(Log2E), Vector512.Create(RoundMagic));
        var n = t - Vector512.Create(RoundMagic);
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2High), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Low), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(P0), r, Vector512.Create(P1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P5));
        p = Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
        var scale = Vector512.ShiftLeft(t.AsInt32() - Vector512.Create(RoundMagicBits - 127), 23).AsSingle();
        return Vector512.ConditionalSelect(underflow, Vector512<float>.Zero, p * scale);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> NonPositive(Vector256<float> x)
    {
        var underflow = Vector256.LessThan(x, Vector256.Create(Lowest));
        x = Vector256.ConditionalSelect(underflow, Vector256.Create(Lowest), x);
        var t = Vector256.FusedMultiplyAdd(x, Vector256.Create(Log2E), Vector256.Create(RoundMagic));
        var n = t - Vector256.Create(RoundMagic);
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2High), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Low), r);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(P0), r, Vector256.Create(P1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P5));
        p = Vector256.FusedMultiplyAdd(p, r * r, r) + Vector256<float>.One;
        var scale = Vector256.ShiftLeft(t.AsInt32() - Vector256.Create(RoundMagicBits - 127), 23).AsSingle();
        return Vector256.ConditionalSelect(underflow, Vector256<float>.Zero, p * scale);
    }
}
