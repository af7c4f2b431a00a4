using System.Numerics;

namespace DiffTori.Engine;

/// <summary>
/// Elementwise kernels. Dense operands of one shape run as one flat span (split across cores when
/// large); everything else is first simplified by <see cref="StridedLayout"/> and then walked row by
/// row: unit-stride rows and stride-0 (broadcast scalar) rows call the span kernels directly, other
/// rows are gathered into stack chunks first.
/// </summary>
public sealed partial class CpuBackend
{
    /// <summary>Elements per gather/scatter chunk for strided rows.</summary>
    private const int GatherChunk = 256;

    public void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1)
    {
        if (y.DType == DType.Float32) UnaryTyped<float>(op, x, y, p0, p1);
        else UnaryTyped<double>(op, x, y, p0, p1);
    }

    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        if (y.DType == DType.Float32) BinaryTyped<float>(op, a, b, y);
        else BinaryTyped<double>(op, a, b, y);
    }

    public void Where(Tensor condition, Tensor a, Tensor b, Tensor y)
    {
        if (y.DType == DType.Float32) WhereTyped<float>(condition, a, b, y);
        else WhereTyped<double>(condition, a, b, y);
    }

    /// <summary>target += scale·source (source broadcast to target). A CPU fast path for Ops.AddInPlace.</summary>
    internal static void AddScaled(Tensor target, Tensor source, double scale)
    {
        if (target.DType == DType.Float32) AddScaledTyped<float>(target, source, scale);
        else AddScaledTyped<double>(target, source, scale);
    }

    // ----- unary -----

    private static void UnaryTyped<T>(UnaryOp op, Tensor x, Tensor y, double p0, double p1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = y.Length;
        if (n == 0) return;
        T[] xs = x.CpuArray<T>(), ys = y.CpuArray<T>();
        if (x.IsContiguous && y.IsContiguous)
        {
            int blocks = Parallelism.Blocks(n, n / 1024);
            if (blocks == 1)
            {
                UnarySpan.Apply<T>(op, xs.AsSpan(x.Offset, n), ys.AsSpan(y.Offset, n), p0, p1);
                return;
            }
            UnaryFlatParallel(op, xs, x.Offset, ys, y.Offset, n, blocks, p0, p1);
            return;
        }
        var layout = StridedLayout.Create(y.Shape, y.Strides, y.Offset, x.Strides, x.Offset);
        int parts = Parallelism.Blocks(n, layout.OuterExtent);
        if (parts == 1)
        {
            UnaryRows(op, layout, xs, ys, p0, p1);
            return;
        }
        UnaryRowsParallel(op, layout, xs, ys, parts, p0, p1);
    }

    // The parallel branches go through a cached job per thread (see ChunkedWork): nothing is allocated per call.
    private static void UnaryFlatParallel<T>(UnaryOp op, T[] xs, int xo, T[] ys, int yo, int n, int blocks, double p0, double p1)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        UnaryJob<T>.ForThisThread.Run(op, xs, xo, ys, yo, n, blocks, default, rows: false, p0, p1);

    private static void UnaryRowsParallel<T>(UnaryOp op, StridedLayout layout, T[] xs, T[] ys, int parts, double p0, double p1)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        UnaryJob<T>.ForThisThread.Run(op, xs, 0, ys, 0, layout.OuterExtent, parts, layout, rows: true, p0, p1);

    /// <summary>Block k of a unary call: a slice of the flat span, or a range of outer rows of the layout.</summary>
    private sealed class UnaryJob<T> : ChunkedWork where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] private static UnaryJob<T>? _forThisThread;
        public static UnaryJob<T> ForThisThread => _forThisThread ??= new UnaryJob<T>();

        private UnaryOp _op;
        private T[] _xs = [], _ys = [];
        private int _xo, _yo, _n, _blocks;
        private double _p0, _p1;
        private StridedLayout _layout;
        private bool _rows;

        public void Run(UnaryOp op, T[] xs, int xo, T[] ys, int yo, int n, int blocks, in StridedLayout layout, bool rows, double p0, double p1)
        {
            (_op, _xs, _xo, _ys, _yo, _n, _blocks, _layout, _rows, _p0, _p1) = (op, xs, xo, ys, yo, n, blocks, layout, rows, p0, p1);
            RunChunks(blocks);
        }

        protected override void RunChunk(int k)
        {
            var (start, length) = Partition(_n, _blocks, k);
            if (_rows) UnaryRows(_op, _layout.SliceOuter(start, length), _xs, _ys, _p0, _p1);
            else UnarySpan.Apply<T>(_op, _xs.AsSpan(_xo + start, length), _ys.AsSpan(_yo + start, length), _p0, _p1);
        }

        protected override void Clear()
        {
            _xs = _ys = [];
            _layout = default;
        }
    }

    private static void UnaryRows<T>(UnaryOp op, in StridedLayout layout, T[] xs, T[] ys, double p0, double p1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> bx = stackalloc T[GatherChunk], by = stackalloc T[GatherChunk];
        var rows = new RowIterator(layout.Shape, layout.S0, layout.Offset0, layout.S1, layout.Offset1, layout.S2, layout.Offset2);
        int n = rows.RowLength, sy = rows.Inner0, sx = rows.Inner1;
        while (rows.MoveNext(out int oy, out int ox, out _))
        {
            if (sy == 1 && sx == 1)
            {
                UnarySpan.Apply<T>(op, xs.AsSpan(ox, n), ys.AsSpan(oy, n), p0, p1);
                continue;
            }
            for (int start = 0; start < n; start += GatherChunk)
            {
                int len = Math.Min(GatherChunk, n - start);
                Gather(xs, ox + start * sx, sx, bx[..len]);
                UnarySpan.Apply<T>(op, bx[..len], by[..len], p0, p1);
                Scatter(by[..len], ys, oy + start * sy, sy);
            }
        }
    }

    // ----- binary -----

    private static void BinaryTyped<T>(BinaryOp op, Tensor a, Tensor b, Tensor y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = y.Length;
        if (n == 0) return;
        T[] av = a.CpuArray<T>(), bv = b.CpuArray<T>(), yv = y.CpuArray<T>();
        if (y.IsContiguous && a.IsContiguous && b.IsContiguous && (a.Length == n || a.Length == 1) && (b.Length == n || b.Length == 1))
        {
            // Same shape, or one side a single value: one flat span.
            bool aScalar = a.Length == 1 && n > 1, bScalar = b.Length == 1 && n > 1;
            int ao = a.Offset, bo = b.Offset, yo = y.Offset;
            int blocks = Parallelism.Blocks(n, n / 1024);
            if (blocks == 1)
            {
                BinarySpan.Apply<T>(op, av.AsSpan(ao, aScalar ? 1 : n), bv.AsSpan(bo, bScalar ? 1 : n), yv.AsSpan(yo, n), aScalar, bScalar);
                return;
            }
            BinaryFlatParallel(op, av, ao, aScalar, bv, bo, bScalar, yv, yo, n, blocks);
            return;
        }
        var layout = StridedLayout.Create(y.Shape, y.Strides, y.Offset,
            Broadcast.StridesFor(a, y.Shape), a.Offset, Broadcast.StridesFor(b, y.Shape), b.Offset);
        int parts = Parallelism.Blocks(n, layout.OuterExtent);
        if (parts == 1)
        {
            BinaryRows(op, layout, av, bv, yv);
            return;
        }
        BinaryRowsParallel(op, layout, av, bv, yv, parts);
    }

    private static void BinaryFlatParallel<T>(BinaryOp op, T[] av, int ao, bool aScalar, T[] bv, int bo, bool bScalar, T[] yv, int yo, int n, int blocks)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        BinaryJob<T>.ForThisThread.Run(op, av, ao, aScalar, bv, bo, bScalar, yv, yo, n, blocks, default, rows: false);

    private static void BinaryRowsParallel<T>(BinaryOp op, StridedLayout layout, T[] av, T[] bv, T[] yv, int parts)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        BinaryJob<T>.ForThisThread.Run(op, av, 0, false, bv, 0, false, yv, 0, layout.OuterExtent, parts, layout, rows: true);

    /// <summary>Block k of a binary call: a slice of the flat spans, or a range of outer rows of the layout.</summary>
    private sealed class BinaryJob<T> : ChunkedWork where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] private static BinaryJob<T>? _forThisThread;
        public static BinaryJob<T> ForThisThread => _forThisThread ??= new BinaryJob<T>();

        private BinaryOp _op;
        private T[] _av = [], _bv = [], _yv = [];
        private int _ao, _bo, _yo, _n, _blocks;
        private bool _aScalar, _bScalar, _rows;
        private StridedLayout _layout;

        public void Run(BinaryOp op, T[] av, int ao, bool aScalar, T[] bv, int bo, bool bScalar, T[] yv, int yo, int n, int blocks,
            in StridedLayout layout, bool rows)
        {
            (_op, _av, _ao, _aScalar, _bv, _bo, _bScalar) = (op, av, ao, aScalar, bv, bo, bScalar);
            (_yv, _yo, _n, _blocks, _layout, _rows) = (yv, yo, n, blocks, layout, rows);
            RunChunks(blocks);
        }

        protected override void RunChunk(int k)
        {
            var (start, length) = Partition(_n, _blocks, k);
            if (_rows)
            {
                BinaryRows(_op, _layout.SliceOuter(start, length), _av, _bv, _yv);
                return;
            }
            var sa = _aScalar ? _av.AsSpan(_ao, 1) : _av.AsSpan(_ao + start, length);
            var sb = _bScalar ? _bv.AsSpan(_bo, 1) : _bv.AsSpan(_bo + start, length);
            BinarySpan.Apply<T>(_op, sa, sb, _yv.AsSpan(_yo + start, length), _aScalar, _bScalar);
        }

        protected override void Clear()
        {
            _av = _bv = _yv = [];
            _layout = default;
        }
    }

    private static void BinaryRows<T>(BinaryOp op, in StridedLayout layout, T[] av, T[] bv, T[] yv)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> ba = stackalloc T[GatherChunk], bb = stackalloc T[GatherChunk], by = stackalloc T[GatherChunk];
        var rows = new RowIterator(layout.Shape, layout.S0, layout.Offset0, layout.S1, layout.Offset1, layout.S2, layout.Offset2);
        int n = rows.RowLength, sy = rows.Inner0, sa = rows.Inner1, sb = rows.Inner2;
        bool aScalar = sa == 0 && n > 1, bScalar = sb == 0 && n > 1;
        bool direct = sy == 1 && (sa == 1 || aScalar) && (sb == 1 || bScalar);
        while (rows.MoveNext(out int oy, out int oa, out int ob))
        {
            if (direct)
            {
                BinarySpan.Apply<T>(op, av.AsSpan(oa, aScalar ? 1 : n), bv.AsSpan(ob, bScalar ? 1 : n), yv.AsSpan(oy, n), aScalar, bScalar);
                continue;
            }
            for (int start = 0; start < n; start += GatherChunk)
            {
                int len = Math.Min(GatherChunk, n - start);
                Gather(av, oa + start * sa, sa, ba[..len]);
                Gather(bv, ob + start * sb, sb, bb[..len]);
                BinarySpan.Apply<T>(op, ba[..len], bb[..len], by[..len], false, false);
                Scatter(by[..len], yv, oy + start * sy, sy);
            }
        }
    }

    private static void AddScaledTyped<T>(Tensor target, Tensor source, double scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (target.Length == 0) return;
        T s = T.CreateTruncating(scale);
        T[] tv = target.CpuArray<T>(), sv = source.CpuArray<T>();
        // Same-shape dense operands: one fused pass (target = source·scale + target).
        if (target.IsContiguous && source.IsContiguous && source.Shape == target.Shape)
        {
            MultiplyAddSliced(sv.AsSpan(source.Offset, source.Length), s, tv.AsSpan(target.Offset, target.Length));
            return;
        }
        if (scale == 1)
        {
            BinaryTyped<T>(BinaryOp.Add, target, source, target);
            return;
        }
        // Broadcast source: row by row, fused where the source row is dense, a constant where it is broadcast.
        // (Accumulation is a small, latency-bound op in optimizers, so this path stays single-threaded.)
        var layout = StridedLayout.Create(target.Shape, target.Strides, target.Offset, Broadcast.StridesFor(source, target.Shape), source.Offset);
        var rows = new RowIterator(layout.Shape, layout.S0, layout.Offset0, layout.S1, layout.Offset1);
        int n = rows.RowLength, st = rows.Inner0, ss = rows.Inner1;
        while (rows.MoveNext(out int ot, out int os, out _))
        {
            if (st == 1 && ss == 1) MultiplyAddSliced(sv.AsSpan(os, n), s, tv.AsSpan(ot, n));
            else if (st == 1 && ss == 0)
            {
                var row = tv.AsSpan(ot, n);
                System.Numerics.Tensors.TensorPrimitives.Add(row, s * sv[os], row);
            }
            else
                for (int i = 0; i < n; i++) tv[ot + i * st] += s * sv[os + i * ss];
        }
    }

    /// <summary>t += s·source, slice by slice so that t stays in the cache (see <see cref="CacheSlices"/>).</summary>
    private static void MultiplyAddSliced<T>(ReadOnlySpan<T> source, T s, Span<T> t) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int slice = CacheSlices.Split<T>(t.Length) ? CacheSlices.Length<T>() : t.Length;
        for (int start = 0; start < t.Length; start += slice)
        {
            int len = Math.Min(slice, t.Length - start);
            var part = t.Slice(start, len);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(source.Slice(start, len), s, part, part);
        }
    }

    // ----- where -----

    private static void WhereTyped<T>(Tensor condition, Tensor a, Tensor b, Tensor y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = y.Length;
        if (n == 0) return;
        if (!y.IsContiguous)
        {
            using var dense = Tensor.Empty(y.Shape, y.DType, y.Device);
            WhereTyped<T>(condition, a, b, dense);
            y.Device.Backend.Copy(dense, y);
            return;
        }
        T[] cv = condition.CpuArray<T>(), av = a.CpuArray<T>(), bv = b.CpuArray<T>(), yv = y.CpuArray<T>();
        // y is dense, so the rows of the (coalesced) layout of the inputs are consecutive runs of y.
        var layout = StridedLayout.Create(y.Shape, Broadcast.StridesFor(condition, y.Shape), condition.Offset,
            Broadcast.StridesFor(a, y.Shape), a.Offset, Broadcast.StridesFor(b, y.Shape), b.Offset);
        int parts = Parallelism.Blocks(n, layout.OuterExtent);
        if (parts == 1)
        {
            WhereRows(layout, cv, av, bv, yv, y.Offset);
            return;
        }
        WhereRowsParallel(layout, cv, av, bv, yv, y.Offset, n / layout.OuterExtent, parts);
    }

    private static void WhereRowsParallel<T>(StridedLayout layout, T[] cv, T[] av, T[] bv, T[] yv, int yo, int perOuter, int parts)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        WhereJob<T>.ForThisThread.Run(layout, cv, av, bv, yv, yo, perOuter, parts);

    /// <summary>Block k of a where call: a range of outer rows, written to the matching run of the dense y.</summary>
    private sealed class WhereJob<T> : ChunkedWork where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] private static WhereJob<T>? _forThisThread;
        public static WhereJob<T> ForThisThread => _forThisThread ??= new WhereJob<T>();

        private StridedLayout _layout;
        private T[] _cv = [], _av = [], _bv = [], _yv = [];
        private int _yo, _perOuter, _parts;

        public void Run(in StridedLayout layout, T[] cv, T[] av, T[] bv, T[] yv, int yo, int perOuter, int parts)
        {
            (_layout, _cv, _av, _bv, _yv, _yo, _perOuter, _parts) = (layout, cv, av, bv, yv, yo, perOuter, parts);
            RunChunks(parts);
        }

        protected override void RunChunk(int k)
        {
            var (start, length) = Partition(_layout.OuterExtent, _parts, k);
            WhereRows(_layout.SliceOuter(start, length), _cv, _av, _bv, _yv, _yo + start * _perOuter);
        }

        protected override void Clear()
        {
            _cv = _av = _bv = _yv = [];
            _layout = default;
        }
    }

    private static void WhereRows<T>(in StridedLayout layout, T[] cv, T[] av, T[] bv, T[] yv, int yOffset)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rows = new RowIterator(layout.Shape, layout.S0, layout.Offset0, layout.S1, layout.Offset1, layout.S2, layout.Offset2);
        int n = rows.RowLength, sc = rows.Inner0, sa = rows.Inner1, sb = rows.Inner2;
        int oy = yOffset;
        while (rows.MoveNext(out int oc, out int oa, out int ob))
        {
            if (sc == 1 && sa == 1 && sb == 1)
                Simd.Where<T>(cv.AsSpan(oc, n), av.AsSpan(oa, n), bv.AsSpan(ob, n), yv.AsSpan(oy, n));
            else
                for (int i = 0; i < n; i++)
                    yv[oy + i] = cv[oc + i * sc] != T.Zero ? av[oa + i * sa] : bv[ob + i * sb];
            oy += n;
        }
    }

    // ----- helpers -----

    /// <summary>Block k of n items split into 'blocks' near-equal parts (boundaries on multiples of 64 when possible).</summary>
    internal static (int Start, int Length) Partition(int n, int blocks, int k)
    {
        long start = (long)n * k / blocks, end = (long)n * (k + 1) / blocks;
        if (n >= 64 * blocks)
        {
            start = start / 64 * 64;
            end = k == blocks - 1 ? n : end / 64 * 64;
        }
        return ((int)start, (int)(end - start));
    }

    private static void Gather<T>(T[] source, int offset, int stride, Span<T> destination)
    {
        if (stride == 1) { source.AsSpan(offset, destination.Length).CopyTo(destination); return; }
        for (int i = 0; i < destination.Length; i++) destination[i] = source[offset + i * stride];
    }

    private static void Scatter<T>(ReadOnlySpan<T> source, T[] destination, int offset, int stride)
    {
        if (stride == 1) { source.CopyTo(destination.AsSpan(offset, source.Length)); return; }
        for (int i = 0; i < source.Length; i++) destination[offset + i * stride] = source[i];
    }
}
