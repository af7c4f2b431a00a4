using DiffTori.Autodiff;
using DiffTori.Engine;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace DiffTori.TrajOpt;

public sealed partial class MlpShootingResidual
{
    /// <summary>
    /// The kernel's backward pass for the solver's recorded iterations (<see cref="ISecondOrderScalarKernel"/>):
    /// the forward pass at u, a tangent pass along ḡ through the same networks (z_0 has no tangent, a_t has ḡ_t),
    /// then the reverse pass of r with tangents, which gives g and its tangent H·ḡ at every input and collects the
    /// parameter gradients of φ = r̄·r + ḡ·g. The structure is the forward one read backwards: the reward at every
    /// step at once (its adjoint is the constant −γᵗ), the chosen value network, π, then the dynamics step by step.
    /// </summary>
    private sealed partial class ShootingKernel : ISecondOrderScalarKernel
    {
        private Var? _start;
        private int _epoch;                           // counts SetStart and BeginRecording calls
        private int _recordedEpoch;                   // _epoch right after the last BeginRecording
        private int _recordedSteps;                   // its number of regions kept (steps)
        private bool _recordedValid;                  // the recorded regions hold the activations of the running backward pass
        private MlpGradients[]? _grads;               // dynamics, reward, each value network, π
        private double[] _x0Bar = [];
        private int _backwardBatch;                   // the batch the buffers below hold
        private float[] _residualScratch = [], _rBarRows = [], _zeros = [];
        private float[][] _zDot = [];                 // [t] tangents of z_t
        private float[] _zaDot = [], _piDot = [], _valueInDot = [];
        private float[] _rewardSeed = [], _rewardInA = [], _rewardInADot = [];
        private float[] _valueSeed = [], _valueInA = [], _valueInADot = [], _partA = [], _partADot = [];
        private float[] _piA = [], _piADot = [], _piInA = [], _piInADot = [];
        private float[] _zA = [], _zADot = [], _zaA = [], _zaADot = [];

        private sealed record State(Var Start, int Epoch);

        public void BeginRecording(int steps)
        {
            _recordedEpoch = ++_epoch;
            _recordedSteps = steps;
            Reserve(Batch, steps + 1);
        }

        public void EvaluateRecorded(int step, ReadOnlySpan<float> u, Span<float> residuals, Span<float> gradients)
        {
            if (step < 0 || step >= _recordedSteps) throw new ArgumentOutOfRangeException(nameof(step), $"MlpShootingResidual kernel: recorded step {step}, {_recordedSteps} begun");
            _region = step + 1;
            try { EvaluateInRegion(0, Batch, u, residuals, gradients); }
            finally { _region = 0; }
        }

        public IReadOnlyList<Var> Inputs
        {
            get
            {
                var inputs = new List<Var> { _start ?? throw new InvalidOperationException("MlpShootingResidual kernel: no start set") };
                foreach (var g in Gradients()) inputs.AddRange(g.Parameters());
                return inputs;
            }
        }

        public object Checkpoint() => new State(_start ?? throw new InvalidOperationException("MlpShootingResidual kernel: no start set"), _epoch);

        public void BeginBackward(object checkpoint)
        {
            var state = (State)checkpoint;
            // The kept activations serve when nothing started or recorded since the checkpoint and the last event was a
            // recording; after another solve, the start is set again and the backward pass evaluates again.
            _recordedValid = state.Epoch == _epoch && _recordedEpoch == _epoch;
            if (state.Epoch != _epoch) SetStart(state.Start);
            foreach (var g in Gradients()) g.Clear();
            ReserveBackward(Batch);
            Array.Clear(_x0Bar);
        }

        private MlpGradients[] Gradients()
        {
            if (_grads is null)
            {
                var list = new List<MlpGradients> { _dyn.NewGradients(), _rew.NewGradients() };
                foreach (var v in _vals) list.Add(v.NewGradients());
                if (_pi is not null) list.Add(_pi.NewGradients());
                _grads = [.. list];
            }
            return _grads;
        }

