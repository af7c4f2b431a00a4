using System.Runtime.CompilerServices;
using System.Numerics;
using System.Runtime.Intrinsics;

namespace DiffTori.Engine;

/// <summary>
/// Copies blocks of op(A) and op(B) into the microkernel's panel layouts, so the kernel reads both with unit
/// stride whatever the transposes. Edges are zero-padded to whole tiles; alpha is folded into A.
/// </summary>
internal static class GemmPacking
{
    /// <summary>
    /// Rows [i0, i0+mc) × depth [p0, p0+kc) of op(A) into panels of MR rows: panel r holds, for each k,
    /// the MR values of rows i0+r·MR .. +MR (zero past mc).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA<T>(in GemmOperands<T> g, int i0, int mc, int p0, int kc, int mr, Span<T> dst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T alpha = g.Alpha;
        for (int r0 = 0; r0 < mc; r0 += mr)
        {
            var panel = dst.Slice(r0 * kc, mr * kc);
            int rows = Math.Min(mr, mc - r0);
            if (rows < mr) panel.Clear();
            if (g.TransA)
            {
                // A is K×M: for each k the panel's rows are contiguous in memory.
                for (int p = 0; p < kc; p++)
                {
                    var src = g.A.AsSpan(g.OffsetA + (p0 + p) * g.M + i0 + r0, rows);
                    var d = panel.Slice(p * mr, rows);
                    for (int r = 0; r < rows; r++) d[r] = alpha * src[r];
                }
            }
            else if (rows == 8 && mr == 8)
            {
                // A whole panel of eight rows, walked along k so the panel is written in order.
                long k = g.K;
                ref T s = ref g.A[g.OffsetA + (i0 + r0) * g.K + p0];
                ref T d = ref panel[0];
                for (int p = 0; p < kc; p++)
                {
                    ref T sp = ref Unsafe.Add(ref s, p);
                    ref T dp = ref Unsafe.Add(ref d, p * 8);
                    dp = alpha * sp;
                    Unsafe.Add(ref dp, 1) = alpha * Unsafe.Add(ref sp, (nint)k);
                    Unsafe.Add(ref dp, 2) = alpha * Unsafe.Add(ref sp, (nint)(2 * k));
                    Unsafe.Add(ref dp, 3) = alpha * Unsafe.Add(ref sp, (nint)(3 * k));
                    Unsafe.Add(ref dp, 4) = alpha * Unsafe.Add(ref sp, (nint)(4 * k));
                    Unsafe.Add(ref dp, 5) = alpha * Unsafe.Add(ref sp, (nint)(5 * k));
                    Unsafe.Add(ref dp, 6) = alpha * Unsafe.Add(ref sp, (nint)(6 * k));
                    Unsafe.Add(ref dp, 7) = alpha * Unsafe.Add(ref sp, (nint)(7 * k));
                }
            }
            else
            {
                for (int r = 0; r < rows; r++)
                {
                    var src = g.A.AsSpan(g.OffsetA + (i0 + r0 + r) * g.K + p0, kc);
                    for (int p = 0; p < kc; p++) panel[p * mr + r] = alpha * src[p];
                }
            }
        }
    }

    /// <summary>Depth [p0, p0+kc) × columns [j0, j0+nc) of op(B) into panels of NR columns (zero past nc).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB<T>(in GemmOperands<T> g, int p0, int kc, int j0, int nc, int nr, Span<T> dst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int c0 = 0; c0 < nc; c0 += nr)
        {
            var panel = dst.Slice(c0 * kc, nr * kc);
            int cols = Math.Min(nr, nc - c0);
            if (g.TransB)
            {
                if (cols < nr) panel.Clear();
                // B is N×K: each column of op(B) is a contiguous row of B.
                for (int j = 0; j < cols; j++)
                {
                    var src = g.B.AsSpan(g.OffsetB + (j0 + c0 + j) * g.K + p0, kc);
                    for (int p = 0; p < kc; p++) panel[p * nr + j] = src[p];
                }
            }
            else
            {
                if (cols == nr)
                {
                    // A whole panel: each k row is NR contiguous values, copied as vectors (a memmove call per
                    // 128-byte row costs more than the copy, and the caller packs B while the other core waits).
                    CopyRows(ref g.B[g.OffsetB + p0 * g.N + j0 + c0], g.N, ref panel[0], nr, kc);
                    continue;
                }
                for (int p = 0; p < kc; p++)
                {
                    var d = panel.Slice(p * nr, nr);
                    g.B.AsSpan(g.OffsetB + (p0 + p) * g.N + j0 + c0, cols).CopyTo(d);
                    if (cols < nr) d[cols..].Clear();
                }
            }
        }
    }

    /// <summary>Copies rows × width values from rows lds apart to contiguous rows (width a multiple of Vector256's count).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRows<T>(ref T src, int lds, ref T dst, int width, int rows) where T : unmanaged
    {
        int w = Vector256<T>.Count;
        for (int p = 0; p < rows; p++)
        {
            ref T s = ref Unsafe.Add(ref src, (nint)p * lds);
            ref T d = ref Unsafe.Add(ref dst, (nint)p * width);
            for (int j = 0; j < width; j += w) Vector256.LoadUnsafe(ref s, (nuint)j).StoreUnsafe(ref d, (nuint)j);
        }
    }
}
