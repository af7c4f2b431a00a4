using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Autodiff.Tests;

/// <summary>Every op, random shapes, float64: analytic first and second derivatives against finite differences.</summary>
public class OpPropertyTests
{
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var name in OpCases.All.Keys) data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void FirstOrderMatchesFiniteDifferences(string op) =>
        Run(op, secondOrder: false, maxTest: 15);

    [Theory]
    [MemberData(nameof(Names))]
    public void SecondOrderMatchesFiniteDifferences(string op) =>
        Run(op, secondOrder: true, maxTest: 6);

    private static void Run(string op, bool secondOrder, int maxTest)
    {
        var property = Prop.ForAll(OpCases.All[op].ToArbitrary(), instance =>
        {
            var report = secondOrder
                ? GradCheck.CheckSecondOrder(instance.Fn, instance.Inputs, instance.Options)
                : GradCheck.Check(instance.Fn, instance.Inputs, instance.Options);
            if (!report.Passed) throw new Xunit.Sdk.XunitException($"{instance.Description}: {report}");
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(maxTest), property);
    }
}
