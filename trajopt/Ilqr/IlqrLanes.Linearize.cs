using System.Runtime.Intrinsics;

namespace DiffTori.TrajOpt;

// The linearization of the group, one example per lane, in the layout of one example of Linearization
// (time-major, m = 1): the gradient norms and the backward pass read whole vectors instead of gathering
// eight examples' values per use. Filled by the lane models when the problem has them, else gathered once
// from the per-example Linearization.
internal sealed partial class IlqrLanes
{
    private Vector512<double>[] _la = [], _lb = [], _lx = [], _lxx = [], _lu = [], _luu = [], _lux = [];

    private void EnsureStore(int T)
    {
        int n = _n, nn = n * n;
        if (_lu.Length == T) return;
        _la = new Vector512<double>[T * nn]; _lb = new Vector512<double>[T * n];
        _lx = new Vector512<double>[(T + 1) * n]; _lxx = new Vector512<double>[(T + 1) * nn];
        _lu = new Vector512<double>[T]; _luu = new Vector512<double>[T]; _lux = new Vector512<double>[T * n];
    }

    /// <summary>Gathers the linearization of examples[0..count) from lin into the lanes.</summary>
    public void Load(Linearization lin, ReadOnlySpan<int> examples)
    {
        int n = _n, nn = n * n, T = lin.Horizon, count = examples.Length;
        EnsureStore(T);
        for (int l = 0; l < Lanes; l++) _ex[l] = examples[Math.Min(l, count - 1)];
        for (int i = 0; i < T * nn; i++) _la[i] = Gather(lin.A, T * nn, i);
        for (int i = 0; i < T * n; i++) { _lb[i] = Gather(lin.Bu, T * n, i); _lux[i] = Gather(lin.Lux, T * n, i); }
        for (int i = 0; i < (T + 1) * n; i++) _lx[i] = Gather(lin.Lx, (T + 1) * n, i);
        for (int i = 0; i < (T + 1) * nn; i++) _lxx[i] = Gather(lin.Lxx, (T + 1) * nn, i);
        for (int t = 0; t < T; t++) { _lu[t] = Gather(lin.Lu, T, t); _luu[t] = Gather(lin.Luu, T, t); }
    }

    /// <summary>
    /// Linearizes examples[0..count) along the nominal (st.X, st.U) with the lane models: A, B and the cost
    /// derivatives of every step, one example per lane (the values of ProblemEvaluator.LinearizeExample).
    /// </summary>
    public void Linearize(IlqrBuffers st, ReadOnlySpan<int> examples, IAnalyticDynamicsLanes dyn, IAnalyticCostLanes cost)
    {
        int n = _n, nn = n * n, T = st.T, count = examples.Length;
        EnsureStore(T);
        for (int l = 0; l < Lanes; l++) _ex[l] = examples[Math.Min(l, count - 1)];
        var x = _qx; var next = _vx;
        for (int t = 0; t < T; t++)
        {
            for (int i = 0; i < n; i++) x[i] = Gather(st.X, (T + 1) * n, t * n + i);
            var u = _lu.AsSpan(t, 1);
            u[0] = Gather(st.U, T, t);
            dyn.StepLanes(x.AsSpan(0, n), u, next.AsSpan(0, n), _la.AsSpan(t * nn, nn), _lb.AsSpan(t * n, n));
            // ℓ_u overwrites the control it was computed from (StageLanes reads u before writing gu).
            var uCopy = u[0];
            cost.StageLanes(t, x.AsSpan(0, n), new ReadOnlySpan<Vector512<double>>(in uCopy), _lx.AsSpan(t * n, n), u,
                _lxx.AsSpan(t * nn, nn), _luu.AsSpan(t, 1), _lux.AsSpan(t * n, n));
        }
        for (int i = 0; i < n; i++) x[i] = Gather(st.X, (T + 1) * n, T * n + i);
        cost.TerminalLanes(x.AsSpan(0, n), _lx.AsSpan(T * n, n), _lxx.AsSpan(T * nn, nn));
    }

    /// <summary>Writes lane l's linearization into lin (for the scalar retry of that example's backward pass).</summary>
    public void Store(Linearization lin, int lane)
    {
        int n = _n, nn = n * n, T = lin.Horizon, b = _ex[lane];
        for (int i = 0; i < T * nn; i++) lin.A[b * T * nn + i] = _la[i].GetElement(lane);
        for (int i = 0; i < T * n; i++) { lin.Bu[b * T * n + i] = _lb[i].GetElement(lane); lin.Lux[b * T * n + i] = _lux[i].GetElement(lane); }
        for (int i = 0; i < (T + 1) * n; i++) lin.Lx[b * (T + 1) * n + i] = _lx[i].GetElement(lane);
        for (int i = 0; i < (T + 1) * nn; i++) lin.Lxx[b * (T + 1) * nn + i] = _lxx[i].GetElement(lane);
        for (int t = 0; t < T; t++) { lin.Lu[b * T + t] = _lu[t].GetElement(lane); lin.Luu[b * T + t] = _luu[t].GetElement(lane); }
    }
}
