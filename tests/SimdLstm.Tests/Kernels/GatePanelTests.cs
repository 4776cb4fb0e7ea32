using System;
using System.Linq;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using Xunit;

namespace SimdLstm.Tests.Kernels;

/// <summary>
/// The gate-panel kernels of the packed batch-1 step: <see cref="SimdLstm.Kernels.PackGatePanels"/>,
/// <see cref="SimdLstm.Kernels.GatePanelGemv"/> (y += A·xa + B·xb), <see cref="SimdLstm.Kernels.GatePanelGemvBlocks"/>
/// and <see cref="SimdLstm.Kernels.GatePanelAddColumn"/>. The products are checked against a double-precision sum over
/// the UNPACKED weights (so a packing mistake and a kernel mistake both show) and, bit for bit, against a float loop
/// written here that follows the documented summation order; CI runs this class on the Vector256, Vector128-only and
/// scalar-only paths, so the bitwise test proves every path keeps that order. Every property runs for gate counts that
/// divide 64 (1 an RNN, 2, 4 an LSTM) and for ones that do not (3 a GRU, 5, 7, and in the layout tests 33 and 64, one unit
/// per gate), whose blocks hold U = ⌊64 / G⌋ units of each gate and G·U &lt; 64 used rows.
/// </summary>
public class GatePanelTests
{
    private const int PanelRows = 64;

    /// <summary>Gate counts of the sweeps: dividing 64 and not.</summary>
    private static readonly int[] SweepGateCounts = [1, 2, 3, 4, 5, 7];

    /// <summary>What a sweep compares the kernel's y against.</summary>
    public enum Oracle
    {
        /// <summary>The double-precision sum, within the forward error bound of a sequential sum.</summary>
        Double,

        /// <summary>The documented float order, bitwise.</summary>
        DocumentedOrder,
    }

    public static TheoryData<int, Oracle> GatesAndOracles
    {
        get
        {
            var data = new TheoryData<int, Oracle>();
            foreach (Oracle oracle in new[] { Oracle.Double, Oracle.DocumentedOrder })
            {
                foreach (int gateCount in SweepGateCounts)
                    data.Add(gateCount, oracle);
            }
            return data;
        }
    }

    public static TheoryData<int> SweepGates => [.. SweepGateCounts];

    /// <summary>One unit, a few, 16 and 17 (an LSTM block and one more), and one block of U and U + 1 units for this G.</summary>
    private static int[] FewHiddenSizes(int gateCount)
    {
        int units = PanelRows / gateCount;
        return [.. new[] { 1, 5, 16, 17, units, units + 1 }.Distinct().Order()];
    }

    [Theory]
    [MemberData(nameof(GatesAndOracles))]
    public void GatePanelGemv_MatchesOracle_EveryColumnCountOfA(int gateCount, Oracle oracle)
    {
        var random = new Random(3100 + gateCount);
        foreach (int hiddenSize in FewHiddenSizes(gateCount))
        {
            for (int colsA = 0; colsA <= 257; colsA++)
                Check(gateCount, hiddenSize, colsA, random.Next(0, 40), oracle, random);
        }
    }

    [Theory]
    [MemberData(nameof(GatesAndOracles))]
    public void GatePanelGemv_MatchesOracle_EveryColumnCountOfB(int gateCount, Oracle oracle)
    {
        var random = new Random(3200 + gateCount);
        foreach (int hiddenSize in FewHiddenSizes(gateCount))
        {
            for (int colsB = 0; colsB <= 257; colsB++)
                Check(gateCount, hiddenSize, random.Next(0, 40), colsB, oracle, random);
        }
    }

    [Theory]
    [MemberData(nameof(GatesAndOracles))]
    public void GatePanelGemv_MatchesOracle_EveryHiddenSize(int gateCount, Oracle oracle)
    {
        // Column counts below, at and above one quarter-interleave round (4), and both products empty.
        var random = new Random(3300 + gateCount);
        foreach ((int colsA, int colsB) in new[] { (0, 0), (3, 0), (0, 5), (7, 9), (13, 4) })
        {
            for (int hiddenSize = 0; hiddenSize <= 257; hiddenSize++)
                Check(gateCount, hiddenSize, colsA, colsB, oracle, random);
        }
    }

    [Theory]
    [MemberData(nameof(SweepGates))]
    public void GatePanelGemv_ResultsDoNotDependOnAlignment(int gateCount)
    {
        // H = 45 leaves a partial last block for every G but 7 (5 blocks of 9); 37 and 70 columns leave remainders of 1 and 2
        // after the quarters.
        const int hiddenSize = 45, colsA = 37, colsB = 70;
        float[] expected = RunAtOffsets(gateCount, hiddenSize, colsA, colsB, [0, 0, 0, 0, 0]);
        for (int operand = 0; operand < 5; operand++)
        {
            for (int offset = 1; offset < 8; offset++)
            {
                int[] offsets = new int[5];
                offsets[operand] = offset;
                float[] actual = RunAtOffsets(gateCount, hiddenSize, colsA, colsB, offsets);
                AssertBitwiseEqual(expected, actual, $"G = {gateCount}, operand {operand} at offset {offset}");
            }
        }
    }

