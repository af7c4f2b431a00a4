using System.Numerics;

namespace DiffTori.Autodiff.Optim;

/// <summary>
/// Fused update loops for CPU parameters: one pass over memory per parameter, SIMD through
/// <see cref="Vector{T}"/>, no allocation. T is float or double. Each function states its formula;
/// the scalar tail repeats the vector body exactly.
/// </summary>
internal static class OptimizerKernels
{
    /// <summary>
    /// SGD as torch.optim.SGD: d = g + wd·p; buf = d on a parameter's first step, else
    /// momentum·buf + (1 − dampening)·d; d = d + momentum·buf (Nesterov) or buf; p −= lr·d.
    /// With momentum 0 the buffer is not touched.
    /// </summary>
    public static void Sgd<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> buf, double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool firstStep)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T tLr = T.CreateChecked(lr), tMom = T.CreateChecked(momentum), tWd = T.CreateChecked(weightDecay);
        T tKeep = firstStep ? T.Zero : tMom, tNew = firstStep ? T.One : T.CreateChecked(1 - dampening);
        bool useMomentum = momentum != 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vLr = new Vector<T>(tLr); var vMom = new Vector<T>(tMom); var vWd = new Vector<T>(tWd);
            var vKeep = new Vector<T>(tKeep); var vNew = new Vector<T>(tNew);
            for (; i <= p.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var pv = new Vector<T>(p[i..]);
                var d = new Vector<T>(g[i..]) + vWd * pv;
                if (useMomentum)
                {
                    var b = vKeep * new Vector<T>(buf[i..]) + vNew * d;
                    b.CopyTo(buf[i..]);
                    d = nesterov ? d + vMom * b : b;
                }
                (pv - vLr * d).CopyTo(p[i..]);
            }
        }
        for (; i < p.Length; i++)
        {
            T d = g[i] + tWd * p[i];
            if (useMomentum)
            {
                T b = tKeep * buf[i] + tNew * d;
                buf[i] = b;
                d = nesterov ? d + tMom * b : b;
            }
            p[i] -= tLr * d;
        }
    }

    /// <summary>
    /// Adam / AdamW as torch.optim: p ·= (1 − lr·decoupledDecay); d = g + l2Decay·p;
    /// m = β1·m + (1 − β1)·d; v = β2·v + (1 − β2)·d²; p −= (lr / bc1) · m / (√v / √bc2 + ε),
    /// with bias corrections bc1 = 1 − β1^t and bc2 = 1 − β2^t at the parameter's step t (1-based).
    /// </summary>
    public static void Adam<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> m, Span<T> v, double lr, double beta1, double beta2, double eps,
        double l2Decay, double decoupledDecay, long step)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double bc1 = 1 - Math.Pow(beta1, step), bc2 = 1 - Math.Pow(beta2, step);
        T shrink = T.CreateChecked(1 - lr * decoupledDecay), wd = T.CreateChecked(l2Decay);
        T b1 = T.CreateChecked(beta1), c1 = T.CreateChecked(1 - beta1), b2 = T.CreateChecked(beta2), c2 = T.CreateChecked(1 - beta2);
        T stepSize = T.CreateChecked(lr / bc1), invSqrtBc2 = T.CreateChecked(1 / Math.Sqrt(bc2)), tEps = T.CreateChecked(eps);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vShrink = new Vector<T>(shrink); var vWd = new Vector<T>(wd);
            var vB1 = new Vector<T>(b1); var vC1 = new Vector<T>(c1); var vB2 = new Vector<T>(b2); var vC2 = new Vector<T>(c2);
            var vStep = new Vector<T>(stepSize); var vInv = new Vector<T>(invSqrtBc2); var vEps = new Vector<T>(tEps);
            for (; i <= p.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var pv = new Vector<T>(p[i..]) * vShrink;
                var d = new Vector<T>(g[i..]) + vWd * pv;
                var mv = vB1 * new Vector<T>(m[i..]) + vC1 * d;
                var vv = vB2 * new Vector<T>(v[i..]) + vC2 * d * d;
                mv.CopyTo(m[i..]);
                vv.CopyTo(v[i..]);
                (pv - vStep * mv / (Vector.SquareRoot(vv) * vInv + vEps)).CopyTo(p[i..]);
            }
        }
        for (; i < p.Length; i++)
        {
            T pi = p[i] * shrink;
            T d = g[i] + wd * pi;
            T mi = b1 * m[i] + c1 * d;
            T vi = b2 * v[i] + c2 * d * d;
            m[i] = mi;
            v[i] = vi;
            p[i] = pi - stepSize * mi / (T.Sqrt(vi) * invSqrtBc2 + tEps);
        }
    }
}
