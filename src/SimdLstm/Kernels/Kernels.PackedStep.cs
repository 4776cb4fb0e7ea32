using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SimdLstm;

public static partial class Kernels
{
    // Gate panels: the layout a batch-1 recurrent step streams its weights in.
    //
    // A gate matrix W [G·H, K] (PyTorch order: G blocks of H rows, one per gate; any G from 1 to 64) is regrouped into
    // blocks of PanelRows = 64 rows. Block j holds, for each gate q, the U = ⌊64 / G⌋ consecutive units [j·U, j·U + U) of
    // that gate, so panel row r = q·U + u (r < G·U) is W's row q·H + j·U + u; for an LSTM (G = 4) a block is i, f, g and o
    // of 16 units, for an RNN (G = 1) 64 units, for a GRU (G = 3) r, z and n of 21 units in rows 0..62. Inside a block the
    // 64 values of each column are contiguous: element (j, k, r) is at (j·K + k)·64 + r; rows of units at or beyond H,
    // and the rows G·U..63 when G does not divide 64 (row 63 for a GRU), are zero. A step then reads the weights as one sequential stream,
    // and the product for one block is 64 rows wide: eight Vector256 accumulators, one broadcast of x[k] and eight
    // loads per column, no horizontal reduction. oneDNN's RNN primitive packs its weights in the same spirit (panels of
    // output columns streamed by a register-blocked kernel); the sizes here are this project's own.
    //
    // The layout does not depend on the machine's vector width, so a packed matrix may be kept or shared freely within a
    // process; every width computes each row with the same operations in the same order.

    /// <summary>Rows in one gate panel block.</summary>
    internal const int PanelRows = 64;

    /// <summary>
    /// Blocks of <see cref="PanelRows"/> rows covering the G·H rows of a gate matrix: ⌈H / U⌉ with U = ⌊64 / G⌋ units of each
    /// gate per block (G in 1..64, validated by the callers that take a packed matrix).
    /// </summary>
    internal static int PanelBlocks(int gateCount, int hiddenSize)
    {
        int units = PanelRows / gateCount;
        // In long: H + units − 1 overflows int for H within 63 of int.MaxValue.
        return (int)(((long)hiddenSize + units - 1) / units);
    }

    /// <summary>Floats of a gate matrix with <paramref name="cols"/> columns packed by <see cref="PackGatePanels"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The packed matrix would not fit in one array.</exception>
    internal static int PackedGatePanelLength(int gateCount, int hiddenSize, int cols)
    {
        long length = (long)PanelBlocks(gateCount, hiddenSize) * cols * PanelRows;
        return length <= Array.MaxLength ? (int)length
            : throw new ArgumentOutOfRangeException(nameof(cols), $"A packed [{gateCount}·{hiddenSize}, {cols}] gate matrix would need {length} floats, more than one array holds.");
    }

    /// <summary>
    /// Packs W [<paramref name="gateCount"/>·<paramref name="hiddenSize"/>, <paramref name="cols"/>] (row-major, PyTorch's
    /// gate order) into gate panels for <see cref="GatePanelGemv"/>.
    /// </summary>
    /// <exception cref="ArgumentException">G is not in 1..64, a size is negative, or a span length differs from its shape.</exception>
    internal static void PackGatePanels(ReadOnlySpan<float> w, int gateCount, int hiddenSize, int cols, Span<float> packed)
    {
        ValidateGates(gateCount, hiddenSize);
        Guard.NonNegative(cols, nameof(cols));
        // The packed length first: it is computed in long and bounds G·H·cols (64 rows per block ≥ the block's G·U rows),
        // so once it fits, the int product for w cannot wrap.
        int packedLength = PackedGatePanelLength(gateCount, hiddenSize, cols);
        Guard.Length(w.Length, gateCount * hiddenSize * cols, nameof(w));
        Guard.Length(packed.Length, packedLength, nameof(packed));
        int units = PanelRows / gateCount, blocks = PanelBlocks(gateCount, hiddenSize);
        for (int j = 0; j < blocks; j++)
        {
            Span<float> block = packed.Slice(j * cols * PanelRows, cols * PanelRows);
            for (int r = 0; r < PanelRows; r++)
            {
                // Rows past G·U (when G does not divide 64) belong to no gate: r / U would be G.
                int q = r / units, unit = j * units + r % units;
                if (q >= gateCount || unit >= hiddenSize)
                {
                    for (int k = 0; k < cols; k++)
                        block[k * PanelRows + r] = 0f;
                    continue;
                }
                ReadOnlySpan<float> row = w.Slice((q * hiddenSize + unit) * cols, cols);
                for (int k = 0; k < cols; k++)
                    block[k * PanelRows + r] = row[k];
            }
        }
    }

