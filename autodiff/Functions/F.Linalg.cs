using DiffTori.Engine;

namespace DiffTori.Autodiff;

public static partial class F
{
    // Differentiable dense linear algebra, batched over leading axes: A [..., n, n], B [..., n, k]
    // (a B of rank A.Rank − 1, i.e. [..., n], is one right-hand side).

    /// <summary>
    /// Lower Cholesky factor L of a symmetric positive-definite A (only its lower triangle is read).
    /// Rule (Murray 2016, as in PyTorch): P = Φ(Lᵀ·L̄) with Φ = lower triangle, diagonal halved, made
    /// symmetric; Ā = L⁻ᵀ·P·L⁻¹ by two triangular solves. The gradient is symmetric.
    /// </summary>
    public static Var Cholesky(Var a)
    {
        RequireSquare("F.Cholesky", a);
        return Record.Op("cholesky", Ops.Cholesky(a.Value), a, static (n, g) =>
        {
            var l = n.Out;
            int size = l.Shape[l.Rank - 1];
            var p = Matmul(l, g, transA: true) * Constant(TriangleMask(size, l.DType, l.Device, lower: true, diagonal: true));
            var strict = p * Constant(TriangleMask(size, l.DType, l.Device, lower: true, diagonal: false));
            var sym = 0.5 * (p + Transpose(strict));
            var left = TriangularSolve(l, sym, lower: true, transposeA: true);               // L⁻ᵀ·P
            return Transpose(TriangularSolve(l, Transpose(left), lower: true, transposeA: true)); // (L⁻ᵀ·(L⁻ᵀP)ᵀ)ᵀ = L⁻ᵀ·P·L⁻¹
        });
    }

    /// <summary>
    /// X = op(A)⁻¹·B for triangular A (op = transpose when transposeA). Rules: B̄ = op(A)⁻ᵀ·X̄ (the solve
    /// with the other transpose), Ā = −B̄·Xᵀ (or −X·B̄ᵀ for transposeA), restricted to A's triangle.
    /// </summary>
    public static Var TriangularSolve(Var a, Var b, bool lower, bool transposeA = false, bool unitDiagonal = false)
    {
        RequireSquare("F.TriangularSolve", a);
        if (b.Rank == a.Rank - 1) return Squeeze(TriangularSolve(a, Unsqueeze(b, -1), lower, transposeA, unitDiagonal), -1);
        var y = Record.Op("triangular_solve", Ops.TriangularSolve(a.Value, b.Value, lower, transposeA, unitDiagonal), a, b, static (n, g) =>
        {
            bool lower = n.Flag0, trans = n.Flag1, unit = n.I0 == 1;
            var gb = TriangularSolve(n.A, g, lower, !trans, unit);
            Var? ga = null;
            if (n.Needs(0))
            {
                var full = trans ? Matmul(n.Out, gb, transB: true) : Matmul(gb, n.Out, transB: true);
                int size = n.A.Shape[n.A.Rank - 1];
                var mask = Constant(TriangleMask(size, n.A.DType, n.A.Device, lower, diagonal: !unit));
                ga = SumTo(-(full * mask), n.A.Shape);
            }
            return (ga, n.Needs(1) ? SumTo(gb, n.B.Shape) : null);
        });
        if (y.Node is { } node) { node.Flag0 = lower; node.Flag1 = transposeA; node.I0 = unitDiagonal ? 1 : 0; }
        return y;
    }

    /// <summary>X = A⁻¹·B by LU with partial pivoting. Rules: B̄ = A⁻ᵀ·X̄, Ā = −B̄·Xᵀ.</summary>
    public static Var Solve(Var a, Var b)
    {
        RequireSquare("F.Solve", a);
        if (b.Rank == a.Rank - 1) return Squeeze(Solve(a, Unsqueeze(b, -1)), -1);
        return Record.Op("solve", Ops.Solve(a.Value, b.Value), a, b, static (n, g) =>
        {
            var gb = Solve(Transpose(n.A), g);
            Var? ga = n.Needs(0) ? SumTo(-Matmul(gb, n.Out, transB: true), n.A.Shape) : null;
            return (ga, n.Needs(1) ? SumTo(gb, n.B.Shape) : null);
        });
    }

    /// <summary>A⁻¹·B given A's lower Cholesky factor L: two triangular solves (differentiable in L and B).</summary>
    public static Var CholeskySolve(Var l, Var b) =>
        TriangularSolve(l, TriangularSolve(l, b, lower: true), lower: true, transposeA: true);

    /// <summary>A⁻¹·B for symmetric positive-definite A, through its Cholesky factor.</summary>
    public static Var SolveSpd(Var a, Var b) => CholeskySolve(Cholesky(a), b);

    /// <summary>A⁻¹ (by LU).</summary>
    public static Var Inverse(Var a)
    {
        RequireSquare("F.Inverse", a);
        int size = a.Shape[a.Rank - 1];
        return Solve(a, Expand(Constant(Tensor.Eye(size, a.DType, a.Device)), a.Shape));
    }

    /// <summary>(A + Aᵀ)/2 of the last two axes.</summary>
    public static Var Symmetrize(Var a) => 0.5 * (a + Transpose(a));

    /// <summary>1 on (lower or upper) triangle, with or without the diagonal; an [n, n] constant that broadcasts over batches.</summary>
    private static Tensor TriangleMask(int n, DType dtype, Device device, bool lower, bool diagonal)
    {
        var host = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                host[i * n + j] = (lower ? j < i : j > i) || (diagonal && i == j) ? 1 : 0;
        return Tensor.FromDoubles(host, new Shape(n, n), dtype, device);
    }

    private static void RequireSquare(string op, Var a)
    {
        if (a.Rank < 2 || a.Shape[a.Rank - 1] != a.Shape[a.Rank - 2])
            throw new TensorShapeException($"{op}: A must be [..., n, n], got {a.Shape}");
    }
}
