using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;
using static DiffTori.Autodiff.Tests.AutodiffGens;

namespace DiffTori.Autodiff.Tests;

/// <summary>One random instance of an op: float64 inputs and the function of them to check.</summary>
public sealed record OpInstance(string Description, Tensor[] Inputs, Func<Var[], Var> Fn, GradCheckOptions? Options = null)
{
    public override string ToString() => Description;
}

/// <summary>
/// A generator of random instances for every differentiable function in F (primitives, fused and
/// composite forms). The property tests run GradCheck and GradGradCheck on each.
/// </summary>
public static class OpCases
{
    public static readonly IReadOnlyDictionary<string, Gen<OpInstance>> All = Build();

    private static Gen<OpInstance> Unary(string name, Func<Var, Var> f, Func<Shape, int, Tensor>? data = null, int minRank = 0) =>
        from s in Shape(minRank) from seed in Seed
        select new OpInstance($"{name} {s} seed {seed}", [(data ?? ((sh, sd) => Values(sh, sd)))(s, seed)], xs => f(xs[0]));

    private static Gen<OpInstance> Binary(string name, Func<Var, Var, Var> f, Func<Shape, int, Tensor>? a = null, Func<Shape, int, Tensor>? b = null) =>
        from p in BroadcastablePair() from seed in Seed
        select new OpInstance($"{name} {p.A} {p.B} seed {seed}",
            [(a ?? ((sh, sd) => Values(sh, sd)))(p.A, seed), (b ?? ((sh, sd) => Values(sh, sd)))(p.B, seed + 1)], xs => f(xs[0], xs[1]));

    /// <summary>A non-empty subset of the axes of a rank-r shape, as an array (possibly empty = all axes).</summary>
    private static Gen<int[]> Axes(int rank) =>
        from mask in Gen.ArrayOf(Gen.Elements(true, false), rank)
        from negative in Gen.Elements(true, false)
        select Enumerable.Range(0, rank).Where(i => mask[i]).Select(i => negative ? i - rank : i).ToArray();

    private static Gen<OpInstance> Reduction(string name, Func<Var, int[], bool, Var> f, bool distinct = false) =>
        from s in Shape(0) from axes in Axes(s.Rank) from keep in Gen.Elements(true, false) from seed in Seed
        select new OpInstance($"{name} {s} axes [{string.Join(",", axes)}] keep {keep} seed {seed}",
            [distinct ? Distinct(s, seed) : Values(s, seed)], xs => f(xs[0], axes, keep));