    [Theory]
    [InlineData(1, 45)]
    [InlineData(2, 45)]
    [InlineData(3, 1)]
    [InlineData(3, 21)]
    [InlineData(3, 45)]
    [InlineData(4, 45)]
    [InlineData(4, 17)]
    [InlineData(5, 45)]
    [InlineData(7, 45)]
    [InlineData(33, 3)]
    [InlineData(64, 2)]
    public void GatePanelGemv_NeverWritesRowsOfUnitsBeyondHiddenSize(int gateCount, int hiddenSize)
    {
        // The padding rows of the packed matrices (units past H, and the rows G·U..63 no gate uses) hold NaN instead of
        // zero: their accumulators become NaN, so a write-back of a padding row lands as NaN in the next gate's rows (caught
        // by the comparison) or past the end of y (caught by the guards). y is exactly G·H long.
        const int colsA = 11, colsB = 22;
        var random = new Random(3400);
        float[] wa = GemmTestMatrix.RandomVector(gateCount * hiddenSize * colsA, random);
        float[] wb = GemmTestMatrix.RandomVector(gateCount * hiddenSize * colsB, random);
        float[] xa = GemmTestMatrix.RandomVector(colsA, random), xb = GemmTestMatrix.RandomVector(colsB, random);
        float[] y0 = GemmTestMatrix.RandomVector(gateCount * hiddenSize, random);
        var packedA = new GuardedBuffer(PoisonPadding(Pack(wa, gateCount, hiddenSize, colsA), gateCount, hiddenSize, colsA), 3);
        var packedB = new GuardedBuffer(PoisonPadding(Pack(wb, gateCount, hiddenSize, colsB), gateCount, hiddenSize, colsB), 5);
        var y = new GuardedBuffer(y0, 1);

        SimdLstm.Kernels.GatePanelGemv(packedA.Span, colsA, xa, packedB.Span, colsB, xb, gateCount, hiddenSize, y.Span);

        AssertBitwiseEqual(DocumentedOrder(wa, colsA, xa, wb, colsB, xb, gateCount, hiddenSize, y0), y.ToArray(), "y");
        y.AssertGuardsIntact();
        packedA.AssertGuardsIntact();
        packedB.AssertGuardsIntact();
    }

    [Theory]
    [InlineData(1, 150)]
    [InlineData(2, 70)]
    [InlineData(3, 21)]
    [InlineData(3, 64)]
    [InlineData(3, 100)]
    [InlineData(4, 45)]
    [InlineData(4, 64)]
    [InlineData(5, 45)]
    [InlineData(7, 50)]
    [InlineData(33, 4)]
    public void GatePanelGemvBlocks_DisjointRangesEqualTheWholeCall(int gateCount, int hiddenSize)
    {
        const int colsA = 19, colsB = 33;
        var random = new Random(3500);
        float[] wa = GemmTestMatrix.RandomVector(gateCount * hiddenSize * colsA, random);
        float[] wb = GemmTestMatrix.RandomVector(gateCount * hiddenSize * colsB, random);
        float[] pa = Pack(wa, gateCount, hiddenSize, colsA), pb = Pack(wb, gateCount, hiddenSize, colsB);
        float[] xa = GemmTestMatrix.RandomVector(colsA, random), xb = GemmTestMatrix.RandomVector(colsB, random);
        float[] y0 = GemmTestMatrix.RandomVector(gateCount * hiddenSize, random);
        float[] whole = (float[])y0.Clone();
        SimdLstm.Kernels.GatePanelGemv(pa, colsA, xa, pb, colsB, xb, gateCount, hiddenSize, whole);

        int blocks = SimdLstm.Kernels.PanelBlocks(gateCount, hiddenSize);
        Assert.True(blocks >= 1 && blocks * (PanelRows / gateCount) >= hiddenSize && (blocks - 1) * (PanelRows / gateCount) < hiddenSize);
        int units = PanelRows / gateCount;
        for (int split = 0; split <= blocks; split++)
        {
            // The first range alone writes exactly its blocks' rows: the others still hold y0.
            float[] y = (float[])y0.Clone();
            SimdLstm.Kernels.GatePanelGemvBlocks(pa, colsA, xa, pb, colsB, xb, gateCount, hiddenSize, y, 0, split);
            for (int row = 0; row < y.Length; row++)
            {
                bool inRange = row % hiddenSize < split * units;
                Assert.True(BitsEqual(inRange ? whole[row] : y0[row], y[row]), $"split {split}: row {row} after the first range");
            }

            SimdLstm.Kernels.GatePanelGemvBlocks(pa, colsA, xa, pb, colsB, xb, gateCount, hiddenSize, y, split, blocks);
            AssertBitwiseEqual(whole, y, $"split at block {split} of {blocks}");
        }
    }

