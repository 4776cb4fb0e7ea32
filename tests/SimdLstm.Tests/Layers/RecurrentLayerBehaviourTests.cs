using System;
using System.Linq;
using System.Threading.Tasks;
using Xunit;

namespace SimdLstm.Tests.Layers;

/// <summary>
/// Properties of <see cref="RecurrentLayer"/> that need no reference implementation: streaming equals sequence forward,
/// layouts, sharing across threads, allocation-free steady state and validation before writing.
/// </summary>
public class RecurrentLayerBehaviourTests
{
    // Every cell at (layers, batch) = (1, 1), (2, 3), (3, 2), and the ReLU RNN.
    public static TheoryData<CellKind, RnnActivation, int, int> Configurations
    {
        get
        {
            var data = new TheoryData<CellKind, RnnActivation, int, int>();
            foreach (CellKind cell in CellCases.All)
            {
                data.Add(cell, RnnActivation.Tanh, 1, 1);
                data.Add(cell, RnnActivation.Tanh, 2, 3);
                data.Add(cell, RnnActivation.Tanh, 3, 2);
            }
            data.Add(CellKind.Rnn, RnnActivation.Relu, 2, 2);
            return data;
        }
    }

    public static TheoryData<CellKind, int> EveryCellBatchOneAndThree => CellCases.Each(1, 3);

    public static TheoryData<CellKind, int> EveryCellBatchOneAndFour => CellCases.Each(1, 4);

    private static RecurrentLayer Create(CellKind cell, RnnActivation activation, int layers, int inputSize = 7, int hiddenSize = 11, bool bias = true) =>
        new(new RecurrentOptions(cell, inputSize, hiddenSize, layers, bias, activation), seed: 1234);

