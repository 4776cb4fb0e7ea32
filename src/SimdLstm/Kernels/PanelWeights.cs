using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SimdLstm;

/// <summary>
/// One gate matrix W [G·H, K] (PyTorch's gate order) packed in gate panels of <see cref="Kernels.PanelRows"/> rows, in one
/// number format: the seam between a packed inference copy and the format its weights are kept in. Each format is one
/// subclass with its kernel file (<see cref="Float32PanelWeights"/>, <see cref="BFloat16PanelWeights"/>,
/// <see cref="Int8PanelWeights"/>); the step's driver (<see cref="Kernels.PanelGemvBlocks"/>)
/// gathers a block's 64 rows of y into a tile, asks each matrix to add its product for that block, and writes the rows
/// back, so the block loop, the split among threads and the fused pointwise step are written once for every format.
/// </summary>
/// <remarks>
/// <para>A block is the unit of work: <see cref="AccumulateBlock"/> of block j reads only block j's weights and writes
/// only the tile, so disjoint block ranges may run on different threads with bitwise the same result.</para>
/// <para>Some formats multiply a converted copy of x (int8 quantises it to int16): <see cref="Prepare"/> converts it
/// once per product, before the blocks are shared out, into caller-owned scratch of <see cref="PreparedLength"/> values.</para>
/// </remarks>
internal abstract class PanelWeights
{
    protected PanelWeights(int gateCount, int hiddenSize, int cols)
    {
        Kernels.ValidatePanelShape(gateCount, hiddenSize, cols);
        GateCount = gateCount;
        HiddenSize = hiddenSize;
        Cols = cols;
        Blocks = Kernels.PanelBlocks(gateCount, hiddenSize);
    }

    /// <summary>G: gate blocks of H rows.</summary>
    public int GateCount { get; }

    /// <summary>H: units per gate.</summary>
    public int HiddenSize { get; }

    /// <summary>K: columns (the input size of the product).</summary>
    public int Cols { get; }

    /// <summary>Panel blocks of 64 rows covering the G·H rows.</summary>
    public int Blocks { get; }

    /// <summary>Bytes a product streams: the packed values and any per-row scales.</summary>
    public abstract long Bytes { get; }

    /// <summary>Values of scratch <see cref="Prepare"/> writes (0: the format multiplies x as it is).</summary>
    public virtual int PreparedLength => 0;

    /// <summary>
    /// Repacks from W [G·H, K] row-major, in place and without allocating.
    /// </summary>
    /// <exception cref="ArgumentException">The length of <paramref name="w"/> is not G·H·K.</exception>
    public abstract void Pack(ReadOnlySpan<float> w);

    /// <summary>
    /// Writes the weights the products multiply by (W as this format represents it), [G·H, K] row-major: what a reference
    /// computation on the format's weights uses.
    /// </summary>
    public abstract void Dequantize(Span<float> w);

    /// <summary>
    /// Converts x [K] for <see cref="AccumulateBlock"/> into <paramref name="prepared"/> (at least
    /// <see cref="PreparedLength"/> values) and returns the scale that goes with it. Formats with no preparation return 1
    /// and write nothing.
    /// </summary>
    public virtual float Prepare(ReadOnlySpan<float> x, Span<short> prepared) => 1f;

    /// <summary>
    /// tile[r] += Σ_k W[row of panel row r, k]·x[k] for the 64 panel rows of block <paramref name="block"/> (rows no gate
    /// uses, and units past H, get the product of zero weights). <paramref name="input"/> is x and what
    /// <see cref="Prepare"/> made of it. Unvalidated.
    /// </summary>
    public abstract void AccumulateBlock(int block, PanelInput input, Span<float> tile);

    /// <summary>y[q·H + u] += W[q·H + u, column] for every gate q and unit u: the product with a one-hot x. Unvalidated.</summary>
    public abstract void AddColumn(int column, Span<float> y);
}

/// <summary>The input of one product: x [K] and what <see cref="PanelWeights.Prepare"/> made of it.</summary>
internal readonly ref struct PanelInput(ReadOnlySpan<float> values, ReadOnlySpan<short> prepared, float scale)
{
    public ReadOnlySpan<float> Values { get; } = values;
    public ReadOnlySpan<short> Prepared { get; } = prepared;
    public float Scale { get; } = scale;
}

public static partial class Kernels
{
    internal static void ValidatePanelShape(int gateCount, int hiddenSize, int cols)
    {
        ValidateGates(gateCount, hiddenSize);
        Guard.NonNegative(cols, nameof(cols));
    }

    /// <summary>
    /// y += A·xa + B·xb over blocks [<paramref name="blockStart"/>, <paramref name="blockEnd"/>) of two gate matrices of any
    /// formats with the same G and H (either may be null: that product is skipped). The block's rows of y are gathered into
    /// a tile in panel-row order, A's product and then B's are added to it, and the rows that hold units are written back;
    /// no other row of y is touched. Unvalidated.
    /// </summary>
    internal static void PanelGemvBlocks(PanelWeights? a, PanelInput xa, PanelWeights? b, PanelInput xb, Span<float> y, int blockStart, int blockEnd)
    {
        PanelWeights shape = a ?? b!;
        int gateCount = shape.GateCount, hiddenSize = shape.HiddenSize, units = PanelRows / gateCount;
        Span<float> tile = stackalloc float[PanelRows];
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float tr = ref MemoryMarshal.GetReference(tile);
        for (int j = blockStart; j < blockEnd; j++)
        {
            int valid = Math.Min(units, hiddenSize - j * units);
            for (int q = 0; q < gateCount; q++)
                CopyUnits(ref Unsafe.Add(ref yr, q * hiddenSize + j * units), ref Unsafe.Add(ref tr, q * units), valid, units);
            for (int r = gateCount * units; r < PanelRows; r++)
                Unsafe.Add(ref tr, r) = 0f;
            a?.AccumulateBlock(j, xa, tile);
            b?.AccumulateBlock(j, xb, tile);
            for (int q = 0; q < gateCount; q++)
                CopyUnits(ref Unsafe.Add(ref tr, q * units), ref Unsafe.Add(ref yr, q * hiddenSize + j * units), valid, valid);
        }
    }

    /// <summary>
    /// The panel row of W's row <paramref name="row"/> (q·H + unit) and its block: the map every format packs by.
    /// </summary>
    internal static (int Block, int PanelRow) PanelRowOf(int row, int gateCount, int hiddenSize)
    {
        int units = PanelRows / gateCount, q = row / hiddenSize, unit = row % hiddenSize;
        return (unit / units, q * units + unit % units);
    }

    /// <summary>W's row of panel row <paramref name="panelRow"/> of block <paramref name="block"/>, or −1 for a padding row.</summary>
    internal static int RowOfPanel(int block, int panelRow, int gateCount, int hiddenSize)
    {
        int units = PanelRows / gateCount, q = panelRow / units, unit = block * units + panelRow % units;
        return q >= gateCount || unit >= hiddenSize ? -1 : q * hiddenSize + unit;
    }
}