    /// <summary>
    /// The two products into separate outputs, as the GRU step calls the kernel (W_ih·x into y, W_hh·h into the recurrent
    /// projection): the other operand is an empty span with 0 columns, over any split of the blocks. Each output is bitwise
    /// the documented order with the other product empty, only the blocks' rows are written, padding rows are poisoned,
    /// and with both products empty y is left as it was.
    /// </summary>
    [Theory]
    [InlineData(1, 70)]
    [InlineData(3, 1)]
    [InlineData(3, 21)]
    [InlineData(3, 50)]
    [InlineData(4, 45)]
    [InlineData(7, 20)]
    public void GatePanelGemvBlocks_SeparateProductsWithEmptyOperands(int gateCount, int hiddenSize)
    {
        int colsA = 13, colsB = hiddenSize, rows = gateCount * hiddenSize;
        var random = new Random(3550 + gateCount);
        float[] wa = GemmTestMatrix.RandomVector(rows * colsA, random), wb = GemmTestMatrix.RandomVector(rows * colsB, random);
        float[] pa = PoisonPadding(Pack(wa, gateCount, hiddenSize, colsA), gateCount, hiddenSize, colsA);
        float[] pb = PoisonPadding(Pack(wb, gateCount, hiddenSize, colsB), gateCount, hiddenSize, colsB);
        float[] xa = GemmTestMatrix.RandomVector(colsA, random), xb = GemmTestMatrix.RandomVector(colsB, random);
        float[] y0 = GemmTestMatrix.RandomVector(rows, random), recurrent0 = GemmTestMatrix.RandomVector(rows, random);
        float[] expectedY = DocumentedOrder(wa, colsA, xa, [], 0, [], gateCount, hiddenSize, y0);
        float[] expectedRecurrent = DocumentedOrder([], 0, [], wb, colsB, xb, gateCount, hiddenSize, recurrent0);
        int blocks = SimdLstm.Kernels.PanelBlocks(gateCount, hiddenSize), units = PanelRows / gateCount;
        for (int split = 0; split <= blocks; split++)
        {
            var y = new GuardedBuffer(y0, split % 8);
            var recurrent = new GuardedBuffer(recurrent0, (split + 3) % 8);
            SimdLstm.Kernels.GatePanelGemvBlocks(pa, colsA, xa, [], 0, [], gateCount, hiddenSize, y.Span, 0, split);
            SimdLstm.Kernels.GatePanelGemvBlocks([], 0, [], pb, colsB, xb, gateCount, hiddenSize, recurrent.Span, 0, split);
            for (int row = 0; row < rows; row++)
            {
                bool inRange = row % hiddenSize < split * units;
                Assert.True(BitsEqual(inRange ? expectedY[row] : y0[row], y.Span[row]), $"split {split}: y row {row} after the first range");
                Assert.True(BitsEqual(inRange ? expectedRecurrent[row] : recurrent0[row], recurrent.Span[row]), $"split {split}: recurrent row {row} after the first range");
            }

            SimdLstm.Kernels.GatePanelGemvBlocks(pa, colsA, xa, [], 0, [], gateCount, hiddenSize, y.Span, split, blocks);
            SimdLstm.Kernels.GatePanelGemvBlocks([], 0, [], pb, colsB, xb, gateCount, hiddenSize, recurrent.Span, split, blocks);
            AssertBitwiseEqual(expectedY, y.ToArray(), $"G = {gateCount}, H = {hiddenSize}: y, split at block {split} of {blocks}");
            AssertBitwiseEqual(expectedRecurrent, recurrent.ToArray(), $"G = {gateCount}, H = {hiddenSize}: recurrent, split at block {split} of {blocks}");
            y.AssertGuardsIntact();
            recurrent.AssertGuardsIntact();
        }

        var untouched = new GuardedBuffer(y0, 5);
        SimdLstm.Kernels.GatePanelGemvBlocks([], 0, [], [], 0, [], gateCount, hiddenSize, untouched.Span, 0, blocks);
        SimdLstm.Kernels.GatePanelGemv([], 0, [], [], 0, [], gateCount, hiddenSize, untouched.Span);
        AssertBitwiseEqual(y0, untouched.ToArray(), $"G = {gateCount}, H = {hiddenSize}: both products empty");
        untouched.AssertGuardsIntact();
    }

