namespace DiffTori.Envs.Physics;

/// <summary>The two integrators MuJoCo offers for these models.</summary>
public enum Integrator
{
    /// <summary>Semi-implicit Euler (v then q), with joint damping integrated implicitly as MuJoCo does.</summary>
    Euler,
    /// <summary>Classic fourth-order Runge–Kutta on (q, v); damping explicit.</summary>
    RungeKutta4,
}

/// <summary>
/// A small articulated system written as its equations of motion M(q)·a + c(q, v) = τ, with the MuJoCo
/// parts that change trajectories: joint damping and armature, motor gears with clamped controls, soft
/// joint limits, and MuJoCo's integrators. Subclasses give M, c and the actuator map; all work is done on
/// the stack (nv ≤ 4 here), so a step allocates nothing.
/// </summary>
public abstract class RigidBodyModel
{
    public const int MaxDofs = 4;

    protected RigidBodyModel(int dofs, int actuators, double timestep, Integrator integrator)
    {
        if (dofs > MaxDofs) throw new ArgumentException($"RigidBodyModel: at most {MaxDofs} dofs, got {dofs}.");
        Dofs = dofs;
        Actuators = actuators;
        Timestep = timestep;
        Integrator = integrator;
        Damping = new double[dofs];
        Armature = new double[dofs];
        CtrlLow = Enumerable.Repeat(-1.0, actuators).ToArray();
        CtrlHigh = Enumerable.Repeat(1.0, actuators).ToArray();
    }

    public int Dofs { get; }
    public int Actuators { get; }
    /// <summary>Physics timestep in seconds (the model file's value; may be changed, as MuJoCo's opt.timestep).</summary>
    public double Timestep
    {
        get => _timestep;
        set => _timestep = value > 0 && double.IsFinite(value) ? value
            : throw new ArgumentException($"RigidBodyModel: timestep must be positive and finite, got {value}.");
    }

    double _timestep;
    public Integrator Integrator { get; }
    public double[] Damping { get; }
    public double[] Armature { get; }
    public double[] CtrlLow { get; }
    public double[] CtrlHigh { get; }
    public JointLimit[] Limits { get; protected set; } = [];

    /// <summary>diag(M⁻¹) at q = 0: MuJoCo's dof_invweight0, which scales the limits' softness.</summary>
    public double[] InvWeight0 { get; private set; } = [];

    /// <summary>Call at the end of a subclass constructor, once M is defined.</summary>
    protected void Finish()
    {
        int n = Dofs;
        Span<double> q = stackalloc double[n];
        Span<double> m = stackalloc double[n * n];
        Span<double> rhs = stackalloc double[n];
        FullMassMatrix(q, m);
        SmallDense.CholeskyInPlace(m, n, "RigidBodyModel.InvWeight0");
        InvWeight0 = new double[n];
        for (int j = 0; j < n; j++)
        {
            rhs.Clear();
            rhs[j] = 1;
            SmallDense.CholeskySolveInPlace(m, n, rhs);
            InvWeight0[j] = rhs[j];
        }
    }

    /// <summary>Joint-space inertia M(q), row-major n×n, without armature.</summary>
    public abstract void MassMatrix(ReadOnlySpan<double> q, Span<double> m);

    /// <summary>Bias forces c(q, v): Coriolis, centrifugal and gravity (MuJoCo's qfrc_bias).</summary>
    public abstract void BiasForces(ReadOnlySpan<double> q, ReadOnlySpan<double> v, Span<double> c);

    /// <summary>Generalized actuator forces for (already clamped) controls.</summary>
    public abstract void ActuatorForces(ReadOnlySpan<double> q, ReadOnlySpan<double> ctrl, Span<double> tau);

    public void FullMassMatrix(ReadOnlySpan<double> q, Span<double> m)
    {
        MassMatrix(q, m);
        for (int i = 0; i < Dofs; i++) m[i * Dofs + i] += Armature[i];
    }

    /// <summary>Total mechanical energy (kinetic + potential) for conservation checks.</summary>
    public abstract double Energy(ReadOnlySpan<double> q, ReadOnlySpan<double> v);

    /// <summary>One physics step of length <see cref="Timestep"/> in place, MuJoCo's mj_step semantics.</summary>
    public void Step(Span<double> q, Span<double> v, ReadOnlySpan<double> ctrl)
    {
        int n = Dofs;
        Span<double> tau = stackalloc double[n];
        Span<double> clamped = stackalloc double[Actuators];
        for (int i = 0; i < Actuators; i++) clamped[i] = Math.Clamp(ctrl[i], CtrlLow[i], CtrlHigh[i]);

        if (Integrator == Integrator.Euler)
        {
            Span<double> qacc = stackalloc double[n];
            Span<double> force = stackalloc double[n];
            Span<double> m = stackalloc double[n * n];
            ActuatorForces(q, clamped, tau);
            Accelerations(q, v, tau, qacc, force);
            // (M + h·D)·a = smooth + constraint force: damping taken implicitly, as MuJoCo's Euler does.
            FullMassMatrix(q, m);
            for (int i = 0; i < n; i++) m[i * n + i] += Timestep * Damping[i];
            SmallDense.CholeskyInPlace(m, n, "RigidBodyModel.Step");
            SmallDense.CholeskySolveInPlace(m, n, force);
            for (int i = 0; i < n; i++)
            {
                v[i] += Timestep * force[i];
                q[i] += Timestep * v[i];
            }
            return;
        }

        // RK4 with MuJoCo's tableau: stages at 0, h/2, h/2, h; weights 1/6, 1/3, 1/3, 1/6.
        double h = Timestep;
        Span<double> q0 = stackalloc double[n];
        Span<double> v0 = stackalloc double[n];
        Span<double> qs = stackalloc double[n];
        Span<double> vs = stackalloc double[n];
        Span<double> a = stackalloc double[n];
        Span<double> unused = stackalloc double[n];
        Span<double> dq = stackalloc double[n];
        Span<double> dv = stackalloc double[n];
        q.CopyTo(q0);
        v.CopyTo(v0);
        q.CopyTo(qs);
        v.CopyTo(vs);
        ReadOnlySpan<double> stageTime = [0.0, 0.5, 0.5, 1.0];
        ReadOnlySpan<double> weight = [1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6];
        dq.Clear();
        dv.Clear();
        for (int stage = 0; stage < 4; stage++)
        {
            ActuatorForces(qs, clamped, tau);
            Accelerations(qs, vs, tau, a, unused);
            for (int i = 0; i < n; i++)
            {
                dq[i] += weight[stage] * vs[i];
                dv[i] += weight[stage] * a[i];
            }
            if (stage == 3) break;
            double c = stageTime[stage + 1] * h;
            for (int i = 0; i < n; i++)
            {
                double vi = vs[i];
                qs[i] = q0[i] + c * vi;
                vs[i] = v0[i] + c * a[i];
            }
        }
        for (int i = 0; i < n; i++)
        {
            q[i] = q0[i] + h * dq[i];
            v[i] = v0[i] + h * dv[i];
        }
    }