        public Tensor?[] EndBackward()
        {
            var result = new List<Tensor?> { Tensor.FromDoubles(_x0Bar, new Shape(Batch, _p.LatentDim), DType.Float32) };
            foreach (var g in Gradients()) result.AddRange(g.Finish());
            return [.. result];
        }

        private void ReserveBackward(int batch)
        {
            if (batch == _backwardBatch) return;
            int n = _p.LatentDim, m = _p.ActionDim, h = _p.Horizon, nm = n + m, rows = h * batch;
            int piDim = _pi?.OutDim ?? 0, valueIn = ValueInDim;
            _backwardBatch = batch;
            _x0Bar = new double[batch * n];
            _residualScratch = new float[batch];
            _rBarRows = new float[rows];
            _zeros = new float[rows * Math.Max(nm, valueIn)];
            _zDot = new float[h + 1][];
            for (int t = 0; t <= h; t++) _zDot[t] = new float[batch * n];
            _zaDot = new float[rows * nm];
            _piDot = new float[batch * piDim];
            _valueInDot = new float[batch * valueIn];
            _rewardSeed = new float[rows];
            _rewardInA = new float[rows * nm];
            _rewardInADot = new float[rows * nm];
            _valueSeed = new float[batch];
            _valueInA = new float[batch * valueIn];
            _valueInADot = new float[batch * valueIn];
            _partA = new float[batch * valueIn];
            _partADot = new float[batch * valueIn];
            _piA = new float[batch * piDim];
            _piADot = new float[batch * piDim];
            _piInA = new float[batch * n];
            _piInADot = new float[batch * n];
            _zA = new float[batch * n];
            _zADot = new float[batch * n];
            _zaA = new float[batch * nm];
            _zaADot = new float[batch * nm];
        }

