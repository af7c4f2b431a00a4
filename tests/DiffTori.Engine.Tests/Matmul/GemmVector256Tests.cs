namespace DiffTori.Engine.Tests.Matmul;

/// <summary>
/// Forcing the Vector256 kernels flips a process-wide setting that every GEMM reads, so these tests run alone,
/// after the parallel ones: a product running meanwhile on another test's thread would change kernels mid-call.
/// </summary>
[CollectionDefinition("GemmConfig", DisableParallelization = true)]
public class GemmConfigCollection;

[Collection("GemmConfig")]
public class GemmVector256Tests
{
    [Fact]
    public void Vector256KernelMatchesTooWhenForced()
    {
        bool saved = GemmConfig.UseVector512;
        try
        {
            GemmConfig.UseVector512 = false;
            GemmTests.Check(DType.Float32, 2, 37, 45, 70, false, true, 1, 0.5, false, false, 1);
            GemmTests.Check(DType.Float64, 1, 53, 29, 300, true, false, -1, 0, false, false, 2);
            GemmTests.Check(DType.Float32, 1, 200, 210, 260, false, false, 1, 0, false, false, 3);
        }
        finally
        {
            GemmConfig.UseVector512 = saved;
        }
    }
}