    private static Dictionary<string, Gen<OpInstance>> Build()
    {
        var c = new Dictionary<string, Gen<OpInstance>>();
        Func<Shape, int, Tensor> positive = (s, seed) => Values(s, seed, 0.3, 2);
        Func<Shape, int, Tensor> away = (s, seed) => AwayFromZero(s, seed);

        // ---- elementwise unary ----
        c["neg"] = Unary("neg", F.Neg);
        c["exp"] = Unary("exp", F.Exp);
        c["log"] = Unary("log", F.Log, positive);
        c["sqrt"] = Unary("sqrt", F.Sqrt, positive);
        c["rsqrt"] = Unary("rsqrt", F.Rsqrt, positive);
        c["tanh"] = Unary("tanh", F.Tanh);
        c["sin"] = Unary("sin", F.Sin);
        c["cos"] = Unary("cos", F.Cos);
        c["square"] = Unary("square", F.Square);
        c["reciprocal"] = Unary("reciprocal", F.Reciprocal, (s, seed) => AwayFromZero(s, seed, 0.5));
        c["abs"] = Unary("abs", F.Abs, away);
        c["pow_scalar"] = from p in Gen.Elements(2.0, 3.0, 0.5, -1.5) from inst in Unary($"pow {p}", x => F.Pow(x, p), positive) select inst;
        c["affine"] = from sc in Gen.Elements(-1.5, 0.5, 2.0) from sh in Gen.Elements(0.0, 1.25) from inst in Unary($"affine {sc} {sh}", x => F.Affine(x, sc, sh)) select inst;
        c["operators_scalar"] = Unary("x*2 - 1/x + 3 - x/4", x => x * 2 - 1.0 / x + 3 - x / 4 + (2.0 - x), (s, seed) => AwayFromZero(s, seed, 0.5));
        c["div_scalar_by"] = Unary("1.7/x", x => F.DivScalarBy(1.7, x), (s, seed) => AwayFromZero(s, seed, 0.5));
        c["clamp"] = Unary("clamp(-0.32, 0.27)", x => F.Clamp(x, -0.32, 0.27), (s, seed) => Distinct(s, seed));
        c["relu"] = Unary("relu", F.Relu, away);
        c["elu_grad"] = from alpha in Gen.Elements(1.0, 0.5) from s in Shape(0) from seed in Seed
                        select new OpInstance($"elu_grad {alpha} {s}", [Values(s, seed), AwayFromZero(s, seed + 1), Values(s, seed + 2)],
                            xs => F.EluGrad(xs[0], xs[1], xs[2], alpha));
        c["elu_grad_y"] = from s in Shape(0) from seed in Seed
                          select new OpInstance($"elu_grad_y {s}", [Values(s, seed), Values(s, seed + 1), AwayFromZero(s, seed + 2)],
                              xs => F.EluGradY(xs[0], xs[1], xs[2]));
        c["elu"] = from alpha in Gen.Elements(1.0, 0.5) from inst in Unary($"elu {alpha}", x => F.Elu(x, alpha), away) select inst;
        c["sigmoid"] = Unary("sigmoid", F.Sigmoid);
        c["sigmoid_composite"] = Unary("sigmoid composite", F.SigmoidComposite);
        c["silu"] = Unary("silu", F.Silu);
        c["silu_composite"] = Unary("silu composite", F.SiluComposite);
        c["mish"] = Unary("mish", F.Mish);
        c["mish_composite"] = Unary("mish composite", F.MishComposite);
        c["softplus"] = from beta in Gen.Elements(1.0, 2.0) from inst in Unary($"softplus {beta}", x => F.Softplus(x, beta)) select inst;

        // ---- elementwise binary, broadcasting ----
        c["add"] = Binary("add", F.Add);
        c["sub"] = Binary("sub", F.Sub);
        c["mul"] = Binary("mul", F.Mul);
        c["div"] = Binary("div", F.Div, b: (s, seed) => AwayFromZero(s, seed, 0.5));
        c["pow"] = Binary("pow", F.Pow, a: positive, b: (s, seed) => Values(s, seed, -1.5, 1.5));
        c["maximum"] = Binary("maximum", F.Maximum);
        c["minimum"] = Binary("minimum", F.Minimum);
        c["where"] =
            from p in BroadcastablePair() from cs in Gen.Elements(true, false) from seed in Seed
            let condShape = cs ? p.A : p.B
            select new OpInstance($"where {condShape} {p.A} {p.B}", [Values(p.A, seed), Values(p.B, seed + 1)],
                xs => F.Where(Tensor.FromDoubles(AutodiffGens.Doubles(condShape.Length, seed + 2, 0, 1).Select(v => v < 0.5 ? 0.0 : 1.0).ToArray(), condShape, DType.Float64), xs[0], xs[1]));

        // ---- reductions ----
        c["sum"] = Reduction("sum", (x, a, k) => F.Sum(x, a, k));
        c["mean"] = Reduction("mean", (x, a, k) => F.Mean(x, a, k));
        c["max"] = Reduction("max", (x, a, k) => F.Max(x, a, k), distinct: true);
        c["min"] = Reduction("min", (x, a, k) => F.Min(x, a, k), distinct: true);
        c["logsumexp"] = Reduction("logsumexp", (x, a, k) => F.LogSumExp(x, a, k));
        c["variance"] = from corr in Gen.Elements(0, 1) from inst in Reduction($"variance c{corr}", (x, a, k) => F.Variance(x, a, corr, k)) select inst;

        // ---- shape ----
        c["reshape"] = from s in Shape(1) from seed in Seed
                       select new OpInstance($"reshape {s}", [Values(s, seed)], xs => F.Reshape(xs[0], s.ToArray().Reverse().ToArray()) * Constant(Probe(new Shape(s.ToArray().Reverse().ToArray()))));
        c["flatten_unsqueeze_squeeze"] = Unary("flatten/unsqueeze/squeeze", x => F.Squeeze(F.Unsqueeze(F.Flatten(x), 0), 0) * Constant(Probe(new Shape(x.Length))));
        c["transpose"] = from s in Shape(2) from a0 in Gen.Choose(0, s.Rank - 1) from a1 in Gen.Choose(0, s.Rank - 1) from seed in Seed
                         select new OpInstance($"transpose {s} {a0} {a1}", [Values(s, seed)], xs => Weighted(F.Transpose(xs[0], a0, a1)));
        c["permute"] = from s in Shape(1) from seed in Seed
                       let order = Enumerable.Range(0, s.Rank).OrderBy(i => (i * 7919 + seed) % 13).ToArray()
                       select new OpInstance($"permute {s} [{string.Join(",", order)}]", [Values(s, seed)], xs => Weighted(F.Permute(xs[0], order)));
        c["expand"] = from p in BroadcastablePair() from seed in Seed
                      let target = Broadcast.Shapes("test", p.A, p.B)
                      select new OpInstance($"expand {p.A} to {target}", [Values(p.A, seed)], xs => Weighted(F.Expand(xs[0], target)));
        c["sum_to"] = from p in BroadcastablePair() from seed in Seed
                      let full = Broadcast.Shapes("test", p.A, p.B)
                      select new OpInstance($"sum_to {full} to {p.A}", [Values(full, seed)], xs => Weighted(F.SumTo(xs[0], p.A)));
        c["narrow"] = from s in Shape(1) from axis in Gen.Choose(0, s.Rank - 1) from start in Gen.Choose(0, s[axis] - 1)
                      from len in Gen.Choose(1, s[axis] - start) from seed in Seed
                      select new OpInstance($"narrow {s} axis {axis} [{start}, +{len})", [Values(s, seed)], xs => Weighted(F.Narrow(xs[0], axis, start, len)));
        c["select"] = from s in Shape(1) from axis in Gen.Choose(0, s.Rank - 1) from index in Gen.Choose(0, s[axis] - 1) from seed in Seed
                      select new OpInstance($"select {s} axis {axis} index {index}", [Values(s, seed)], xs => Weighted(F.Select(xs[0], axis, index)));
        c["pad"] = from s in Shape(1) from pads in Gen.ArrayOf(Gen.Choose(0, 2), 2 * Math.Min(s.Rank, 2)) from value in Gen.Elements(0.0, 1.5) from seed in Seed
                   select new OpInstance($"pad {s} [{string.Join(",", pads)}] value {value}", [Values(s, seed)], xs => Weighted(F.Pad(xs[0], pads, value)));
        c["concat"] = from s in Shape(1) from axis in Gen.Choose(0, s.Rank - 1) from extra in Gen.Choose(1, 3) from seed in Seed
                      let s2 = s.With(axis, extra)
                      select new OpInstance($"concat {s} {s2} axis {axis}", [Values(s, seed), Values(s2, seed + 1), Values(s, seed + 2)],
                          xs => Weighted(F.Concat([xs[0], xs[1], xs[2]], axis)));
        c["stack"] = from s in Shape(0) from axis in Gen.Choose(0, s.Rank) from seed in Seed
                     select new OpInstance($"stack {s} axis {axis}", [Values(s, seed), Values(s, seed + 1)], xs => Weighted(F.Stack([xs[0], xs[1]], axis)));
        c["split_chunk"] = from s in Shape(1) from axis in Gen.Choose(0, s.Rank - 1) from count in Gen.Choose(1, 3) from seed in Seed
                           select new OpInstance($"chunk {s} into {count} along {axis}", [Values(s, seed)], xs =>
                           {
                               var parts = F.Chunk(xs[0], count, axis);
                               Var total = F.Sum(F.Square(parts[0]));
                               for (int i = 1; i < parts.Length; i++) total += (i + 1) * F.Sum(F.Exp(parts[i]));
                               return total;
                           });
        c["index_select"] = from s in Shape(1) from axis in Gen.Choose(0, s.Rank - 1) from k in Gen.Choose(1, 5) from seed in Seed
                            let index = Indices(new Shape(k), s[axis], seed)
                            select new OpInstance($"index_select {s} axis {axis} k {k}", [Values(s, seed)], xs => Weighted(F.IndexSelect(xs[0], axis, index)));
        c["index_add"] = from s in Shape(1) from axis in Gen.Choose(0, s.Rank - 1) from k in Gen.Choose(1, 5) from seed in Seed
                         let index = Indices(new Shape(k), s[axis], seed)
                         select new OpInstance($"index_add {s} axis {axis} k {k}", [Values(s.With(axis, k), seed)], xs => Weighted(F.IndexAdd(s, axis, index, xs[0])));
        c["gather"] = from s in Shape(1) from axis in Gen.Choose(0, s.Rank - 1) from k in Gen.Choose(1, 4) from seed in Seed
                      let index = Indices(s.With(axis, k), s[axis], seed)
                      select new OpInstance($"gather {s} axis {axis} k {k}", [Values(s, seed)], xs => Weighted(F.Gather(xs[0], axis, index)));
        c["scatter_add"] = from s in Shape(1) from axis in Gen.Choose(0, s.Rank - 1) from k in Gen.Choose(1, 4) from seed in Seed
                           let index = Indices(s.With(axis, k), s[axis], seed)
                           select new OpInstance($"scatter_add {s} axis {axis} k {k}", [Values(s.With(axis, k), seed)], xs => Weighted(F.ScatterAdd(s, axis, index, xs[0])));

        // ---- products ----
        c["matmul"] = from m in Extent() from k in Extent() from n in Extent() from batchA in Gen.Elements(0, 1, 3) from batchB in Gen.Elements(0, 1, 3)
                      from ta in Gen.Elements(true, false) from tb in Gen.Elements(true, false) from seed in Seed
                      where batchA == batchB || batchA <= 1 || batchB <= 1
                      let sa = Batch(batchA, ta ? new Shape(k, m) : new Shape(m, k))
                      let sb = Batch(batchB, tb ? new Shape(n, k) : new Shape(k, n))
                      select new OpInstance($"matmul {sa} {sb} ta {ta} tb {tb}", [Values(sa, seed), Values(sb, seed + 1)], xs => F.Matmul(xs[0], xs[1], ta, tb));
        c["matmul_vector"] = from m in Extent() from k in Extent() from kind in Gen.Choose(0, 2) from seed in Seed
                             let sa = kind == 1 ? new Shape(m, k) : new Shape(k)
                             let sb = kind == 0 ? new Shape(k, m) : new Shape(k)
                             select new OpInstance($"matmul {sa} {sb}", [Values(sa, seed), Values(sb, seed + 1)], xs => F.Matmul(xs[0], xs[1]));
        c["linear"] = LinearCase("linear", F.Linear);
        c["linear_composite"] = LinearCase("linear composite", F.LinearComposite);
        c["linear_elu"] = from alpha in Gen.Elements(1.0, 0.5) from inst in LinearCase($"linear_elu {alpha}", (x, w, b) => F.LinearElu(x, w, b, alpha)) select inst;

        // ---- softmax family, norms, losses ----
        c["softmax"] = from s in Shape(1) from axis in Gen.Choose(-s.Rank, s.Rank - 1) from seed in Seed
                       select new OpInstance($"softmax {s} axis {axis}", [Values(s, seed)], xs => Weighted(F.Softmax(xs[0], axis)));
        c["softmax_composite"] = from s in Shape(1) from axis in Gen.Choose(-s.Rank, s.Rank - 1) from seed in Seed
                                 select new OpInstance($"softmax composite {s} axis {axis}", [Values(s, seed)], xs => Weighted(F.SoftmaxComposite(xs[0], axis)));
        c["log_softmax"] = from s in Shape(1) from axis in Gen.Choose(-s.Rank, s.Rank - 1) from seed in Seed
                           select new OpInstance($"log_softmax {s} axis {axis}", [Values(s, seed)], xs => F.LogSoftmax(xs[0], axis));
        c["log_softmax_composite"] = from s in Shape(1) from axis in Gen.Choose(-s.Rank, s.Rank - 1) from seed in Seed
                                     select new OpInstance($"log_softmax composite {s} axis {axis}", [Values(s, seed)], xs => F.LogSoftmaxComposite(xs[0], axis));
        c["layer_norm"] = LayerNormCase("layer_norm", (x, w, b, k) => F.LayerNorm(x, w, b, 1e-5, k));
        c["layer_norm_composite"] = LayerNormCase("layer_norm composite", (x, w, b, k) => F.LayerNormComposite(x, w, b, 1e-5, k));
        c["group_norm"] = from n in Gen.Choose(1, 2) from groups in Gen.Choose(1, 2) from per in Gen.Choose(1, 2) from l in Gen.Choose(2, 3)
                          from affine in Gen.Elements(true, false) from seed in Seed
                          let s = new Shape(n, groups * per, l)
                          select new OpInstance($"group_norm {s} groups {groups} affine {affine}",
                              [Values(s, seed), Values(new Shape(groups * per), seed + 1), Values(new Shape(groups * per), seed + 2)],
                              xs => Weighted(F.GroupNorm(xs[0], groups, affine ? xs[1] : null, affine ? xs[2] : null)));
        c["mse"] = Binary("mse", F.Mse);
        c["mse_same_shape"] = from s in Shape(0) from seed in Seed
                              select new OpInstance($"mse (fused) {s}", [Values(s, seed), Values(s, seed + 1)], xs => F.Mse(xs[0], xs[1]));
        c["weighted_sse"] = from p in BroadcastablePair() from seed in Seed
                            select new OpInstance($"weighted_sse {p.A} {p.B}", [Values(p.A, seed), Values(p.B, seed + 1), Values(p.A, seed + 2, 0.1, 1)], xs => F.WeightedSse(xs[0], xs[1], xs[2]));
        c["cross_entropy"] = CrossEntropyCase("cross_entropy", F.CrossEntropy);
        c["cross_entropy_composite"] = CrossEntropyCase("cross_entropy composite", F.CrossEntropyComposite);
        c["gaussian_log_prob"] = from s in Shape(0) from seed in Seed
                                 select new OpInstance($"gaussian_log_prob {s}", [Values(s, seed), Values(s, seed + 1), Values(s, seed + 2, -1, 1)], xs => F.GaussianLogProb(xs[0], xs[1], xs[2]));
        c["kl_normal"] = from s in Shape(0) from seed in Seed
                         select new OpInstance($"kl_normal {s}", [Values(s, seed), Values(s, seed + 1, -1, 1), Values(s, seed + 2), Values(s, seed + 3, -1, 1)], xs => F.KlNormal(xs[0], xs[1], xs[2], xs[3]));
        c["kl_normal_standard"] = from s in Shape(0) from seed in Seed
                                  select new OpInstance($"kl_normal standard {s}", [Values(s, seed), Values(s, seed + 1, -1, 1)], xs => F.KlNormal(xs[0], xs[1]));
        c["dropout"] = from s in Shape(1) from p in Gen.Elements(0.2, 0.5) from seed in Seed
                       select new OpInstance($"dropout {s} p {p}", [Values(s, seed)], xs => F.Dropout(xs[0], p, new RandomGenerator((ulong)seed), training: true));

        // ---- convolution and pooling ----
        c["conv2d"] = from n in Gen.Choose(1, 2) from groups in Gen.Choose(1, 2) from cin in Gen.Choose(1, 2) from cout in Gen.Choose(1, 2)
                      from h in Gen.Choose(3, 5) from w in Gen.Choose(3, 5) from kh in Gen.Choose(1, 3) from kw in Gen.Choose(1, 3)
                      from sh in Gen.Choose(1, 2) from sw in Gen.Choose(1, 2) from ph in Gen.Choose(0, 1) from pw in Gen.Choose(0, 1)
                      from dh in Gen.Choose(1, 2) from bias in Gen.Elements(true, false) from seed in Seed
                      where h + 2 * ph - dh * (kh - 1) >= 1 && w + 2 * pw - (kw - 1) >= 1
                      let xs = new Shape(n, cin * groups, h, w)
                      let ws = new Shape(cout * groups, cin, kh, kw)
                      select new OpInstance($"conv2d x {xs} w {ws} stride ({sh},{sw}) pad ({ph},{pw}) dil ({dh},1) groups {groups} bias {bias}",
                          [Values(xs, seed), Values(ws, seed + 1), Values(new Shape(cout * groups), seed + 2)],
                          v => Weighted(F.Conv2d(v[0], v[1], bias ? v[2] : null, (sh, sw), (ph, pw), (dh, 1), groups)));
        c["conv1d"] = from n in Gen.Choose(1, 2) from cin in Gen.Choose(1, 3) from cout in Gen.Choose(1, 3) from l in Gen.Choose(3, 6)
                      from k in Gen.Choose(1, 3) from stride in Gen.Choose(1, 2) from pad in Gen.Choose(0, 1) from dil in Gen.Choose(1, 2) from seed in Seed
                      where l + 2 * pad - dil * (k - 1) >= 1
                      select new OpInstance($"conv1d [{n},{cin},{l}] k {k} cout {cout} s {stride} p {pad} d {dil}",
                          [Values(new Shape(n, cin, l), seed), Values(new Shape(cout, cin, k), seed + 1), Values(new Shape(cout), seed + 2)],
                          v => Weighted(F.Conv1d(v[0], v[1], v[2], stride, pad, dil)));
        c["conv_transpose1d"] = from n in Gen.Choose(1, 2) from cin in Gen.Choose(1, 3) from cout in Gen.Choose(1, 3) from l in Gen.Choose(2, 4)
                                from k in Gen.Choose(1, 3) from stride in Gen.Choose(1, 2) from pad in Gen.Choose(0, 1) from op in Gen.Choose(0, 1) from seed in Seed
                                where op < stride && (l - 1) * stride - 2 * pad + (k - 1) + op + 1 >= 1
                                select new OpInstance($"conv_transpose1d [{n},{cin},{l}] k {k} cout {cout} s {stride} p {pad} op {op}",
                                    [Values(new Shape(n, cin, l), seed), Values(new Shape(cin, cout, k), seed + 1), Values(new Shape(cout), seed + 2)],
                                    v => Weighted(F.ConvTranspose1d(v[0], v[1], v[2], stride, pad, op)));
        c["conv_transpose2d"] = from cin in Gen.Choose(1, 2) from cout in Gen.Choose(1, 2) from h in Gen.Choose(2, 3) from k in Gen.Choose(1, 3)
                                from stride in Gen.Choose(1, 2) from seed in Seed
                                select new OpInstance($"conv_transpose2d [1,{cin},{h},{h}] k {k} cout {cout} s {stride}",
                                    [Values(new Shape(1, cin, h, h), seed), Values(new Shape(cin, cout, k, k), seed + 1)],
                                    v => Weighted(F.ConvTranspose2d(v[0], v[1], null, (stride, stride))));
        c["max_pool2d"] = from n in Gen.Choose(1, 2) from ch in Gen.Choose(1, 2) from h in Gen.Choose(2, 5) from w in Gen.Choose(2, 5)
                          from k in Gen.Choose(1, 2) from stride in Gen.Choose(1, 2) from seed in Seed
                          where h >= k && w >= k
                          let s = new Shape(n, ch, h, w)
                          select new OpInstance($"max_pool2d {s} k {k} s {stride}", [Distinct(s, seed)], v => Weighted(F.MaxPool2d(v[0], (k, k), (stride, stride))));
        c["avg_pool2d"] = from n in Gen.Choose(1, 2) from ch in Gen.Choose(1, 2) from h in Gen.Choose(2, 5) from w in Gen.Choose(2, 5)
                          from k in Gen.Choose(1, 3) from stride in Gen.Choose(1, 2) from pad in Gen.Choose(0, 1) from seed in Seed
                          where h + 2 * pad >= k && w + 2 * pad >= k && pad * 2 <= k
                          let s = new Shape(n, ch, h, w)
                          select new OpInstance($"avg_pool2d {s} k {k} s {stride} p {pad}", [Values(s, seed)], v => Weighted(F.AvgPool2d(v[0], (k, k), (stride, stride), (pad, pad))));

        // ---- linear algebra ----
        c["cholesky"] = from batch in Gen.Elements(0, 2) from n in Gen.Choose(1, 4) from seed in Seed
                        select new OpInstance($"cholesky batch {batch} n {n}", [Spd(batch, n, seed)], v => Weighted(F.Cholesky(F.Symmetrize(v[0]))));
        c["triangular_solve"] = from batch in Gen.Elements(0, 2) from n in Gen.Choose(1, 4) from k in Gen.Choose(1, 3) from lower in Gen.Elements(true, false)
                                from trans in Gen.Elements(true, false) from unit in Gen.Elements(true, false) from vector in Gen.Elements(true, false) from seed in Seed
                                let bs = vector ? Batch(batch, new Shape(n)) : Batch(batch, new Shape(n, k))
                                select new OpInstance($"triangular_solve batch {batch} n {n} b {bs} lower {lower} trans {trans} unit {unit}",
                                    [Triangular(batch, n, seed, lower), Values(bs, seed + 1)], v => Weighted(F.TriangularSolve(v[0], v[1], lower, trans, unit)));
        c["solve"] = from batch in Gen.Elements(0, 2) from n in Gen.Choose(1, 4) from k in Gen.Choose(1, 3) from vector in Gen.Elements(true, false) from seed in Seed
                     let bs = vector ? Batch(batch, new Shape(n)) : Batch(batch, new Shape(n, k))
                     select new OpInstance($"solve batch {batch} n {n} b {bs}", [WellConditioned(batch, n, seed), Values(bs, seed + 1)], v => Weighted(F.Solve(v[0], v[1])));
        c["solve_spd"] = from batch in Gen.Elements(0, 2) from n in Gen.Choose(1, 4) from k in Gen.Choose(1, 2) from seed in Seed
                         let bs = Batch(batch, new Shape(n, k))
                         select new OpInstance($"solve_spd batch {batch} n {n} k {k}", [Spd(batch, n, seed), Values(bs, seed + 1)], v => Weighted(F.SolveSpd(F.Symmetrize(v[0]), v[1])));
        c["inverse"] = from batch in Gen.Elements(0, 2) from n in Gen.Choose(1, 3) from seed in Seed
                       select new OpInstance($"inverse batch {batch} n {n}", [WellConditioned(batch, n, seed)], v => Weighted(F.Inverse(v[0])));
        return c;
    }