        public void AccumulateBackward(int step, ReadOnlySpan<float> u, ReadOnlySpan<float> rBar, ReadOnlySpan<float> gBar, Span<float> uBar)
        {
            if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), $"MlpShootingResidual kernel: backward of recorded step {step}");
            // The step's own region when it still holds that step's activations; else region 0, evaluated again.
            _region = _recordedValid && step < _recordedSteps ? step + 1 : 0;
            try { Backward(u, rBar, gBar, uBar); }
            finally { _region = 0; }
        }

        private void Backward(ReadOnlySpan<float> u, ReadOnlySpan<float> rBar, ReadOnlySpan<float> gBar, Span<float> uBar)
        {
            int n = _p.LatentDim, m = _p.ActionDim, h = _p.Horizon, d = h * m, nm = n + m, valueIn = ValueInDim;
            int batch = _backwardBatch;
            if (batch == 0) throw new InvalidOperationException("MlpShootingResidual kernel: AccumulateBackward before BeginBackward");
            if (u.Length != batch * d || rBar.Length != batch || gBar.Length != batch * d || uBar.Length != batch * d)
                throw new TensorShapeException($"MlpShootingResidual kernel backward: for {batch} examples u, ḡ and ū need {batch * d} elements and r̄ {batch}, got {u.Length}, {gBar.Length}, {uBar.Length} and {rBar.Length}");
            var grads = Gradients();
            MlpGradients dynGrads = grads[0], rewGrads = grads[1];

            // The forward pass at u keeps every activation (and which value network each example chose), unless kept already.
            if (_region == 0) EvaluateInRegion(0, batch, u, _residualScratch, default);
            var chosen = Chosen(batch);
            int rows = RowSlots, examples = ExampleSlots;

            // Tangents along u̇ = ḡ: z_0 is fixed, a_t moves by ḡ_t.
            Array.Clear(_zDot[0]);
            for (int t = 0; t < h; t++)
            {
                var zaDot = _zaDot.AsSpan(t * batch * nm, batch * nm);
                JoinRows(_zDot[t], n, gBar[(t * m)..], d, m, zaDot, batch);
                _dyn.TangentForward(rows + t * batch, batch, zaDot, _zDot[t + 1]);
            }
            _rew.TangentForward(rows, h * batch, _zaDot, default);
            var valueInDot = _valueInDot.AsSpan(0, batch * valueIn);
            if (_pi is not null) _pi.TangentForward(examples, batch, _zDot[h], _piDot);
            JoinRows(_zDot[h], n, _piDot, _pi?.OutDim ?? 0, _pi?.OutDim ?? 0, valueInDot, batch);
            for (int i = 0; i < _vals.Length; i++)
                if (chosen.IndexOf(i) >= 0) _vals[i].TangentForward(examples, batch, valueInDot, default);

            // Reverse with tangents. r = offset − Σ γᵗR_t − γᴴ·min Q: the seeds are constants (no tangent).
            for (int t = 0; t < h; t++)
            {
                _rewardSeed.AsSpan(t * batch, batch).Fill(-_discount[t]);
                rBar.CopyTo(_rBarRows.AsSpan(t * batch, batch));
            }
            _rew.SecondOrderVjp(rows, h * batch, _rewardSeed, _zeros, _rBarRows, _rewardInA, _rewardInADot, rewGrads);

            var valueInA = _valueInA.AsSpan(0, batch * valueIn);
            var valueInADot = _valueInADot.AsSpan(0, batch * valueIn);
            valueInA.Clear();
            valueInADot.Clear();
            for (int i = 0; i < _vals.Length; i++)
            {
                if (chosen.IndexOf(i) < 0) continue;
                for (int b = 0; b < batch; b++) _valueSeed[b] = chosen[b] == i ? -_discount[h] : 0;
                _vals[i].SecondOrderVjp(examples, batch, _valueSeed, _zeros, rBar, _partA, _partADot, grads[2 + i]);
                TensorPrimitives.Add(valueInA, _partA.AsSpan(0, batch * valueIn), valueInA);
                TensorPrimitives.Add(valueInADot, _partADot.AsSpan(0, batch * valueIn), valueInADot);
            }
            for (int b = 0; b < batch; b++)
            {
                valueInA.Slice(b * valueIn, n).CopyTo(_zA.AsSpan(b * n, n));
                valueInADot.Slice(b * valueIn, n).CopyTo(_zADot.AsSpan(b * n, n));
            }
            if (_pi is not null)
            {
                int p = _pi.OutDim;
                for (int b = 0; b < batch; b++)
                {
                    valueInA.Slice(b * valueIn + n, p).CopyTo(_piA.AsSpan(b * p, p));
                    valueInADot.Slice(b * valueIn + n, p).CopyTo(_piADot.AsSpan(b * p, p));
                }
                _pi.SecondOrderVjp(examples, batch, _piA, _piADot, rBar, _piInA, _piInADot, grads[^1]);
                TensorPrimitives.Add(_zA, _piInA, _zA);
                TensorPrimitives.Add(_zADot, _piInADot, _zADot);
            }
            for (int t = h - 1; t >= 0; t--)
            {
                _dyn.SecondOrderVjp(rows + t * batch, batch, _zA, _zADot, rBar, _zaA, _zaADot, dynGrads);
                TensorPrimitives.Add(_zaA, _rewardInA.AsSpan(t * batch * nm, batch * nm), _zaA);
                TensorPrimitives.Add(_zaADot, _rewardInADot.AsSpan(t * batch * nm, batch * nm), _zaADot);
                for (int b = 0; b < batch; b++)
                {
                    // ∇ᵤφ at a_t: r̄·g + H·ḡ, g being the adjoint and H·ḡ its tangent.
                    for (int j = 0; j < m; j++)
                        uBar[b * d + t * m + j] += rBar[b] * _zaA[b * nm + n + j] + _zaADot[b * nm + n + j];
                    _zaA.AsSpan(b * nm, n).CopyTo(_zA.AsSpan(b * n, n));
                    _zaADot.AsSpan(b * nm, n).CopyTo(_zADot.AsSpan(b * n, n));
                }
            }
            for (int b = 0; b < batch; b++)
                for (int i = 0; i < n; i++) _x0Bar[b * n + i] += (double)rBar[b] * _zA[b * n + i] + _zADot[b * n + i];
        }
    }
}
