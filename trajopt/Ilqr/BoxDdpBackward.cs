namespace DiffTori.TrajOpt;

/// <summary>
/// The box-DDP backward pass of one example (Tassa, Mansard &amp; Todorov 2014) and the projected gradient norm,
/// over a <see cref="Linearization"/>: the one routine behind <see cref="Ilqr"/>'s solves and the recorded
/// iLQR gradients (<see cref="DdpDecisions"/>, on <see cref="RecordedLinearization.Host"/>). Each instance
/// owns the per-example scratch, so one per thread. <see cref="IlqrLanes"/> repeats this arithmetic in the
/// same order, eight examples at once, and relies on the two agreeing bit for bit.
/// </summary>
internal sealed class BoxDdpBackward
{
    private readonly int _n, _m;
    private readonly double[] _vx, _vxx, _qx, _qu, _qxx, _quu, _quuReg, _qux, _vxxA, _vxxB, _quuK, _l, _col, _tm, _lo, _hi;

    public BoxDdpBackward(int n, int m)
    {
        _n = n; _m = m;
        _vx = new double[n]; _vxx = new double[n * n]; _qx = new double[n]; _qu = new double[m];
        _qxx = new double[n * n]; _quu = new double[m * m]; _quuReg = new double[m * m]; _qux = new double[m * n];
        _vxxA = new double[n * n]; _vxxB = new double[n * m]; _quuK = new double[m * n]; _l = new double[m * m];
        _col = new double[m]; _tm = new double[m]; _lo = new double[m]; _hi = new double[m];
        Qp = new BoxQp(m);
    }

    /// <summary>The box QP of the feedforward step (also usable on its own between backward passes).</summary>
    public BoxQp Qp { get; }

    /// <summary>
    /// ‖P(dJ/dU)‖₂ of example b along the nominal (u is the whole batch [B,T,m]), by the costate recursion
    /// λ_T = ∇ℓ_T, g_t = ℓ_u + B_tᵀλ_{t+1}, λ_t = ℓ_x + A_tᵀλ_{t+1}; P leaves out components at a bound whose
    /// descent direction (−g) leaves the box.
    /// </summary>
    public double ProjectedGradientNorm(TrajProblem p, Linearization lin, int b, ReadOnlySpan<double> u)
    {
        int n = _n, m = _m, T = lin.Horizon;
        var lam = _vx; var g = _qu; var tmp = _qx;
        lin.LxSpan(b, T).CopyTo(lam);
        double s = 0;
        for (int t = T - 1; t >= 0; t--)
        {
            lin.LuSpan(b, t).CopyTo(g);
            SmallDense.MatVec(lin.BSpan(b, t), lam, g, m, n, transA: true, accumulate: true);
            for (int i = 0; i < m; i++)
            {
                double ui = u[(b * T + t) * m + i];
                if (p.HasBounds && ((ui <= p.ControlLower![i] && g[i] > 0) || (ui >= p.ControlUpper![i] && g[i] < 0))) continue;
                s += g[i] * g[i];
            }
            lin.LxSpan(b, t).CopyTo(tmp);
            SmallDense.MatVec(lin.ASpan(b, t), lam, tmp, n, n, transA: true, accumulate: true);
            tmp.AsSpan(0, n).CopyTo(lam);
        }
        return Math.Sqrt(s);
    }

