using System;
using System.Linq;
using Xunit;

namespace SimdLstm.Tests.Layers;

/// <summary>
/// The sequence shapes real models have — bidirectional layers, per-stream lengths, LSTM projections and dropout between
/// layers — checked by properties that need no reference: each against a simpler run of the same library that must give
/// the same numbers. (The float64 reference checks the values themselves; see the Gradients tests.)
/// </summary>
/// <remarks>
/// <para><b>Tolerances.</b> Where two runs group the same rows into different matrix products (a stream alone runs the
/// GEMV, in a batch the GEMM), their sums of K = I_l + H' terms differ only in order. With weights in U(−1/√H, 1/√H) and
/// inputs and states in [−1, 1], each pre-activation's rounding error is at most γ_K·Σ|w·x| ≤ K·u·K/√H (u = 2⁻²⁴), and
/// every step's cell is at most 2-Lipschitz in its pre-activations and previous state, so after T steps and L layers the
/// outputs differ by at most <see cref="Bound"/> = 2·T·L·K²·u/√H. Gradients run the same products backwards, so they get
/// twice that, relative to their largest element. A stream or a time step mapped to the wrong place is off by O(0.1),
/// orders of magnitude above these bounds.</para>
/// </remarks>
public class SequenceShapeTests(ComputePools pools) : IClassFixture<ComputePools>
{
    public sealed record Shape(CellKind Cell, int InputSize, int HiddenSize, int Layers, int Batch, int Steps,
        bool Bidirectional = false, int Projection = 0, float Dropout = 0f, int[]? Lengths = null, bool Tokens = false, bool BatchFirst = false,
        bool Bias = true, RnnActivation Activation = RnnActivation.Tanh)
    {
        public RecurrentOptions Options => new(Cell, InputSize, HiddenSize, Layers, Bias, Activation, Bidirectional, Projection, Dropout);

        public override string ToString() =>
            $"{Cell} I={InputSize} H={HiddenSize} L={Layers} B={Batch} T={Steps}{(Bidirectional ? " bi" : "")}{(Projection > 0 ? $" P={Projection}" : "")}" +
            $"{(Dropout > 0 ? $" p={Dropout}" : "")}{(Lengths is null ? "" : " lengths=" + string.Join(",", Lengths))}{(Tokens ? " tokens" : "")}{(BatchFirst ? " batch-first" : "")}";
    }

    private static readonly Shape[] Shapes =
    [
        new(CellKind.Lstm, 5, 7, 2, 4, 6, Bidirectional: true, Lengths: [6, 2, 4, 1]),
        new(CellKind.Gru, 6, 9, 2, 5, 7, Bidirectional: true, Lengths: [3, 7, 7, 1, 5], BatchFirst: true),
        new(CellKind.Rnn, 4, 5, 3, 3, 5, Bidirectional: true, Dropout: 0.5f),
        new(CellKind.Lstm, 5, 9, 2, 3, 5, Projection: 4, Lengths: [2, 5, 3]),
        new(CellKind.Lstm, 3, 8, 2, 32, 6, Bidirectional: true, Projection: 3, Dropout: 0.25f, Lengths: Enumerable.Range(0, 32).Select(i => 1 + i % 6).ToArray()),
        new(CellKind.Gru, 11, 6, 2, 4, 5, Lengths: [5, 1, 5, 2], Tokens: true, Dropout: 0.3f),
        new(CellKind.Rnn, 3, 65, 1, 32, 9, Bidirectional: true, Lengths: Enumerable.Range(0, 32).Select(i => 9 - i % 9).ToArray(), Activation: RnnActivation.Relu),
        new(CellKind.Lstm, 4, 6, 1, 1, 5, Bidirectional: true, Lengths: [3], Bias: false),
    ];

    public static TheoryData<int> ShapeIndices => new(Enumerable.Range(0, Shapes.Length));

    public static TheoryData<int, int> ShapesAndThreads()
    {
        var data = new TheoryData<int, int>();
        for (int s = 0; s < Shapes.Length; s++)
            for (int threads = 2; threads <= 4; threads++)
                data.Add(s, threads);
        return data;
    }

    private sealed record PassResult(float[] Output, float[] Hidden, float[] Cell, float[] Gradients, float[] DInput, float[] DHidden0, float[] DCell0, float[] Masks);

