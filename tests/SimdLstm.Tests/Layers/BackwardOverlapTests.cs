using System;
using System.Linq;
using Xunit;

namespace SimdLstm.Tests.Layers;

/// <summary>
/// Backward reads its inputs while it writes its outputs, so an output overlapping an input, another output, the weights
/// or the gradients is refused, naming it, before anything is written: every output and the gradients are unchanged.
/// </summary>
public class BackwardOverlapTests
{
    private const int Steps = 3, Batch = 2, InputSize = 4, HiddenSize = 5, Layers = 2;
    private const int StateLength = Layers * Batch * HiddenSize;

    // (overlap, the parameter named): where two outputs overlap, the first output checked is named (dInput, then
    // dInitialHidden, then dInitialCell).
    public static TheoryData<CellKind, string, string> Cases()
    {
        var data = new TheoryData<CellKind, string, string>();
        foreach (CellKind cell in CellCases.All)
        {
            data.Add(cell, "dInitialHidden over dFinalHidden", "dInitialHidden");
            data.Add(cell, "dInput over dOutput", "dInput");
            data.Add(cell, "dInitialHidden over dInput", "dInput");
            data.Add(cell, "dInput over the gradients", "dInput");
        }
        data.Add(CellKind.Lstm, "dInitialCell over dFinalCell", "dInitialCell");
        data.Add(CellKind.Lstm, "dInitialCell over dInitialHidden", "dInitialHidden");
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void OverlappingOutputs_AreRefusedBeforeWriting(CellKind cell, string overlap, string expected)
    {
        var layer = new RecurrentLayer(new RecurrentOptions(cell, InputSize, HiddenSize, Layers), seed: 1);
        RecurrentWorkspace workspace = layer.CreateWorkspace(Steps, Batch);
        float[] input = Enumerable.Range(0, Steps * Batch * InputSize).Select(i => MathF.Sin(i)).ToArray();
        layer.Forward(input, Steps, layer.CreateState(Batch), workspace, new float[Steps * Batch * HiddenSize]);
        RecurrentParameters gradients = layer.CreateGradients();
        gradients.Buffer.Span.Fill(0.5f);
        bool lstm = layer.Options.HasCellState;

        // One shared block holds every argument; the overlap under test aliases two of them.
        int dOutputLength = Steps * Batch * HiddenSize, dInputLength = Steps * Batch * InputSize;
        float[] block = Enumerable.Range(0, 2 * dOutputLength + 2 * dInputLength + 8 * StateLength).Select(i => (float)i).ToArray();
        int at = 0;
        Range Take(int length) { var r = new Range(at, at + length); at += length; return r; }
        Range dOutput = Take(dOutputLength), dInput = Take(dInputLength), dFinalHidden = Take(StateLength), dFinalCell = Take(StateLength);
        Range dInitialHidden = Take(StateLength), dInitialCell = Take(StateLength);
        switch (overlap)
        {
            case "dInitialHidden over dFinalHidden": dInitialHidden = Shift(dFinalHidden, 3); break;
            case "dInput over dOutput": dInput = new Range(dOutput.Start.Value + 1, dOutput.Start.Value + 1 + dInputLength); break;
            case "dInitialHidden over dInput": dInitialHidden = new Range(dInput.Start.Value, dInput.Start.Value + StateLength); break;
            case "dInitialCell over dFinalCell": dInitialCell = dFinalCell; break;
            case "dInitialCell over dInitialHidden": dInitialCell = Shift(dInitialHidden, 1); break;
        }
        float[] before = block.ToArray(), gradientsBefore = gradients.Buffer.Span.ToArray();
        ArgumentException e;
        if (overlap == "dInput over the gradients")
        {
            e = Assert.ThrowsAny<ArgumentException>(() => layer.Backward(block.AsSpan(dOutput), workspace, gradients,
                gradients.Buffer.Span[..dInputLength]));
        }
        else
        {
            e = Assert.ThrowsAny<ArgumentException>(() => layer.Backward(block.AsSpan(dOutput), workspace, gradients, block.AsSpan(dInput),
                block.AsSpan(dFinalHidden), lstm ? block.AsSpan(dFinalCell) : default, block.AsSpan(dInitialHidden), lstm ? block.AsSpan(dInitialCell) : default));
        }
        Assert.Equal(expected, e.ParamName);
        Assert.Equal(before, block);
        Assert.Equal(gradientsBefore, gradients.Buffer.Span.ToArray());
    }

    private static Range Shift(Range r, int by) => new(r.Start.Value + by, r.End.Value + by);
}
