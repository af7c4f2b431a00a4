using DiffTori.Envs.Physics;

namespace DiffTori.Envs.Tests;

public class DynamicsTests
{
    static RigidBodyModel ModelFor(string name) => name.Split('-')[0] switch
    {
        "pendulum" => new PendulumModel(),
        "cartpole" => new CartpoleModel(),
        "acrobot" => new AcrobotModel(),
        "reacher" => new ReacherModel(),
        "point_mass" => new PointMassModel(),
        _ => throw new ArgumentException(name),
    };

    public static TheoryData<string> TrajectoryNames()
    {
        var data = new TheoryData<string>();
        foreach (var t in MuJoCoReference.Trajectories) data.Add(t.Model);
        return data;
    }

    [Theory]
    [MemberData(nameof(TrajectoryNames))]
    public void Trajectory_matches_MuJoCo_2_2_2(string name)
    {
        var reference = MuJoCoReference.Trajectories.Single(t => t.Model == name);
        var model = ModelFor(name);
        var q = (double[])reference.Q0.Clone();
        var v = (double[])reference.V0.Clone();
        var ctrl = new double[model.Actuators];
        int step = 0;
        foreach (var (target, qRef, vRef) in reference.Checkpoints)
        {
            for (; step < target; step++)
            {
                for (int j = 0; j < ctrl.Length; j++) ctrl[j] = reference.Amplitude * Math.Sin(0.37 * step + 1.3 * j);
                model.Step(q, v, ctrl);
            }
            // Exact to rounding for the first steps; chaotic growth of rounding later.
            double tol = target <= 3 ? 1e-10 : 1e-6;
            for (int i = 0; i < q.Length; i++)
            {
                Assert.True(Math.Abs(q[i] - qRef[i]) <= tol * (1 + Math.Abs(qRef[i])), $"{name} step {target}: q[{i}] = {q[i]}, MuJoCo {qRef[i]}");
                Assert.True(Math.Abs(v[i] - vRef[i]) <= tol * (1 + Math.Abs(vRef[i])), $"{name} step {target}: v[{i}] = {v[i]}, MuJoCo {vRef[i]}");
            }
        }
    }

    [Fact]
    public void Compiled_masses_inertias_and_invweights_match_MuJoCo()
    {
        // body_mass / body_inertia / dof_invweight0 printed by libmujoco 2.2.2 for the suite files.
        Assert.Equal(0.0010000000000000002, PendulumModel.Ball.Iyy, 15);
        Assert.Equal(0.0094245927672955976, CartpoleModel.Pole.Iyy, 15);
        Assert.Equal(0.00010010377358490566, CartpoleModel.Pole.Izz, 15);
        Assert.Equal(0.095570312500000004, AcrobotModel.UpperArm.Iyy, 15);
        Assert.Equal(0.0012343750000000002, AcrobotModel.UpperArm.Izz, 15);
        Assert.Equal(0.095303657196495611, AcrobotModel.LowerArm.Iyy, 15);
        Assert.Equal(0.041887902047863912, ReacherModel.Arm.Mass, 15);
        Assert.Equal(6.3313563945346295e-05, ReacherModel.Arm.Iyy, 15);
        Assert.Equal(0.035604716740684321, ReacherModel.Hand.Mass, 15);
        Assert.Equal(3.9175660390264734e-05, ReacherModel.Hand.Iyy, 15);
        Assert.Equal(0.0041887902047863914, ReacherModel.Finger.Mass, 15);
        Assert.Equal(1.6755160819145565e-07, ReacherModel.Finger.Iyy, 15);
        var box = GeomInertia.Box(0.2, 0.15, 0.1, mass: 1);
        Assert.Equal(0.010833333333333334, box.Ixx, 15);
        Assert.Equal(0.01666666666666667, box.Iyy, 15);
        Assert.Equal(0.020833333333333332, box.Izz, 15);

        Assert.Equal(3.9840637450199186, new PendulumModel().InvWeight0[0], 12);
        Assert.Equal(0.97335205446141271, new CartpoleModel().InvWeight0[0], 12);
        Assert.Equal(31.102394359323817, new CartpoleModel().InvWeight0[1], 10);
        Assert.Equal(1.6088295868834048, new AcrobotModel().InvWeight0[0], 12);
        Assert.Equal(12.537248206898099, new AcrobotModel().InvWeight0[1], 10);
        Assert.Equal(2568.2114217653902, new ReacherModel().InvWeight0[0], 8);
        Assert.Equal(20740.548731816041, new ReacherModel().InvWeight0[1], 7);
        Assert.Equal(3.3333333333333335, new PointMassModel().InvWeight0[0], 14);
    }