    /// <summary>
    /// y += A·xa + B·xb with A [G·H, colsA] and B [G·H, colsB] packed by <see cref="PackGatePanels"/>, and y [G·H] in
    /// PyTorch's gate order: the projection of a batch-1 recurrent step (W_ih·x + W_hh·h) with both matrices streamed once.
    /// Either product may be empty (0 columns).
    /// </summary>
    /// <remarks>
    /// Every row is y[r] + Σ_k A[r, k]·xa[k] + Σ_k B[r, k]·xb[k] accumulated in that order (y, then A's terms, then B's),
    /// each matrix's columns in the four-stream order described at <c>PanelStreams</c> (k, k + K/4, k + K/2, k + 3K/4 for
    /// k = 0 … ⌊K/4⌋ − 1, then the K mod 4 remainder columns ascending), one multiply-add per term (fused where the
    /// processor has FMA), on every vector width; results are bitwise the same on the scalar, Vector128 and Vector256
    /// paths and for any alignment. Error: within (n + 2) · 2⁻²⁴ · (|y[r]| + Σ |terms|), n = colsA + colsB (a sequential
    /// sum of n terms, each product rounded once more when the multiply-add is not fused).
    /// </remarks>
    /// <exception cref="ArgumentException">G is not in 1..64, a length differs from its shape, or y overlaps an input.</exception>
    internal static void GatePanelGemv(ReadOnlySpan<float> packedA, int colsA, ReadOnlySpan<float> xa, ReadOnlySpan<float> packedB, int colsB,
        ReadOnlySpan<float> xb, int gateCount, int hiddenSize, Span<float> y)
    {
        ValidateGates(gateCount, hiddenSize);
        Guard.NonNegative(colsA, nameof(colsA));
        Guard.NonNegative(colsB, nameof(colsB));
        Guard.Length(packedA.Length, PackedGatePanelLength(gateCount, hiddenSize, colsA), nameof(packedA));
        Guard.Length(packedB.Length, PackedGatePanelLength(gateCount, hiddenSize, colsB), nameof(packedB));
        Guard.Length(xa.Length, colsA, nameof(xa));
        Guard.Length(xb.Length, colsB, nameof(xb));
        Guard.Length(y.Length, gateCount * hiddenSize, nameof(y));
        Guard.NoPartialOverlap(packedA, y, nameof(packedA), nameof(y), allowInPlace: false);
        Guard.NoPartialOverlap(packedB, y, nameof(packedB), nameof(y), allowInPlace: false);
        Guard.NoPartialOverlap(xa, y, nameof(xa), nameof(y), allowInPlace: false);
        Guard.NoPartialOverlap(xb, y, nameof(xb), nameof(y), allowInPlace: false);
        GatePanelGemvBlocks(packedA, colsA, xa, packedB, colsB, xb, gateCount, hiddenSize, y, 0, PanelBlocks(gateCount, hiddenSize));
    }

