namespace DiffTori.Engine;

/// <summary>
/// Walks an n-d index space one row (the last axis) at a time for up to three operands with their own
/// strides, giving each row's starting offsets. Kernels run a tight loop over each row, so the
/// odometer cost is paid once per row, not once per element. Allocates nothing.
/// </summary>
internal ref struct RowIterator
{
    private DimBuffer _extent, _count, _step0, _step1, _step2;
    private readonly int _outerRank;
    private int _o0, _o1, _o2;
    private int _remainingRows;
    private bool _started;

    public RowIterator(in Shape shape, in Strides s0, int offset0, in Strides s1 = default, int offset1 = 0, in Strides s2 = default, int offset2 = 0)
    {
        int rank = shape.Rank;
        RowLength = rank == 0 ? 1 : shape[rank - 1];
        Inner0 = rank == 0 || s0.Rank == 0 ? 0 : s0[rank - 1];
        Inner1 = rank == 0 || s1.Rank == 0 ? 0 : s1[rank - 1];
        Inner2 = rank == 0 || s2.Rank == 0 ? 0 : s2[rank - 1];
        _outerRank = Math.Max(rank - 1, 0);
        long rows = 1;
        for (int i = 0; i < _outerRank; i++)
        {
            _extent[i] = shape[i];
            _step0[i] = s0.Rank == 0 ? 0 : s0[i];
            _step1[i] = s1.Rank == 0 ? 0 : s1[i];
            _step2[i] = s2.Rank == 0 ? 0 : s2[i];
            rows *= shape[i];
        }
        _remainingRows = shape.Length == 0 ? 0 : (int)rows;
        _o0 = offset0;
        _o1 = offset1;
        _o2 = offset2;
    }

    /// <summary>Elements per row.</summary>
    public int RowLength { get; }
    /// <summary>Stride along the row of each operand.</summary>
    public int Inner0 { get; }
    public int Inner1 { get; }
    public int Inner2 { get; }

    /// <summary>Advance to the next row; its start offsets come out.</summary>
    public bool MoveNext(out int offset0, out int offset1, out int offset2)
    {
        if (_remainingRows == 0)
        {
            offset0 = offset1 = offset2 = 0;
            return false;
        }
        if (_started)
        {
            // Odometer: bump the last outer axis, carrying into earlier ones.
            for (int axis = _outerRank - 1; axis >= 0; axis--)
            {
                _o0 += _step0[axis];
                _o1 += _step1[axis];
                _o2 += _step2[axis];
                if (++_count[axis] < _extent[axis]) break;
                _o0 -= _step0[axis] * _extent[axis];
                _o1 -= _step1[axis] * _extent[axis];
                _o2 -= _step2[axis] * _extent[axis];
                _count[axis] = 0;
            }
        }
        _started = true;
        _remainingRows--;
        offset0 = _o0;
        offset1 = _o1;
        offset2 = _o2;
        return true;
    }
}
