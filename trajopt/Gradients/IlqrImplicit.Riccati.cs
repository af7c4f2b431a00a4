using DiffTori.Engine;

namespace DiffTori.TrajOpt;

public static partial class IlqrImplicit
{
    /// <summary>
    /// Riccati sweep of the LQR model on the free set: P_t = [Q_uu,ff⁻¹] padded with zeros, K_t = −P_t Q_ux,
    /// V_xx = Q_xx + Q_uxᵀK. A Q_uu,ff that does not factor gets a growing damping (never throws).
    /// </summary>
    internal static Gains Riccati(Linearization lin, bool[] free, int B, int T, int n, int m)
    {
        var gains = NewGains(B, T, n, m);
        var job = new RiccatiJob(lin, free, gains);
        // Both cores only for batches with enough work per part (a part is a few µs per example).
        if (B >= 32 && CpuParallelWork.Threads > 1) job.Run(2);
        else job.Execute(0, 1);
        return gains;
    }

    /// <summary>The sweep split by examples over the worker pool.</summary>
    private sealed class RiccatiJob(Linearization lin, bool[] free, Gains gains) : CpuParallelWork
    {
        public override void Execute(int part, int parts) =>
            new RiccatiSweeper(lin, free, gains).Sweep(part * lin.Batch / parts, (part + 1) * lin.Batch / parts);
    }

    /// <summary>The sweep over a range of examples, with its scratch: eight-lane groups where they apply, the scalar sweep otherwise.</summary>
    private sealed class RiccatiSweeper
    {
        private readonly Linearization _lin;
        private readonly bool[] _free;
        private readonly Gains _gains;
        private readonly double[] _vxx, _vxxA, _vxxB, _qxx, _quu, _qux, _f, _col;
        private readonly int[] _idx;
        private readonly ImplicitRiccatiLanes? _lanes;

        public RiccatiSweeper(Linearization lin, bool[] free, Gains gains)
        {
            _lin = lin; _free = free; _gains = gains;
            int n = lin.N, m = lin.M;
            _vxx = new double[n * n]; _vxxA = new double[n * n]; _vxxB = new double[n * m];
            _qxx = new double[n * n]; _quu = new double[m * m]; _qux = new double[m * n];
            _idx = new int[m]; _f = new double[m * m]; _col = new double[m];
            _lanes = ImplicitRiccatiLanes.Applies(m) ? new ImplicitRiccatiLanes(n, lin.Horizon) : null;
        }

        public void Sweep(int begin, int end)
        {
            var lin = _lin; var gains = _gains;
            int T = lin.Horizon, n = lin.N, m = lin.M;
            for (int b = begin; b < end;)
            {
                int count = _lanes is null ? 1 : Math.Min(ImplicitRiccatiLanes.Lanes, end - b);
                int redo = _lanes is null ? 1 : _lanes.Sweep(lin, _free, b, count, gains.P, gains.K, gains.Qux);
                for (int l = 0; l < count; l++)
                    if ((redo & (1 << l)) != 0)
                        RiccatiExample(lin, _free, b + l, T, n, m, gains.P, gains.K, gains.Qux, _vxx, _vxxA, _vxxB, _qxx, _quu, _qux, _idx, _f, _col);
                b += count;
            }
        }
    }

    internal static void RiccatiExample(Linearization lin, bool[] free, int b, int T, int n, int m, double[] P, double[] K, double[] QuxAll,
        double[] vxx, double[] vxxA, double[] vxxB, double[] qxx, double[] quu, double[] qux, int[] idx, double[] f, double[] col)
    {
        lin.LxxSpan(b, T).CopyTo(vxx);
        for (int t = T - 1; t >= 0; t--)
        {
            var A = lin.ASpan(b, t); var Bm = lin.BSpan(b, t);
            SmallDense.QSecondOrder(vxx, A, Bm, lin.LxxSpan(b, t), lin.LuuSpan(b, t), lin.LuxSpan(b, t),
                vxxA, vxxB, qxx, quu, qux, n, m);
            int nf = 0;
            for (int i = 0; i < m; i++) if (free[(b * T + t) * m + i]) idx[nf++] = i;
            var p = P.AsSpan((b * T + t) * m * m, m * m);
            var k = K.AsSpan((b * T + t) * m * n, m * n);
            p.Clear(); k.Clear(); // a redone lane-swept example has values here
            qux.CopyTo(QuxAll.AsSpan((b * T + t) * m * n, m * n));
            if (nf > 0)
            {
                for (double damp = 0; ; damp = damp == 0 ? 1e-10 : damp * 10)
                {
                    for (int i = 0; i < nf; i++) for (int j = 0; j < nf; j++) f[i * nf + j] = quu[idx[i] * m + idx[j]] + (i == j ? damp : 0);
                    if (SmallDense.Cholesky(f, nf) || damp > 1e12) break;
                }
                for (int j = 0; j < nf; j++)
                {
                    Array.Clear(col);
                    col[j] = 1;
                    SmallDense.CholeskySolve(f, nf, col);
                    for (int i = 0; i < nf; i++) p[idx[i] * m + idx[j]] = col[i];
                }
                SmallDense.MatMul(p, qux, k, m, m, n);
                for (int i = 0; i < k.Length; i++) k[i] = -k[i];
            }
            qxx.CopyTo(vxx, 0);
            SmallDense.MatMul(qux, k, vxx, n, m, n, transA: true, accumulate: true);
            SmallDense.Symmetrize(vxx, n);
        }
    }
}