    /// <summary>
    /// The backward pass of example b with Levenberg regularization μ. u, kff, kfb are the whole batch
    /// ([B,T,m], [B,T,m], [B,T,m,n]); kff holds the box QP's warm start on entry and the feedforward k on exit,
    /// kfb the feedback K = −(Q_uu + μI)_ff⁻¹ Q_ux,f (zero on held rows). held and bound ([B,T,m]) receive
    /// the controls the box QP holds at a bound and that bound; pass empty spans when not needed.
    /// dv1, dv2: the expected decrease of a step α is −(α·dv1 + α²·dv2). False when some regularized Q_uu
    /// (its free block) is not positive definite; the outputs are then partly written.
    /// Index loops over the flat arrays (no spans per product): for n of 3–50 the per-call overhead of
    /// generic kernels would cost more than the arithmetic.
    /// </summary>
    public bool Run(TrajProblem p, Linearization lin, int b, double mu, ReadOnlySpan<double> u,
        Span<double> kff, Span<double> kfb, Span<bool> held, Span<double> bound, out double dv1, out double dv2)
    {
        int n = _n, m = _m, T = lin.Horizon;
        bool wantHeld = !held.IsEmpty;
        double[] A = lin.A, Bu = lin.Bu, Lx = lin.Lx, Lxx = lin.Lxx, Lu = lin.Lu, Luu = lin.Luu, Lux = lin.Lux;
        double[] vx = _vx, vxx = _vxx, qx = _qx, qu = _qu, qxx = _qxx, quu = _quu, quuReg = _quuReg, qux = _qux;
        double[] vxxA = _vxxA, vxxB = _vxxB, quuK = _quuK, tm = _tm, col = _col;
        int xOff = (b * (T + 1) + T) * n;
        Array.Copy(Lx, xOff, vx, 0, n);
        Array.Copy(Lxx, xOff * n, vxx, 0, n * n);
        dv1 = 0; dv2 = 0;
        for (int t = T - 1; t >= 0; t--)
        {
            int bt = b * T + t;
            int aO = bt * n * n, bO = bt * n * m, lxO = (b * (T + 1) + t) * n, luO = bt * m, uuO = bt * m * m, uxO = bt * m * n;
            // Q-function expansion: Qx = ℓx + AᵀVx, Qu = ℓu + BᵀVx.
            for (int i = 0; i < n; i++)
            {
                double acc = Lx[lxO + i];
                for (int j = 0; j < n; j++) acc += A[aO + j * n + i] * vx[j];
                qx[i] = acc;
            }
            for (int i = 0; i < m; i++)
            {
                double acc = Lu[luO + i];
                for (int j = 0; j < n; j++) acc += Bu[bO + j * m + i] * vx[j];
                qu[i] = acc;
            }
            // Vxx·A and Vxx·B.
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double acc = 0;
                    for (int s = 0; s < n; s++) acc += vxx[i * n + s] * A[aO + s * n + j];
                    vxxA[i * n + j] = acc;
                }
                for (int j = 0; j < m; j++)
                {
                    double acc = 0;
                    for (int s = 0; s < n; s++) acc += vxx[i * n + s] * Bu[bO + s * m + j];
                    vxxB[i * m + j] = acc;
                }
            }
            // Qxx = ℓxx + Aᵀ(Vxx A) (symmetric: the lower triangle is mirrored), Quu = ℓuu + Bᵀ(Vxx B), Qux = ℓux + Bᵀ(Vxx A).
            for (int i = 0; i < n; i++)
                for (int j = 0; j <= i; j++)
                {
                    double acc = 0.5 * (Lxx[lxO * n + i * n + j] + Lxx[lxO * n + j * n + i]);
                    for (int s = 0; s < n; s++) acc += A[aO + s * n + i] * vxxA[s * n + j];
                    qxx[i * n + j] = acc;
                }
            for (int i = 0; i < n; i++)
                for (int j = 0; j < i; j++) qxx[j * n + i] = qxx[i * n + j];
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < m; j++)
                {
                    double acc = Luu[uuO + i * m + j];
                    for (int s = 0; s < n; s++) acc += Bu[bO + s * m + i] * vxxB[s * m + j];
                    quu[i * m + j] = acc;
                }
                for (int j = 0; j < n; j++)
                {
                    double acc = Lux[uxO + i * n + j];
                    for (int s = 0; s < n; s++) acc += Bu[bO + s * m + i] * vxxA[s * n + j];
                    qux[i * n + j] = acc;
                }
            }
            SmallDense.Symmetrize(quu, m);
            for (int i = 0; i < m * m; i++) quuReg[i] = quu[i];
            for (int i = 0; i < m; i++) quuReg[i * m + i] += mu;

            var k = kff.Slice(bt * m, m);
            var K = kfb.Slice(bt * m * n, m * n);
            if (wantHeld) held.Slice(bt * m, m).Clear();
            if (p.HasBounds)
            {
                double[] lo = p.ControlLower!, hi = p.ControlUpper!;
                for (int i = 0; i < m; i++)
                {
                    double ui = u[bt * m + i];
                    _lo[i] = lo[i] - ui;
                    _hi[i] = hi[i] - ui;
                }
                if (!Qp.Solve(quuReg, qu, _lo, _hi, k)) return false;
                K.Clear();
                var free = Qp.FreeIndices;
                int nf = free.Length;
                var factor = Qp.FreeFactor;
                if (wantHeld)
                    for (int i = 0; i < m; i++)
                    {
                        if (Qp.Free[i]) continue;
                        held[bt * m + i] = true;
                        bound[bt * m + i] = k[i] <= _lo[i] ? lo[i] : hi[i];
                    }
                for (int j = 0; j < n; j++)
                {
                    for (int f = 0; f < nf; f++) col[f] = -qux[free[f] * n + j];
                    SmallDense.CholeskySolve(factor, nf, col);
                    for (int f = 0; f < nf; f++) K[free[f] * n + j] = col[f];
                }
            }
            else
            {
                var L = _l;
                for (int i = 0; i < m * m; i++) L[i] = quuReg[i];
                if (!SmallDense.Cholesky(L, m)) return false;
                for (int i = 0; i < m; i++) k[i] = -qu[i];
                SmallDense.CholeskySolve(L, m, k);
                for (int j = 0; j < n; j++)
                {
                    for (int i = 0; i < m; i++) col[i] = -qux[i * n + j];
                    SmallDense.CholeskySolve(L, m, col);
                    for (int i = 0; i < m; i++) K[i * n + j] = col[i];
                }
            }
            // Value function update (Tassa 2012 eq. 11, with the unregularized Q_uu):
            // Vx = Qx + Kᵀ(Quu k) + Kᵀ Qu + Quxᵀ k, Vxx = Qxx + Kᵀ(Quu K) + Kᵀ Qux + Quxᵀ K.
            double kqu = 0, kquuk = 0;
            for (int i = 0; i < m; i++)
            {
                double acc = 0;
                for (int j = 0; j < m; j++) acc += quu[i * m + j] * k[j];
                tm[i] = acc;
                kqu += k[i] * qu[i];
                kquuk += k[i] * acc;
            }
            dv1 += kqu;
            dv2 += 0.5 * kquuk;
            for (int j = 0; j < n; j++)
            {
                double acc = qx[j];
                for (int i = 0; i < m; i++) acc += K[i * n + j] * (tm[i] + qu[i]) + qux[i * n + j] * k[i];
                vx[j] = acc;
            }
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double acc = 0;
                    for (int s = 0; s < m; s++) acc += quu[i * m + s] * K[s * n + j];
                    quuK[i * n + j] = acc;
                }
            for (int i = 0; i < n; i++)
                for (int j = 0; j <= i; j++)
                {
                    double acc = qxx[i * n + j];
                    for (int s = 0; s < m; s++)
                        acc += K[s * n + i] * (quuK[s * n + j] + qux[s * n + j]) + qux[s * n + i] * K[s * n + j];
                    vxx[i * n + j] = acc;
                }
            for (int i = 0; i < n; i++)
                for (int j = 0; j < i; j++) vxx[j * n + i] = vxx[i * n + j];
        }
        return true;
    }
}
