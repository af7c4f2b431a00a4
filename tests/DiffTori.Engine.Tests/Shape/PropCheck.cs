using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests;

/// <summary>Runs FsCheck properties for the shape, linalg and random tests.</summary>
internal static class PropCheck
{
    /// <summary>Run a property for a modest number of cases and throw on the first failure.</summary>
    public static void Run<T>(Gen<T> gen, Action<T> property, int maxTest = 50) =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(maxTest), Prop.ForAll(gen.ToArbitrary(), property));
}
