namespace DiffTori.Engine.Tests;

public class BufferPoolTests
{
    [Fact]
    public void ASteadyLoopThatHoldsManySameLengthBuffersAtOnceStopsAllocating()
    {
        // A length no other test uses, so tests running in parallel cannot take these buffers.
        const int length = 7919, held = 1000;
        var buffers = new float[held][];
        void Round()
        {
            for (int i = 0; i < held; i++) buffers[i] = BufferPool.Rent<float>(length);
            for (int i = 0; i < held; i++) BufferPool.Return(buffers[i]);
        }
        Round();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Round();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < length * 4, $"the second round allocated {allocated} bytes: held buffers were not pooled");
    }
}
