using DiffTori.Autodiff;
using DiffTori.Engine;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace DiffTori.TrajOpt;

public sealed partial class MlpShootingResidual
{
    /// <summary>
    /// The residual and its gradient in u for a block of examples at once, without a graph. Every network runs on
    /// all the block's rows in one pass over its weights (the dynamics once per step, the reward once for all steps),
    /// so a batch of B examples reads the weights as often as one example does. Rows are laid out step-major:
    /// row t·count + b is example b at step t, which keeps each step's rows contiguous for the network kernels.
    /// </summary>
    private sealed partial class ShootingKernel : IScalarResidualKernel
    {
        private readonly MlpShootingResidual _p;
        private readonly float[] _discount;          // γᵗ for t ≤ H, as the Var residual's double·Var multiplies
        private MlpKernel _dyn, _rew;
        private MlpKernel[] _vals;                   // the value networks, all on [z_H, π(z_H)]
        private MlpKernel? _pi;
        private float[] _za = [];                    // [t, b] inputs [z_t, a_t]: the reward runs on all of them at once
        private float[][] _z = [];                   // [t] latents z_t of every example (t ≤ H)
        private float[] _rewards = [], _rewardBars = [], _zaBarRewards = [];
        private float[] _valueIn = [], _valueInBar = [], _valueInBarPart = [], _values = [], _minValues = [], _valueBars = [];
        private float[] _piOut = [], _piOutBar = [], _piBar = [], _zaBar = [], _zBar = [], _g = [];
        private int[] _chosen = [];                  // [region, example] the value network whose output was the minimum
        private int _examples, _regions;             // what the slots hold: regions × examples uses of each network
        private int _region;                         // the region the running evaluation keeps its activations in
        private float[] _x0 = [];

        private ShootingKernel(MlpShootingResidual p, MlpKernel dyn, MlpKernel rew, MlpKernel[] vals, MlpKernel? pi)
        {
            _p = p;
            _dyn = dyn; _rew = rew; _vals = vals; _pi = pi;
            _discount = new float[p.Horizon + 1];
            double d = 1;
            for (int t = 0; t <= p.Horizon; t++) { _discount[t] = (float)d; d *= p.Discount; }
            Reserve(1, 1);
        }

        public int Dim => _p.Horizon * _p.ActionDim;

        private int ValueInDim => _vals[0].InDim;

        public static ShootingKernel? TryCreate(MlpShootingResidual p, out string? reason)
        {
            int n = p.LatentDim, m = p.ActionDim, h = p.Horizon;
            var dyn = MlpKernel.TryCreate(p._dynamics, h, out reason);
            if (dyn is null) { reason = "dynamics: " + reason; return null; }
            var rew = MlpKernel.TryCreate(p._reward, h, out reason);
            if (rew is null) { reason = "reward: " + reason; return null; }
            var vals = new MlpKernel[p._values.Length];
            for (int i = 0; i < vals.Length; i++)
            {
                var val = MlpKernel.TryCreate(p._values[i], 1, out reason);
                if (val is null) { reason = $"value {i}: " + reason; return null; }
                vals[i] = val;
            }
            MlpKernel? pi = null;
            if (p._policy is { } policy && (pi = MlpKernel.TryCreate(policy, 1, out reason, tanhOutput: p._tanhPolicy)) is null) { reason = "policy: " + reason; return null; }
            if (dyn.InDim != n + m || dyn.OutDim != n) throw Shapes("dynamics", dyn, $"{n + m} → {n}");
            if (rew.InDim != n + m || rew.OutDim != 1) throw Shapes("reward", rew, $"{n + m} → 1");
            if (pi is not null && pi.InDim != n) throw Shapes("policy", pi, $"{n} → any");
            int valueIn = n + (pi?.OutDim ?? 0);
            for (int i = 0; i < vals.Length; i++)
                if (vals[i].InDim != valueIn || vals[i].OutDim != 1) throw Shapes($"value {i}", vals[i], $"{valueIn} → 1");
            reason = null;
            return new ShootingKernel(p, dyn, rew, vals, pi);
        }

        private static TensorShapeException Shapes(string what, MlpKernel k, string expected) =>
            new($"MlpShootingResidual: the {what} network maps {k.InDim} → {k.OutDim}, expected {expected}");