    [Theory]
    [InlineData(1, 1, 3)]
    [InlineData(1, 70, 5)]
    [InlineData(2, 33, 4)]
    [InlineData(4, 1, 2)]
    [InlineData(4, 17, 7)]
    [InlineData(4, 45, 1)]
    [InlineData(4, 16, 0)]
    [InlineData(3, 1, 3)]
    [InlineData(3, 21, 2)]
    [InlineData(3, 22, 5)]
    [InlineData(3, 45, 3)]
    [InlineData(5, 13, 2)]
    [InlineData(7, 10, 3)]
    [InlineData(33, 2, 2)]
    [InlineData(64, 3, 1)]
    public void PackGatePanels_PlacesEveryElementByTheDocumentedFormula(int gateCount, int hiddenSize, int cols)
    {
        // Distinct values, so each element of W can be found exactly once in the packed form.
        float[] w = new float[gateCount * hiddenSize * cols];
        for (int i = 0; i < w.Length; i++)
            w[i] = i + 1;
        int blocks = SimdLstm.Kernels.PanelBlocks(gateCount, hiddenSize), units = PanelRows / gateCount;
        Assert.Equal((hiddenSize + units - 1) / units, blocks);
        int length = SimdLstm.Kernels.PackedGatePanelLength(gateCount, hiddenSize, cols);
        Assert.Equal(blocks * cols * PanelRows, length);

        // NaN beforehand: an element the packer forgets to write (a padding row left stale) shows.
        var packed = new GuardedBuffer(length, 3);
        packed.Span.Fill(float.NaN);
        SimdLstm.Kernels.PackGatePanels(w, gateCount, hiddenSize, cols, packed.Span);
        packed.AssertGuardsIntact();

        int found = 0;
        for (int j = 0; j < blocks; j++)
        {
            for (int k = 0; k < cols; k++)
            {
                for (int r = 0; r < PanelRows; r++)
                {
                    // Documented: element (j, k, r) at (j·K + k)·64 + r is W's row q·H + j·U + u, r = q·U + u < G·U; zero past H
                    // and in the rows G·U..63.
                    int q = r / units, unit = j * units + r % units;
                    float actual = packed.Span[(j * cols + k) * PanelRows + r];
                    float expected = q < gateCount && unit < hiddenSize ? w[(q * hiddenSize + unit) * cols + k] : 0f;
                    Assert.True(BitsEqual(expected, actual), $"block {j}, column {k}, panel row {r}: expected {expected}, got {actual}");
                    if (actual != 0)
                        found++;
                }
            }
        }
        Assert.Equal(w.Length, found);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 70)]
    [InlineData(2, 33)]
    [InlineData(4, 17)]
    [InlineData(4, 45)]
    [InlineData(3, 1)]
    [InlineData(3, 21)]
    [InlineData(3, 45)]
    [InlineData(5, 13)]
    [InlineData(7, 10)]
    [InlineData(64, 2)]
    public void GatePanelAddColumn_AddsTheColumnOfW_Exactly(int gateCount, int hiddenSize)
    {
        const int cols = 9;
        var random = new Random(3600);
        float[] w = GemmTestMatrix.RandomVector(gateCount * hiddenSize * cols, random);
        float[] packed = PoisonPadding(Pack(w, gateCount, hiddenSize, cols), gateCount, hiddenSize, cols);
        for (int column = 0; column < cols; column++)
        {
            float[] y0 = GemmTestMatrix.RandomVector(gateCount * hiddenSize, random);
            var y = new GuardedBuffer(y0, column % 8);
            SimdLstm.Kernels.GatePanelAddColumn(packed, cols, column, gateCount, hiddenSize, y.Span);
            y.AssertGuardsIntact();
            for (int row = 0; row < y0.Length; row++)
            {
                // One float addition per element, so the result is exact to the bit.
                float expected = y0[row] + w[row * cols + column];
                Assert.True(BitsEqual(expected, y.Span[row]), $"column {column}, row {row}: expected {expected}, got {y.Span[row]}");
            }
        }
    }

    [Fact]
    public void GatePanelGemv_ThrowsForBadArgumentsBeforeWriting()
    {
        // G = 4, H = 3 (one block), colsA = 2, colsB = 5.
        float[] pa = new float[SimdLstm.Kernels.PackedGatePanelLength(4, 3, 2)], pb = new float[SimdLstm.Kernels.PackedGatePanelLength(4, 3, 5)];
        float[] xa = new float[2], xb = new float[5];
        AssertThrowsUntouched<ArgumentOutOfRangeException>("gateCount", y => SimdLstm.Kernels.GatePanelGemv(pa, 2, xa, pb, 5, xb, 65, 3, y), 195);
        AssertThrowsUntouched<ArgumentOutOfRangeException>("gateCount", y => SimdLstm.Kernels.GatePanelGemv(pa, 2, xa, pb, 5, xb, 0, 12, y), 0);
        AssertThrowsUntouched<ArgumentOutOfRangeException>("gateCount", y => SimdLstm.Kernels.GatePanelGemv(pa, 2, xa, pb, 5, xb, -4, 3, y), 12);
        AssertThrowsUntouched<ArgumentOutOfRangeException>("gateCount", y => SimdLstm.Kernels.GatePanelGemv(pa, 2, xa, pb, 5, xb, 128, 3, y), 12);
        AssertThrowsUntouched<ArgumentOutOfRangeException>("hiddenSize", y => SimdLstm.Kernels.GatePanelGemv(pa, 2, xa, pb, 5, xb, 4, -3, y), 12);
        AssertThrowsUntouched<ArgumentOutOfRangeException>("colsA", y => SimdLstm.Kernels.GatePanelGemv(pa, -2, xa, pb, 5, xb, 4, 3, y), 12);
        AssertThrowsUntouched<ArgumentOutOfRangeException>("colsB", y => SimdLstm.Kernels.GatePanelGemv(pa, 2, xa, pb, -5, xb, 4, 3, y), 12);
        AssertThrowsUntouched<ArgumentException>("packedA", y => SimdLstm.Kernels.GatePanelGemv(pa.AsSpan(1), 2, xa, pb, 5, xb, 4, 3, y), 12);
        AssertThrowsUntouched<ArgumentException>("packedA", y => SimdLstm.Kernels.GatePanelGemv(pa, 3, new float[3], pb, 5, xb, 4, 3, y), 12);
        AssertThrowsUntouched<ArgumentException>("packedB", y => SimdLstm.Kernels.GatePanelGemv(pa, 2, xa, pb.AsSpan(0, pb.Length - 64), 5, xb, 4, 3, y), 12);
        AssertThrowsUntouched<ArgumentException>("xa", y => SimdLstm.Kernels.GatePanelGemv(pa, 2, xa.AsSpan(1), pb, 5, xb, 4, 3, y), 12);
        AssertThrowsUntouched<ArgumentException>("xb", y => SimdLstm.Kernels.GatePanelGemv(pa, 2, xa, pb, 5, new float[6], 4, 3, y), 12);
        AssertThrowsUntouched<ArgumentException>("y", y => SimdLstm.Kernels.GatePanelGemv(pa, 2, xa, pb, 5, xb, 4, 3, y), 11);
        AssertThrowsUntouched<ArgumentException>("y", y => SimdLstm.Kernels.GatePanelGemv(pa, 2, xa, pb, 5, xb, 4, 3, y), 16);
        // y must be exactly G·H, not merely long enough: the padded 64 rows of the block are not part of y.
        AssertThrowsUntouched<ArgumentException>("y", y => SimdLstm.Kernels.GatePanelGemv(pa, 2, xa, pb, 5, xb, 4, 3, y), 64);

        // Every G from 1 to 64 is accepted (U = ⌊64 / G⌋ ≥ 1); the same packed lengths fit G = 3, H = 4 (one block).
        SimdLstm.Kernels.GatePanelGemv(pa, 2, xa, pb, 5, xb, 3, 4, new float[12]);
        for (int gateCount = 1; gateCount <= PanelRows; gateCount++)
        {
            int blocks = SimdLstm.Kernels.PanelBlocks(gateCount, 2);
            SimdLstm.Kernels.GatePanelGemv(new float[blocks * 3 * PanelRows], 3, new float[3], [], 0, [], gateCount, 2, new float[2 * gateCount]);
        }
    }

    [Fact]
    public void GatePanelGemv_ThrowsWhenGateRowsExceedOneArray()
    {
        // 4 · 2³⁰ gate rows wrap to 0 in int: with empty products an empty y would match that wrapped length, and the
        // kernel would then write 2³² rows through it. The size must be refused first.
        var y = new GuardedBuffer(0);
        ArgumentOutOfRangeException e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            SimdLstm.Kernels.GatePanelGemv([], 0, [], [], 0, [], 4, 1 << 30, y.Span));
        Assert.Equal("hiddenSize", e.ParamName);
        y.AssertGuardsIntact();
        e = Assert.Throws<ArgumentOutOfRangeException>(() => SimdLstm.Kernels.PackGatePanels([], 4, 1 << 30, 0, []));
        Assert.Equal("hiddenSize", e.ParamName);

        // The block count of the largest sizes does not wrap either (H + 63 overflows int for H near int.MaxValue).
        Assert.Equal(1 << 25, SimdLstm.Kernels.PanelBlocks(1, int.MaxValue));
        Assert.Equal(1 << 27, SimdLstm.Kernels.PanelBlocks(4, int.MaxValue));
        Assert.Equal(102_261_127, SimdLstm.Kernels.PanelBlocks(3, int.MaxValue)); // ⌈(2³¹ − 1) / 21⌉
        Assert.Equal(int.MaxValue, SimdLstm.Kernels.PanelBlocks(64, int.MaxValue));
    }

    [Fact]
    public void GatePanelGemv_ThrowsWhenOutputOverlapsAnInput()
    {
        // G = 1, H = 3: packed A [1 block, 2 columns] = 128 floats at 0..127, packed B [1 block, 1 column] at 128..191,
        // xa at 200..201, xb at 210; y [3] placed on each in turn.
        float[] storage = new float[256];
        for (int i = 0; i < storage.Length; i++)
            storage[i] = i;
        float[] before = (float[])storage.Clone();
        foreach (int yStart in new[] { 0, 126, 127, 130, 189, 199, 201, 208, 210 })
        {
            ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => SimdLstm.Kernels.GatePanelGemv(
                storage.AsSpan(0, 128), 2, storage.AsSpan(200, 2), storage.AsSpan(128, 64), 1, storage.AsSpan(210, 1), 1, 3, storage.AsSpan(yStart, 3)));
            Assert.Equal("y", e.ParamName);
        }
        Assert.Equal(before, storage);
    }

    [Fact]
    public void PackGatePanels_ThrowsForBadArgumentsBeforeWriting()
    {
        float[] w = new float[4 * 3 * 2];
        int length = SimdLstm.Kernels.PackedGatePanelLength(4, 3, 2);
        AssertPackThrowsUntouched<ArgumentOutOfRangeException>("gateCount", p => SimdLstm.Kernels.PackGatePanels(w, 65, 8, 1, p), length);
        AssertPackThrowsUntouched<ArgumentOutOfRangeException>("gateCount", p => SimdLstm.Kernels.PackGatePanels(w, -3, 8, 1, p), length);
        AssertPackThrowsUntouched<ArgumentOutOfRangeException>("gateCount", p => SimdLstm.Kernels.PackGatePanels(w, 0, 3, 2, p), length);
        AssertPackThrowsUntouched<ArgumentOutOfRangeException>("hiddenSize", p => SimdLstm.Kernels.PackGatePanels(w, 4, -3, 2, p), length);
        AssertPackThrowsUntouched<ArgumentOutOfRangeException>("cols", p => SimdLstm.Kernels.PackGatePanels(w, 4, 3, -2, p), length);
        AssertPackThrowsUntouched<ArgumentException>("w", p => SimdLstm.Kernels.PackGatePanels(w.AsSpan(1), 4, 3, 2, p), length);
        AssertPackThrowsUntouched<ArgumentException>("packed", p => SimdLstm.Kernels.PackGatePanels(w, 4, 3, 2, p), length - 1);
        AssertPackThrowsUntouched<ArgumentException>("packed", p => SimdLstm.Kernels.PackGatePanels(w, 4, 3, 2, p), length + 1);
    }

    [Fact]
    public void GatePanelKernels_AllocateNothing()
    {
        const int gateCount = 4, hiddenSize = 45, colsA = 37, colsB = 45;
        var random = new Random(3700);
        float[] wa = GemmTestMatrix.RandomVector(gateCount * hiddenSize * colsA, random);
        float[] wb = GemmTestMatrix.RandomVector(gateCount * hiddenSize * colsB, random);
        float[] pa = Pack(wa, gateCount, hiddenSize, colsA), pb = Pack(wb, gateCount, hiddenSize, colsB);
        float[] xa = GemmTestMatrix.RandomVector(colsA, random), xb = GemmTestMatrix.RandomVector(colsB, random);
        float[] y = new float[gateCount * hiddenSize];
        int blocks = SimdLstm.Kernels.PanelBlocks(gateCount, hiddenSize);

        // A GRU's panels (G = 3), its two products into separate outputs.
        const int gruGates = 3;
        float[] gruW = GemmTestMatrix.RandomVector(gruGates * hiddenSize * colsA, random);
        float[] gruPacked = Pack(gruW, gruGates, hiddenSize, colsA);
        float[] gruY = new float[gruGates * hiddenSize], gruRecurrent = new float[gruGates * hiddenSize];
        int gruBlocks = SimdLstm.Kernels.PanelBlocks(gruGates, hiddenSize);
        void Iteration()
        {
            SimdLstm.Kernels.GatePanelGemvBlocks(gruPacked, colsA, xa, [], 0, [], gruGates, hiddenSize, gruY, 0, gruBlocks);
            SimdLstm.Kernels.GatePanelGemvBlocks([], 0, [], gruPacked, colsA, xa, gruGates, hiddenSize, gruRecurrent, 0, gruBlocks);
            SimdLstm.Kernels.GatePanelAddColumn(gruPacked, colsA, 3, gruGates, hiddenSize, gruY);
            SimdLstm.Kernels.PackGatePanels(gruW, gruGates, hiddenSize, colsA, gruPacked);
            y.AsSpan().Clear();
            SimdLstm.Kernels.GatePanelGemv(pa, colsA, xa, pb, colsB, xb, gateCount, hiddenSize, y);
            SimdLstm.Kernels.GatePanelGemvBlocks(pa, colsA, xa, pb, colsB, xb, gateCount, hiddenSize, y, 1, blocks);
            SimdLstm.Kernels.GatePanelAddColumn(pa, colsA, 5, gateCount, hiddenSize, y);
            SimdLstm.Kernels.PackGatePanels(wa, gateCount, hiddenSize, colsA, pa);
        }
        Iteration();
        Allocations.AssertNone(Iteration, count: 100);
    }

    // ---- helpers ----

    /// <summary>
    /// One random case at random start offsets 0..7 of every operand, all in guarded buffers, checked against
    /// <paramref name="oracle"/>.
    /// </summary>
    private static void Check(int gateCount, int hiddenSize, int colsA, int colsB, Oracle oracle, Random random)
    {
        int rows = gateCount * hiddenSize;
        float[] wa = GemmTestMatrix.RandomVector(rows * colsA, random), wb = GemmTestMatrix.RandomVector(rows * colsB, random);
        var packedA = new GuardedBuffer(Pack(wa, gateCount, hiddenSize, colsA), random.Next(8));
        var packedB = new GuardedBuffer(Pack(wb, gateCount, hiddenSize, colsB), random.Next(8));
        var xa = new GuardedBuffer(GemmTestMatrix.RandomVector(colsA, random), random.Next(8));
        var xb = new GuardedBuffer(GemmTestMatrix.RandomVector(colsB, random), random.Next(8));
        float[] y0 = GemmTestMatrix.RandomVector(rows, random);
        var y = new GuardedBuffer(y0, random.Next(8));

        SimdLstm.Kernels.GatePanelGemv(packedA.Span, colsA, xa.Span, packedB.Span, colsB, xb.Span, gateCount, hiddenSize, y.Span);

        string label = $"G = {gateCount}, H = {hiddenSize}, colsA = {colsA}, colsB = {colsB}";
        if (oracle == Oracle.Double)
        {
            for (int row = 0; row < rows; row++)
            {
                double exact = y0[row], magnitude = Math.Abs((double)y0[row]);
                for (int k = 0; k < colsA; k++)
                {
                    double product = (double)wa[row * colsA + k] * xa.Span[k];
                    exact += product;
                    magnitude += Math.Abs(product);
                }
                for (int k = 0; k < colsB; k++)
                {
                    double product = (double)wb[row * colsB + k] * xb.Span[k];
                    exact += product;
                    magnitude += Math.Abs(product);
                }

                // Tolerance (n + 2) · 2⁻²⁴ · (|y0| + Σ|terms|), n = colsA + colsB. Why: the kernel evaluates y0 + Σ terms as one
                // sequential sum of n terms (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., §3.1). Fused, each
                // step rounds once: |error| ≤ γₙ · Σ|·|. Unfused, each product rounds once more before its addition:
                // |error| ≤ γₙ₊₁ · Σ|·|. With γₘ = m·u / (1 − m·u), u = 2⁻²⁴, and m = n + 1 ≤ 300 here, γₙ₊₁ < (n + 1.01)·u,
                // so (n + 2)·u covers both cases with room for the double reference's own rounding (≈ n·2⁻⁵³). The bound
                // holds for any summation order; a dropped, doubled or misplaced term misses it by a whole term.
                double tolerance = (colsA + colsB + 2) * Math.Pow(2, -24) * magnitude;
                double error = Math.Abs(y.Span[row] - exact);
                Assert.True(error <= tolerance, $"{label}: y[{row}] expected {exact:R}, got {y.Span[row]:R}, error {error:E3} > tolerance {tolerance:E3}");
            }
        }
        else
        {
            float[] expected = DocumentedOrder(wa, colsA, xa.Span, wb, colsB, xb.Span, gateCount, hiddenSize, y0);
            AssertBitwiseEqual(expected, y.ToArray(), label);
        }

        y.AssertGuardsIntact();
        packedA.AssertGuardsIntact();
        packedB.AssertGuardsIntact();
        xa.AssertGuardsIntact();
        xb.AssertGuardsIntact();
    }

    /// <summary>
    /// The documented result in float, from the unpacked W: per row, y0, then A's columns in the four-stream order
    /// (k, k + K/4, k + K/2, k + 3K/4 for k &lt; ⌊K/4⌋, then the remainder ascending), then B's the same way; each term one
    /// multiply-add, fused exactly when the library fuses (x86 FMA or Arm64 AdvSimd), else a product rounded and then
    /// added. Written from the documentation, not from the kernel.
    /// </summary>
    private static float[] DocumentedOrder(float[] wa, int colsA, ReadOnlySpan<float> xa, float[] wb, int colsB, ReadOnlySpan<float> xb,
        int gateCount, int hiddenSize, float[] y0)
    {
        float[] y = (float[])y0.Clone();
        for (int row = 0; row < gateCount * hiddenSize; row++)
        {
            float acc = y[row];
            acc = AccumulateRow(wa.AsSpan(row * colsA, colsA), xa, acc);
            acc = AccumulateRow(wb.AsSpan(row * colsB, colsB), xb, acc);
            y[row] = acc;
        }
        return y;
    }

    private static float AccumulateRow(ReadOnlySpan<float> row, ReadOnlySpan<float> x, float acc)
    {
        int cols = row.Length, quarter = cols / 4;
        for (int k = 0; k < quarter; k++)
        {
            for (int stream = 0; stream < 4; stream++)
                acc = MultiplyAddLikeTheLibrary(row[stream * quarter + k], x[stream * quarter + k], acc);
        }
        for (int k = 4 * quarter; k < cols; k++)
            acc = MultiplyAddLikeTheLibrary(row[k], x[k], acc);
        return acc;
    }

    private static float MultiplyAddLikeTheLibrary(float a, float b, float c) =>
        Fma.IsSupported || AdvSimd.Arm64.IsSupported ? MathF.FusedMultiplyAdd(a, b, c) : (a * b) + c;

    private static float[] Pack(float[] w, int gateCount, int hiddenSize, int cols)
    {
        float[] packed = new float[SimdLstm.Kernels.PackedGatePanelLength(gateCount, hiddenSize, cols)];
        SimdLstm.Kernels.PackGatePanels(w, gateCount, hiddenSize, cols, packed);
        return packed;
    }

    /// <summary>Sets the packed rows of units ≥ H and the rows G·U..63 of every block (documented to be zero) to NaN.</summary>
    private static float[] PoisonPadding(float[] packed, int gateCount, int hiddenSize, int cols)
    {
        int units = PanelRows / gateCount, blocks = SimdLstm.Kernels.PanelBlocks(gateCount, hiddenSize), poisoned = 0;
        for (int j = 0; j < blocks; j++)
        {
            for (int r = 0; r < PanelRows; r++)
            {
                if (r < gateCount * units && j * units + r % units < hiddenSize)
                    continue;
                for (int k = 0; k < cols; k++)
                {
                    Assert.Equal(0f, packed[(j * cols + k) * PanelRows + r]);
                    packed[(j * cols + k) * PanelRows + r] = float.NaN;
                    poisoned++;
                }
            }
        }
        Assert.Equal(((blocks * units - hiddenSize) * gateCount + blocks * (PanelRows - gateCount * units)) * cols, poisoned);
        return packed;
    }

    /// <summary>Same data (fixed seed) with packed A, xa, packed B, xb and y at the given offsets; returns y.</summary>
    private static float[] RunAtOffsets(int gateCount, int hiddenSize, int colsA, int colsB, int[] offsets)
    {
        var random = new Random(3800);
        int rows = gateCount * hiddenSize;
        var packedA = new GuardedBuffer(Pack(GemmTestMatrix.RandomVector(rows * colsA, random), gateCount, hiddenSize, colsA), offsets[0]);
        var xa = new GuardedBuffer(GemmTestMatrix.RandomVector(colsA, random), offsets[1]);
        var packedB = new GuardedBuffer(Pack(GemmTestMatrix.RandomVector(rows * colsB, random), gateCount, hiddenSize, colsB), offsets[2]);
        var xb = new GuardedBuffer(GemmTestMatrix.RandomVector(colsB, random), offsets[3]);
        var y = new GuardedBuffer(GemmTestMatrix.RandomVector(rows, random), offsets[4]);
        SimdLstm.Kernels.GatePanelGemv(packedA.Span, colsA, xa.Span, packedB.Span, colsB, xb.Span, gateCount, hiddenSize, y.Span);
        y.AssertGuardsIntact();
        packedA.AssertGuardsIntact();
        packedB.AssertGuardsIntact();
        xa.AssertGuardsIntact();
        xb.AssertGuardsIntact();
        return y.ToArray();
    }

    private static bool BitsEqual(float expected, float actual) =>
        BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual);

    private static void AssertBitwiseEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string label)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitsEqual(expected[i], actual[i]), $"{label}: element {i} expected {expected[i]:R}, got {actual[i]:R}");
    }

    private delegate void SpanCall(Span<float> destination);

    /// <summary>Calls with a sentinel-filled y; requires <typeparamref name="T"/> naming <paramref name="paramName"/> and y untouched.</summary>
    private static void AssertThrowsUntouched<T>(string paramName, SpanCall call, int yLength)
        where T : ArgumentException
    {
        var y = new GuardedBuffer(yLength);
        T e = Assert.Throws<T>(() => call(y.Span));
        Assert.Equal(paramName, e.ParamName);
        Assert.All(y.ToArray(), v => Assert.Equal(GuardedBuffer.Sentinel, v));
        y.AssertGuardsIntact();
    }

    private static void AssertPackThrowsUntouched<T>(string paramName, SpanCall call, int packedLength)
        where T : ArgumentException
        => AssertThrowsUntouched<T>(paramName, call, packedLength);
}