    private static float[] Random(int length, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(random.NextDouble() * 2 - 1) * scale;
        return values;
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Step_OverAllSteps_EqualsSequenceForward(CellKind cell, RnnActivation activation, int layers, int batch)
    {
        const int steps = 9;
        RecurrentLayer layer = Create(cell, activation, layers);
        int inputSize = layer.Options.InputSize, hiddenSize = layer.Options.HiddenSize;
        float[] input = Random(steps * batch * inputSize, 5);
        float[] sequenceOutput = new float[steps * batch * hiddenSize];
        RecurrentState sequenceState = layer.CreateState(batch);
        layer.Forward(input, steps, sequenceState, layer.CreateWorkspace(steps, batch), sequenceOutput);

        RecurrentState streamState = layer.CreateState(batch);
        RecurrentWorkspace streamWorkspace = layer.CreateWorkspace(1, batch);
        float[] stepOutput = new float[batch * hiddenSize];
        for (int t = 0; t < steps; t++)
        {
            layer.Step(input.AsSpan(t * batch * inputSize, batch * inputSize), streamState, streamWorkspace, stepOutput);
            // The streaming step (GEMV for batch 1) and the sequence pass (one GEMM over all steps) sum the same products in
            // different orders; with |w|, |x|, |h| ≤ 1 and at most 18 terms per dot product, float rounding stays below 1e-5.
            AssertClose(sequenceOutput.AsSpan(t * batch * hiddenSize, batch * hiddenSize), stepOutput, 1e-5f, $"output at step {t}");
        }
        AssertClose(sequenceState.Hidden, streamState.Hidden, 1e-5f, "final h");
        AssertClose(sequenceState.Cell, streamState.Cell, 1e-5f, "final c");
    }

    [Fact]
    public void Step_WithTokens_EqualsStepWithOneHotInput()
    {
        const int vocabulary = 13, batch = 3;
        RecurrentLayer layer = new(RecurrentOptions.Lstm(vocabulary, 8, numLayers: 2), seed: 7);
        RecurrentState tokenState = layer.CreateState(batch), denseState = layer.CreateState(batch);
        RecurrentWorkspace workspace = layer.CreateWorkspace(1, batch);
        float[] tokenOut = new float[batch * 8], denseOut = new float[batch * 8];
        int[] tokens = [3, 0, 12];
        float[] oneHot = new float[batch * vocabulary];
        for (int b = 0; b < batch; b++)
            oneHot[b * vocabulary + tokens[b]] = 1f;
        for (int repeat = 0; repeat < 3; repeat++)
        {
            layer.Step(tokens, tokenState, workspace, tokenOut);
            layer.Step(oneHot, denseState, workspace, denseOut);
            // A column gather adds exactly the one weight a one-hot product adds, the other products being exact zeros,
            // but the product sums in a different order: allow float rounding.
            AssertClose(denseOut, tokenOut, 1e-6f, $"token output, repeat {repeat}");
        }
    }

    [Theory]
    [MemberData(nameof(EveryCellBatchOneAndThree))]
    public void ForwardBackward_AfterWeightUpdate_UseTheNewWeights(CellKind cell, int batch)
    {
        // Forward and backward pack W_hh into the workspace; an optimiser then changes the weights through their spans.
        // The next pass with the same workspace must see the new weights: bitwise what a fresh layer and workspace with
        // those weights compute.
        const int steps = 4;
        RecurrentLayer layer = Create(cell, RnnActivation.Tanh, 2);
        int inputSize = layer.Options.InputSize, hiddenSize = layer.Options.HiddenSize;
        float[] input = Random(steps * batch * inputSize, 21), dOut = Random(steps * batch * hiddenSize, 22);
        RecurrentWorkspace workspace = layer.CreateWorkspace(steps, batch);
        float[] output = new float[dOut.Length], dInput = new float[input.Length];
        layer.Forward(input, steps, layer.CreateState(batch), workspace, output);
        layer.Backward(dOut, workspace, layer.CreateGradients(), dInput);

        Span<float> weights = layer.Weights.Buffer.Span;
        for (int i = 0; i < weights.Length; i++)
            weights[i] = weights[i] * -0.75f + 0.01f;
        RecurrentParameters gradients = layer.CreateGradients();
        layer.Forward(input, steps, layer.CreateState(batch), workspace, output);
        layer.Backward(dOut, workspace, gradients, dInput);

        RecurrentLayer fresh = Create(cell, RnnActivation.Tanh, 2);
        weights.CopyTo(fresh.Weights.Buffer.Span);
        RecurrentParameters freshGradients = fresh.CreateGradients();
        float[] freshOutput = new float[output.Length], freshDInput = new float[dInput.Length];
        RecurrentWorkspace freshWorkspace = fresh.CreateWorkspace(steps, batch);
        fresh.Forward(input, steps, fresh.CreateState(batch), freshWorkspace, freshOutput);
        fresh.Backward(dOut, freshWorkspace, freshGradients, freshDInput);

        Assert.Equal(freshOutput, output);
        Assert.Equal(freshDInput, dInput);
        Assert.Equal(freshGradients.Buffer.Span.ToArray(), gradients.Buffer.Span.ToArray());
    }

    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void Forward_BatchFirst_EqualsTimeMajorTransposed(CellKind cell)
    {
        const int steps = 5, batch = 3;
        RecurrentLayer layer = Create(cell, RnnActivation.Tanh, 2);
        int inputSize = layer.Options.InputSize, hiddenSize = layer.Options.HiddenSize;
        float[] timeMajor = Random(steps * batch * inputSize, 9);
        float[] batchFirst = Transpose(timeMajor, steps, batch, inputSize);
        float[] outTimeMajor = new float[steps * batch * hiddenSize], outBatchFirst = new float[outTimeMajor.Length];
        RecurrentWorkspace w1 = layer.CreateWorkspace(steps, batch), w2 = layer.CreateWorkspace(steps, batch);
        layer.Forward(timeMajor, steps, layer.CreateState(batch), w1, outTimeMajor);
        layer.Forward(batchFirst, steps, layer.CreateState(batch), w2, outBatchFirst, batchFirst: true);
        Assert.Equal(Transpose(outTimeMajor, steps, batch, hiddenSize), outBatchFirst);

        // Backward takes and returns the forward pass's layout.
        float[] dOut = Random(outTimeMajor.Length, 10);
        float[] dInTimeMajor = new float[timeMajor.Length], dInBatchFirst = new float[timeMajor.Length];
        RecurrentParameters g1 = layer.CreateGradients(), g2 = layer.CreateGradients();
        layer.Backward(dOut, w1, g1, dInTimeMajor);
        layer.Backward(Transpose(dOut, steps, batch, hiddenSize), w2, g2, dInBatchFirst);
        Assert.Equal(Transpose(dInTimeMajor, steps, batch, inputSize), dInBatchFirst);
        Assert.Equal(g1.Buffer.Span.ToArray(), g2.Buffer.Span.ToArray());
    }

    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void Step_SharedWeightsAcrossThreads_EqualsSingleThread(CellKind cell)
    {
        const int streams = 4, steps = 200;
        RecurrentLayer layer = Create(cell, RnnActivation.Tanh, 2, inputSize: 16, hiddenSize: 32);
        float[][] inputs = new float[streams][];
        for (int s = 0; s < streams; s++)
            inputs[s] = Random(steps * 16, 100 + s);

        float[][] Run(bool parallel)
        {
            var results = new float[streams][];
            void RunStream(int s)
            {
                RecurrentState state = layer.CreateState();
                RecurrentWorkspace workspace = layer.CreateWorkspace(1);
                float[] outputs = new float[steps * 32];
                for (int t = 0; t < steps; t++)
                    layer.Step(inputs[s].AsSpan(t * 16, 16), state, workspace, outputs.AsSpan(t * 32, 32));
                results[s] = outputs;
            }
            if (parallel)
                Parallel.For(0, streams, new ParallelOptions { MaxDegreeOfParallelism = streams }, RunStream);
            else
                for (int s = 0; s < streams; s++) RunStream(s);
            return results;
        }

        float[][] serial = Run(parallel: false), concurrent = Run(parallel: true);
        for (int s = 0; s < streams; s++)
            Assert.Equal(serial[s], concurrent[s]);
    }

    [Theory]
    [MemberData(nameof(EveryCellBatchOneAndFour))]
    public void StepForwardBackward_AfterWarmUp_AllocateNothing(CellKind cell, int batch)
    {
        const int steps = 6;
        RecurrentLayer layer = Create(cell, RnnActivation.Tanh, 2);
        RecurrentState state = layer.CreateState(batch);
        RecurrentWorkspace workspace = layer.CreateWorkspace(steps, batch);
        RecurrentParameters gradients = layer.CreateGradients();
        float[] input = Random(steps * batch * 7, 3), output = new float[steps * batch * 11], dOutput = Random(output.Length, 4);
        float[] dInput = new float[input.Length], stepOutput = new float[batch * 11];
        int[] tokens = new int[steps * batch];
        float[] dInitial = new float[2 * batch * 11];

        void Iterate()
        {
            layer.Step(input.AsSpan(0, batch * 7), state, workspace, stepOutput);
            layer.Step(tokens.AsSpan(0, batch), state, workspace, stepOutput);
            layer.Forward(input, steps, state, workspace, output);
            layer.Backward(dOutput, workspace, gradients, dInput, dInitialHidden: dInitial);
            layer.Forward(tokens, steps, state, workspace, output);
            layer.Backward(dOutput, workspace, gradients);
        }

        Iterate();
        Allocations.AssertNone(Iterate, count: 100);
    }

    [Fact]
    public void Step_WrongShapes_ThrowNamingTheArgumentBeforeWriting()
    {
        RecurrentLayer layer = Create(CellKind.Lstm, RnnActivation.Tanh, 2);
        RecurrentState state = layer.CreateState(2);
        state.SetHidden(Random(state.Hidden.Length, 1));
        float[] hiddenBefore = state.Hidden.ToArray(), cellBefore = state.Cell.ToArray();
        RecurrentWorkspace workspace = layer.CreateWorkspace(1, 2);
        float[] output = new float[2 * 11];
        output.AsSpan().Fill(42f);

        var e = Assert.Throws<ArgumentException>(() => layer.Step(new float[2 * 7 + 1], state, workspace, output));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("14", e.Message, StringComparison.Ordinal);
        Assert.Contains("15", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<ArgumentException>(() => layer.Step(new float[2 * 7], state, workspace, new float[21]));
        Assert.Equal("output", e.ParamName);

        var range = Assert.Throws<ArgumentOutOfRangeException>(() => layer.Step(new[] { 1, 7 }, state, workspace, output));
        Assert.Equal("tokens", range.ParamName);

        e = Assert.Throws<ArgumentException>(() => layer.Step(new float[2 * 7], layer.CreateState(3), workspace, new float[3 * 11]));
        Assert.Equal("workspace", e.ParamName);

        RecurrentLayer other = Create(CellKind.Lstm, RnnActivation.Tanh, 1);
        e = Assert.Throws<ArgumentException>(() => layer.Step(new float[2 * 7], other.CreateState(2), workspace, output));
        Assert.Equal("state", e.ParamName);

        Assert.Equal(hiddenBefore, state.Hidden.ToArray());
        Assert.Equal(cellBefore, state.Cell.ToArray());
        Assert.All(output, v => Assert.Equal(42f, v));
    }

    [Fact]
    public void Forward_WrongShapes_ThrowNamingTheArgumentBeforeWriting()
    {
        RecurrentLayer layer = Create(CellKind.Rnn, RnnActivation.Tanh, 1);
        RecurrentState state = layer.CreateState(1);
        RecurrentWorkspace workspace = layer.CreateWorkspace(4, 1);
        float[] output = new float[4 * 11];
        output.AsSpan().Fill(42f);

        var range = Assert.Throws<ArgumentOutOfRangeException>(() => layer.Forward(new float[5 * 7], 5, state, workspace, new float[5 * 11]));
        Assert.Equal("steps", range.ParamName);
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(new float[4 * 7 - 1], 4, state, workspace, output));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("28", e.Message, StringComparison.Ordinal);
        Assert.Contains("27", e.Message, StringComparison.Ordinal);
        Assert.All(output, v => Assert.Equal(42f, v));
        Assert.All(state.Hidden.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Backward_WrongShapesOrNoForward_ThrowBeforeWriting()
    {
        RecurrentLayer layer = Create(CellKind.Lstm, RnnActivation.Tanh, 2);
        RecurrentWorkspace workspace = layer.CreateWorkspace(3, 2);
        RecurrentParameters gradients = layer.CreateGradients();
        Assert.Throws<InvalidOperationException>(() => layer.Backward(new float[3 * 2 * 11], workspace, gradients));

        layer.Forward(new float[3 * 2 * 7], 3, layer.CreateState(2), workspace, new float[3 * 2 * 11]);
        var e = Assert.Throws<ArgumentException>(() => layer.Backward(new float[3 * 2 * 11 + 1], workspace, gradients));
        Assert.Equal("dOutput", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => layer.Backward(new float[3 * 2 * 11], workspace, gradients, dInput: new float[5]));
        Assert.Equal("dInput", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => layer.Backward(new float[3 * 2 * 11], workspace, gradients, dFinalCell: new float[3]));
        Assert.Equal("dFinalCell", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => layer.Backward(new float[3 * 2 * 11], workspace, Create(CellKind.Lstm, RnnActivation.Tanh, 1).CreateGradients()));
        Assert.Equal("gradients", e.ParamName);
        Assert.All(gradients.Buffer.Span.ToArray(), v => Assert.Equal(0f, v));

        // A step discards the saved pass: backward would otherwise read activations that no longer match.
        layer.Step(new float[2 * 7], layer.CreateState(2), workspace, new float[2 * 11]);
        Assert.Throws<InvalidOperationException>(() => layer.Backward(new float[3 * 2 * 11], workspace, gradients));
    }

    // The cells of CellCases without a cell state (GRU, RNN); an LSTM's dc gradients are checked by the reference tests.
    public static TheoryData<CellKind> CellsWithoutCellState =>
        new(CellCases.All.Where(c => !new RecurrentOptions(c, 1, 1).HasCellState));

    [Theory]
    [MemberData(nameof(CellsWithoutCellState))]
    public void Backward_CellGradientsForACellWithoutCellState_ThrowNamingThemBeforeWriting(CellKind cell)
    {
        RecurrentLayer layer = Create(cell, RnnActivation.Tanh, 2);
        const int steps = 3, batch = 2, stateLength = 2 * batch * 11;
        RecurrentWorkspace workspace = layer.CreateWorkspace(steps, batch);
        layer.Forward(Random(steps * batch * 7, 8), steps, layer.CreateState(batch), workspace, new float[steps * batch * 11]);
        RecurrentParameters gradients = layer.CreateGradients();
        float[] dInput = new float[steps * batch * 7], dInitialHidden = new float[stateLength];
        dInput.AsSpan().Fill(7f);
        dInitialHidden.AsSpan().Fill(7f);
        float[] dOutput = Random(steps * batch * 11, 9);

        var e = Assert.Throws<ArgumentException>(() => layer.Backward(dOutput, workspace, gradients, dInput, dFinalCell: new float[stateLength], dInitialHidden: dInitialHidden));
        Assert.Equal("dFinalCell", e.ParamName);
        Assert.Contains(cell.ToString(), e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => layer.Backward(dOutput, workspace, gradients, dInput, dInitialHidden: dInitialHidden, dInitialCell: new float[stateLength]));
        Assert.Equal("dInitialCell", e.ParamName);
        Assert.All(gradients.Buffer.Span.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(dInput, v => Assert.Equal(7f, v));
        Assert.All(dInitialHidden, v => Assert.Equal(7f, v));
        Assert.Throws<ArgumentException>(() => layer.CreateState(batch).SetCell(new float[stateLength]));
    }

    [Fact]
    public void State_ResetOneStream_LeavesTheOthers()
    {
        RecurrentLayer layer = Create(CellKind.Lstm, RnnActivation.Tanh, 2);
        RecurrentState state = layer.CreateState(3);
        layer.Step(Random(3 * 7, 2), state, layer.CreateWorkspace(1, 3), new float[3 * 11]);
        float[] before = state.Hidden.ToArray();
        state.Reset(1);
        for (int l = 0; l < 2; l++)
            for (int b = 0; b < 3; b++)
                for (int j = 0; j < 11; j++)
                {
                    int i = (l * 3 + b) * 11 + j;
                    Assert.Equal(b == 1 ? 0f : before[i], state.Hidden[i]);
                    if (b == 1) Assert.Equal(0f, state.Cell[i]);
                }
    }

    internal static float[] Transpose(float[] source, int outer, int inner, int width)
    {
        var result = new float[source.Length];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
                Array.Copy(source, (o * inner + i) * width, result, (i * outer + o) * width, width);
        return result;
    }

    internal static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (!(Math.Abs(expected[i] - actual[i]) <= tolerance))
                Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]} (tolerance {tolerance})");
        }
    }
}