    [Theory]
    [MemberData(nameof(ShapesAndThreads))]
    public void TrainingPass_WithPool_BitwiseEqualWithoutPool(int shapeIndex, int threads)
    {
        Shape shape = Shapes[shapeIndex];
        PassResult expected = Train(shape, pool: null);
        PassResult actual = Train(shape, pools.Get(threads));
        string label = $"{shape}, {threads} threads";
        AssertBitwise(expected.Output, actual.Output, $"output ({label})");
        AssertBitwise(expected.Hidden, actual.Hidden, $"h_n ({label})");
        AssertBitwise(expected.Cell, actual.Cell, $"c_n ({label})");
        AssertBitwise(expected.Gradients, actual.Gradients, $"gradients ({label})");
        AssertBitwise(expected.DInput, actual.DInput, $"dInput ({label})");
        AssertBitwise(expected.DHidden0, actual.DHidden0, $"dh0 ({label})");
        AssertBitwise(expected.DCell0, actual.DCell0, $"dc0 ({label})");
        AssertBitwise(expected.Masks, actual.Masks, $"dropout masks ({label})");
    }

    [Theory]
    [MemberData(nameof(ShapeIndices))]
    public void Lengths_EachStreamEqualsRunningItAlone(int shapeIndex)
    {
        Shape shape = Shapes[shapeIndex] with { Dropout = 0f };
        PassResult batched = Train(shape, pool: null);
        RecurrentOptions o = shape.Options;
        int batch = shape.Batch, steps = shape.Steps, width = o.OutputSize, hs = o.HiddenStateSize, h = o.HiddenSize, units = o.StateLayers;
        float bound = Bound(shape);
        float[] gradientSum = new float[batched.Gradients.Length];
        for (int b = 0; b < batch; b++)
        {
            int length = shape.Lengths?[b] ?? steps;
            PassResult alone = Train(shape, pool: null, stream: b);
            for (int t = 0; t < steps; t++)
            {
                for (int j = 0; j < width; j++)
                {
                    float actual = batched.Output[At(shape, t, b, batch) * width + j];
                    if (t >= length)
                        Assert.Equal(0f, actual);
                    else
                        AssertClose(alone.Output[At(shape with { Batch = 1 }, t, 0, 1) * width + j], actual, bound, $"output t={t} b={b} j={j} ({shape})");
                }
                if (!shape.Tokens)
                {
                    for (int i = 0; i < shape.InputSize; i++)
                    {
                        float actual = batched.DInput[At(shape, t, b, batch) * shape.InputSize + i];
                        if (t >= length)
                            Assert.Equal(0f, actual);
                        else
                            AssertClose(alone.DInput[At(shape with { Batch = 1 }, t, 0, 1) * shape.InputSize + i], actual,
                                2 * bound * MaxAbs(alone.DInput), $"dInput t={t} b={b} ({shape})");
                    }
                }
            }
            for (int u = 0; u < units; u++)
            {
                for (int j = 0; j < hs; j++)
                {
                    AssertClose(alone.Hidden[u * hs + j], batched.Hidden[(u * batch + b) * hs + j], bound, $"h_n unit {u} b={b} ({shape})");
                    AssertClose(alone.DHidden0[u * hs + j], batched.DHidden0[(u * batch + b) * hs + j], 2 * bound * MaxAbs(alone.DHidden0), $"dh0 unit {u} b={b}");
                }
                for (int j = 0; j < (o.HasCellState ? h : 0); j++)
                {
                    AssertClose(alone.Cell[u * h + j], batched.Cell[(u * batch + b) * h + j], bound, $"c_n unit {u} b={b} ({shape})");
                    AssertClose(alone.DCell0[u * h + j], batched.DCell0[(u * batch + b) * h + j], 2 * bound * MaxAbs(alone.DCell0), $"dc0 unit {u} b={b}");
                }
            }
            for (int i = 0; i < gradientSum.Length; i++)
                gradientSum[i] += alone.Gradients[i];
        }
        // The batch's parameter gradients are the sum of the streams' own.
        float scale = MaxAbs(gradientSum);
        for (int i = 0; i < gradientSum.Length; i++)
            AssertClose(gradientSum[i], batched.Gradients[i], 2 * bound * scale * batch, $"parameter gradient {i} ({shape})");
    }

