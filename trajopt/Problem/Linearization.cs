namespace DiffTori.TrajOpt;

/// <summary>
/// First and second-order model of a trajectory problem along a nominal (X, U), for a batch, in flat
/// row-major double arrays (example-major, then time):
///   A [B,T,n,n] = ∂f/∂x,  Bu [B,T,n,m] = ∂f/∂u,
///   Lx [B,T+1,n], Lxx [B,T+1,n,n]  (index T holds the terminal cost), Lu [B,T,m], Luu [B,T,m,m], Lux [B,T,m,n].
/// </summary>
public sealed class Linearization
{
    public Linearization(int batch, int horizon, int n, int m)
    {
        Batch = batch; Horizon = horizon; N = n; M = m;
        A = new double[batch * horizon * n * n];
        Bu = new double[batch * horizon * n * m];
        Lx = new double[batch * (horizon + 1) * n];
        Lxx = new double[batch * (horizon + 1) * n * n];
        Lu = new double[batch * horizon * m];
        Luu = new double[batch * horizon * m * m];
        Lux = new double[batch * horizon * m * n];
    }

    public int Batch { get; }
    public int Horizon { get; }
    public int N { get; }
    public int M { get; }
    public double[] A { get; }
    public double[] Bu { get; }
    public double[] Lx { get; }
    public double[] Lxx { get; }
    public double[] Lu { get; }
    public double[] Luu { get; }
    public double[] Lux { get; }

    public Span<double> ASpan(int b, int t) => A.AsSpan((b * Horizon + t) * N * N, N * N);
    public Span<double> BSpan(int b, int t) => Bu.AsSpan((b * Horizon + t) * N * M, N * M);
    public Span<double> LxSpan(int b, int t) => Lx.AsSpan((b * (Horizon + 1) + t) * N, N);
    public Span<double> LxxSpan(int b, int t) => Lxx.AsSpan((b * (Horizon + 1) + t) * N * N, N * N);
    public Span<double> LuSpan(int b, int t) => Lu.AsSpan((b * Horizon + t) * M, M);
    public Span<double> LuuSpan(int b, int t) => Luu.AsSpan((b * Horizon + t) * M * M, M * M);
    public Span<double> LuxSpan(int b, int t) => Lux.AsSpan((b * Horizon + t) * M * N, M * N);
}
