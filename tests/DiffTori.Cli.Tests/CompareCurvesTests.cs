using DiffTori.Rl.Training;

namespace DiffTori.Cli.Tests;

/// <summary>`rl compare`'s aggregation: seeds of one agent become mean/min/max at the steps they all reached.</summary>
public class CompareCurvesTests
{
    private static string RunWithEvals(params (double Step, double Return)[] evals)
    {
        string dir = Path.Combine(Path.GetTempPath(), "difftori-compare-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        using var log = new MetricsLog(dir, []);
        log.Write("train", new Dictionary<string, double> { ["env_step"] = 500, ["episode_return"] = 3 });
        foreach (var (step, ret) in evals)
            log.Write("eval", new Dictionary<string, double> { ["env_step"] = step, ["eval_return"] = ret });
        return dir;
    }

    [Fact]
    public void SeedsAreAggregatedAtTheStepsEveryRunReached()
    {
        // The second run was cut short after 2000 steps: only 1000 and 2000 are common.
        string a = RunWithEvals((1000, 10), (2000, 40), (3000, 90));
        string b = RunWithEvals((1000, 30), (2000, 20));
        string c = RunWithEvals((1000, 20), (2000, 60), (3000, 70));
        try
        {
            var curve = RlPlots.AgentCurveOf("tdmpc", [a, b, c]);
            Assert.Equal(3, curve.Seeds);
            Assert.Equal([1000.0, 2000.0], curve.Steps);
            Assert.Equal([20.0, 40.0], curve.Mean);
            Assert.Equal([10.0, 20.0], curve.Min);
            Assert.Equal([30.0, 60.0], curve.Max);
        }
        finally
        {
            foreach (var d in new[] { a, b, c }) Directory.Delete(d, recursive: true);
        }
    }

    [Fact]
    public void PublishedCurvesReadEitherColumnOrderAndNameBadRows()
    {
        string dir = Path.Combine(Path.GetTempPath(), "difftori-published-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string tdmpc2 = Path.Combine(dir, "a.csv");
            File.WriteAllText(tdmpc2, "step,reward,seed\n0,10,1\n0,30,2\n100000,800,1\n100000,900,2\n");
            var curve = RlPlots.PublishedCurve("tdmpc2", tdmpc2);
            Assert.Equal([0.0, 100000.0], curve.Steps);
            Assert.Equal([20.0, 850.0], curve.Mean);
            Assert.Equal([10.0, 800.0], curve.Min);
            Assert.Equal([30.0, 900.0], curve.Max);
            Assert.Equal(2, curve.Seeds);

            string v1 = Path.Combine(dir, "b.csv");
            File.WriteAllText(v1, "seed,step,return\n1,20000,100\n2,20000,300\n3,20000,200\n");
            Assert.Equal([200.0], RlPlots.PublishedCurve("tdmpc", v1).Mean);

            string bad = Path.Combine(dir, "c.csv");
            File.WriteAllText(bad, "step,reward,seed\n0,ten,1\n");
            var e = Assert.Throws<InvalidDataException>(() => RlPlots.PublishedCurve("x", bad));
            Assert.Contains("c.csv", e.Message);
            Assert.Contains("line 2", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void RunNamesIgnoreATrailingSlash() =>
        Assert.Equal("cartpole-tdmpc-1", RlPlots.RunName(Path.Combine(Path.GetTempPath(), "cartpole-tdmpc-1") + Path.DirectorySeparatorChar));
}
