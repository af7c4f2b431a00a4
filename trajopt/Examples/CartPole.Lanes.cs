using System.Runtime.Intrinsics;

namespace DiffTori.TrajOpt.Examples;

// The closed-form cart-pole for eight examples at once (one per Vector512 lane), same expressions as the scalar
// Step/Stage/Terminal in the same order and the same sin/cos, so a lane rounds exactly as the scalar model.
public static partial class CartPole
{
    private sealed partial class Dynamics : IAnalyticDynamicsLanes
    {
        public void StepLanes(ReadOnlySpan<Vector512<double>> x, ReadOnlySpan<Vector512<double>> u, Span<Vector512<double>> next,
            Span<Vector512<double>> a, Span<Vector512<double>> b)
        {
            const double M = Mc + Mp, Ml = Mp * L, Kx = Mp * L / (Mc + Mp), Kd = Mp / (Mc + Mp);
            var vel = x[1]; var th = x[2]; var w = x[3];
            var (s, c) = LaneMath.SinCos(th);
            var temp = (u[0] + Ml * (w * w) * s) / Vector512.Create(M);
            var den = L * (Vector512.Create(4.0 / 3.0) - Kd * (c * c));
            var num = G * s - c * temp;
            var thAcc = num / den;
            var xAcc = temp - Kx * thAcc * c;
            next[0] = x[0] + Dt * vel; next[1] = vel + Dt * xAcc; next[2] = th + Dt * w; next[3] = w + Dt * thAcc;
            if (a.IsEmpty) return;
            var dTempTh = Ml * (w * w) * c / Vector512.Create(M);
            var dTempW = 2 * Ml * w * s / Vector512.Create(M);
            const double dTempU = 1 / M;
            var dDenTh = L * Kd * 2 * c * s;
            var dThTh = (G * c + s * temp - c * dTempTh) / den - thAcc * dDenTh / den;
            var dThW = -c * dTempW / den; var dThU = -c * dTempU / den;
            var dXTh = dTempTh - Kx * (dThTh * c - thAcc * s); var dXW = dTempW - Kx * dThW * c; var dXU = Vector512.Create(dTempU) - Kx * dThU * c;
            a.Clear();
            var one = Vector512<double>.One; var dt = Vector512.Create(Dt);
            a[0] = one; a[1] = dt;
            a[5] = one; a[6] = Dt * dXTh; a[7] = Dt * dXW;
            a[10] = one; a[11] = dt;
            a[14] = Dt * dThTh; a[15] = one + Dt * dThW;
            b[0] = Vector512<double>.Zero; b[1] = Dt * dXU; b[2] = Vector512<double>.Zero; b[3] = Dt * dThU;
        }
    }

    private sealed partial class QuadraticCost : IAnalyticCostLanes
    {
        public Vector512<double> StageLanes(int t, ReadOnlySpan<Vector512<double>> x, ReadOnlySpan<Vector512<double>> u,
            Span<Vector512<double>> gx, Span<Vector512<double>> gu, Span<Vector512<double>> hxx, Span<Vector512<double>> huu, Span<Vector512<double>> hux)
        {
            var v = R * u[0] * u[0];
            for (int i = 0; i < 4; i++) v += 0.5 * Q[i] * x[i] * x[i];
            if (!gx.IsEmpty)
            {
                hxx.Clear(); hux.Clear();
                for (int i = 0; i < 4; i++) { gx[i] = Q[i] * x[i]; hxx[i * 5] = Vector512.Create(Q[i]); }
                gu[0] = 2 * R * u[0]; huu[0] = Vector512.Create(2 * R);
            }
            return v;
        }

        public Vector512<double> TerminalLanes(ReadOnlySpan<Vector512<double>> x, Span<Vector512<double>> gx, Span<Vector512<double>> hxx)
        {
            var v = Vector512<double>.Zero;
            for (int i = 0; i < 4; i++) v += 0.5 * CartPole.Terminal * Q[i] * x[i] * x[i];
            if (!gx.IsEmpty)
            {
                hxx.Clear();
                for (int i = 0; i < 4; i++) { gx[i] = CartPole.Terminal * Q[i] * x[i]; hxx[i * 5] = Vector512.Create(CartPole.Terminal * Q[i]); }
            }
            return v;
        }
    }
}
