namespace DiffTori.TrajOpt;

/// <summary>
/// The numeric half of a recorded box-DDP iteration. On the host copy of the model it makes the discrete
/// choices that the recorded half replays with Var ops: the Levenberg μ of each example (raised until every
/// regularized Q_uu factors, as <see cref="Ilqr.Solve"/> does), the box QP's active set (controls held at a
/// bound, Tassa et al. 2014) and, with <see cref="DdpLineSearch"/>, the step size. It also keeps the numeric
/// gains the line search rolls out and the expected decrease the acceptance test compares with.
/// </summary>
internal sealed class DdpDecisions
{
    private readonly TrajProblem _p;
    private readonly int _n, _m, _T;
    // Per-example scratch of the backward pass (one example at a time).
    private readonly double[] _vx, _vxx, _qx, _qu, _qxx, _quu, _quuReg, _qux, _vxxA, _vxxB, _quuK, _l, _col, _tm, _lo, _hi;
    private readonly BoxQp _qp;

    public DdpDecisions(TrajProblem p, int batch)
    {
        _p = p;
        int n = _n = p.StateDim, m = _m = p.ControlDim, T = _T = p.Horizon;
        Kff = new double[batch * T * m]; Kfb = new double[batch * T * m * n];
        Held = new bool[batch * T * m]; Bound = new double[batch * T * m];
        Dv1 = new double[batch]; Dv2 = new double[batch];
        _vx = new double[n]; _vxx = new double[n * n]; _qx = new double[n]; _qu = new double[m];
        _qxx = new double[n * n]; _quu = new double[m * m]; _quuReg = new double[m * m]; _qux = new double[m * n];
        _vxxA = new double[n * n]; _vxxB = new double[n * m]; _quuK = new double[m * n]; _l = new double[m * m];
        _col = new double[m]; _tm = new double[m]; _lo = new double[m]; _hi = new double[m];
        _qp = new BoxQp(m);
    }

    /// <summary>Feedforward k [B,T,m] (also the box QP's warm start next time) and feedback K [B,T,m,n] of the last backward pass.</summary>
    public readonly double[] Kff, Kfb;
    /// <summary>[B,T,m]: the box QP holds this control at its bound (no feedback, no gradient); the bound is in Bound.</summary>
    public readonly bool[] Held;
    public readonly double[] Bound;
    /// <summary>Expected decrease of a step α: −(α·Dv1 + α²·Dv2).</summary>
    public readonly double[] Dv1, Dv2;

    /// <summary>
    /// ‖P(dJ/dU)‖₂ along the nominal by the costate recursion λ_T = ∇ℓ_T, g_t = ℓ_u + B_tᵀλ_{t+1},
    /// λ_t = ℓ_x + A_tᵀλ_{t+1}; P drops components at a bound whose descent direction leaves the box.
    /// </summary>
    public double ProjectedGradientNorm(RecordedLinearization lin, int b, ReadOnlySpan<double> u)
    {
        int n = _n, m = _m, T = _T;
        lin.LxSpan(b, T).CopyTo(_vx);
        double s = 0;
        for (int t = T - 1; t >= 0; t--)
        {
            lin.LuSpan(b, t).CopyTo(_qu);
            SmallDense.MatVec(lin.BSpan(b, t), _vx, _qu, m, n, transA: true, accumulate: true);
            for (int i = 0; i < m; i++)
            {
                double ui = u[(b * T + t) * m + i], gi = _qu[i];
                if (_p.HasBounds && ((ui <= _p.ControlLower![i] && gi > 0) || (ui >= _p.ControlUpper![i] && gi < 0))) continue;
                s += gi * gi;
            }
            lin.LxSpan(b, t).CopyTo(_qx);
            SmallDense.MatVec(lin.ASpan(b, t), _vx, _qx, n, n, transA: true, accumulate: true);
            _qx.AsSpan(0, n).CopyTo(_vx);
        }
        return Math.Sqrt(s);
    }

