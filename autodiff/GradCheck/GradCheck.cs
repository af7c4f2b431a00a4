using System.Globalization;
using DiffTori.Engine;

namespace DiffTori.Autodiff;

/// <summary>
/// Tolerances of a gradient check. An analytic value a passes against the finite difference n when
/// |a − n| ≤ Atol + Rtol·|n|. Eps is the central-difference step, applied in float64; the defaults are
/// PyTorch's (eps 1e-6, atol 1e-5, rtol 1e-3), right for smooth functions of O(1) inputs. Loosen atol
/// for functions with large curvature, and keep inputs away from kinks (relu at 0, ties in max).
/// </summary>
public sealed record GradCheckOptions(double Eps = 1e-6, double Atol = 1e-5, double Rtol = 1e-3)
{
    public static readonly GradCheckOptions Default = new();
}

/// <summary>The outcome of a check: pass/fail and the worst element (the one closest to, or furthest past, its tolerance).</summary>
public sealed record GradCheckReport(
    bool Passed, string What, int Input, int Element, double Analytic, double Numeric, double AbsError, double Tolerance, int ElementsChecked)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{What} {(Passed ? "passed" : "FAILED")}: worst at input {Input}, element {Element}: analytic {Analytic:G8}, numeric {Numeric:G8}, |diff| {AbsError:G3} (tolerance {Tolerance:G3}); {ElementsChecked} elements checked");
}

/// <summary>
/// Compares analytic gradients with central finite differences in float64, for any function of Vars.
/// A non-scalar output y is reduced as ⟨v, y⟩ with a fixed pseudo-random v, so every output element
/// contributes. <see cref="CheckSecondOrder"/> does the same for the gradient itself (grad-of-grad).
/// </summary>
public static class GradCheck
{
    /// <summary>Check ∂⟨v, f(x)⟩/∂x for every input (all are converted to float64 copies).</summary>
    public static GradCheckReport Check(Func<Var[], Var> f, IReadOnlyList<Tensor> inputs, GradCheckOptions? options = null) =>
        Run(f, inputs, options ?? GradCheckOptions.Default, "gradcheck");

    /// <summary>
    /// Check the second derivative: the function h(x) = ⟨u, ∇ₓ⟨v, f(x)⟩⟩, whose value needs the first-order
    /// rules and whose analytic gradient needs the backward of the backward (createGraph).
    /// </summary>
    public static GradCheckReport CheckSecondOrder(Func<Var[], Var> f, IReadOnlyList<Tensor> inputs, GradCheckOptions? options = null)
    {
        Var H(Var[] xs)
        {
            var y = f(xs);
            if (!y.RequiresGrad) return F.Scalar(0, xs[0]);
            var v = new Var(Probe(y.Shape, salt: 1));
            var grads = Autograd.Grad([y], xs, [v], createGraph: true, allowUnused: true);
            Var? total = null;
            for (int i = 0; i < grads.Length; i++)
            {
                var u = new Var(Probe(grads[i].Shape, salt: 2 + i));
                var term = F.Sum(grads[i] * u);
                total = total is null ? term : total + term;
            }
            return total ?? F.Scalar(0, xs[0]);
        }
        return Run(H, inputs, options ?? GradCheckOptions.Default, "gradgradcheck");
    }

    /// <summary>Throw with the report's text when a check fails (for tests).</summary>
    public static void Assert(Func<Var[], Var> f, IReadOnlyList<Tensor> inputs, GradCheckOptions? options = null, bool secondOrder = false)
    {
        var report = secondOrder ? CheckSecondOrder(f, inputs, options) : Check(f, inputs, options);
        if (!report.Passed) throw new GradCheckException(report);
    }

    private static GradCheckReport Run(Func<Var[], Var> f, IReadOnlyList<Tensor> inputs, GradCheckOptions o, string what)
    {
        var data = new Tensor[inputs.Count];
        var xs = new Var[inputs.Count];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = ToFloat64Cpu(inputs[i]);
            xs[i] = new Var(data[i], requiresGrad: data[i].DType.IsFloatingPoint(), name: $"input{i}");
        }

        // Analytic: one reverse pass seeded with v.
        Var[] analytic;
        Tensor seed;
        using (Autograd.EnableGrad())
        {
            var y = f(xs);
            seed = Probe(y.Shape, salt: 0);
            var differentiable = new List<Var>();
            foreach (var x in xs) if (x.RequiresGrad) differentiable.Add(x);
            analytic = y.RequiresGrad
                ? Autograd.Grad([y], differentiable, [new Var(seed)], allowUnused: true)
                : ZerosFor(differentiable);
        }

        // Numeric: central differences of ⟨v, f(x)⟩, one element at a time.
        var worst = new GradCheckReport(true, what, -1, -1, 0, 0, 0, 0, 0);
        double worstRatio = -1;
        int checkedCount = 0, k = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            if (!xs[i].RequiresGrad) continue;
            var a = analytic[k++].Value.ToDoubleArray();
            var values = data[i].CpuArray<double>();
            int offset = data[i].Offset;
            for (int j = 0; j < a.Length; j++)
            {
                double saved = values[offset + j];
                values[offset + j] = saved + o.Eps;
                double plus = Project(f, xs, seed);
                values[offset + j] = saved - o.Eps;
                double minus = Project(f, xs, seed);
                values[offset + j] = saved;
                double numeric = (plus - minus) / (2 * o.Eps);
                double diff = Math.Abs(a[j] - numeric);
                double tolerance = o.Atol + o.Rtol * Math.Abs(numeric);
                double ratio = double.IsNaN(diff) ? double.PositiveInfinity : diff / tolerance;
                checkedCount++;
                if (ratio > worstRatio)
                {
                    worstRatio = ratio;
                    worst = new GradCheckReport(ratio <= 1, what, i, j, a[j], numeric, diff, tolerance, 0);
                }
            }
        }
        return worst with { ElementsChecked = checkedCount };
    }

    private static double Project(Func<Var[], Var> f, Var[] xs, Tensor seed)
    {
        using (Autograd.EnableGrad()) // f may itself differentiate (second-order checks)
        {
            var y = f(xs);
            var yd = y.Value.ToDoubleArray();
            var v = seed.ToDoubleArray();
            double s = 0;
            for (int i = 0; i < yd.Length; i++) s += yd[i] * v[i];
            return s;
        }
    }

    private static Var[] ZerosFor(List<Var> xs)
    {
        var z = new Var[xs.Count];
        for (int i = 0; i < z.Length; i++) z[i] = new Var(Tensor.ZerosLike(xs[i].Value));
        return z;
    }

    /// <summary>A fixed, well-spread pseudo-random float64 tensor in [0.5, 1.5) (deterministic for a shape and salt).</summary>
    internal static Tensor Probe(in Shape shape, int salt)
    {
        var host = new double[shape.Length];
        ulong state = 0x9E3779B97F4A7C15UL * (ulong)(salt + 1);
        for (int i = 0; i < host.Length; i++)
        {
            state = state * 6364136223846793005UL + 1442695040888963407UL;
            host[i] = 0.5 + (state >> 11) * (1.0 / (1UL << 53));
        }
        return Tensor.FromDoubles(host, shape, DType.Float64);
    }

    private static Tensor ToFloat64Cpu(Tensor t)
    {
        using var cpu = t.To(Device.Cpu);
        return cpu.DType == DType.Int32 ? cpu.Clone() : cpu.Cast(DType.Float64);
    }
}

/// <summary>A failed gradient check; the message is the report.</summary>
public sealed class GradCheckException(GradCheckReport report) : Exception(report.ToString())
{
    public GradCheckReport Report { get; } = report;
}
