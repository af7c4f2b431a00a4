using DiffTori.Envs.Tasks.Gym;

namespace DiffTori.Envs.Tests;

public class GymTests
{
    [Fact]
    public void Pendulum_v1_one_step_by_hand()
    {
        var env = new GymPendulum();
        env.Reset(0);
        env.SetState([3.5], [-1.2]);
        var r = env.Step([0.75]); // torque 1.5
        double th = 3.5, thd = -1.2, u = 1.5;
        double normalized = th - 2 * Math.PI; // ((3.5 + π) mod 2π) − π
        double cost = normalized * normalized + 0.1 * thd * thd + 0.001 * u * u;
        double newThd = thd + (3 * 10 / 2.0 * Math.Sin(th) + 3.0 * u) * 0.05;
        double newTh = th + newThd * 0.05;
        Assert.Equal(-cost, r.Reward, 14);
        Assert.Equal((double)(float)Math.Cos(newTh), r.Observation[0]);
        Assert.Equal((double)(float)Math.Sin(newTh), r.Observation[1]);
        Assert.Equal((double)(float)newThd, r.Observation[2]);
        Assert.False(r.Done);
    }

    [Fact]
    public void Pendulum_v1_clips_speed_and_normalizes_angles_like_python()
    {
        var env = new GymPendulum();
        env.Reset(0);
        env.SetState([1.0], [7.9]);
        var r = env.Step([1.0]);
        Assert.Equal(8.0, r.Observation[2]);
        Assert.Equal(-Math.PI, GymPendulum.NormalizeAngle(Math.PI), 14);
        Assert.Equal(0.5, GymPendulum.NormalizeAngle(0.5 - 4 * Math.PI), 12);
    }

    [Fact]
    public void Pendulum_v1_lasts_200_steps()
    {
        var env = new GymPendulum();
        env.Reset(4);
        int steps = 0;
        while (!env.Step([0.1]).Done) steps++;
        Assert.Equal(199, steps);
    }

    [Fact]
    public void Mountain_car_step_by_hand_and_left_wall()
    {
        var env = new MountainCarContinuous();
        env.Reset(0);
        env.SetState([-0.5], [0.01]);
        var r = env.Step([0.6]);
        double v = (float)0.01 + 0.6 * 0.0015 - 0.0025 * Math.Cos(3 * (double)(float)-0.5);
        double x = (float)-0.5 + v;
        Assert.Equal((double)(float)x, r.Observation[0]);
        Assert.Equal((double)(float)v, r.Observation[1]);
        Assert.Equal(-0.1 * 0.36, r.Reward, 15);
        env.SetState([-1.19], [-0.05]);
        r = env.Step([-1.0]);
        Assert.Equal(-1.2, r.Observation[0], 6);
        Assert.Equal(0.0, r.Observation[1]);
    }

    [Fact]
    public void Mountain_car_reaching_the_goal_terminates_with_bonus()
    {
        var env = new MountainCarContinuous();
        env.Reset(0);
        env.SetState([0.44], [0.05]);
        var r = env.Step([1.0]);
        Assert.True(r.Terminated);
        Assert.Equal(100 - 0.1, r.Reward, 12);
        Assert.Throws<InvalidOperationException>(() => env.Step([0.0]));
    }

    [Fact]
    public void Mountain_car_starts_in_the_valley()
    {
        var env = new MountainCarContinuous();
        for (int seed = 0; seed < 20; seed++)
        {
            var o = env.Reset(seed);
            Assert.InRange(o[0], -0.6, -0.4);
            Assert.Equal(0.0, o[1]);
        }
    }
}