    private static Gen<OpInstance> LinearCase(string name, Func<Var, Var, Var?, Var> f) =>
        from lead in Shape(0, 2, 3) from inF in Extent() from outF in Extent() from bias in Gen.Elements(true, false) from seed in Seed
        let xs = lead.Insert(lead.Rank, inF)
        select new OpInstance($"{name} x {xs} out {outF} bias {bias}",
            [Values(xs, seed), Values(new Shape(outF, inF), seed + 1), Values(new Shape(outF), seed + 2)],
            v => Weighted(f(v[0], v[1], bias ? v[2] : null)));

    private static Gen<OpInstance> LayerNormCase(string name, Func<Var, Var?, Var?, int, Var> f) =>
        from s in Shape(1, 3) from k in Gen.Choose(1, 2) from w in Gen.Elements(true, false) from b in Gen.Elements(true, false) from seed in Seed
        where k <= s.Rank && NormalizedCount(s, k) >= 2
        let ps = new Shape(s.ToArray()[(s.Rank - k)..])
        select new OpInstance($"{name} {s} axes {k} weight {w} bias {b}", [Values(s, seed), Values(ps, seed + 1), Values(ps, seed + 2)],
            v => Weighted(f(v[0], w ? v[1] : null, b ? v[2] : null, k)));

    private static int NormalizedCount(Shape s, int k)
    {
        int count = 1;
        for (int i = s.Rank - k; i < s.Rank; i++) count *= s[i];
        return count;
    }

    private static Gen<OpInstance> CrossEntropyCase(string name, Func<Var, Tensor, Var> f) =>
        from n in Gen.Choose(1, 4) from classes in Gen.Choose(2, 5) from seed in Seed
        let targets = Indices(new Shape(n), classes, seed)
        select new OpInstance($"{name} [{n}, {classes}]", [Values(new Shape(n, classes), seed)], v => f(v[0], targets));

    private static Shape Batch(int batch, Shape s) => batch == 0 ? s : s.Insert(0, batch);

    /// <summary>⟨w, y⟩ with fixed weights, so a linear op still has a non-trivial scalar output.</summary>
    private static Var Weighted(Var y) => F.Sum(y * Constant(Probe(y.Shape)));

    private static Var Constant(Tensor t) => new(t);

    private static Tensor Probe(Shape s)
    {
        var v = AutodiffGens.Doubles(s.Length, 12345, -1, 1);
        return Tensor.FromDoubles(v, s, DType.Float64);
    }
}