    [Fact]
    public void Pendulum_Euler_step_with_implicit_damping_by_hand()
    {
        var model = new PendulumModel();
        double[] q = [0.5], v = [0.2];
        model.Step(q, v, [0.3]);
        // (I + h·b)·Δv/h = u − b·v + m·g·l·sin θ; then θ += h·v_new.
        double inertia = 1 * 0.25 + 0.4 * 1 * 0.05 * 0.05;
        double vNew = 0.2 + 0.02 * (0.3 - 0.1 * 0.2 + 1 * 9.81 * 0.5 * Math.Sin(0.5)) / (inertia + 0.02 * 0.1);
        Assert.Equal(vNew, v[0], 14);
        Assert.Equal(0.5 + 0.02 * vNew, q[0], 14);
    }

    [Fact]
    public void Cartpole_accelerations_match_hand_derived_equations()
    {
        var model = new CartpoleModel();
        double x = 0.3, th = 1.1, xd = -0.4, thd = 2.0, u = 0.6;
        double mc = 1, mp = 0.1, l = 0.5, g = 9.81, ip = CartpoleModel.Pole.Iyy;
        // [mc+mp, mp l cos; mp l cos, Ip + mp l²]·a = [10u − bx·ẋ + mp l sin·θ̇², mp g l sin − bθ·θ̇]
        double m00 = mc + mp, m01 = mp * l * Math.Cos(th), m11 = ip + mp * l * l;
        double f0 = 10 * u - 5e-4 * xd + mp * l * Math.Sin(th) * thd * thd;
        double f1 = mp * g * l * Math.Sin(th) - 2e-6 * thd;
        double det = m00 * m11 - m01 * m01;
        double a0 = (m11 * f0 - m01 * f1) / det, a1 = (m00 * f1 - m01 * f0) / det;
        var qacc = new double[2];
        var force = new double[2];
        model.Accelerations([x, th], [xd, thd], [10 * u, 0], qacc, force);
        Assert.Equal(a0, qacc[0], 12);
        Assert.Equal(a1, qacc[1], 12);
    }

    [Theory]
    [InlineData("pendulum")]
    [InlineData("cartpole")]
    [InlineData("acrobot")]
    [InlineData("reacher")]
    [InlineData("point_mass")]
    public void Bias_forces_follow_from_the_Lagrangian(string name)
    {
        // c_i = Σ_j Ṁ_ij v_j − ½ vᵀ ∂M/∂q_i v + ∂V/∂q_i, derivatives by central differences in float64.
        var model = ModelFor(name);
        int n = model.Dofs;
        var q = Enumerable.Range(0, n).Select(i => 0.37 + 0.8 * i).ToArray();
        var v = Enumerable.Range(0, n).Select(i => 1.3 - 2.1 * i).ToArray();
        var c = new double[n];
        model.BiasForces(q, v, c);
        double h = 1e-6;
        var zero = new double[n];
        for (int i = 0; i < n; i++)
        {
            var qp = (double[])q.Clone(); qp[i] += h;
            var qm = (double[])q.Clone(); qm[i] -= h;
            var mp = new double[n * n]; var mm = new double[n * n];
            model.MassMatrix(qp, mp);
            model.MassMatrix(qm, mm);
            double dV = (model.Energy(qp, zero) - model.Energy(qm, zero)) / (2 * h);
            double quad = 0;
            for (int a = 0; a < n; a++)
                for (int b = 0; b < n; b++) quad += v[a] * (mp[a * n + b] - mm[a * n + b]) / (2 * h) * v[b];
            double mdot = 0;
            for (int k = 0; k < n; k++)
            {
                var qkp = (double[])q.Clone(); qkp[k] += h;
                var qkm = (double[])q.Clone(); qkm[k] -= h;
                var mkp = new double[n * n]; var mkm = new double[n * n];
                model.MassMatrix(qkp, mkp);
                model.MassMatrix(qkm, mkm);
                for (int j = 0; j < n; j++) mdot += (mkp[i * n + j] - mkm[i * n + j]) / (2 * h) * v[k] * v[j];
            }
            double expected = mdot - 0.5 * quad + dV;
            Assert.True(Math.Abs(c[i] - expected) < 1e-6 * (1 + Math.Abs(expected)), $"{name}: c[{i}] = {c[i]}, Lagrangian {expected}");
        }
    }