    /// <summary>
    /// <see cref="GatePanelGemv"/> over blocks [<paramref name="blockStart"/>, <paramref name="blockEnd"/>) only, unvalidated:
    /// the blocks' rows of y are written and no others, so disjoint block ranges may run on different threads. Either
    /// product may be empty (0 columns, its packed matrix and x empty spans), as when the two products go to separate outputs.
    /// </summary>
    internal static void GatePanelGemvBlocks(ReadOnlySpan<float> packedA, int colsA, ReadOnlySpan<float> xa, ReadOnlySpan<float> packedB, int colsB,
        ReadOnlySpan<float> xb, int gateCount, int hiddenSize, Span<float> y, int blockStart, int blockEnd)
    {
        int units = PanelRows / gateCount;
        ref float ar = ref MemoryMarshal.GetReference(packedA);
        ref float br = ref MemoryMarshal.GetReference(packedB);
        ref float xar = ref MemoryMarshal.GetReference(xa);
        ref float xbr = ref MemoryMarshal.GetReference(xb);
        ref float yr = ref MemoryMarshal.GetReference(y);
        Span<float> tileSpan = stackalloc float[PanelRows];
        ref float tile = ref MemoryMarshal.GetReference(tileSpan);
        for (int j = blockStart; j < blockEnd; j++)
        {
            // The block's rows of y, gathered into panel-row order (units past H read as zero and are not written back). The
            // rows G·U..63 that no gate uses (G not dividing 64) are accumulated with the others and never written back; they
            // start every block from zero, so what they hold never depends on an earlier block (0·∞ = NaN from a
            // non-finite x) or on the stack's contents.
            int valid = Math.Min(units, hiddenSize - j * units);
            for (int q = 0; q < gateCount; q++)
                CopyUnits(ref Unsafe.Add(ref yr, q * hiddenSize + j * units), ref Unsafe.Add(ref tile, q * units), valid, units);
            for (int r = gateCount * units; r < PanelRows; r++)
                Unsafe.Add(ref tile, r) = 0f;

            ref float blockA = ref Unsafe.Add(ref ar, (nint)j * colsA * PanelRows);
            ref float blockB = ref Unsafe.Add(ref br, (nint)j * colsB * PanelRows);
            if (Vector256.IsHardwareAccelerated)
            {
                PanelAccumulate256(ref blockA, colsA, ref xar, ref tile);
                PanelAccumulate256(ref blockB, colsB, ref xbr, ref tile);
            }
            else if (Vector128.IsHardwareAccelerated)
            {
                for (int half = 0; half < PanelRows; half += PanelRows / 2)
                {
                    PanelAccumulate128(ref Unsafe.Add(ref blockA, half), colsA, ref xar, ref Unsafe.Add(ref tile, half));
                    PanelAccumulate128(ref Unsafe.Add(ref blockB, half), colsB, ref xbr, ref Unsafe.Add(ref tile, half));
                }
            }
            else
            {
                PanelAccumulateScalar(ref blockA, colsA, ref xar, ref tile);
                PanelAccumulateScalar(ref blockB, colsB, ref xbr, ref tile);
            }

            for (int q = 0; q < gateCount; q++)
                CopyUnits(ref Unsafe.Add(ref tile, q * units), ref Unsafe.Add(ref yr, q * hiddenSize + j * units), valid, valid);
        }
    }

    /// <summary>
    /// tile[0..64] += block <paramref name="block"/> of a packed matrix (<paramref name="cols"/> columns) times x, in the
    /// documented column order, on the widest path the machine has: one block of <see cref="GatePanelGemvBlocks(ReadOnlySpan{float}, int, ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, int, Span{float}, int, int)"/>'s
    /// product with one matrix. Unvalidated.
    /// </summary>
    internal static void GatePanelAccumulateBlock(ReadOnlySpan<float> packed, int cols, int block, ReadOnlySpan<float> x, Span<float> tile)
    {
        ref float w = ref Unsafe.Add(ref MemoryMarshal.GetReference(packed), (nint)block * cols * PanelRows);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float t = ref MemoryMarshal.GetReference(tile);
        if (Vector256.IsHardwareAccelerated)
        {
            PanelAccumulate256(ref w, cols, ref xr, ref t);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            for (int half = 0; half < PanelRows; half += PanelRows / 2)
                PanelAccumulate128(ref Unsafe.Add(ref w, half), cols, ref xr, ref Unsafe.Add(ref t, half));
        }
        else
        {
            PanelAccumulateScalar(ref w, cols, ref xr, ref t);
        }
    }