        /// <summary>
        /// Buffers for <paramref name="examples"/> examples per call, and slots for <paramref name="regions"/> evaluations
        /// whose activations are kept apart (region 0 for any evaluation, one more per recorded iteration); allocates only
        /// when either grows.
        /// </summary>
        private void Reserve(int examples, int regions)
        {
            if (examples <= _examples && regions <= _regions) return;
            examples = Math.Max(examples, _examples);
            regions = Math.Max(regions, _regions);
            (_examples, _regions) = (examples, regions);
            int n = _p.LatentDim, m = _p.ActionDim, h = _p.Horizon, rows = h * examples;
            int piDim = _pi?.OutDim ?? 0;
            _dyn = _dyn.WithAtLeastSlots(rows * regions);
            _rew = _rew.WithAtLeastSlots(rows * regions);
            for (int i = 0; i < _vals.Length; i++) _vals[i] = _vals[i].WithAtLeastSlots(examples * regions);
            _pi = _pi?.WithAtLeastSlots(examples * regions);
            _za = new float[rows * (n + m)];
            _z = new float[h + 1][];
            for (int t = 0; t <= h; t++) _z[t] = new float[examples * n];
            _rewards = new float[rows];
            _rewardBars = new float[rows];
            _zaBarRewards = new float[rows * (n + m)];
            _valueIn = new float[examples * ValueInDim];
            _valueInBar = new float[examples * ValueInDim];
            _valueInBarPart = new float[examples * ValueInDim];
            _values = new float[examples];
            _minValues = new float[examples];
            _valueBars = new float[examples];
            _piOut = new float[examples * piDim];
            _piOutBar = new float[examples * piDim];
            _piBar = new float[examples * n];
            _zaBar = new float[examples * (n + m)];
            _zBar = new float[examples * n];
            _g = new float[examples];
            _chosen = new int[examples * regions];
        }

        /// <summary>Starts from x0 [B, n] (its values now; the Var is what the recorded iterations differentiate).</summary>
        public void SetStart(Var start)
        {
            var x0 = start.Value;
            _start = start;
            _epoch++;
            if (_x0.Length != x0.Length) _x0 = new float[x0.Length];
            if (x0.IsContiguous) x0.AsSpan<float>().CopyTo(_x0);
            else using (var c = x0.Contiguous()) c.AsSpan<float>().CopyTo(_x0);
            Reserve(x0.Shape[0], 1);
            // The networks' weights as they are now (they change between solves, when the agent trains).
            _dyn.RefreshPanels();
            _rew.RefreshPanels();
            foreach (var v in _vals) v.RefreshPanels();
            _pi?.RefreshPanels();
        }

        public void Evaluate(int first, int count, ReadOnlySpan<float> u, Span<float> residuals, Span<float> gradients)
        {
            _region = 0;
            EvaluateInRegion(first, count, u, residuals, gradients);
        }

        /// <summary>
        /// The evaluation, keeping its activations in region <see cref="_region"/>: network slots from
        /// region·H·B (dynamics, reward) and region·B (π, values), B the batch.
        /// </summary>
        private void EvaluateInRegion(int first, int count, ReadOnlySpan<float> u, Span<float> residuals, Span<float> gradients)
        {
            int n = _p.LatentDim, m = _p.ActionDim, h = _p.Horizon, d = h * m, nm = n + m;
            int batch = _x0.Length / n;
            if (first < 0 || count < 1 || first + count > batch)
                throw new ArgumentOutOfRangeException(nameof(first), $"MlpShootingResidual kernel: examples {first}..{first + count - 1} of a batch of {batch}");
            if (u.Length != count * d || residuals.Length != count || (!gradients.IsEmpty && gradients.Length != count * d))
                throw new TensorShapeException($"MlpShootingResidual kernel: for {count} examples u and gradients need {count * d} elements and residuals {count}, got {u.Length}, {gradients.Length} and {residuals.Length}");
            // SetStart reserved buffers for the whole batch, so any block of it fits.

            // Forward: the dynamics step by step over all examples, then the reward over every [z_t, a_t] at once.
            _x0.AsSpan(first * n, count * n).CopyTo(_z[0]);
            for (int t = 0; t < h; t++)
            {
                var za = _za.AsSpan(t * count * nm, count * nm);
                JoinRows(_z[t], n, u[(t * m)..], d, m, za, count);
                _dyn.Forward(RowSlots + t * count, count, za, _z[t + 1]);
            }
            _rew.Forward(RowSlots, h * count, _za, _rewards);
            if (!gradients.IsEmpty)
            {
                // The reward's input gradients need only ∂r/∂R_t = −γᵗ, so they run now, while its weights are in cache.
                for (int t = 0; t < h; t++) _rewardBars.AsSpan(t * count, count).Fill(-_discount[t]);
                _rew.InputVjp(RowSlots, h * count, _rewardBars, _zaBarRewards);
            }
            for (int b = 0; b < count; b++)
            {
                float g = _discount[0] * _rewards[b];
                for (int t = 1; t < h; t++) g += _discount[t] * _rewards[t * count + b];
                _g[b] = g;
            }
            var zH = _z[h].AsSpan(0, count * n);
            var valueIn = _valueIn.AsSpan(0, count * ValueInDim);
            if (_pi is not null) _pi.Forward(ExampleSlots, count, zH, _piOut);
            JoinRows(zH, n, _piOut, _pi?.OutDim ?? 0, _pi?.OutDim ?? 0, valueIn, count);
            // min_i Q_i as F.Minimum folds it: the running minimum keeps its place where it is ≤ the next value.
            var chosen = Chosen(count);
            _vals[0].Forward(ExampleSlots, count, valueIn, _values);
            for (int b = 0; b < count; b++) { _minValues[b] = _values[b]; chosen[b] = 0; }
            for (int i = 1; i < _vals.Length; i++)
            {
                _vals[i].Forward(ExampleSlots, count, valueIn, _values);
                for (int b = 0; b < count; b++)
                    if (!(_minValues[b] <= _values[b])) { _minValues[b] = _values[b]; chosen[b] = i; }
            }
            for (int b = 0; b < count; b++) residuals[b] = (float)_p.Offset - (_g[b] + _discount[h] * _minValues[b]);
            if (gradients.IsEmpty) return;

            // Reverse pass: ∂r/∂G = −1; the minimum passes the value's gradient to the network each example chose.
            ValueInputGradient(count);
            var valueInBar = _valueInBar.AsSpan(0, count * ValueInDim);
            for (int b = 0; b < count; b++) valueInBar.Slice(b * ValueInDim, n).CopyTo(_zBar.AsSpan(b * n, n));
            if (_pi is not null)
            {
                int p = _pi.OutDim;
                for (int b = 0; b < count; b++) valueInBar.Slice(b * ValueInDim + n, p).CopyTo(_piOutBar.AsSpan(b * p, p));
                _pi.InputVjp(ExampleSlots, count, _piOutBar, _piBar);
                TensorPrimitives.Add(_zBar.AsSpan(0, count * n), _piBar.AsSpan(0, count * n), _zBar.AsSpan(0, count * n));
            }
            var zaBar = _zaBar.AsSpan(0, count * nm);
            for (int t = h - 1; t >= 0; t--)
            {
                _dyn.InputVjp(RowSlots + t * count, count, _zBar, zaBar);
                TensorPrimitives.Add(zaBar, _zaBarRewards.AsSpan(t * count * nm, count * nm), zaBar);
                for (int b = 0; b < count; b++)
                {
                    zaBar.Slice(b * nm + n, m).CopyTo(gradients.Slice(b * d + t * m, m));
                    zaBar.Slice(b * nm, n).CopyTo(_zBar.AsSpan(b * n, n));
                }
            }
        }

