using System.Numerics;
using ILGPU;
using ILGPU.Runtime;

namespace DiffTori.Engine;

// Index select / add and gather / scatter-add over [outer, n, inner]: one thread per element of the
// k-sized side; the adds use atomics because several indices may name the same row. An index out of
// [0, n) (the ops reject those) is skipped rather than allowed to write outside the buffer.
public sealed partial class GpuBackend
{
    public void IndexSelect(Tensor x, int outer, int n, int inner, Tensor index, Tensor y)
    {
        RequireFloat("IndexSelect", x);
        var s = new IndexArgs(n, index.Length, inner, x.Offset, index.Offset, y.Offset);
        if (y.Length == 0) return;
        if (x.DType == DType.Float32) _f32.IndexSelect(y.Length, ViewOf<float>(x), ViewOf<int>(index), ViewOf<float>(y), s, 0);
        else _f64.IndexSelect(y.Length, ViewOf<double>(x), ViewOf<int>(index), ViewOf<double>(y), s, 0);
    }

    public void IndexAdd(Tensor src, int outer, int n, int inner, Tensor index, Tensor y)
    {
        RequireFloat("IndexAdd", src);
        var s = new IndexArgs(n, index.Length, inner, src.Offset, index.Offset, y.Offset);
        if (src.Length == 0) return;
        if (src.DType == DType.Float32) _f32.IndexAdd(src.Length, ViewOf<float>(src), ViewOf<int>(index), ViewOf<float>(y), s, 0);
        else _f64.IndexAdd(src.Length, ViewOf<double>(src), ViewOf<int>(index), ViewOf<double>(y), s, 0);
    }

    public void Gather(Tensor x, int outer, int n, int inner, Tensor index, int k, Tensor y)
    {
        RequireFloat("Gather", x);
        var s = new IndexArgs(n, k, inner, x.Offset, index.Offset, y.Offset);
        if (y.Length == 0) return;
        if (x.DType == DType.Float32) _f32.IndexSelect(y.Length, ViewOf<float>(x), ViewOf<int>(index), ViewOf<float>(y), s, 1);
        else _f64.IndexSelect(y.Length, ViewOf<double>(x), ViewOf<int>(index), ViewOf<double>(y), s, 1);
    }

    public void ScatterAdd(Tensor src, int outer, int n, int inner, Tensor index, int k, Tensor y)
    {
        RequireFloat("ScatterAdd", src);
        var s = new IndexArgs(n, k, inner, src.Offset, index.Offset, y.Offset);
        if (src.Length == 0) return;
        if (src.DType == DType.Float32) _f32.IndexAdd(src.Length, ViewOf<float>(src), ViewOf<int>(index), ViewOf<float>(y), s, 1);
        else _f64.IndexAdd(src.Length, ViewOf<double>(src), ViewOf<int>(index), ViewOf<double>(y), s, 1);
    }

    /// <summary>Extents of the [outer, n, inner] side and the [outer, k, inner] side, with offsets.</summary>
    internal readonly struct IndexArgs(int n, int k, int inner, int dataOffset, int indexOffset, int yOffset)
    {
        public readonly int N = n, K = k, Inner = inner, DataOffset = dataOffset, IndexOffset = indexOffset, YOffset = yOffset;
    }

    /// <summary>Element e of the [outer, k, inner] side: its (o, j, i) and the row index it names.</summary>
    private static int Row(int e, ArrayView<int> index, IndexArgs s, int perElement, out int o, out int i)
    {
        int ki = s.K * s.Inner;
        o = e / ki;
        int rest = e - o * ki;
        int j = rest / s.Inner;
        i = rest - j * s.Inner;
        return index[s.IndexOffset + (perElement != 0 ? e : j)];
    }

    /// <summary>y[o, j, i] = x[o, row, i] where row = index[j] (select) or index[o, j, i] (gather).</summary>
    private static void IndexSelectKernel<T, TNum>(Index1D e, ArrayView<T> x, ArrayView<int> index, ArrayView<T> y, IndexArgs s, int perElement)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int row = Row(e, index, s, perElement, out int o, out int i);
        y[s.YOffset + e] = row >= 0 && row < s.N ? x[s.DataOffset + (o * s.N + row) * s.Inner + i] : T.Zero;
    }

    /// <summary>y[o, row, i] += src[o, j, i] where row = index[j] (index add) or index[o, j, i] (scatter add).</summary>
    private static void IndexAddKernel<T, TNum>(Index1D e, ArrayView<T> src, ArrayView<int> index, ArrayView<T> y, IndexArgs s, int perElement)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int row = Row(e, index, s, perElement, out int o, out int i);
        if (row >= 0 && row < s.N)
            TNum.AtomicAdd(ref y[s.YOffset + (o * s.N + row) * s.Inner + i], src[s.DataOffset + e]);
    }

    private sealed partial class RealKernels<T, TNum>
    {
        private Action<Index1D, ArrayView<T>, ArrayView<int>, ArrayView<T>, IndexArgs, int>? _indexSelect;
        private Action<Index1D, ArrayView<T>, ArrayView<int>, ArrayView<T>, IndexArgs, int>? _indexAdd;

        public Action<Index1D, ArrayView<T>, ArrayView<int>, ArrayView<T>, IndexArgs, int> IndexSelect =>
            _indexSelect ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<int>, ArrayView<T>, IndexArgs, int>(IndexSelectKernel<T, TNum>);
        public Action<Index1D, ArrayView<T>, ArrayView<int>, ArrayView<T>, IndexArgs, int> IndexAdd =>
            _indexAdd ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<int>, ArrayView<T>, IndexArgs, int>(IndexAddKernel<T, TNum>);
    }
}