    /// <summary>
    /// Forward dynamics: <paramref name="qacc"/> = M⁻¹(τ − D·v − c + Jᵀf) with the limit forces f of MuJoCo's
    /// soft-constraint problem; <paramref name="totalForce"/> receives τ − D·v − c + Jᵀf.
    /// </summary>
    public void Accelerations(ReadOnlySpan<double> q, ReadOnlySpan<double> v, ReadOnlySpan<double> tau,
        Span<double> qacc, Span<double> totalForce)
    {
        int n = Dofs;
        Span<double> m = stackalloc double[n * n];
        Span<double> c = stackalloc double[n];
        FullMassMatrix(q, m);
        BiasForces(q, v, c);
        for (int i = 0; i < n; i++) totalForce[i] = tau[i] - Damping[i] * v[i] - c[i];
        SmallDense.CholeskyInPlace(m, n, "RigidBodyModel.Accelerations");
        totalForce.CopyTo(qacc);
        SmallDense.CholeskySolveInPlace(m, n, qacc);
        if (Limits.Length > 0) ApplyLimits(q, v, m, qacc, totalForce);
    }

    // Active rows of the limits: unilateral, Jacobian ±e_dof. Solves min ½fᵀ(A+R)f + fᵀ(J·a0 − aref), f ≥ 0,
    // by projected Gauss–Seidel to convergence (at most a handful of rows, so this is exact to rounding).
    void ApplyLimits(ReadOnlySpan<double> q, ReadOnlySpan<double> v, ReadOnlySpan<double> choleskyM,
        Span<double> qacc, Span<double> totalForce)
    {
        int n = Dofs;
        int maxRows = 2 * Limits.Length;
        Span<int> rowDof = stackalloc int[maxRows];
        Span<double> rowSign = stackalloc double[maxRows];
        Span<double> rowR = stackalloc double[maxRows];
        Span<double> rowBias = stackalloc double[maxRows];
        int rows = 0;
        foreach (var limit in Limits)
        {
            int d = limit.Dof;
            for (int side = 0; side < 2; side++)
            {
                // Lower side: distance q − lower, Jacobian +e_d; upper side: upper − q, Jacobian −e_d.
                double sign = side == 0 ? 1.0 : -1.0;
                double distance = side == 0 ? q[d] - limit.Lower : limit.Upper - q[d];
                if (distance >= 0) continue;
                var (r, aref) = limit.Terms(distance, sign * v[d], InvWeight0[d], Timestep);
                rowDof[rows] = d;
                rowSign[rows] = sign;
                rowR[rows] = r;
                rowBias[rows] = sign * qacc[d] - aref; // J·a0 − aref
                rows++;
            }
        }
        if (rows == 0) return;

        // A = J M⁻¹ Jᵀ from the columns of M⁻¹ at the rows' dofs.
        Span<double> minvCols = stackalloc double[rows * n];
        for (int r = 0; r < rows; r++)
        {
            var col = minvCols.Slice(r * n, n);
            col.Clear();
            col[rowDof[r]] = 1;
            SmallDense.CholeskySolveInPlace(choleskyM, n, col);
        }
        Span<double> a = stackalloc double[rows * rows];
        for (int r = 0; r < rows; r++)
            for (int s = 0; s < rows; s++)
                a[r * rows + s] = rowSign[r] * rowSign[s] * minvCols[s * n + rowDof[r]];
        Span<double> f = stackalloc double[rows];
        f.Clear();
        for (int sweep = 0; sweep < 200; sweep++)
        {
            double change = 0;
            for (int r = 0; r < rows; r++)
            {
                double residual = rowBias[r];
                for (int s = 0; s < rows; s++) residual += a[r * rows + s] * f[s];
                residual += rowR[r] * f[r];
                double updated = Math.Max(0, f[r] - residual / (a[r * rows + r] + rowR[r]));
                change = Math.Max(change, Math.Abs(updated - f[r]));
                f[r] = updated;
            }
            if (change <= 1e-15 * (1 + Math.Abs(f[0]))) break;
        }
        for (int r = 0; r < rows; r++)
        {
            double force = rowSign[r] * f[r];
            totalForce[rowDof[r]] += force;
            for (int i = 0; i < n; i++) qacc[i] += minvCols[r * n + i] * force;
        }
    }
}