        /// <summary>
        /// dest row b = [left row b (leftWidth), right[b·rightStride …] (rightWidth)] for count rows: the networks' inputs
        /// [z_t, a_t] and [z_H, π(z_H)] (and their tangents) from the latents and the actions.
        /// </summary>
        private static void JoinRows(ReadOnlySpan<float> left, int leftWidth, ReadOnlySpan<float> right, int rightStride, int rightWidth,
            Span<float> dest, int count)
        {
            int width = leftWidth + rightWidth;
            for (int b = 0; b < count; b++)
            {
                left.Slice(b * leftWidth, leftWidth).CopyTo(dest.Slice(b * width, leftWidth));
                right.Slice(b * rightStride, rightWidth).CopyTo(dest.Slice(b * width + leftWidth, rightWidth));
            }
        }

        /// <summary>The batch B (the rows of x0).</summary>
        private int Batch => _x0.Length / _p.LatentDim;

        /// <summary>The first slot of the running region in the dynamics and the reward (H·B slots per region).</summary>
        private int RowSlots => _region * _p.Horizon * Batch;

        /// <summary>The first slot of the running region in π and the value networks (B slots per region).</summary>
        private int ExampleSlots => _region * Batch;

        /// <summary>The running region's choices of value network, for its first <paramref name="count"/> examples.</summary>
        private Span<int> Chosen(int count) => _chosen.AsSpan(_region * Batch, count);

        /// <summary>
        /// ∂r/∂[z_H, π(z_H)] into _valueInBar: each value network that some example chose runs its input gradient
        /// over all rows, with −γᴴ on the rows that chose it and 0 on the others, and the results are summed (an
        /// example gets exactly its own network's gradient plus zeros).
        /// </summary>
        private void ValueInputGradient(int count)
        {
            var sum = _valueInBar.AsSpan(0, count * ValueInDim);
            var part = _valueInBarPart.AsSpan(0, count * ValueInDim);
            bool any = false;
            for (int i = 0; i < _vals.Length; i++)
            {
                var chosen = Chosen(count);
                if (chosen.IndexOf(i) < 0) continue;
                for (int b = 0; b < count; b++) _valueBars[b] = chosen[b] == i ? -_discount[_p.Horizon] : 0;
                _vals[i].InputVjp(ExampleSlots, count, _valueBars, any ? part : sum);
                if (any) TensorPrimitives.Add(sum, part, sum);
                any = true;
            }
        }
    }
}
