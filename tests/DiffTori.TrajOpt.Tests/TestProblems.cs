using DiffTori.Autodiff;
using DiffTori.Engine;
using DiffTori.TrajOpt;

namespace DiffTori.TrajOpt.Tests;

/// <summary>Random linear–quadratic problems: x' = A x + B u, ℓ = ½xᵀQx + ½uᵀRu + qᵀx + rᵀu, ℓ_T = ½xᵀQf x + qfᵀx.</summary>
public sealed class LqData
{
    public int N, M, T;
    public double[] A = [], B = [], Q = [], R = [], Qf = [], q = [], r = [], qf = [];

    public static LqData Random(Random rng, int n, int m, int T, double linearScale = 0)
    {
        var d = new LqData { N = n, M = m, T = T };
        d.A = new double[n * n]; d.B = new double[n * m];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) d.A[i * n + j] = (i == j ? 0.9 : 0) + 0.2 * (rng.NextDouble() - 0.5);
        for (int i = 0; i < d.B.Length; i++) d.B[i] = rng.NextDouble() - 0.5;
        d.Q = Spd(rng, n, 0.5); d.R = Spd(rng, m, 0.5); d.Qf = Spd(rng, n, 1);
        d.q = Vec(rng, n, linearScale); d.r = Vec(rng, m, linearScale); d.qf = Vec(rng, n, linearScale);
        return d;
    }

    private static double[] Vec(Random rng, int k, double s)
    {
        var v = new double[k];
        for (int i = 0; i < k; i++) v[i] = s * (2 * rng.NextDouble() - 1);
        return v;
    }

    private static double[] Spd(Random rng, int k, double floor)
    {
        var g = new double[k * k];
        for (int i = 0; i < g.Length; i++) g[i] = rng.NextDouble() - 0.5;
        var s = new double[k * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
            {
                double acc = i == j ? floor : 0;
                for (int p = 0; p < k; p++) acc += g[i * k + p] * g[j * k + p];
                s[i * k + j] = acc;
            }
        return s;
    }

    public Var C(double[] v, params int[] shape) => new(Tensor.FromDoubles(v, new Shape(shape), DType.Float64));

    /// <summary>The problem through Var functions (autodiff derivatives).</summary>
    public TrajProblem VarProblem()
    {
        Var a = C(A, N, N), b = C(B, N, M), qm = C(Q, N, N), rm = C(R, M, M), qfm = C(Qf, N, N), qv = C(q, N), rv = C(r, M), qfv = C(qf, N);
        return new TrajProblem(N, M, T,
            (x, u) => F.Matmul(x, a, transB: true) + F.Matmul(u, b, transB: true),
            (x, u, t) => Quad(x, qm) + Quad(u, rm) + F.Sum(x * qv, 1) + F.Sum(u * rv, 1),
            x => Quad(x, qfm) + F.Sum(x * qfv, 1));
    }

    private static Var Quad(Var x, Var w) => 0.5 * F.Sum(x * F.Matmul(x, w), 1);

    /// <summary>The same problem with closed-form derivatives.</summary>
    public TrajProblem AnalyticProblem() => new(N, M, T, null, null, null) { AnalyticDynamics = new Dyn(this), AnalyticCost = new Cost(this) };

    private sealed class Dyn(LqData d) : IAnalyticDynamics
    {
        public void Step(ReadOnlySpan<double> x, ReadOnlySpan<double> u, Span<double> next, Span<double> a, Span<double> b)
        {
            for (int i = 0; i < d.N; i++)
            {
                double s = 0;
                for (int j = 0; j < d.N; j++) s += d.A[i * d.N + j] * x[j];
                for (int j = 0; j < d.M; j++) s += d.B[i * d.M + j] * u[j];
                next[i] = s;
            }
            if (!a.IsEmpty) { d.A.CopyTo(a); d.B.CopyTo(b); }
        }
    }

    private sealed class Cost(LqData d) : IAnalyticCost
    {
        public double Stage(int t, ReadOnlySpan<double> x, ReadOnlySpan<double> u, Span<double> gx, Span<double> gu, Span<double> hxx, Span<double> huu, Span<double> hux)
        {
            double v = QuadGrad(d.Q, d.q, x, d.N, gx) + QuadGrad(d.R, d.r, u, d.M, gu);
            if (!hxx.IsEmpty) { d.Q.CopyTo(hxx); d.R.CopyTo(huu); hux.Clear(); }
            return v;
        }

        public double Terminal(ReadOnlySpan<double> x, Span<double> gx, Span<double> hxx)
        {
            double v = QuadGrad(d.Qf, d.qf, x, d.N, gx);
            if (!hxx.IsEmpty) d.Qf.CopyTo(hxx);
            return v;
        }

        private static double QuadGrad(double[] w, double[] lin, ReadOnlySpan<double> x, int k, Span<double> g)
        {
            double v = 0;
            for (int i = 0; i < k; i++)
            {
                double wx = 0;
                for (int j = 0; j < k; j++) wx += w[i * k + j] * x[j];
                v += x[i] * (0.5 * wx + lin[i]);
                if (!g.IsEmpty) g[i] = wx + lin[i];
            }
            return v;
        }
    }

    /// <summary>
    /// The whole problem as a dense QP in U (T·m unknowns): X = S x0 + Φ U, J = ½UᵀHU + gᵀU + const.
    /// Built by pushing unit controls through the dynamics, independent of any solver code.
    /// </summary>
    public (double[] H, double[] g) DenseQp(double[] x0)
    {
        int D = T * M;
        // Φ columns: state response to unit control (t0, j); states listed for t = 0..T.
        var phi = new double[D][];
        for (int c = 0; c < D; c++)
        {
            var u = new double[D]; u[c] = 1;
            phi[c] = Roll(new double[N], u);
        }
        var free = Roll(x0, new double[D]);
        var H = new double[D * D];
        var g = new double[D];
        for (int a = 0; a < D; a++)
        {
            for (int c = 0; c < D; c++)
            {
                double s = 0;
                for (int t = 0; t <= T; t++) s += QForm(t == T ? Qf : Q, phi[a], phi[c], t);
                if (a / M == c / M) s += R[(a % M) * M + c % M];
                H[a * D + c] = s;
            }
            double gs = 0;
            for (int t = 0; t <= T; t++)
            {
                gs += QForm(t == T ? Qf : Q, phi[a], free, t);
                var lin = t == T ? qf : q;
                for (int i = 0; i < N; i++) gs += lin[i] * phi[a][t * N + i];
            }
            gs += r[a % M];
            g[a] = gs;
        }
        return (H, g);
    }

    private double QForm(double[] w, double[] xa, double[] xb, int t)
    {
        double s = 0;
        for (int i = 0; i < N; i++) for (int j = 0; j < N; j++) s += xa[t * N + i] * w[i * N + j] * xb[t * N + j];
        return s;
    }

    private double[] Roll(double[] x0, double[] u)
    {
        var xs = new double[(T + 1) * N];
        x0.CopyTo(xs, 0);
        for (int t = 0; t < T; t++)
            for (int i = 0; i < N; i++)
            {
                double s = 0;
                for (int j = 0; j < N; j++) s += A[i * N + j] * xs[t * N + j];
                for (int j = 0; j < M; j++) s += B[i * M + j] * u[t * M + j];
                xs[(t + 1) * N + i] = s;
            }
        return xs;
    }
}

/// <summary>Box-constrained QP by projected Gauss–Seidel (coordinate descent with clamping): slow but obviously right.</summary>
public static class ReferenceQp
{
    public static double[] Solve(double[] H, double[] g, int D, double lo, double hi, int sweeps = 20000)
    {
        var x = new double[D];
        for (int s = 0; s < sweeps; s++)
        {
            double change = 0;
            for (int i = 0; i < D; i++)
            {
                double r = g[i];
                for (int j = 0; j < D; j++) if (j != i) r += H[i * D + j] * x[j];
                double xi = Math.Clamp(-r / H[i * D + i], lo, hi);
                change = Math.Max(change, Math.Abs(xi - x[i]));
                x[i] = xi;
            }
            if (change < 1e-14) break;
        }
        return x;
    }
}
