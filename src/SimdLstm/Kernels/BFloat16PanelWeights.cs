using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SimdLstm;

/// <summary>
/// Gate panels in bfloat16 (the upper half of a float32: 8 exponent bits, 7 stored mantissa bits), 2 bytes a weight,
/// multiplied in float32: half the bytes of <see cref="Float32PanelWeights"/> for the step that streams them.
/// </summary>
/// <remarks>
/// <para><b>Rounding.</b> Each weight is rounded to the nearest bfloat16, ties to even (relative error at most 2⁻⁸);
/// NaN stays NaN. Products and sums are float32, one multiply-add per term.</para>
/// <para><b>Layout.</b> Block j of 64 panel rows (the rows of <see cref="Kernels.PackGatePanels"/>) holds the columns in
/// pairs: pair p (columns 2p and 2p + 1) is 128 values, panel row r's two at 2·r (column 2p, the low half of a 32-bit
/// word) and 2·r + 1 (column 2p + 1, the high half). One 32-bit lane then gives both weights of a row with one shift and
/// one mask, and a Vector256 load of 8 lanes feeds 16 multiply-adds. An odd K leaves the last pair's high halves zero.</para>
/// <para><b>Order.</b> Every row accumulates tile[r] + its terms in this order on every path (Vector256, Vector128,
/// scalar), so the three give bitwise the same results: the F = ⌊K/2⌋ full pairs split into four quarters of Q = ⌊F/4⌋
/// visited interleaved (pair k, Q + k, 2Q + k, 3Q + k for k = 0 … Q − 1; four sequential streams keep more reads in
/// flight), then pairs 4Q … F − 1, each pair's column 2p before 2p + 1, then column K − 1 when K is odd. Error: within
/// (K + 2)·2⁻²⁴·(|tile[r]| + Σ|terms|) of the exact sum of the bfloat16 weights times x.</para>
/// </remarks>
internal sealed class BFloat16PanelWeights : PanelWeights
{
    private const int PanelRows = Kernels.PanelRows;
    private const int PairValues = 2 * PanelRows;
    private readonly ushort[] _packed;

    public BFloat16PanelWeights(int gateCount, int hiddenSize, int cols)
        : base(gateCount, hiddenSize, cols)
    {
        _packed = new ushort[CheckedLength(Blocks, Pairs(cols))];
    }

    private static int Pairs(int cols) => (cols + 1) / 2;

    private static int CheckedLength(int blocks, int pairs)
    {
        long length = (long)blocks * pairs * PairValues;
        return length <= Array.MaxLength ? (int)length
            : throw new ArgumentOutOfRangeException("cols", $"A packed bfloat16 matrix would need {length} values, more than one array holds.");
    }

    public override long Bytes => (long)_packed.Length * sizeof(ushort);

