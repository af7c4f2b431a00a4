using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DiffTori.Engine;

/// <summary>
/// The cache-blocked product (Goto/BLIS loop order) over a rectangle of C: for each NC-wide block of columns
/// and KC-deep slice, pack op(B) once; for each MC-high block of rows pack op(A); then sweep the packed block
/// with the MR×NR microkernel. Tiles cut by the matrix edge are computed into a scratch tile and merged.
/// </summary>
internal static class PackedGemm
{
    /// <summary>C[rows i0..i1, cols j0..j1] = alpha·op(A)·op(B) + beta·C on that rectangle.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<T>(in GemmOperands<T> g, int i0, int i1, int j0, int j1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int nr = GemmConfig.NR<T>(), kcMax = GemmConfig.KC<T>(), ncMax = GemmConfig.NC<T>();
        var packedB = GemmScratch<T>.PackedB(PackedBLength<T>(g.K, j1 - j0));
        // A small non-transposed B is read in place too (only a cut-off last panel of columns is packed).
        bool directB = GemmConfig.UseVector512 && !g.TransB && (long)g.K * g.N <= GemmConfig.DirectALimit;
        for (int jc = j0; jc < j1; jc += ncMax)
        {
            int nc = Math.Min(ncMax, j1 - jc);
            for (int pc = 0; pc < g.K; pc += kcMax)
            {
                int kc = Math.Min(kcMax, g.K - pc);
                int fullCols = directB ? nc / nr * nr : 0;
                if (fullCols < nc) GemmPacking.PackB(g, pc, kc, jc + fullCols, nc - fullCols, nr, packedB.AsSpan(fullCols * kc));
                RowsAgainstPackedB(g, packedB, i0, i1, jc, nc, pc, kc, directB);
            }
        }
    }

    /// <summary>Elements of the packed-B buffer for a product of depth k over the given number of columns.</summary>
    private static int PackedBLength<T>(int k, int columns) =>
        Math.Min(GemmConfig.KC<T>(), k) * RoundUp(Math.Min(GemmConfig.NC<T>(), columns), GemmConfig.NR<T>());

    /// <summary>
    /// Rows [i0, i1) of C's column block [jc, jc+nc) updated with depth slice [pc, pc+kc) against an already
    /// packed block of B (the slice at pc = 0 applies beta, later slices accumulate); with directB, B's whole
    /// column panels are read in place and only a cut-off last panel comes from packedB.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsAgainstPackedB<T>(in GemmOperands<T> g, T[] packedB, int i0, int i1, int jc, int nc, int pc, int kc, bool directB)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mr = GemmConfig.MR, nr = GemmConfig.NR<T>(), mcMax = GemmConfig.MC<T>();
        var packedA = GemmScratch<T>.PackedA(kc * RoundUp(Math.Min(mcMax, i1 - i0), mr));
        var tile = GemmScratch<T>.Tile(mr * nr);
        // A small non-transposed A (alpha = 1) is read in place: it stays in cache, and packing it would cost
        // as much as the product itself at sizes like 64×64×64.
        // So is A against a narrow block of columns (at most two panels): each packed value would be read only once or twice.
        bool directA = GemmConfig.UseVector512 && !g.TransA && g.Alpha == T.One
            && ((long)g.M * g.K <= GemmConfig.DirectALimit || nc <= 2 * nr);
        T beta = pc == 0 ? g.Beta : T.One;
        for (int ic = i0; ic < i1; ic += mcMax)
        {
            int mc = Math.Min(mcMax, i1 - ic);
            if (directA)
            {
                // Whole row tiles in place; only a cut-off last tile of rows is packed.
                int full = mc / mr * mr;
                if (full < mc) GemmPacking.PackA(g, ic + full, mc - full, pc, kc, mr, packedA);
                Macro(g, packedA, packedB, tile, ic, mc, jc, nc, kc, pc, full, directB, beta);
            }
            else
            {
                GemmPacking.PackA(g, ic, mc, pc, kc, mr, packedA);
                Macro(g, packedA, packedB, tile, ic, mc, jc, nc, kc, pc, 0, directB, beta);
            }
        }
    }

    /// <summary>
    /// Sweep one mc×kc block of A against one packed kc×nc block of B. The first directRows rows of the
    /// block are read in place from A; the rest come from packedA (which then starts at row directRows).
    /// With directB, whole column panels are read in place from B and only a cut-off last panel is packed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Macro<T>(in GemmOperands<T> g, T[] packedA, T[] packedB, T[] tile, int ic, int mc, int jc, int nc, int kc, int pc, int directRows, bool directB, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mr = GemmConfig.MR, nr = GemmConfig.NR<T>();
        bool wide = GemmConfig.UseVector512;
        int mode = beta == T.Zero ? 0 : beta == T.One ? 1 : 2;
        int ldc = g.N;
        ref T a0 = ref MemoryMarshal.GetArrayDataReference(packedA);
        ref T b0 = ref MemoryMarshal.GetArrayDataReference(packedB);
        ref T c0 = ref MemoryMarshal.GetArrayDataReference(g.C);
        ref T t0 = ref MemoryMarshal.GetArrayDataReference(tile);
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            bool bInPlace = directB && cols == nr;
            ref T b = ref bInPlace ? ref g.B[g.OffsetB + pc * g.N + jc + jr] : ref Unsafe.Add(ref b0, jr * kc);
            nint ldb = bInPlace ? g.N : nr;
            for (int ir = 0; ir < mc; ir += mr)
            {
                int rows = Math.Min(mr, mc - ir);
                int cIndex = g.OffsetC + (ic + ir) * ldc + jc + jr;
                if (ir < directRows)
                {
                    ref T ad = ref g.A[g.OffsetA + (ic + ir) * g.K + pc];
                    if (cols == nr)
                        MicroKernel.Kernel8x2V512Direct(kc, ref ad, g.K, ref b, ldb, ref Unsafe.Add(ref c0, cIndex), ldc, beta, mode);
                    else
                    {
                        MicroKernel.Kernel8x2V512Direct(kc, ref ad, g.K, ref b, ldb, ref t0, nr, T.Zero, 0);
                        MergeEdge(g.C, cIndex, ldc, tile, nr, rows, cols, beta, mode);
                    }
                    continue;
                }
                ref T a = ref Unsafe.Add(ref a0, (ir - directRows) * kc);
                if (rows == mr && cols == nr)
                {
                    ref T c = ref Unsafe.Add(ref c0, cIndex);
                    if (wide) MicroKernel.Kernel8x2V512(kc, ref a, ref b, ldb, ref c, ldc, beta, mode);
                    else MicroKernel.Kernel6x2V256(kc, ref a, ref b, ref c, ldc, beta, mode);
                }
                else
                {
                    if (wide) MicroKernel.Kernel8x2V512(kc, ref a, ref b, ldb, ref t0, nr, T.Zero, 0);
                    else MicroKernel.Kernel6x2V256(kc, ref a, ref b, ref t0, nr, T.Zero, 0);
                    MergeEdge(g.C, cIndex, ldc, tile, nr, rows, cols, beta, mode);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MergeEdge<T>(T[] c, int cIndex, int ldc, T[] tile, int nr, int rows, int cols, T beta, int mode)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            var dst = c.AsSpan(cIndex + r * ldc, cols);
            var src = tile.AsSpan(r * nr, cols);
            if (mode == 0) src.CopyTo(dst);
            else if (mode == 1) for (int j = 0; j < cols; j++) dst[j] += src[j];
            else for (int j = 0; j < cols; j++) dst[j] = src[j] + beta * dst[j];
        }
    }

    private static int RoundUp(int x, int m) => (x + m - 1) / m * m;
}