    static double EnergyDrift(RigidBodyModel model, double timestep, double duration, double[] q0, double[] v0)
    {
        model.Timestep = timestep;
        Array.Clear(model.Damping);
        var q = (double[])q0.Clone();
        var v = (double[])v0.Clone();
        var ctrl = new double[model.Actuators];
        double e0 = model.Energy(q, v), worst = 0;
        int steps = (int)Math.Round(duration / timestep);
        for (int k = 0; k < steps; k++)
        {
            model.Step(q, v, ctrl);
            worst = Math.Max(worst, Math.Abs(model.Energy(q, v) - e0));
        }
        return worst;
    }

    [Theory]
    [InlineData("cartpole")]
    [InlineData("acrobot")]
    public void RK4_conserves_energy_to_fourth_order(string name)
    {
        // Without damping and control the only energy error is the integrator's: halving h divides it by ~16.
        double[] q0 = [0.2, 0.9], v0 = [0.5, -0.8];
        double coarse = EnergyDrift(ModelFor(name), 0.01, 1.0, q0, v0);
        double fine = EnergyDrift(ModelFor(name), 0.005, 1.0, q0, v0);
        Assert.True(coarse < 1e-3, $"{name}: drift {coarse}");
        Assert.InRange(coarse / fine, 10, 24);
    }

    [Theory]
    [InlineData("pendulum", new[] { 0.4 }, new[] { 1.0 })]
    [InlineData("reacher", new[] { 0.2, 0.5 }, new[] { 0.5, -0.8 })]
    public void Euler_energy_error_is_first_order_and_bounded(string name, double[] q0, double[] v0)
    {
        // Semi-implicit Euler is symplectic: the energy error stays bounded and shrinks linearly with h.
        double coarse = EnergyDrift(ModelFor(name), 0.02, 2.0, q0, v0);
        double fine = EnergyDrift(ModelFor(name), 0.01, 2.0, q0, v0);
        double scale = Math.Abs(ModelFor(name).Energy(q0, v0)) + 1e-3;
        Assert.True(coarse / scale < 0.2, $"{name}: relative drift {coarse / scale}");
        Assert.InRange(coarse / fine, 1.6, 2.5);
    }

    [Fact]
    public void Soft_limit_pushes_back_and_is_inactive_inside_the_range()
    {
        var model = new PointMassModel();
        var qacc = new double[2];
        var force = new double[2];
        model.Accelerations([0.1, 0.0], [0.0, 0.0], [0.0, 0.0], qacc, force);
        Assert.Equal(0.0, qacc[0]);
        model.Accelerations([0.295, 0.0], [0.0, 0.0], [0.0, 0.0], qacc, force);
        Assert.True(qacc[0] < 0, $"limit should push back, got {qacc[0]}");
        Assert.Equal(0.0, qacc[1]);
        // Impedance is dmax beyond the width and follows the power curve below it.
        var limit = new JointLimit(0, -1, 1);
        Assert.Equal(0.95, limit.Impedance(0.01), 15);
        Assert.Equal(0.9 + 0.05 * 2 * 0.25 * 0.25, limit.Impedance(0.00025), 15);
    }
}