    /// <summary>The nearest bfloat16 of <paramref name="value"/>, ties to even; NaN stays a (quiet) NaN.</summary>
    internal static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
            return (ushort)((bits >> 16) | 0x0040);
        uint rounding = 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)((bits + rounding) >> 16);
    }

    internal static float FromBFloat16(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);

    public override void Pack(ReadOnlySpan<float> w)
    {
        Guard.Length(w.Length, GateCount * HiddenSize * Cols, nameof(w));
        int pairs = Pairs(Cols);
        for (int j = 0; j < Blocks; j++)
        {
            Span<ushort> block = _packed.AsSpan(j * pairs * PairValues, pairs * PairValues);
            for (int r = 0; r < PanelRows; r++)
            {
                int row = Kernels.RowOfPanel(j, r, GateCount, HiddenSize);
                for (int k = 0; k < 2 * pairs; k++)
                    block[(k / 2) * PairValues + 2 * r + (k & 1)] = row < 0 || k >= Cols ? (ushort)0 : ToBFloat16(w[row * Cols + k]);
            }
        }
    }

    public override void Dequantize(Span<float> w)
    {
        Guard.Length(w.Length, GateCount * HiddenSize * Cols, nameof(w));
        int pairs = Pairs(Cols);
        for (int row = 0; row < GateCount * HiddenSize; row++)
        {
            (int block, int panelRow) = Kernels.PanelRowOf(row, GateCount, HiddenSize);
            for (int k = 0; k < Cols; k++)
                w[row * Cols + k] = FromBFloat16(_packed[((long)block * pairs + k / 2) * PairValues + 2 * panelRow + (k & 1)]);
        }
    }

    public override void AddColumn(int column, Span<float> y)
    {
        int pairs = Pairs(Cols), units = PanelRows / GateCount;
        for (int j = 0; j < Blocks; j++)
        {
            int valid = Math.Min(units, HiddenSize - j * units);
            ReadOnlySpan<ushort> pair = _packed.AsSpan((j * pairs + column / 2) * PairValues, PairValues);
            for (int q = 0; q < GateCount; q++)
            {
                for (int u = 0; u < valid; u++)
                    y[q * HiddenSize + j * units + u] += FromBFloat16(pair[2 * (q * units + u) + (column & 1)]);
            }
        }
    }

    public override void AccumulateBlock(int block, PanelInput input, Span<float> tile)
    {
        int pairs = Pairs(Cols);
        ref uint w = ref Unsafe.As<ushort, uint>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_packed), (nint)block * pairs * PairValues));
        ref float x = ref MemoryMarshal.GetReference(input.Values);
        ref float t = ref MemoryMarshal.GetReference(tile);
        if (Vector256.IsHardwareAccelerated)
        {
            Accumulate256(ref w, Cols, ref x, ref t);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Accumulate128(ref w, Cols, ref x, ref t, 0);
            Accumulate128(ref w, Cols, ref x, ref t, 1);
        }
        else
        {
            AccumulateScalar(ref w, Cols, ref x, ref t);
        }
    }

    // The pair visited v-th, in the documented order: interleaved quarters, then the rest of the full pairs in order.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int PairAt(int visit, int quarter) =>
        visit < 4 * quarter ? (visit & 3) * quarter + (visit >> 2) : visit;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MultiplyAddPair(Vector256<uint> pair, Vector256<float> xl, Vector256<float> xh, Vector256<float> acc)
    {
        acc = MultiplyAdd.Invoke(xl, (pair << 16).AsSingle(), acc);
        return MultiplyAdd.Invoke(xh, (pair & Vector256.Create(0xFFFF0000u)).AsSingle(), acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> MultiplyAddPair(Vector128<uint> pair, Vector128<float> xl, Vector128<float> xh, Vector128<float> acc)
    {
        acc = MultiplyAdd.Invoke(xl, (pair << 16).AsSingle(), acc);
        return MultiplyAdd.Invoke(xh, (pair & Vector128.Create(0xFFFF0000u)).AsSingle(), acc);
    }

    // w: the block's first pair as 32-bit words (pair p at p·64 words, panel row r's word at r).
    private static void Accumulate256(ref uint w, int cols, ref float x, ref float tile)
    {
        Vector256<float> a0 = Vector256.LoadUnsafe(ref tile, 0), a1 = Vector256.LoadUnsafe(ref tile, 8);
        Vector256<float> a2 = Vector256.LoadUnsafe(ref tile, 16), a3 = Vector256.LoadUnsafe(ref tile, 24);
        Vector256<float> a4 = Vector256.LoadUnsafe(ref tile, 32), a5 = Vector256.LoadUnsafe(ref tile, 40);
        Vector256<float> a6 = Vector256.LoadUnsafe(ref tile, 48), a7 = Vector256.LoadUnsafe(ref tile, 56);
        int full = cols / 2, quarter = full / 4;
        for (int v = 0; v < full; v++)
        {
            int p = PairAt(v, quarter);
            ref uint pair = ref Unsafe.Add(ref w, (nint)p * PanelRows);
            Vector256<float> xl = Vector256.Create(Unsafe.Add(ref x, 2 * p)), xh = Vector256.Create(Unsafe.Add(ref x, 2 * p + 1));
            a0 = MultiplyAddPair(Vector256.LoadUnsafe(ref pair, 0), xl, xh, a0);
            a1 = MultiplyAddPair(Vector256.LoadUnsafe(ref pair, 8), xl, xh, a1);
            a2 = MultiplyAddPair(Vector256.LoadUnsafe(ref pair, 16), xl, xh, a2);
            a3 = MultiplyAddPair(Vector256.LoadUnsafe(ref pair, 24), xl, xh, a3);
            a4 = MultiplyAddPair(Vector256.LoadUnsafe(ref pair, 32), xl, xh, a4);
            a5 = MultiplyAddPair(Vector256.LoadUnsafe(ref pair, 40), xl, xh, a5);
            a6 = MultiplyAddPair(Vector256.LoadUnsafe(ref pair, 48), xl, xh, a6);
            a7 = MultiplyAddPair(Vector256.LoadUnsafe(ref pair, 56), xl, xh, a7);
        }
        if ((cols & 1) != 0)
        {
            // The last column alone: the low halves of the last pair.
            ref uint pair = ref Unsafe.Add(ref w, (nint)full * PanelRows);
            Vector256<float> xl = Vector256.Create(Unsafe.Add(ref x, cols - 1));
            a0 = MultiplyAdd.Invoke(xl, (Vector256.LoadUnsafe(ref pair, 0) << 16).AsSingle(), a0);
            a1 = MultiplyAdd.Invoke(xl, (Vector256.LoadUnsafe(ref pair, 8) << 16).AsSingle(), a1);
            a2 = MultiplyAdd.Invoke(xl, (Vector256.LoadUnsafe(ref pair, 16) << 16).AsSingle(), a2);
            a3 = MultiplyAdd.Invoke(xl, (Vector256.LoadUnsafe(ref pair, 24) << 16).AsSingle(), a3);
            a4 = MultiplyAdd.Invoke(xl, (Vector256.LoadUnsafe(ref pair, 32) << 16).AsSingle(), a4);
            a5 = MultiplyAdd.Invoke(xl, (Vector256.LoadUnsafe(ref pair, 40) << 16).AsSingle(), a5);
            a6 = MultiplyAdd.Invoke(xl, (Vector256.LoadUnsafe(ref pair, 48) << 16).AsSingle(), a6);
            a7 = MultiplyAdd.Invoke(xl, (Vector256.LoadUnsafe(ref pair, 56) << 16).AsSingle(), a7);
        }
        a0.StoreUnsafe(ref tile, 0);
        a1.StoreUnsafe(ref tile, 8);
        a2.StoreUnsafe(ref tile, 16);
        a3.StoreUnsafe(ref tile, 24);
        a4.StoreUnsafe(ref tile, 32);
        a5.StoreUnsafe(ref tile, 40);
        a6.StoreUnsafe(ref tile, 48);
        a7.StoreUnsafe(ref tile, 56);
    }

    // Half a block (rows half·32 … half·32 + 31) with eight Vector128 accumulators, in the same order per row.
    private static void Accumulate128(ref uint w, int cols, ref float x, ref float block, int half)
    {
        ref float tile = ref Unsafe.Add(ref block, half * 32);
        ref uint words = ref Unsafe.Add(ref w, half * 32);
        Vector128<float> a0 = Vector128.LoadUnsafe(ref tile, 0), a1 = Vector128.LoadUnsafe(ref tile, 4);
        Vector128<float> a2 = Vector128.LoadUnsafe(ref tile, 8), a3 = Vector128.LoadUnsafe(ref tile, 12);
        Vector128<float> a4 = Vector128.LoadUnsafe(ref tile, 16), a5 = Vector128.LoadUnsafe(ref tile, 20);
        Vector128<float> a6 = Vector128.LoadUnsafe(ref tile, 24), a7 = Vector128.LoadUnsafe(ref tile, 28);
        int full = cols / 2, quarter = full / 4;
        for (int v = 0; v < full; v++)
        {
            int p = PairAt(v, quarter);
            ref uint pair = ref Unsafe.Add(ref words, (nint)p * PanelRows);
            Vector128<float> xl = Vector128.Create(Unsafe.Add(ref x, 2 * p)), xh = Vector128.Create(Unsafe.Add(ref x, 2 * p + 1));
            a0 = MultiplyAddPair(Vector128.LoadUnsafe(ref pair, 0), xl, xh, a0);
            a1 = MultiplyAddPair(Vector128.LoadUnsafe(ref pair, 4), xl, xh, a1);
            a2 = MultiplyAddPair(Vector128.LoadUnsafe(ref pair, 8), xl, xh, a2);
            a3 = MultiplyAddPair(Vector128.LoadUnsafe(ref pair, 12), xl, xh, a3);
            a4 = MultiplyAddPair(Vector128.LoadUnsafe(ref pair, 16), xl, xh, a4);
            a5 = MultiplyAddPair(Vector128.LoadUnsafe(ref pair, 20), xl, xh, a5);
            a6 = MultiplyAddPair(Vector128.LoadUnsafe(ref pair, 24), xl, xh, a6);
            a7 = MultiplyAddPair(Vector128.LoadUnsafe(ref pair, 28), xl, xh, a7);
        }
        if ((cols & 1) != 0)
        {
            ref uint pair = ref Unsafe.Add(ref words, (nint)full * PanelRows);
            Vector128<float> xl = Vector128.Create(Unsafe.Add(ref x, cols - 1));
            a0 = MultiplyAdd.Invoke(xl, (Vector128.LoadUnsafe(ref pair, 0) << 16).AsSingle(), a0);
            a1 = MultiplyAdd.Invoke(xl, (Vector128.LoadUnsafe(ref pair, 4) << 16).AsSingle(), a1);
            a2 = MultiplyAdd.Invoke(xl, (Vector128.LoadUnsafe(ref pair, 8) << 16).AsSingle(), a2);
            a3 = MultiplyAdd.Invoke(xl, (Vector128.LoadUnsafe(ref pair, 12) << 16).AsSingle(), a3);
            a4 = MultiplyAdd.Invoke(xl, (Vector128.LoadUnsafe(ref pair, 16) << 16).AsSingle(), a4);
            a5 = MultiplyAdd.Invoke(xl, (Vector128.LoadUnsafe(ref pair, 20) << 16).AsSingle(), a5);
            a6 = MultiplyAdd.Invoke(xl, (Vector128.LoadUnsafe(ref pair, 24) << 16).AsSingle(), a6);
            a7 = MultiplyAdd.Invoke(xl, (Vector128.LoadUnsafe(ref pair, 28) << 16).AsSingle(), a7);
        }
        a0.StoreUnsafe(ref tile, 0);
        a1.StoreUnsafe(ref tile, 4);
        a2.StoreUnsafe(ref tile, 8);
        a3.StoreUnsafe(ref tile, 12);
        a4.StoreUnsafe(ref tile, 16);
        a5.StoreUnsafe(ref tile, 20);
        a6.StoreUnsafe(ref tile, 24);
        a7.StoreUnsafe(ref tile, 28);
    }

    private static void AccumulateScalar(ref uint w, int cols, ref float x, ref float tile)
    {
        int full = cols / 2, quarter = full / 4;
        for (int r = 0; r < PanelRows; r++)
        {
            float acc = Unsafe.Add(ref tile, r);
            for (int v = 0; v < full; v++)
            {
                int p = PairAt(v, quarter);
                uint word = Unsafe.Add(ref w, (nint)p * PanelRows + r);
                acc = MultiplyAdd.Invoke(Unsafe.Add(ref x, 2 * p), BitConverter.UInt32BitsToSingle(word << 16), acc);
                acc = MultiplyAdd.Invoke(Unsafe.Add(ref x, 2 * p + 1), BitConverter.UInt32BitsToSingle(word & 0xFFFF0000u), acc);
            }
            if ((cols & 1) != 0)
                acc = MultiplyAdd.Invoke(Unsafe.Add(ref x, cols - 1), BitConverter.UInt32BitsToSingle(Unsafe.Add(ref w, (nint)full * PanelRows + r) << 16), acc);
            Unsafe.Add(ref tile, r) = acc;
        }
    }
}