    [Theory]
    [InlineData(CellKind.Lstm, 0, false)]
    [InlineData(CellKind.Lstm, 3, true)]
    [InlineData(CellKind.Gru, 0, true)]
    [InlineData(CellKind.Rnn, 0, false)]
    public void Bidirectional_EqualsForwardLayerPlusReverseLayerOnReversedInput(CellKind cell, int projection, bool lengths)
    {
        const int inputSize = 5, hiddenSize = 6, batch = 4, steps = 7;
        int[] streamLengths = lengths ? [7, 3, 1, 5] : [7, 7, 7, 7];
        var bi = new RecurrentLayer(new RecurrentOptions(cell, inputSize, hiddenSize, 1, true, RnnActivation.Tanh, bidirectional: true, projSize: projection), seed: 3);
        var uniOptions = new RecurrentOptions(cell, inputSize, hiddenSize, 1, true, RnnActivation.Tanh, projSize: projection);
        RecurrentLayer forward = UniFrom(bi, uniOptions, direction: 0), reverse = UniFrom(bi, uniOptions, direction: 1);
        int hs = uniOptions.HiddenStateSize, width = 2 * hs;
        float[] x = Random(steps * batch * inputSize, 5);
        float[] reversedX = new float[x.Length];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < streamLengths[b]; t++)
                x.AsSpan((t * batch + b) * inputSize, inputSize).CopyTo(reversedX.AsSpan(((streamLengths[b] - 1 - t) * batch + b) * inputSize, inputSize));

        float[] biOut = new float[steps * batch * width], fwdOut = new float[steps * batch * hs], revOut = new float[fwdOut.Length];
        RecurrentState biState = bi.CreateState(batch), fwdState = forward.CreateState(batch), revState = reverse.CreateState(batch);
        RecurrentWorkspace biWs = bi.CreateWorkspace(steps, batch), fwdWs = forward.CreateWorkspace(steps, batch), revWs = reverse.CreateWorkspace(steps, batch);
        bi.Forward(SequenceInput.Dense(x, steps, lengths: streamLengths), biState, biWs, biOut);
        forward.Forward(SequenceInput.Dense(x, steps, lengths: streamLengths), fwdState, fwdWs, fwdOut);
        reverse.Forward(SequenceInput.Dense(reversedX, steps, lengths: streamLengths), revState, revWs, revOut);

