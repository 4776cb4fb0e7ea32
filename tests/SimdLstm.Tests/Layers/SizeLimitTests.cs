using System;
using Xunit;

namespace SimdLstm.Tests.Layers;

/// <summary>
/// Shapes too large for an array are refused as an <see cref="ArgumentOutOfRangeException"/> naming the size, never
/// accepted with a wrapped product or failing later with an <see cref="OverflowException"/>.
/// </summary>
public class SizeLimitTests
{
    [Theory]
    [InlineData(CellKind.Lstm, 1, int.MaxValue)]
    [InlineData(CellKind.Lstm, int.MaxValue, 2)]
    [InlineData(CellKind.Gru, 50_000, 50_000)]
    [InlineData(CellKind.Rnn, 1, int.MaxValue)]
    public void Options_TooLargeForAnArray_AreRefused(CellKind cell, int inputSize, int hiddenSize)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new RecurrentOptions(cell, inputSize, hiddenSize));
        Assert.Equal("hiddenSize", e.ParamName);
    }

    [Fact]
    public void Options_BidirectionalWideInputsTooLarge_AreRefused()
    {
        // Layer 1 of a bidirectional network takes 2·H inputs: its weight_ih is [G·H, 2·H], 80 000 × 40 000 here.
        Assert.Throws<ArgumentOutOfRangeException>(() => RecurrentOptions.Lstm(1, 20_000, numLayers: 2, bidirectional: true));
    }

    [Fact]
    public void Workspace_TooLarge_IsRefusedNamingTheSize()
    {
        var model = new SequenceModel(RecurrentOptions.Lstm(64, 512), outputSize: 64, seed: 1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.CreateWorkspace(30_000, 1_000));
        Assert.Equal("maxSteps", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RecurrentWorkspace(RecurrentOptions.Lstm(8, 8), int.MaxValue, int.MaxValue));
    }

    [Fact]
    public void SoftmaxCrossEntropy_RowsTimesClassesTooLarge_IsRefusedNamingRows()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => SoftmaxCrossEntropy.Forward([], 65536, 65536, [], []));
        Assert.Equal("rows", e.ParamName);
    }
}