    // dst[0..valid] = src[0..valid], dst[valid..count] = 0, for any 0 ≤ valid ≤ count. A gate chunk moves as Vector256
    // copies (an LSTM's 16 or an RNN's 64 floats entirely), then at most one Vector128 copy and single floats (a GRU's 21
    // as 16 + 4 + 1): the scalar loop cost about a tenth of an H = 64 LSTM step.
    private static void CopyUnits(ref float src, ref float dst, int valid, int count)
    {
        int u = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; u + 8 <= valid; u += 8)
                Vector256.LoadUnsafe(ref src, (nuint)u).StoreUnsafe(ref dst, (nuint)u);
        }
        if (Vector128.IsHardwareAccelerated && u + 4 <= valid)
        {
            Vector128.LoadUnsafe(ref src, (nuint)u).StoreUnsafe(ref dst, (nuint)u);
            u += 4;
        }
        for (; u < valid; u++)
            Unsafe.Add(ref dst, u) = Unsafe.Add(ref src, u);
        for (; u < count; u++)
            Unsafe.Add(ref dst, u) = 0f;
    }

    /// <summary>
    /// y[q·H + unit] += A[q·H + unit, column] for every gate q and unit: adds one column of a packed gate matrix (the input
    /// projection of a one-hot input). Unvalidated; <paramref name="column"/> is in [0, cols). Reads only the G·U rows of a
    /// block that hold units, so for any G the padding rows are never added.
    /// </summary>
    internal static void GatePanelAddColumn(ReadOnlySpan<float> packed, int cols, int column, int gateCount, int hiddenSize, Span<float> y)
    {
        int units = PanelRows / gateCount, blocks = PanelBlocks(gateCount, hiddenSize);
        for (int j = 0; j < blocks; j++)
        {
            ReadOnlySpan<float> values = packed.Slice((j * cols + column) * PanelRows, PanelRows);
            int valid = Math.Min(units, hiddenSize - j * units);
            for (int q = 0; q < gateCount; q++)
            {
                Span<float> dst = y.Slice(q * hiddenSize + j * units, valid);
                ReadOnlySpan<float> src = values.Slice(q * units, valid);
                for (int u = 0; u < valid; u++)
                    dst[u] += src[u];
            }
        }
    }

    private static void ValidateGates(int gateCount, int hiddenSize)
    {
        // At least one unit of every gate in a block of PanelRows rows: U = ⌊64 / G⌋ ≥ 1.
        if (gateCount < 1 || gateCount > PanelRows)
            throw new ArgumentOutOfRangeException(nameof(gateCount), gateCount,
                $"Expected a gate count from 1 to {PanelRows} (1 for an RNN, 3 for a GRU, 4 for an LSTM).");
        Guard.NonNegative(hiddenSize, nameof(hiddenSize));
        // y's length check is G·H in int: past int.MaxValue it would wrap (4 · 2³⁰ to 0) and let an empty y through to a
        // kernel that writes G·H rows.
        if ((long)gateCount * hiddenSize > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(hiddenSize), hiddenSize, $"{gateCount}·{hiddenSize} gate rows would not fit in one array.");
    }

    // The column order every path accumulates in: the columns are split into four quarters of ⌊K/4⌋ and visited
    // interleaved, k, k + K/4, k + K/2, k + 3K/4 for k = 0, 1, …, then the K mod 4 remainder columns in order. Four
    // sequential streams instead of one keep more cache misses in flight when the panels come from L3 or memory (a
    // single stream ran 1.5× slower than four on the LSTM H = 1024 step here), and every path uses the same order, so the
    // results stay bitwise identical across widths.
    private const int PanelStreams = 4;

    /// <summary>
    /// tile[0..64] += Σ_k panel[k, 0..64] · x[k] in the stream order above: eight accumulators, one broadcast and eight
    /// loads per column, the four streams written out by hand (the JIT does not unroll).
    /// </summary>
    private static void PanelAccumulate256(ref float w, nint cols, ref float x, ref float tile)
    {
        Vector256<float> a0 = Vector256.LoadUnsafe(ref tile, 0);
        Vector256<float> a1 = Vector256.LoadUnsafe(ref tile, 8);
        Vector256<float> a2 = Vector256.LoadUnsafe(ref tile, 16);
        Vector256<float> a3 = Vector256.LoadUnsafe(ref tile, 24);
        Vector256<float> a4 = Vector256.LoadUnsafe(ref tile, 32);
        Vector256<float> a5 = Vector256.LoadUnsafe(ref tile, 40);
        Vector256<float> a6 = Vector256.LoadUnsafe(ref tile, 48);
        Vector256<float> a7 = Vector256.LoadUnsafe(ref tile, 56);
        nint quarter = cols / PanelStreams, k = 0;
        nint stride = quarter * PanelRows;
        for (; k < quarter; k++)
        {
            ref float ws = ref w;
            Vector256<float> xv = Vector256.Create(Unsafe.Add(ref x, k));
            a0 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 0), a0);
            a1 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 8), a1);
            a2 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 16), a2);
            a3 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 24), a3);
            a4 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 32), a4);
            a5 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 40), a5);
            a6 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 48), a6);
            a7 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 56), a7);
            ws = ref Unsafe.Add(ref w, stride);
            xv = Vector256.Create(Unsafe.Add(ref x, k + 1 * quarter));
            a0 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 0), a0);
            a1 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 8), a1);
            a2 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 16), a2);
            a3 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 24), a3);
            a4 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 32), a4);
            a5 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 40), a5);
            a6 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 48), a6);
            a7 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 56), a7);
            ws = ref Unsafe.Add(ref w, 2 * stride);
            xv = Vector256.Create(Unsafe.Add(ref x, k + 2 * quarter));
            a0 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 0), a0);
            a1 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 8), a1);
            a2 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 16), a2);
            a3 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 24), a3);
            a4 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 32), a4);
            a5 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 40), a5);
            a6 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 48), a6);
            a7 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 56), a7);
            ws = ref Unsafe.Add(ref w, 3 * stride);
            xv = Vector256.Create(Unsafe.Add(ref x, k + 3 * quarter));
            a0 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 0), a0);
            a1 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 8), a1);
            a2 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 16), a2);
            a3 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 24), a3);
            a4 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 32), a4);
            a5 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 40), a5);
            a6 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 48), a6);
            a7 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref ws, 56), a7);
            w = ref Unsafe.Add(ref w, PanelRows);
        }

        // The remainder columns, in order, after the four quarters.
        w = ref Unsafe.Add(ref w, (PanelStreams - 1) * stride);
        for (k = PanelStreams * quarter; k < cols; k++)
        {
            Vector256<float> xv = Vector256.Create(Unsafe.Add(ref x, k));
            a0 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref w, 0), a0);
            a1 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref w, 8), a1);
            a2 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref w, 16), a2);
            a3 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref w, 24), a3);
            a4 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref w, 32), a4);
            a5 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref w, 40), a5);
            a6 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref w, 48), a6);
            a7 = MultiplyAdd.Invoke(xv, Vector256.LoadUnsafe(ref w, 56), a7);
            w = ref Unsafe.Add(ref w, PanelRows);
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

    /// <summary>As <see cref="PanelAccumulate256"/> for half a block (32 rows, eight Vector128 accumulators); the column stride stays 64.</summary>
    private static void PanelAccumulate128(ref float w, nint cols, ref float x, ref float tile)
    {
        Vector128<float> a0 = Vector128.LoadUnsafe(ref tile, 0);
        Vector128<float> a1 = Vector128.LoadUnsafe(ref tile, 4);
        Vector128<float> a2 = Vector128.LoadUnsafe(ref tile, 8);
        Vector128<float> a3 = Vector128.LoadUnsafe(ref tile, 12);
        Vector128<float> a4 = Vector128.LoadUnsafe(ref tile, 16);
        Vector128<float> a5 = Vector128.LoadUnsafe(ref tile, 20);
        Vector128<float> a6 = Vector128.LoadUnsafe(ref tile, 24);
        Vector128<float> a7 = Vector128.LoadUnsafe(ref tile, 28);
        nint quarter = cols / PanelStreams, k = 0;
        nint stride = quarter * PanelRows;
        for (; k < quarter; k++)
        {
            ref float ws = ref w;
            Vector128<float> xv = Vector128.Create(Unsafe.Add(ref x, k));
            a0 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 0), a0);
            a1 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 4), a1);
            a2 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 8), a2);
            a3 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 12), a3);
            a4 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 16), a4);
            a5 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 20), a5);
            a6 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 24), a6);
            a7 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 28), a7);
            ws = ref Unsafe.Add(ref w, stride);
            xv = Vector128.Create(Unsafe.Add(ref x, k + 1 * quarter));
            a0 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 0), a0);
            a1 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 4), a1);
            a2 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 8), a2);
            a3 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 12), a3);
            a4 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 16), a4);
            a5 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 20), a5);
            a6 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 24), a6);
            a7 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 28), a7);
            ws = ref Unsafe.Add(ref w, 2 * stride);
            xv = Vector128.Create(Unsafe.Add(ref x, k + 2 * quarter));
            a0 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 0), a0);
            a1 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 4), a1);
            a2 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 8), a2);
            a3 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 12), a3);
            a4 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 16), a4);
            a5 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 20), a5);
            a6 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 24), a6);
            a7 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 28), a7);
            ws = ref Unsafe.Add(ref w, 3 * stride);
            xv = Vector128.Create(Unsafe.Add(ref x, k + 3 * quarter));
            a0 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 0), a0);
            a1 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 4), a1);
            a2 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 8), a2);
            a3 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 12), a3);
            a4 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 16), a4);
            a5 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 20), a5);
            a6 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 24), a6);
            a7 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref ws, 28), a7);
            w = ref Unsafe.Add(ref w, PanelRows);
        }

        // The remainder columns, in order, after the four quarters.
        w = ref Unsafe.Add(ref w, (PanelStreams - 1) * stride);
        for (k = PanelStreams * quarter; k < cols; k++)
        {
            Vector128<float> xv = Vector128.Create(Unsafe.Add(ref x, k));
            a0 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref w, 0), a0);
            a1 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref w, 4), a1);
            a2 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref w, 8), a2);
            a3 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref w, 12), a3);
            a4 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref w, 16), a4);
            a5 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref w, 20), a5);
            a6 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref w, 24), a6);
            a7 = MultiplyAdd.Invoke(xv, Vector128.LoadUnsafe(ref w, 28), a7);
            w = ref Unsafe.Add(ref w, PanelRows);
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

    private static void PanelAccumulateScalar(ref float w, nint cols, ref float x, ref float tile)
    {
        nint quarter = cols / PanelStreams;
        for (nint r = 0; r < PanelRows; r++)
        {
            float acc = Unsafe.Add(ref tile, r);
            for (nint k = 0; k < quarter; k++)
            {
                for (nint stream = 0; stream < PanelStreams; stream++)
                {
                    nint column = stream * quarter + k;
                    acc = MultiplyAdd.Invoke(Unsafe.Add(ref x, column), Unsafe.Add(ref w, column * PanelRows + r), acc);
                }
            }
            for (nint column = PanelStreams * quarter; column < cols; column++)
                acc = MultiplyAdd.Invoke(Unsafe.Add(ref x, column), Unsafe.Add(ref w, column * PanelRows + r), acc);
            Unsafe.Add(ref tile, r) = acc;
        }
    }
}
