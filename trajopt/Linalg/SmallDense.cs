using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>Tiny dense kernels on row-major spans for the per-example, per-step solver algebra (sizes ≤ ~30).</summary>
public static class SmallDense
{
    /// <summary>In-place lower Cholesky of the k×k matrix a (upper triangle zeroed). False if not positive definite.</summary>
    public static bool Cholesky(Span<double> a, int k) => SmallCholesky.Factor(a, k) < 0;

    /// <summary>Solve L·Lᵀ·x = x in place for one vector, with L from <see cref="Cholesky"/>.</summary>
    public static void CholeskySolve(ReadOnlySpan<double> l, int k, Span<double> x) => SmallCholesky.Solve(l, k, x);

    /// <summary>c[r×q] = (accumulate ? c : 0) + op(a)·b with a [r×p] (or [p×r] when transA), b [p×q].</summary>
    public static void MatMul(ReadOnlySpan<double> a, ReadOnlySpan<double> b, Span<double> c, int r, int p, int q, bool transA = false, bool accumulate = false)
    {
        if (!accumulate) c.Slice(0, r * q).Clear();
        for (int i = 0; i < r; i++)
            for (int s = 0; s < p; s++)
            {
                double av = transA ? a[s * r + i] : a[i * p + s];
                if (av == 0) continue;
                var brow = b.Slice(s * q, q);
                var crow = c.Slice(i * q, q);
                for (int j = 0; j < q; j++) crow[j] += av * brow[j];
            }
    }

    /// <summary>y[r] = (accumulate ? y : 0) + op(a)·x, a [r×p] (or [p×r] when transA).</summary>
    public static void MatVec(ReadOnlySpan<double> a, ReadOnlySpan<double> x, Span<double> y, int r, int p, bool transA = false, bool accumulate = false)
    {
        if (!accumulate) y.Slice(0, r).Clear();
        if (transA)
        {
            for (int s = 0; s < p; s++)
            {
                double xv = x[s];
                if (xv == 0) continue;
                for (int i = 0; i < r; i++) y[i] += a[s * r + i] * xv;
            }
        }
        else
        {
            for (int i = 0; i < r; i++)
            {
                double acc = 0;
                for (int s = 0; s < p; s++) acc += a[i * p + s] * x[s];
                y[i] += acc;
            }
        }
    }

    public static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }
    /// <summary>
    /// The second-order terms of the DDP Q-function at one step: Q_xx = ℓ_xx + AᵀV_xxA, Q_uu = ℓ_uu + BᵀV_xxB
    /// (symmetrized), Q_ux = ℓ_ux + BᵀV_xxA; vxxA and vxxB are scratch [n, n] and [n, m].
    /// </summary>
    public static void QSecondOrder(ReadOnlySpan<double> vxx, ReadOnlySpan<double> a, ReadOnlySpan<double> b,
        ReadOnlySpan<double> lxx, ReadOnlySpan<double> luu, ReadOnlySpan<double> lux,
        Span<double> vxxA, Span<double> vxxB, Span<double> qxx, Span<double> quu, Span<double> qux, int n, int m)
    {
        MatMul(vxx, a, vxxA, n, n, n);
        MatMul(vxx, b, vxxB, n, n, m);
        lxx.CopyTo(qxx);
        MatMul(a, vxxA, qxx, n, n, n, transA: true, accumulate: true);
        luu.CopyTo(quu);
        MatMul(b, vxxB, quu, m, n, m, transA: true, accumulate: true);
        Symmetrize(quu, m);
        lux.CopyTo(qux);
        MatMul(b, vxxA, qux, m, n, n, transA: true, accumulate: true);
    }


    public static void Symmetrize(Span<double> a, int k)
    {
        for (int i = 0; i < k; i++)
            for (int j = 0; j < i; j++)
            {
                double s = 0.5 * (a[i * k + j] + a[j * k + i]);
                a[i * k + j] = s; a[j * k + i] = s;
            }
    }
}