    /// <summary>
    /// The DDP backward pass of example b with regularization μ: per step the box QP on Q_uu + μI gives k and
    /// the held set, K = −(Q_uu + μI)_ff⁻¹ Q_ux,f on the free rows. False when some Q_uu + μI (free block) is
    /// not positive definite.
    /// </summary>
    public bool BackwardPass(RecordedLinearization lin, int b, ReadOnlySpan<double> u, double mu)
    {
        int n = _n, m = _m, T = _T;
        lin.LxSpan(b, T).CopyTo(_vx);
        lin.LxxSpan(b, T).CopyTo(_vxx);
        double dv1 = 0, dv2 = 0;
        for (int t = T - 1; t >= 0; t--)
        {
            var a = lin.ASpan(b, t); var bm = lin.BSpan(b, t);
            lin.LxSpan(b, t).CopyTo(_qx);
            SmallDense.MatVec(a, _vx, _qx, n, n, transA: true, accumulate: true);
            lin.LuSpan(b, t).CopyTo(_qu);
            SmallDense.MatVec(bm, _vx, _qu, m, n, transA: true, accumulate: true);
            SmallDense.QSecondOrder(_vxx, a, bm, lin.LxxSpan(b, t), lin.LuuSpan(b, t), lin.LuxSpan(b, t),
                _vxxA, _vxxB, _qxx, _quu, _qux, n, m);
            _quu.AsSpan(0, m * m).CopyTo(_quuReg);
            for (int i = 0; i < m; i++) _quuReg[i * m + i] += mu;

            int at = (b * T + t) * m;
            var k = Kff.AsSpan(at, m);
            var K = Kfb.AsSpan(at * n, m * n);
            var held = Held.AsSpan(at, m);
            var bound = Bound.AsSpan(at, m);
            held.Clear();
            if (_p.HasBounds)
            {
                for (int i = 0; i < m; i++)
                {
                    _lo[i] = _p.ControlLower![i] - u[at + i];
                    _hi[i] = _p.ControlUpper![i] - u[at + i];
                }
                if (!_qp.Solve(_quuReg, _qu, _lo, _hi, k)) return false;
                K.Clear();
                var free = _qp.FreeIndices;
                int nf = free.Length;
                for (int i = 0; i < m; i++)
                {
                    if (_qp.Free[i]) continue;
                    held[i] = true;
                    bound[i] = k[i] <= _lo[i] ? _p.ControlLower![i] : _p.ControlUpper![i];
                }
                for (int j = 0; j < n; j++)
                {
                    for (int f = 0; f < nf; f++) _col[f] = -_qux[free[f] * n + j];
                    SmallDense.CholeskySolve(_qp.FreeFactor, nf, _col);
                    for (int f = 0; f < nf; f++) K[free[f] * n + j] = _col[f];
                }
            }
            else
            {
                _quuReg.AsSpan(0, m * m).CopyTo(_l);
                if (!SmallDense.Cholesky(_l, m)) return false;
                for (int i = 0; i < m; i++) k[i] = -_qu[i];
                SmallDense.CholeskySolve(_l, m, k);
                for (int j = 0; j < n; j++)
                {
                    for (int i = 0; i < m; i++) _col[i] = -_qux[i * n + j];
                    SmallDense.CholeskySolve(_l, m, _col);
                    for (int i = 0; i < m; i++) K[i * n + j] = _col[i];
                }
            }
            // Value function (Tassa 2012 eq. 11, with the unregularized Q_uu).
            SmallDense.MatVec(_quu, k, _tm, m, m);
            dv1 += SmallDense.Dot(k, _qu);
            dv2 += 0.5 * SmallDense.Dot(k, _tm.AsSpan(0, m));
            _qx.AsSpan(0, n).CopyTo(_vx);
            SmallDense.MatVec(K, _tm, _vx, n, m, transA: true, accumulate: true);
            SmallDense.MatVec(K, _qu, _vx, n, m, transA: true, accumulate: true);
            SmallDense.MatVec(_qux, k, _vx, n, m, transA: true, accumulate: true);
            _qxx.AsSpan(0, n * n).CopyTo(_vxx);
            SmallDense.MatMul(_quu, K, _quuK, m, m, n);
            SmallDense.MatMul(K, _quuK, _vxx, n, m, n, transA: true, accumulate: true);
            SmallDense.MatMul(K, _qux, _vxx, n, m, n, transA: true, accumulate: true);
            SmallDense.MatMul(_qux, K, _vxx, n, m, n, transA: true, accumulate: true);
            SmallDense.Symmetrize(_vxx, n);
        }
        Dv1[b] = dv1;
        Dv2[b] = dv2;
        return true;
    }
}
