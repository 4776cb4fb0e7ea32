using System;
using System.Collections.Generic;
using System.Linq;
using FsCheck.Xunit;
using SimdLstm.Testing;
using SimdLstm.Testing.Reference;
using Xunit;

namespace SimdLstm.Tests.Layers;

/// <summary>
/// The fast float layers against the float64 reference on the sequence shapes real models have: random shapes that draw
/// the direction, per-stream lengths (none, all equal, one long and the rest short, some of length 1, random), the LSTM
/// projection and dropout, for every cell. Forward outputs (zero past each length), h_n, c_n, and every gradient of BPTT
/// (the <c>_reverse</c> and <c>weight_hr</c> tensors included), dInput, dh0 and dc0. In a training pass with dropout the
/// reference gets the masks the fast path drew (<see cref="RecurrentWorkspace.CopyDropoutMask"/>), so both compute the
/// same function.
/// </summary>
/// <remarks>
/// Tolerance: |fast − reference| ≤ 2e-5 + 1e-4·|reference|, derived as in <see cref="RecurrentLayerReferenceTests"/>. The
/// sums are longer here: a pre-activation sums at most I + D·H' + H' ≤ 17 + 3·17 = 68 terms (a projection adds one sum of
/// H ≤ 17), so its relative rounding is ≤ 68·2⁻²⁴ ≈ 4e-6; a dropout mask multiplies values by at most 1/(1 − 0.5) = 2,
/// exactly (a power of two) or with one rounding; the carries through at most 8 steps and 3 layers stay below 1 in
/// factor. Gradients sum up to T·B = 24 rows. That keeps the absolute error near 1e-5 at the values' scale, inside the
/// bound; a wrong term (a stream's state read at the wrong step, a direction's column swapped, a mask not applied) is
/// off by the size of that term.
/// </remarks>
public class SequenceReferenceTests
{
    private const double RelativeTolerance = 1e-4;
    private const double AbsoluteTolerance = 2e-5;

    [Property(Arbitrary = new[] { typeof(SequenceArbitraries) }, MaxTest = 40)]
    public void EveryCell_ForwardAndBackward_MatchReference(RecurrentCase testCase)
    {
        foreach (CellKind cell in CellCases.All)
            Check(testCase, cell);
    }

    public static TheoryData<CellKind, bool, int, float, string> Features()
    {
        var data = new TheoryData<CellKind, bool, int, float, string>();
        foreach (CellKind cell in CellCases.All)
        {
            data.Add(cell, true, 0, 0f, "");
            data.Add(cell, false, 0, 0f, "mixed");
            data.Add(cell, true, 0, 0f, "mixed");
            data.Add(cell, true, 0, 0.5f, "mixed");
            data.Add(cell, false, 0, 0.25f, "ones");
        }
        data.Add(CellKind.Lstm, false, 5, 0f, "");
        data.Add(CellKind.Lstm, true, 5, 0.5f, "mixed");
        data.Add(CellKind.Lstm, true, 3, 0f, "ones");
        return data;
    }

    [Theory]
    [MemberData(nameof(Features))]
    public void EachFeature_LargerShape_MatchesReference(CellKind cell, bool bidirectional, int projection, float dropout, string lengths)
    {
        // Larger than the property's shapes, so the kernels' vector paths and blocking run; PyTorch's initial scale.
        const int batch = 6, steps = 7;
        int[]? streamLengths = lengths switch
        {
            "mixed" => [7, 1, 4, 7, 2, 5],
            "ones" => [1, 1, 1, 1, 1, 1],
            _ => null,
        };
        var shape = new RecurrentShape(InputSize: 19, HiddenSize: 21, Steps: steps, BatchSize: batch, Layers: 2, HasBias: true, RnnActivation.Tanh)
        {
            Bidirectional = bidirectional,
            ProjectionSize = projection,
            Lengths = streamLengths,
            DropoutProbability = dropout,
        };
        Check(new RecurrentCase(shape, 31), cell, weightScale: 1 / Math.Sqrt(shape.HiddenSize));
    }

    [Theory]
    [InlineData(CellKind.Lstm, true, 4)]
    [InlineData(CellKind.Gru, true, 0)]
    [InlineData(CellKind.Rnn, false, 0)]
    public void SequenceModel_WithLengths_LossAndGradientsMatchReference(CellKind cell, bool bidirectional, int projection)
    {
        const int vocabulary = 9, hiddenSize = 8, layers = 2, steps = 6, batch = 4, classes = 5;
        int[] lengths = [6, 2, 1, 4];
        var random = new SeededRandom(12);
        var options = new RecurrentOptions(cell, vocabulary, hiddenSize, layers, true, RnnActivation.Tanh, bidirectional, projection);
        var weights = new ReferenceWeights(cell, vocabulary, hiddenSize, layers, true, RnnActivation.Tanh, bidirectional, projection);
        var reference = new ModelReference(weights, classes, linearHasBias: true).Randomize(random, 0.5);
        var model = new SequenceModel(options, classes, seed: 0);
        CopyNamed(reference.NamedParameters(), model.Parameters);
        int[] tokens = random.Tokens(steps * batch, vocabulary), targets = random.Tokens(steps * batch, classes);

        SequenceModelGradients gradients = model.CreateGradients();
        float loss = model.ForwardBackward(SequenceInput.FromTokens(tokens, steps, lengths: lengths), targets, model.CreateState(batch),
            model.CreateWorkspace(steps, batch), gradients);
        ModelGradients expected = reference.GradientsFromTokens(tokens, steps, batch, targets, lengths: lengths);
        Assert.True(Math.Abs(loss - expected.Loss) <= 1e-5 * Math.Abs(expected.Loss), $"loss {loss} vs reference {expected.Loss}");
        foreach ((string name, double[] values) in expected.NamedParameters())
            ReferenceComparison.AssertClose(name, gradients.Buffer[name].Span, values, RelativeTolerance, AbsoluteTolerance);
    }