        // The same rows through the same products: bitwise, not merely close.
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < streamLengths[b]; t++)
            {
                int rt = streamLengths[b] - 1 - t;
                AssertBitwise(fwdOut.AsSpan((t * batch + b) * hs, hs).ToArray(), biOut.AsSpan((t * batch + b) * width, hs).ToArray(), $"forward half t={t} b={b}");
                AssertBitwise(revOut.AsSpan((rt * batch + b) * hs, hs).ToArray(), biOut.AsSpan((t * batch + b) * width + hs, hs).ToArray(), $"reverse half t={t} b={b}");
            }
        }
        // h_n of one bidirectional layer is [2, B, H']: the forward direction's, then the reverse direction's.
        AssertBitwise(fwdState.Hidden.ToArray().Concat(revState.Hidden.ToArray()).ToArray(), biState.Hidden.ToArray(), "h_n");
        if (cell == CellKind.Lstm)
            AssertBitwise(fwdState.Cell.ToArray().Concat(revState.Cell.ToArray()).ToArray(), biState.Cell.ToArray(), "c_n");

        // Backward: dOutput split into the halves, the reverse half reversed in time per stream.
        float[] dOut = Random(biOut.Length, 9), dFwd = new float[fwdOut.Length], dRev = new float[fwdOut.Length];
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < streamLengths[b]; t++)
            {
                dOut.AsSpan((t * batch + b) * width, hs).CopyTo(dFwd.AsSpan((t * batch + b) * hs, hs));
                dOut.AsSpan((t * batch + b) * width + hs, hs).CopyTo(dRev.AsSpan(((streamLengths[b] - 1 - t) * batch + b) * hs, hs));
            }
        }
        RecurrentParameters biGrad = bi.CreateGradients(), fwdGrad = forward.CreateGradients(), revGrad = reverse.CreateGradients();
        float[] biDx = new float[x.Length], fwdDx = new float[x.Length], revDx = new float[x.Length];
        bi.Backward(dOut, biWs, biGrad, biDx);
        forward.Backward(dFwd, fwdWs, fwdGrad, fwdDx);
        reverse.Backward(dRev, revWs, revGrad, revDx);
        // The forward direction's weight gradients sum the same rows in the same order: bitwise. The reverse direction's
        // sum the same R = Σ lengths row terms in another order (time reversed), which changes a float sum by at most
        // 2γ_R·Σ|terms| (γ_R = R·u/(1 − R·u)); with R ≤ 28 that is 3.4e-6·Σ|terms|, and the bound below allows Σ|terms| up
        // to 3·max(1, max|g|).
        int rows = streamLengths.Sum();
        float gamma = (float)(rows * Math.Pow(2, -24) / (1 - rows * Math.Pow(2, -24)));
        foreach ((string name, _) in RecurrentParameters.Layout(uniOptions))
        {
            AssertBitwise(fwdGrad.Buffer.Span[Range(fwdGrad.Buffer, name)].ToArray(), biGrad.Buffer.Span[Range(biGrad.Buffer, name)].ToArray(), "gradient " + name);
            float[] expected = revGrad.Buffer.Span[Range(revGrad.Buffer, name)].ToArray();
            float[] actual = biGrad.Buffer.Span[Range(biGrad.Buffer, name + "_reverse")].ToArray();
            float tolerance = 2 * gamma * 3 * Math.Max(1f, MaxAbs(expected));
            for (int i = 0; i < expected.Length; i++)
                AssertClose(expected[i], actual[i], tolerance, $"gradient {name}_reverse[{i}]");
        }
        // dInput sums the two directions' contributions, so it is close rather than bitwise (one sum of two products).
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < streamLengths[b]; t++)
            {
                int rt = streamLengths[b] - 1 - t;
                for (int i = 0; i < inputSize; i++)
                {
                    float expected = fwdDx[(t * batch + b) * inputSize + i] + revDx[(rt * batch + b) * inputSize + i];
                    AssertClose(expected, biDx[(t * batch + b) * inputSize + i], 1e-5f * Math.Max(1f, MaxAbs(fwdDx)), $"dInput t={t} b={b}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(ShapeIndices))]
    public void PackedForward_EqualsLayerForward(int shapeIndex)
    {
        Shape shape = Shapes[shapeIndex];
        RecurrentOptions o = shape.Options;
        var layer = new RecurrentLayer(o, seed: 21);
        PackedRecurrentLayer packed = layer.Pack();
        int batch = shape.Batch, steps = shape.Steps;
        float[] x = Random(steps * batch * shape.InputSize, 2);
        int[] tokens = RandomTokens(steps * batch, shape.InputSize, 2);
        SequenceInput Input() => shape.Tokens
            ? SequenceInput.FromTokens(tokens, steps, shape.BatchFirst, shape.Lengths)
            : SequenceInput.Dense(x, steps, shape.BatchFirst, shape.Lengths);
        RecurrentState s1 = layer.CreateState(batch), s2 = packed.CreateState(batch);
        s1.SetHidden(Random(s1.Hidden.Length, 3));
        s2.SetHidden(s1.Hidden);
        if (o.HasCellState)
        {
            s1.SetCell(Random(s1.Cell.Length, 4));
            s2.SetCell(s1.Cell);
        }
        float[] expected = new float[steps * batch * o.OutputSize], actual = Enumerable.Repeat(42f, expected.Length).ToArray();
        layer.Forward(Input(), s1, layer.CreateWorkspace(steps, batch), expected); // training: false, so no dropout
        packed.Forward(Input(), s2, packed.CreateWorkspace(steps, batch), actual);
        float bound = Bound(shape);
        for (int i = 0; i < expected.Length; i++)
            AssertClose(expected[i], actual[i], bound, $"output {i} ({shape})");
        for (int i = 0; i < s1.Hidden.Length; i++)
            AssertClose(s1.Hidden[i], s2.Hidden[i], bound, $"h_n {i} ({shape})");
        for (int i = 0; i < s1.Cell.Length; i++)
            AssertClose(s1.Cell[i], s2.Cell[i], bound, $"c_n {i} ({shape})");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ProjectedLstm_StepsAsItsSequencePassDoes(int batch)
    {
        // The sequence pass is checked against the float64 reference (SequenceReferenceTests); the streaming step of a
        // projected LSTM, on the layer and on the packed copy, must give the same h and c, step after step.
        var shape = new Shape(CellKind.Lstm, 6, 10, 2, batch, 7, Projection: 4);
        var layer = new RecurrentLayer(shape.Options, seed: 8);
        PackedRecurrentLayer packed = layer.Pack();
        float[] x = Random(shape.Steps * batch * shape.InputSize, 3);
        float[] sequence = new float[shape.Steps * batch * 4];
        RecurrentState expected = layer.CreateState(batch);
        layer.Forward(x, shape.Steps, expected, layer.CreateWorkspace(shape.Steps, batch), sequence);
        RecurrentState stepped = layer.CreateState(batch), packedStepped = packed.CreateState(batch);
        RecurrentWorkspace ws = layer.CreateWorkspace(1, batch);
        InferenceWorkspace packedWs = packed.CreateWorkspace(1, batch);
        float[] h = new float[batch * 4], packedH = new float[batch * 4];
        float bound = Bound(shape);
        for (int t = 0; t < shape.Steps; t++)
        {
            ReadOnlySpan<float> xt = x.AsSpan(t * batch * shape.InputSize, batch * shape.InputSize);
            layer.Step(xt, stepped, ws, h);
            packed.Step(xt, packedStepped, packedWs, packedH);
            for (int i = 0; i < h.Length; i++)
            {
                AssertClose(sequence[t * batch * 4 + i], h[i], bound, $"layer step t={t} h[{i}]");
                AssertClose(sequence[t * batch * 4 + i], packedH[i], bound, $"packed step t={t} h[{i}]");
            }
        }
        for (int i = 0; i < expected.Cell.Length; i++)
        {
            AssertClose(expected.Cell[i], stepped.Cell[i], bound, $"c_n[{i}]");
            AssertClose(expected.Cell[i], packedStepped.Cell[i], bound, $"packed c_n[{i}]");
        }
    }

    [Fact]
    public void Dropout_IsSeededAppliedOnlyInTrainingAndDropsAboutP()
    {
        var o = RecurrentOptions.Lstm(6, 16, numLayers: 3, dropout: 0.4f);
        var layer = new RecurrentLayer(o, seed: 1);
        const int steps = 20, batch = 8;
        float[] x = Random(steps * batch * 6, 1);
        float[] Run(bool training, ulong seed, int passes, out float[] mask)
        {
            RecurrentWorkspace ws = layer.CreateWorkspace(steps, batch);
            ws.SeedDropout(seed);
            float[] output = new float[steps * batch * 16];
            for (int p = 0; p < passes; p++)
                layer.Forward(SequenceInput.Dense(x, steps), layer.CreateState(batch), ws, output, training);
            mask = new float[output.Length];
            if (training)
                ws.CopyDropoutMask(1, mask);
            return output;
        }
        float[] eval = Run(false, 5, 1, out _);
        float[] plain = new float[eval.Length];
        new RecurrentLayer(layer.Weights).Forward(x, steps, layer.CreateState(batch), layer.CreateWorkspace(steps, batch), plain);
        AssertBitwise(plain, eval, "evaluation pass (dropout off)");

        float[] a = Run(true, 5, 1, out float[] maskA), b = Run(true, 5, 1, out float[] maskB), c = Run(true, 6, 1, out float[] maskC);
        float[] second = Run(true, 5, 2, out float[] maskSecond);
        AssertBitwise(a, b, "same seed, same pass");
        AssertBitwise(maskA, maskB, "same seed, same mask");
        Assert.NotEqual(maskA, maskC);
        Assert.NotEqual(maskA, maskSecond);
        Assert.NotEqual(plain, a);
        float keep = 1f / (1f - 0.4f);
        Assert.All(maskA, m => Assert.True(m == 0f || m == keep, $"mask value {m}"));
        // 2560 Bernoulli(0.4) draws: the fraction dropped lies within 5 standard deviations (0.048) of p.
        double dropped = maskA.Count(m => m == 0f) / (double)maskA.Length;
        Assert.InRange(dropped, 0.4 - 0.05, 0.4 + 0.05);
    }

    [Fact]
    public void Dropout_LastLayerHasNoMaskAndSingleLayerNone()
    {
        var layer = new RecurrentLayer(RecurrentOptions.Gru(3, 4, numLayers: 2, dropout: 0.5f), seed: 1);
        RecurrentWorkspace ws = layer.CreateWorkspace(2, 1);
        layer.Forward(SequenceInput.Dense(Random(6, 1), 2), layer.CreateState(), ws, new float[8], training: true);
        Assert.Throws<ArgumentOutOfRangeException>(() => ws.CopyDropoutMask(1, new float[8]));
        var single = new RecurrentLayer(RecurrentOptions.Gru(3, 4, dropout: 0.5f), seed: 1);
        float[] trained = new float[8], evaluated = new float[8];
        single.Forward(SequenceInput.Dense(Random(6, 1), 2), single.CreateState(), single.CreateWorkspace(2, 1), trained, training: true);
        single.Forward(SequenceInput.Dense(Random(6, 1), 2), single.CreateState(), single.CreateWorkspace(2, 1), evaluated);
        AssertBitwise(evaluated, trained, "one layer: nothing to drop between layers");
    }

    [Fact]
    public void Step_OnBidirectional_IsRefusedBeforeWriting()
    {
        var layer = new RecurrentLayer(RecurrentOptions.Gru(3, 4, bidirectional: true), seed: 1);
        RecurrentState state = layer.CreateState();
        state.SetHidden(Random(state.Hidden.Length, 2));
        float[] before = state.Hidden.ToArray(), output = Enumerable.Repeat(42f, 4).ToArray();
        var e = Assert.Throws<InvalidOperationException>(() => layer.Step(new float[3], state, layer.CreateWorkspace(1), output));
        Assert.Contains("bidirectional", e.Message);
        Assert.Throws<InvalidOperationException>(() => layer.Pack().Step(new float[3], state, layer.Pack().CreateWorkspace(1), output));
        Assert.Throws<InvalidOperationException>(() => layer.Step(new[] { 1 }, state, layer.CreateWorkspace(1), output));
        Assert.Equal(before, state.Hidden.ToArray());
        Assert.All(output, v => Assert.Equal(42f, v));
    }

    [Theory]
    [InlineData(new[] { 3, 2 }, "lengths")]         // wrong count
    [InlineData(new[] { 3, 0, 1 }, "lengths")]      // zero
    [InlineData(new[] { 3, 4, 1 }, "lengths")]      // longer than T
    [InlineData(new[] { -1, 2, 1 }, "lengths")]
    public void Forward_WithBadLengths_IsRefusedBeforeWriting(int[] lengths, string parameter)
    {
        var layer = new RecurrentLayer(RecurrentOptions.Lstm(2, 3, bidirectional: true), seed: 1);
        const int steps = 3, batch = 3;
        RecurrentState state = layer.CreateState(batch);
        state.SetHidden(Random(state.Hidden.Length, 2));
        float[] before = state.Hidden.ToArray(), output = Enumerable.Repeat(42f, steps * batch * 6).ToArray();
        RecurrentWorkspace ws = layer.CreateWorkspace(steps, batch);
        var e = Assert.ThrowsAny<ArgumentException>(() => layer.Forward(SequenceInput.Dense(new float[steps * batch * 2], steps, lengths: lengths), state, ws, output));
        Assert.Equal(parameter, e.ParamName);
        Assert.Throws<ArgumentException>(() => layer.Forward(SequenceInput.Dense(new float[steps * batch * 2], steps), state, ws, new float[steps * batch * 3]));
        Assert.ThrowsAny<ArgumentException>(() => layer.Pack().Forward(SequenceInput.Dense(new float[steps * batch * 2], steps, lengths: lengths), state, layer.Pack().CreateWorkspace(steps, batch), output));
        Assert.Equal(before, state.Hidden.ToArray());
        Assert.All(output, v => Assert.Equal(42f, v));
    }

    [Fact]
    public void Options_RefusePyTorchsInvalidCombinations()
    {
        Assert.Throws<ArgumentException>(() => new RecurrentOptions(CellKind.Gru, 3, 4, projSize: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => RecurrentOptions.Lstm(3, 4, projSize: 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => RecurrentOptions.Lstm(3, 4, projSize: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => RecurrentOptions.Lstm(3, 4, dropout: 1.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => RecurrentOptions.Lstm(3, 4, dropout: float.NaN));
        var o = RecurrentOptions.Lstm(3, 8, numLayers: 2, bidirectional: true, projSize: 5);
        Assert.Equal(10, o.OutputSize);
        Assert.Equal(10, o.LayerInputSize(1));
        Assert.Equal(4, o.StateLayers);
        string[] names = RecurrentParameters.Layout(o).Select(t => t.Name).ToArray();
        Assert.Equal(
        [
            "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0",
            "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse", "weight_hr_l0_reverse",
            "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1", "weight_hr_l1",
            "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse", "weight_hr_l1_reverse",
        ], names);
        Assert.Equal([32, 5], RecurrentParameters.Layout(o).First(t => t.Name == "weight_hh_l0").Shape);
        Assert.Equal([32, 10], RecurrentParameters.Layout(o).First(t => t.Name == "weight_ih_l1_reverse").Shape);
        Assert.Equal([5, 8], RecurrentParameters.Layout(o).First(t => t.Name == "weight_hr_l1").Shape);
    }

    [Fact]
    public void TrainingIteration_AllocatesNothing()
    {
        Shape shape = Shapes[4];
        RecurrentOptions o = shape.Options;
        var layer = new RecurrentLayer(o, seed: 1);
        PackedRecurrentLayer packed = layer.Pack();
        int batch = shape.Batch, steps = shape.Steps;
        float[] x = Random(steps * batch * shape.InputSize, 1), output = new float[steps * batch * o.OutputSize], dOut = Random(output.Length, 2);
        float[] dx = new float[x.Length];
        int[] lengths = shape.Lengths!;
        RecurrentState state = layer.CreateState(batch);
        RecurrentWorkspace ws = layer.CreateWorkspace(steps, batch);
        InferenceWorkspace packedWs = packed.CreateWorkspace(steps, batch);
        RecurrentParameters gradients = layer.CreateGradients();
        Allocations.AssertNone(() =>
        {
            layer.Forward(SequenceInput.Dense(x, steps, lengths: lengths), state, ws, output, training: true);
            layer.Backward(dOut, ws, gradients, dx);
            packed.Forward(SequenceInput.Dense(x, steps, lengths: lengths), state, packedWs, output);
        }, count: 20);
    }

    // One training pass of `shape` (two, continuing the state, to cover truncated BPTT) with random initial state and
    // final-state gradients. With `stream`, the same data restricted to that one stream, T = its own length.
    private static PassResult Train(Shape shape, ComputePool? pool, int stream = -1)
    {
        RecurrentOptions o = shape.Options;
        var layer = new RecurrentLayer(o, seed: 17);
        int fullBatch = shape.Batch, steps = shape.Steps;
        int width = o.OutputSize, hs = o.HiddenStateSize, h = o.HiddenSize, units = o.StateLayers, inputSize = shape.InputSize;
        float[] x = Random(steps * fullBatch * inputSize, 7);
        int[] tokens = RandomTokens(steps * fullBatch, inputSize, 7);
        float[] h0 = Random(units * fullBatch * hs, 3), c0 = Random(units * fullBatch * h, 4);
        float[] dHn = Random(units * fullBatch * hs, 5), dCn = Random(units * fullBatch * h, 6);
        float[] dOut = Random(steps * fullBatch * width, 9);
        int[] lengths = shape.Lengths ?? Enumerable.Repeat(steps, fullBatch).ToArray();
        int batch = fullBatch;
        if (stream >= 0)
        {
            // Cut everything to one stream and its own steps.
            int length = lengths[stream];
            x = Pick(x, shape, stream, length, inputSize);
            tokens = PickTokens(tokens, shape, stream, length);
            dOut = Pick(dOut, shape, stream, length, width);
            h0 = PickState(h0, units, fullBatch, stream, hs);
            c0 = PickState(c0, units, fullBatch, stream, h);
            dHn = PickState(dHn, units, fullBatch, stream, hs);
            dCn = PickState(dCn, units, fullBatch, stream, h);
            batch = 1;
            steps = length;
            lengths = [length];
        }
        RecurrentWorkspace ws = pool is null ? layer.CreateWorkspace(steps, batch) : layer.CreateWorkspace(steps, batch, pool);
        ws.SeedDropout(11);
        RecurrentState state = layer.CreateState(batch);
        state.SetHidden(h0);
        if (o.HasCellState)
            state.SetCell(c0);
        RecurrentParameters gradients = layer.CreateGradients();
        float[] output = new float[steps * batch * width];
        float[] dInput = shape.Tokens ? [] : new float[steps * batch * inputSize];
        float[] dHidden0 = new float[units * batch * hs], dCell0 = o.HasCellState ? new float[units * batch * h] : [];
        bool withLengths = shape.Lengths is not null;
        SequenceInput Input() => shape.Tokens
            ? SequenceInput.FromTokens(tokens, steps, shape.BatchFirst, withLengths ? lengths : default)
            : SequenceInput.Dense(x, steps, shape.BatchFirst, withLengths ? lengths : default);
        layer.Forward(Input(), state, ws, output, training: true);
        float[] masks = [];
        if (o.Dropout > 0 && o.NumLayers > 1)
        {
            masks = new float[(o.NumLayers - 1) * output.Length];
            for (int l = 0; l < o.NumLayers - 1; l++)
                ws.CopyDropoutMask(l, masks.AsSpan(l * output.Length, output.Length));
        }
        layer.Backward(dOut, ws, gradients, dInput, dHn, o.HasCellState ? dCn : default, dHidden0, dCell0);
        return new PassResult(output, state.Hidden.ToArray(), state.Cell.ToArray(), gradients.Buffer.Span.ToArray(), dInput, dHidden0, dCell0, masks);
    }

    // Row (t, b) of a [T, B, ·] or batch-first [B, T, ·] tensor.
    private static int At(Shape shape, int t, int b, int batch) => shape.BatchFirst ? b * shape.Steps + t : t * batch + b;

    private static float[] Pick(float[] values, Shape shape, int stream, int length, int width)
    {
        var picked = new float[length * width];
        for (int t = 0; t < length; t++)
            values.AsSpan(At(shape, t, stream, shape.Batch) * width, width).CopyTo(picked.AsSpan(t * width, width));
        return picked;
    }

    private static int[] PickTokens(int[] tokens, Shape shape, int stream, int length)
    {
        var picked = new int[length];
        for (int t = 0; t < length; t++)
            picked[t] = tokens[At(shape, t, stream, shape.Batch)];
        return picked;
    }

    private static float[] PickState(float[] values, int units, int batch, int stream, int width)
    {
        var picked = new float[units * width];
        for (int u = 0; u < units; u++)
            values.AsSpan((u * batch + stream) * width, width).CopyTo(picked.AsSpan(u * width, width));
        return picked;
    }

    // A one-direction layer holding one direction of a bidirectional layer's weights.
    private static RecurrentLayer UniFrom(RecurrentLayer bi, RecurrentOptions uniOptions, int direction)
    {
        var uni = new RecurrentLayer(uniOptions, seed: 0);
        string suffix = direction == 0 ? "" : "_reverse";
        foreach ((string name, _) in RecurrentParameters.Layout(uniOptions))
            bi.Weights.Buffer[name + suffix].Span.CopyTo(uni.Weights.Buffer[name].Span);
        return uni;
    }

    private static System.Range Range(ParameterBuffer buffer, string name)
    {
        ParameterTensor t = buffer.Describe(name);
        return new System.Range(t.Offset, t.Offset + t.Length);
    }

    // 2·T·L·K²·u/√H with K = the widest layer input plus H' (see the remarks).
    private static float Bound(Shape shape)
    {
        RecurrentOptions o = shape.Options;
        double k = Math.Max(o.InputSize, o.OutputSize) + o.HiddenStateSize;
        return (float)(2.0 * shape.Steps * shape.Layers * k * k * Math.Pow(2, -24) / Math.Sqrt(o.HiddenSize));
    }

    private static float MaxAbs(float[] values) => values.Length == 0 ? 0f : values.Max(MathF.Abs);

    private static void AssertClose(float expected, float actual, float tolerance, string what)
    {
        if (!(MathF.Abs(expected - actual) <= tolerance))
            Assert.Fail($"{what}: {actual:R}, expected {expected:R} (difference {MathF.Abs(expected - actual):E2} > {tolerance:E2}).");
    }

    private static float[] Random(int length, int seed)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    private static int[] RandomTokens(int length, int vocabulary, int seed)
    {
        var random = new Random(seed);
        var tokens = new int[length];
        for (int i = 0; i < tokens.Length; i++)
            tokens[i] = random.Next(vocabulary);
        return tokens;
    }

    private static void AssertBitwise(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} of {expected.Length} is {actual[i]:R}, expected bitwise {expected[i]:R}.");
        }
    }
}
