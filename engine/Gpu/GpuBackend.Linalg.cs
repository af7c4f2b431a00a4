using System.Numerics;
using ILGPU;
using ILGPU.Runtime;

namespace DiffTori.Engine;

// Batched small dense linear algebra: one thread per matrix (factorizations) or per right-hand-side
// column (solves). The matrices in DiffTORI's solvers are small (n of a few to a few dozen), so a
// thread per problem keeps every batch element independent and the code plain.
public sealed partial class GpuBackend
{
    public void Cholesky(Tensor a, Tensor l, Tensor info)
    {
        RequireFloat("Cholesky", a);
        var s = MatrixArgs.Of(a, l, info, null);
        if (s.Batch == 0) return;
        if (a.DType == DType.Float32) _f32.Cholesky(s.Batch, ViewOf<float>(a), ViewOf<float>(l), ViewOf<int>(info), s);
        else _f64.Cholesky(s.Batch, ViewOf<double>(a), ViewOf<double>(l), ViewOf<int>(info), s);
    }

    public void TriangularSolve(Tensor a, Tensor b, Tensor x, bool lower, bool transposeA, bool unitDiagonal)
    {
        RequireFloat("TriangularSolve", a);
        var s = MatrixArgs.Of(a, b, x, null);
        int columns = s.Batch * s.K;
        if (columns == 0) return;
        int flags = (lower ? 1 : 0) | (transposeA ? 2 : 0) | (unitDiagonal ? 4 : 0);
        if (a.DType == DType.Float32) _f32.TriangularSolve(columns, ViewOf<float>(a), ViewOf<float>(b), ViewOf<float>(x), s, flags);
        else _f64.TriangularSolve(columns, ViewOf<double>(a), ViewOf<double>(b), ViewOf<double>(x), s, flags);
    }

    public void LuFactor(Tensor a, Tensor lu, Tensor pivots, Tensor info)
    {
        RequireFloat("LuFactor", a);
        var s = MatrixArgs.Of(a, lu, info, pivots);
        if (s.Batch == 0) return;
        if (a.DType == DType.Float32) _f32.LuFactor(s.Batch, ViewOf<float>(a), ViewOf<float>(lu), ViewOf<int>(pivots), ViewOf<int>(info), s);
        else _f64.LuFactor(s.Batch, ViewOf<double>(a), ViewOf<double>(lu), ViewOf<int>(pivots), ViewOf<int>(info), s);
    }

    public void LuSolve(Tensor lu, Tensor pivots, Tensor b, Tensor x)
    {
        RequireFloat("LuSolve", lu);
        var s = MatrixArgs.Of(lu, b, x, pivots);
        int columns = s.Batch * s.K;
        if (columns == 0) return;
        if (lu.DType == DType.Float32) _f32.LuSolve(columns, ViewOf<float>(lu), ViewOf<int>(pivots), ViewOf<float>(b), ViewOf<float>(x), s);
        else _f64.LuSolve(columns, ViewOf<double>(lu), ViewOf<int>(pivots), ViewOf<double>(b), ViewOf<double>(x), s);
    }

    /// <summary>Batch, n, k (columns of the right-hand side) and the offsets of up to four operands.</summary>
    internal readonly struct MatrixArgs
    {
        public readonly int Batch, N, K, Offset0, Offset1, Offset2, Offset3;

        private MatrixArgs(int batch, int n, int k, int o0, int o1, int o2, int o3)
        {
            Batch = batch; N = n; K = k; Offset0 = o0; Offset1 = o1; Offset2 = o2; Offset3 = o3;
        }

        /// <summary>m is [batch, n, n]; second is [batch, n, k] (or [batch, n, n] for factorizations).</summary>
        public static MatrixArgs Of(Tensor m, Tensor second, Tensor third, Tensor? fourth)
        {
            int n = m.Shape[m.Rank - 1];
            int batch = n == 0 ? 0 : m.Length / (n * n);
            int k = second.Rank >= 2 ? second.Shape[second.Rank - 1] : 1;
            return new MatrixArgs(batch, n, k, m.Offset, second.Offset, third.Offset, fourth?.Offset ?? 0);
        }
    }