    private static void Check(RecurrentCase testCase, CellKind cell, double weightScale = 0.6)
    {
        RecurrentShape s = testCase.Shape;
        SeededRandom random = testCase.CreateRandom();
        int projection = s.ProjectionSizeFor(cell);
        var options = new RecurrentOptions(cell, s.InputSize, s.HiddenSize, s.Layers, s.HasBias, s.Activation, s.Bidirectional, projection,
            (float)s.DropoutProbability);
        ReferenceWeights reference = s.CreateWeights(cell).Randomize(random, weightScale);
        var layer = new RecurrentLayer(options);
        CopyNamed(reference.Named(), layer.Weights.Buffer);
        int batch = s.BatchSize, steps = s.Steps, width = options.OutputSize;
        int hiddenLength = options.StateLayers * batch * options.HiddenStateSize, cellLength = options.StateLayers * batch * s.HiddenSize;
        float[] input = random.UniformSingle(steps * batch * s.InputSize, -1, 1);
        float[] h0 = random.UniformSingle(hiddenLength, -0.5f, 0.5f), c0 = random.UniformSingle(cellLength, -0.5f, 0.5f);
        float[] dOutput = random.UniformSingle(steps * batch * width, -1, 1);
        float[] dHN = random.UniformSingle(hiddenLength, -1, 1), dCN = random.UniformSingle(cellLength, -1, 1);
        bool lstm = options.HasCellState;

        RecurrentState state = layer.CreateState(batch);
        state.SetHidden(h0);
        if (lstm) state.SetCell(c0);
        RecurrentWorkspace workspace = layer.CreateWorkspace(steps, batch);
        workspace.SeedDropout(s.MaskSeed);
        float[] output = new float[dOutput.Length];
        layer.Forward(SequenceInput.Dense(input, steps, lengths: s.Lengths), state, workspace, output, training: true);
        double[][]? masks = null;
        if (options.Dropout > 0 && options.NumLayers > 1)
        {
            masks = new double[options.NumLayers - 1][];
            float[] mask = new float[output.Length];
            for (int l = 0; l < masks.Length; l++)
            {
                workspace.CopyDropoutMask(l, mask);
                masks[l] = ToDouble(mask);
            }
        }
        RecurrentParameters gradients = layer.CreateGradients();
        float[] dInput = new float[input.Length], dH0 = new float[hiddenLength], dC0 = lstm ? new float[cellLength] : [];
        layer.Backward(dOutput, workspace, gradients, dInput, dHN, lstm ? dCN : default, dH0, lstm ? dC0 : default);

        RecurrentForward f = RecurrentReference.Forward(reference, ToDouble(input), steps, batch, ToDouble(h0), lstm ? ToDouble(c0) : null,
            lengths: s.Lengths, dropoutMasks: masks);
        ReferenceWeights expected = reference.ZerosLike();
        double[] eInput = new double[input.Length], eH0 = new double[hiddenLength], eC0 = new double[cellLength];
        RecurrentReference.Backward(f, ToDouble(dOutput), ToDouble(dHN), lstm ? ToDouble(dCN) : null, expected, eInput, eH0, eC0);

        string what = $"{cell} {s}";
        ReferenceComparison.AssertClose("output " + what, output, f.Output, RelativeTolerance, AbsoluteTolerance);
        ReferenceComparison.AssertClose("hN " + what, state.Hidden, f.HN, RelativeTolerance, AbsoluteTolerance);
        if (lstm) ReferenceComparison.AssertClose("cN " + what, state.Cell, f.CN, RelativeTolerance, AbsoluteTolerance);
        foreach ((string name, double[] values) in expected.Named())
            ReferenceComparison.AssertClose($"d{name} {what}", gradients.Buffer[name].Span, values, RelativeTolerance, AbsoluteTolerance);
        ReferenceComparison.AssertClose("dInput " + what, dInput, eInput, RelativeTolerance, AbsoluteTolerance);
        ReferenceComparison.AssertClose("dH0 " + what, dH0, eH0, RelativeTolerance, AbsoluteTolerance);
        if (lstm) ReferenceComparison.AssertClose("dC0 " + what, dC0, eC0, RelativeTolerance, AbsoluteTolerance);
    }

    private static void CopyNamed(System.Collections.Generic.IEnumerable<(string Name, double[] Values)> tensors, ParameterBuffer buffer) =>
        ReferenceCopy.CopyNamed(tensors, buffer);

    private static double[] ToDouble(float[] values) => values.Select(v => (double)v).ToArray();
}
