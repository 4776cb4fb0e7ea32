using System;
using SimdLstm.Testing;
using Xunit;

namespace SimdLstm.Tests.Cells;

/// <summary>
/// The cell seam itself, for every cell of <see cref="CellCases"/>: what a cell says of itself matches PyTorch's layout,
/// and its pointwise step over any split of the units (what the packed copy's threads each run on their blocks) gives the
/// whole row's values bitwise, in place or not.
/// </summary>
public class RecurrentCellTests
{
    public static TheoryData<CellKind, int> EveryCellAtSeveralSizes => CellCases.Each(1, 7, 8, 21, 45, 64, 130);

    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void Options_DescribeTheCellAsPyTorchLaysItOut(CellKind cell)
    {
        var options = new RecurrentOptions(cell, inputSize: 3, hiddenSize: 5);
        (int gates, bool hasCell) = cell switch
        {
            CellKind.Lstm => (4, true),   // nn.LSTM: i, f, g, o; h and c
            CellKind.Gru => (3, false),   // nn.GRU: r, z, n; h
            CellKind.Rnn => (1, false),   // nn.RNN: one block; h
            _ => throw new ArgumentOutOfRangeException(nameof(cell)),
        };
        Assert.Equal(cell, options.Recurrence.Kind);
        Assert.Equal(gates, options.GateCount);
        Assert.Equal(gates * 5, options.GateSize);
        Assert.Equal(hasCell, options.HasCellState);
        Assert.Equal(hasCell, new RecurrentState(options, 1).Cell.Length > 0);
        // Only a GRU keeps W_hh·h + b_hh apart (r multiplies its n block alone) and passes h₋₁ on directly (z ⊙ h₋₁).
        Assert.Equal(cell == CellKind.Gru, options.Recurrence.SeparateRecurrent);
        Assert.Equal(cell == CellKind.Gru, options.Recurrence.PassesHiddenDirectly);
    }

    [Theory]
    [MemberData(nameof(EveryCellAtSeveralSizes))]
    public void ForwardUnits_AnySplit_EqualsTheWholeRowBitwise(CellKind cell, int hiddenSize)
    {
        RecurrentCell recurrence = new RecurrentOptions(cell, 1, hiddenSize).Recurrence;
        int g = recurrence.GateCount * hiddenSize;
        var random = new SeededRandom((ulong)(1000 + hiddenSize * 10 + (int)cell));
        float[] gates = random.UniformSingle(g, -3, 3), recurrentProduct = recurrence.SeparateRecurrent ? random.UniformSingle(g, -3, 3) : [];
        float[] hPrev = random.UniformSingle(hiddenSize, -1, 1), cPrev = recurrence.HasCellState ? random.UniformSingle(hiddenSize, -1, 1) : [];

        // The whole row, out of place.
        float[] wholeGates = (float[])gates.Clone(), wholeC = (float[])cPrev.Clone(), wholeH = new float[hiddenSize];
        recurrence.Forward(hiddenSize, 1, wholeGates, recurrentProduct, hPrev, cPrev, wholeC, wholeH);

        // In place (h over hPrev, c over cPrev), as the layer's streaming step runs it.
        float[] inPlaceGates = (float[])gates.Clone(), inPlaceC = (float[])cPrev.Clone(), inPlaceH = (float[])hPrev.Clone();
        recurrence.Forward(hiddenSize, 1, inPlaceGates, recurrentProduct, inPlaceH, inPlaceC, inPlaceC, inPlaceH);
        AssertBitwise(wholeH, inPlaceH, "h in place");
        AssertBitwise(wholeC, inPlaceC, "c in place");
        AssertBitwise(wholeGates, inPlaceGates, "saved gates in place");

        // Random cut points: each range run alone, c updated in place, h into a separate buffer.
        for (int trial = 0; trial < 5; trial++)
        {
            float[] splitGates = (float[])gates.Clone(), splitC = (float[])cPrev.Clone(), splitH = new float[hiddenSize];
            int first = 0;
            while (first < hiddenSize)
            {
                int last = Math.Min(hiddenSize, first + 1 + random.NextInt32(hiddenSize));
                recurrence.ForwardUnits(hiddenSize, splitGates, recurrentProduct, hPrev, splitC, splitH, first, last);
                first = last;
            }
            AssertBitwise(wholeH, splitH, $"h, split {trial}");
            AssertBitwise(wholeC, splitC, $"c, split {trial}");
            AssertBitwise(wholeGates, splitGates, $"saved gates, split {trial}");
        }
    }

    private static void AssertBitwise(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} is {actual[i]:R}, expected bitwise {expected[i]:R}.");
        }
    }
}