    /// <summary>Cholesky–Banachiewicz, row by row, into l (which may be a itself).</summary>
    private static void CholeskyKernel<T, TNum>(Index1D b, ArrayView<T> a, ArrayView<T> l, ArrayView<int> info, MatrixArgs s)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int n = s.N, ao = s.Offset0 + b * n * n, lo = s.Offset1 + b * n * n;
        int failed = 0;
        for (int i = 0; i < n && failed == 0; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                T sum = a[ao + i * n + j];
                for (int k = 0; k < j; k++) sum -= l[lo + i * n + k] * l[lo + j * n + k];
                if (i == j)
                {
                    if (!(sum > T.Zero))
                    {
                        failed = i + 1;
                        break;
                    }
                    l[lo + i * n + i] = T.Sqrt(sum);
                }
                else
                {
                    l[lo + i * n + j] = sum / l[lo + j * n + j];
                }
            }
        }
        if (failed == 0)
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++) l[lo + i * n + j] = T.Zero;
        info[s.Offset2 + b] = failed;
    }

    /// <summary>One column of op(A)·X = B by forward or back substitution (flags: 1 lower, 2 transpose, 4 unit).</summary>
    private static void TriangularSolveKernel<T, TNum>(Index1D column, ArrayView<T> a, ArrayView<T> rhs, ArrayView<T> x, MatrixArgs s, int flags)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int n = s.N, k = s.K;
        int batch = column / k, c = column - batch * k;
        int ao = s.Offset0 + batch * n * n, bo = s.Offset1 + batch * n * k + c, xo = s.Offset2 + batch * n * k + c;
        bool transpose = (flags & 2) != 0, unit = (flags & 4) != 0;
        bool forward = ((flags & 1) != 0) != transpose; // op(A) is lower triangular
        for (int step = 0; step < n; step++)
        {
            int i = forward ? step : n - 1 - step;
            T sum = rhs[bo + i * k];
            int j0 = forward ? 0 : i + 1, j1 = forward ? i : n;
            for (int j = j0; j < j1; j++)
            {
                T aij = transpose ? a[ao + j * n + i] : a[ao + i * n + j];
                sum -= aij * x[xo + j * k];
            }
            x[xo + i * k] = unit ? sum : sum / a[ao + i * n + i];
        }
    }

    /// <summary>Doolittle LU with partial pivoting (LAPACK getrf conventions), into lu (which may be a).</summary>
    private static void LuFactorKernel<T, TNum>(Index1D b, ArrayView<T> a, ArrayView<T> lu, ArrayView<int> pivots, ArrayView<int> info, MatrixArgs s)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int n = s.N, ao = s.Offset0 + b * n * n, lo = s.Offset1 + b * n * n, po = s.Offset3 + b * n;
        for (int e = 0; e < n * n; e++) lu[lo + e] = a[ao + e];
        int failed = 0;
        for (int k = 0; k < n; k++)
        {
            int p = k;
            T best = T.Abs(lu[lo + k * n + k]);
            for (int i = k + 1; i < n; i++)
            {
                T v = T.Abs(lu[lo + i * n + k]);
                if (v > best)
                {
                    best = v;
                    p = i;
                }
            }
            pivots[po + k] = p;
            if (p != k)
                for (int j = 0; j < n; j++)
                {
                    T t = lu[lo + k * n + j];
                    lu[lo + k * n + j] = lu[lo + p * n + j];
                    lu[lo + p * n + j] = t;
                }
            T pivot = lu[lo + k * n + k];
            if (pivot == T.Zero)
            {
                if (failed == 0) failed = k + 1;
                continue;
            }
            for (int i = k + 1; i < n; i++)
            {
                T factor = lu[lo + i * n + k] / pivot;
                lu[lo + i * n + k] = factor;
                for (int j = k + 1; j < n; j++) lu[lo + i * n + j] -= factor * lu[lo + k * n + j];
            }
        }
        info[s.Offset2 + b] = failed;
    }

    /// <summary>One column of A·X = B from P·A = L·U: permute, forward (unit L), back (U).</summary>
    private static void LuSolveKernel<T, TNum>(Index1D column, ArrayView<T> lu, ArrayView<int> pivots, ArrayView<T> rhs, ArrayView<T> x, MatrixArgs s)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int n = s.N, k = s.K;
        int batch = column / k, c = column - batch * k;
        int lo = s.Offset0 + batch * n * n, bo = s.Offset1 + batch * n * k + c, xo = s.Offset2 + batch * n * k + c;
        int po = s.Offset3 + batch * n;
        for (int i = 0; i < n; i++) x[xo + i * k] = rhs[bo + i * k];
        for (int i = 0; i < n; i++)
        {
            int p = pivots[po + i];
            if (p == i) continue;
            T t = x[xo + i * k];
            x[xo + i * k] = x[xo + p * k];
            x[xo + p * k] = t;
        }
        for (int i = 0; i < n; i++)
        {
            T sum = x[xo + i * k];
            for (int j = 0; j < i; j++) sum -= lu[lo + i * n + j] * x[xo + j * k];
            x[xo + i * k] = sum;
        }
        for (int i = n - 1; i >= 0; i--)
        {
            T sum = x[xo + i * k];
            for (int j = i + 1; j < n; j++) sum -= lu[lo + i * n + j] * x[xo + j * k];
            x[xo + i * k] = sum / lu[lo + i * n + i];
        }
    }

    private sealed partial class RealKernels<T, TNum>
    {
        private Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<int>, MatrixArgs>? _cholesky;
        private Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, MatrixArgs, int>? _triangularSolve;
        private Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<int>, ArrayView<int>, MatrixArgs>? _luFactor;
        private Action<Index1D, ArrayView<T>, ArrayView<int>, ArrayView<T>, ArrayView<T>, MatrixArgs>? _luSolve;

        public Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<int>, MatrixArgs> Cholesky =>
            _cholesky ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<int>, MatrixArgs>(CholeskyKernel<T, TNum>);
        public Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, MatrixArgs, int> TriangularSolve =>
            _triangularSolve ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, MatrixArgs, int>(TriangularSolveKernel<T, TNum>);
        public Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<int>, ArrayView<int>, MatrixArgs> LuFactor =>
            _luFactor ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<int>, ArrayView<int>, MatrixArgs>(LuFactorKernel<T, TNum>);
        public Action<Index1D, ArrayView<T>, ArrayView<int>, ArrayView<T>, ArrayView<T>, MatrixArgs> LuSolve =>
            _luSolve ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<int>, ArrayView<T>, ArrayView<T>, MatrixArgs>(LuSolveKernel<T, TNum>);
    }
}
