using System;
using System.Collections.Generic;
using System.Linq;
using FsCheck.Xunit;
using SimdLstm.Testing;
using SimdLstm.Testing.Reference;
using Xunit;

namespace SimdLstm.Tests.Gradients;

/// <summary>
/// The semantics of directions, lengths, the projection and dropout, which gradient checks cannot prove (a consistently
/// wrong forward has consistent gradients): each feature against a composition of simpler runs of the reference, or
/// against a hand-written computation.
/// </summary>
/// <remarks>
/// Where the two sides perform the same floating-point operations in the same order they are compared exactly. Parameter
/// gradients summed over streams or steps in another order, and input gradients summed over the two directions in
/// another order, are compared to <see cref="SumTolerance"/>.
/// </remarks>
public class ReferenceSequenceTests
{
    /// <summary>
    /// Relative to 1 + |expected|: the same sums taken in another order. Each gradient element here is a sum of at most
    /// T·B·G·H ≈ 500 products of order one, whose reordering changes it by at most ≈ 500 ulps ≈ 1e-13 of its magnitude.
    /// </summary>
    private const double SumTolerance = 1e-12;

    /// <summary>(a) A batch with lengths gives each stream exactly what running that stream alone with T = its length gives, forward and backward.</summary>
    [Property(MaxTest = 40, Arbitrary = new[] { typeof(SmallSequenceArbitraries) })]
    public void Lengths_EachStreamEqualsRunningItAlone(RecurrentCase testCase)
    {
        RecurrentShape shape = testCase.Shape;
        if (shape.Lengths is null)
        {
            var draw = new SeededRandom(testCase.Seed ^ 0x1E46);
            shape = shape with { Lengths = Enumerable.Range(0, shape.BatchSize).Select(_ => 1 + draw.NextInt32(shape.Steps)).ToArray() };
        }
        foreach (CellKind cell in CellCases.All)
        {
            var batch = new Run(cell, shape, testCase.Seed, nanAtPadding: true);
            (RecurrentForward f, Backward g) = batch.ForwardBackward();
            int T = shape.Steps, B = shape.BatchSize, units = batch.Weights.Units, w = batch.Weights.OutputSize;
            int hs = batch.Weights.HiddenStateSize, h = batch.Weights.HiddenSize, inputSize = shape.InputSize;
            ReferenceWeights summed = batch.Weights.ZerosLike();

            for (int b = 0; b < B; b++)
            {
                int length = shape.Lengths![b];
                var alone = new Run(batch.Weights, length, 1)
                {
                    Input = Streams.Rows(batch.Input, T, B, inputSize, b, length),
                    H0 = Streams.Rows(batch.H0, units, B, hs, b, units),
                    C0 = batch.C0 is null ? null : Streams.Rows(batch.C0, units, B, h, b, units),
                    DOutput = Streams.Rows(batch.DOutput, T, B, w, b, length),
                    DHN = Streams.Rows(batch.DHN, units, B, hs, b, units),
                    DCN = batch.DCN is null ? null : Streams.Rows(batch.DCN, units, B, h, b, units),
                    Masks = batch.Masks?.Select(m => Streams.Rows(m, T, B, w, b, length)).ToArray(),
                };
                (RecurrentForward fa, Backward ga) = alone.ForwardBackward();
                string label = $"{cell} {shape} stream {b}";

                Assert.True(Streams.Rows(f.Output, T, B, w, b, length).SequenceEqual(fa.Output), $"{label}: output");
                Assert.All(Streams.Rows(f.Output, T, B, w, b, T).Skip(length * w), v => Assert.Equal(0.0, v));
                Assert.True(Streams.Rows(f.HN, units, B, hs, b, units).SequenceEqual(fa.HN), $"{label}: h_n");
                Assert.True(Streams.Rows(f.CN, units, B, h, b, f.CN.Length == 0 ? 0 : units).SequenceEqual(fa.CN), $"{label}: c_n");
                Assert.True(Streams.Rows(g.DInput, T, B, inputSize, b, length).SequenceEqual(ga.DInput), $"{label}: dInput");
                Assert.All(Streams.Rows(g.DInput, T, B, inputSize, b, T).Skip(length * inputSize), v => Assert.Equal(0.0, v));
                Assert.True(Streams.Rows(g.DH0, units, B, hs, b, units).SequenceEqual(ga.DH0), $"{label}: dh0");
                Assert.True(Streams.Rows(g.DC0, units, B, h, b, g.DC0.Length == 0 ? 0 : units).SequenceEqual(ga.DC0), $"{label}: dc0");
                Streams.Add(summed, ga.Weights);
            }
            Streams.AssertClose($"{cell} {shape}", summed, g.Weights);
        }
    }

    /// <summary>
    /// (b) A bidirectional layer is a forward-only layer with the forward weights beside a forward-only layer with the
    /// reverse weights run on each stream's input reversed within its own length, forward and backward.
    /// </summary>
    [Property(MaxTest = 40, Arbitrary = new[] { typeof(SmallSequenceArbitraries) })]
    public void Bidirectional_IsForwardBesideReverseOnTheReversedInput(RecurrentCase testCase)
    {
        RecurrentShape shape = testCase.Shape with { Layers = 1, Bidirectional = true, DropoutProbability = 0, MaskSeed = 0 };
        int T = shape.Steps, B = shape.BatchSize, I = shape.InputSize;
        int[] lengths = shape.Lengths ?? Enumerable.Repeat(T, B).ToArray();
        foreach (CellKind cell in CellCases.All)
        {
            var bi = new Run(cell, shape, testCase.Seed, nanAtPadding: false);
            ReferenceWeights p = bi.Weights;
            int hs = p.HiddenStateSize, h = p.HiddenSize;
            RecurrentShape single = shape with { Bidirectional = false };
            ReferenceWeights forward = single.CreateWeights(cell), reverse = single.CreateWeights(cell);
            Streams.SplitDirections(p, forward, reverse);

            var ahead = new Run(forward, T, B)
            {
                Input = bi.Input, Lengths = shape.Lengths,
                H0 = bi.H0[..(B * hs)], C0 = bi.C0?[..(B * h)],
                DOutput = Streams.Columns(bi.DOutput, T * B, 2 * hs, 0, hs),
                DHN = bi.DHN[..(B * hs)], DCN = bi.DCN?[..(B * h)],
            };
            var back = new Run(reverse, T, B)
            {
                Input = Streams.Reverse(bi.Input, T, B, I, lengths), Lengths = shape.Lengths,
                H0 = bi.H0[(B * hs)..], C0 = bi.C0?[(B * h)..],
                DOutput = Streams.Reverse(Streams.Columns(bi.DOutput, T * B, 2 * hs, hs, hs), T, B, hs, lengths),
                DHN = bi.DHN[(B * hs)..], DCN = bi.DCN?[(B * h)..],
            };
            (RecurrentForward fb, Backward gb) = bi.ForwardBackward();
            (RecurrentForward ff, Backward gf) = ahead.ForwardBackward();
            (RecurrentForward fr, Backward gr) = back.ForwardBackward();
            string label = $"{cell} {shape}";

            Assert.True(Streams.Columns(fb.Output, T * B, 2 * hs, 0, hs).SequenceEqual(ff.Output), $"{label}: forward half of the output");
            Assert.True(Streams.Columns(fb.Output, T * B, 2 * hs, hs, hs).SequenceEqual(Streams.Reverse(fr.Output, T, B, hs, lengths)), $"{label}: reverse half");
            Assert.True(fb.HN.SequenceEqual(ff.HN.Concat(fr.HN)), $"{label}: h_n rows (forward, reverse after t = 0)");
            Assert.True(fb.CN.SequenceEqual(ff.CN.Concat(fr.CN)), $"{label}: c_n rows");

            ReferenceWeights expected = p.ZerosLike();
            Streams.JoinDirections(gf.Weights, gr.Weights, expected);
            Streams.AssertClose(label, expected, gb.Weights);
            double[] dInput = gf.DInput.Zip(Streams.Reverse(gr.DInput, T, B, I, lengths), (a, r) => a + r).ToArray();
            Streams.AssertClose($"{label}: dInput", dInput, gb.DInput);
            Assert.True(gb.DH0.SequenceEqual(gf.DH0.Concat(gr.DH0)), $"{label}: dh0");
            Assert.True(gb.DC0.SequenceEqual(gf.DC0.Concat(gr.DC0)), $"{label}: dc0");
        }
    }

    /// <summary>
    /// (c) The projected LSTM against the equations written out here, independently of the reference's code, for T = 1
    /// and T = 2 (where the projected h is the recurrent input), in one and in both directions, two streams.
    /// </summary>
    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(1, true)]
    [InlineData(2, true)]
    public void LstmProjection_MatchesTheEquationsWrittenOut(int steps, bool bidirectional)
    {
        const int I = 3, H = 4, P = 2, B = 2;
        int D = bidirectional ? 2 : 1;
        var random = new SeededRandom(31);
        var p = new ReferenceWeights(CellKind.Lstm, I, H, layers: 1, hasBias: true, bidirectional: bidirectional, projSize: P).Randomize(random, 0.7);
        Assert.Equal(new[] { 4 * H * P, P * H }, new[] { p.WeightHh[0].Length, p.WeightHr[0].Length }); // weight_hh [4H, P], weight_hr [P, H]
        double[] input = random.Uniform(steps * B * I, -1, 1), h0 = random.Uniform(D * B * P, -1, 1), c0 = random.Uniform(D * B * H, -1, 1);

        RecurrentForward f = RecurrentReference.Forward(p, input, steps, B, h0, c0);

        Assert.Equal(steps * B * D * P, f.Output.Length);
        Assert.Equal(D * B * P, f.HN.Length);
        Assert.Equal(D * B * H, f.CN.Length);
        const double Tolerance = 1e-15; // the same products and sums, possibly rounded in another order
        for (int d = 0; d < D; d++)
        {
            for (int b = 0; b < B; b++)
            {
                double[] h = h0.AsSpan((d * B + b) * P, P).ToArray(), c = c0.AsSpan((d * B + b) * H, H).ToArray();
                for (int s = 0; s < steps; s++)
                {
                    int t = d == 0 ? s : steps - 1 - s;
                    double[] x = input.AsSpan((t * B + b) * I, I).ToArray();
                    (h, c) = ProjectedLstmStep(p.WeightIh[d], p.WeightHh[d], p.BiasIh[d], p.BiasHh[d], p.WeightHr[d], x, h, c);
                    for (int k = 0; k < P; k++)
                        Assert.Equal(h[k], f.Output[(t * B + b) * D * P + d * P + k], Tolerance);
                }
                for (int k = 0; k < P; k++)
                    Assert.Equal(h[k], f.HN[(d * B + b) * P + k], Tolerance);
                for (int k = 0; k < H; k++)
                    Assert.Equal(c[k], f.CN[(d * B + b) * H + k], Tolerance);
            }
        }
    }

    /// <summary>(d) Dropout masks of all ones change nothing, forward or backward.</summary>
    [Property(MaxTest = 30, Arbitrary = new[] { typeof(SmallSequenceArbitraries) })]
    public void AllOnesMask_EqualsNoDropout(RecurrentCase testCase)
    {
        RecurrentShape shape = testCase.Shape with { Layers = Math.Max(2, testCase.Shape.Layers), DropoutProbability = 0, MaskSeed = 0 };
        foreach (CellKind cell in CellCases.All)
        {
            var plain = new Run(cell, shape, testCase.Seed, nanAtPadding: true);
            int length = shape.Steps * shape.BatchSize * plain.Weights.OutputSize;
            Run ones = plain with { Masks = Enumerable.Range(0, shape.Layers - 1).Select(_ => Enumerable.Repeat(1.0, length).ToArray()).ToArray() };
            (RecurrentForward f0, Backward g0) = plain.ForwardBackward();
            (RecurrentForward f1, Backward g1) = ones.ForwardBackward();
            Assert.Equal(f0.Output, f1.Output);
            Assert.Equal(f0.HN, f1.HN);
            Assert.Equal(f0.CN, f1.CN);
            Assert.Equal(g0.Weights.Named().SelectMany(t => t.Values), g1.Weights.Named().SelectMany(t => t.Values));
            Assert.Equal(g0.DInput, g1.DInput);
            Assert.Equal(g0.DH0, g1.DH0);
            Assert.Equal(g0.DC0, g1.DC0);
        }
    }

    /// <summary>
    /// Where the mask sits: a two-layer network with a dropout mask is its bottom layer alone, the output times the mask,
    /// then its top layer alone (the top layer's own output is not masked); backward, the bottom layer receives the top
    /// layer's input gradient times the same mask.
    /// </summary>
    [Property(MaxTest = 30, Arbitrary = new[] { typeof(SmallSequenceArbitraries) })]
    public void DropoutMask_SitsBetweenTheLayers(RecurrentCase testCase)
    {
        RecurrentShape shape = testCase.Shape with { Layers = 2, DropoutProbability = 0.5, MaskSeed = testCase.Seed ^ 0xD0 };
        int T = shape.Steps, B = shape.BatchSize;
        foreach (CellKind cell in CellCases.All)
        {
            var both = new Run(cell, shape, testCase.Seed, nanAtPadding: true);
            ReferenceWeights p = both.Weights;
            int D = p.Directions, hs = p.HiddenStateSize, h = p.HiddenSize, half = D * B * hs, halfC = D * B * h;
            RecurrentShape one = shape with { Layers = 1, DropoutProbability = 0, MaskSeed = 0 };
            ReferenceWeights bottom = one.CreateWeights(cell), top = (one with { InputSize = p.OutputSize }).CreateWeights(cell);
            Streams.SplitLayers(p, bottom, top);
            double[] mask = both.Masks![0];

            (RecurrentForward f, Backward g) = both.ForwardBackward();
            var lower = new Run(bottom, T, B) { Input = both.Input, Lengths = shape.Lengths, H0 = both.H0[..half], C0 = both.C0?[..halfC], DHN = both.DHN[..half], DCN = both.DCN?[..halfC] };
            RecurrentForward fLower = lower.Forward();
            double[] masked = fLower.Output.Zip(mask, (y, m) => y * m).ToArray();
            var upper = new Run(top, T, B)
            {
                Input = masked, Lengths = shape.Lengths, H0 = both.H0[half..], C0 = both.C0?[halfC..], DOutput = both.DOutput, DHN = both.DHN[half..], DCN = both.DCN?[halfC..],
            };
            (RecurrentForward fUpper, Backward gUpper) = upper.ForwardBackward();
            Backward gLower = (lower with { DOutput = gUpper.DInput.Zip(mask, (d, m) => d * m).ToArray() }).ForwardBackward().Gradients;

            Assert.Equal(fUpper.Output, f.Output);
            Assert.Equal(fLower.HN.Concat(fUpper.HN), f.HN);
            Assert.Equal(fLower.CN.Concat(fUpper.CN), f.CN);
            ReferenceWeights expected = p.ZerosLike();
            Streams.JoinLayers(gLower.Weights, gUpper.Weights, expected);
            Assert.Equal(expected.Named().SelectMany(t => t.Values), g.Weights.Named().SelectMany(t => t.Values));
            Assert.Equal(gLower.DInput, g.DInput);
            Assert.Equal(gLower.DH0.Concat(gUpper.DH0), g.DH0);
            Assert.Equal(gLower.DC0.Concat(gUpper.DC0), g.DC0);
        }
    }

    /// <summary>The reference's tensor names, order and sizes are the library's PyTorch layout, so tests can copy them into a ParameterBuffer by name.</summary>
    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void Named_IsTheLibrarysLayout(CellKind cell)
    {
        foreach ((bool bidirectional, int projection, bool bias) in new[] { (false, 0, true), (true, 0, false), (false, 2, true), (true, 3, true) })
        {
            int projSize = cell == CellKind.Lstm ? projection : 0;
            var options = new RecurrentOptions(cell, inputSize: 5, hiddenSize: 4, numLayers: 3, bias, RnnActivation.Tanh, bidirectional, projSize);
            var weights = new ReferenceWeights(cell, 5, 4, 3, bias, RnnActivation.Tanh, bidirectional, projSize);
            Assert.Equal(
                RecurrentParameters.Layout(options).Select(t => (t.Name, t.Shape.Aggregate(1, (a, n) => a * n))),
                weights.Named().Select(t => (t.Name, t.Values.Length)));
            Assert.Equal((options.NumDirections, options.HiddenStateSize, options.OutputSize, options.StateLayers),
                (weights.Directions, weights.HiddenStateSize, weights.OutputSize, weights.Units));
            Assert.Equal(options.LayerInputSize(1), weights.LayerInputSize(1));
        }
        Assert.Contains("weight_hr_l1_reverse", new ReferenceWeights(CellKind.Lstm, 5, 4, 2, true, bidirectional: true, projSize: 1).Named().Select(t => t.Name));
    }

    /// <summary>
    /// The head with lengths averages over the real tokens only: the batch's loss times Σ len_b is the sum over streams
    /// of each stream's loss (run alone) times its length; padded targets (−1 here) and padded tokens are never read.
    /// </summary>
    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void ModelLoss_WithLengths_IsTheMeanOverRealTokens(CellKind cell)
    {
        const int T = 5, B = 3, Vocabulary = 4, H = 3;
        int[] lengths = [2, 5, 1];
        var random = new SeededRandom(41);
        var recurrent = new ReferenceWeights(cell, Vocabulary, H, layers: 2, hasBias: true, bidirectional: true, projSize: cell == CellKind.Lstm ? 2 : 0);
        var model = new ModelReference(recurrent, Vocabulary, linearHasBias: true).Randomize(random, 0.6);
        int[] tokens = random.Tokens(T * B, Vocabulary), targets = random.Tokens(T * B, Vocabulary);
        int width = recurrent.OutputSize;
        double[][] masks = [random.Uniform(T * B * width, 0, 1).Select(u => u < 0.5 ? 0 : 2.0).ToArray()];
        int[] paddedTokens = (int[])tokens.Clone();
        for (int t = 0; t < T; t++)
        {
            for (int b = 0; b < B; b++)
            {
                if (t >= lengths[b])
                {
                    targets[t * B + b] = -1;
                    paddedTokens[t * B + b] = (tokens[t * B + b] + 1) % Vocabulary;
                }
            }
        }

        double loss = model.LossFromTokens(tokens, T, B, targets, lengths, masks);
        double weighted = 0;
        for (int b = 0; b < B; b++)
        {
            int n = lengths[b];
            int[] streamTokens = Enumerable.Range(0, n).Select(t => tokens[t * B + b]).ToArray();
            int[] streamTargets = Enumerable.Range(0, n).Select(t => targets[t * B + b]).ToArray();
            double[][] streamMasks = [Streams.Rows(masks[0], T, B, width, b, n)];
            weighted += n * model.LossFromTokens(streamTokens, n, 1, streamTargets, dropoutMasks: streamMasks);
        }
        Assert.Equal(weighted / lengths.Sum(), loss, 1e-14);
        Assert.Equal(loss, model.LossFromTokens(paddedTokens, T, B, targets, lengths, masks));
        ModelGradients gradients = model.GradientsFromTokens(tokens, T, B, targets, ReferenceFault.None, lengths, masks);
        Assert.Equal(loss, gradients.Loss);
        Assert.Equal(Vocabulary * width, gradients.LinearWeight.Length); // the head reads D·H' features
        Assert.Throws<ArgumentOutOfRangeException>(() => model.LossFromTokens(tokens, T, B, targets)); // without lengths a −1 target is read
    }

    [Fact]
    public void InvalidLengthsMasksAndProjections_AreRejectedNamingTheArgument()
    {
        var p = new ReferenceWeights(CellKind.Gru, 2, 3, layers: 2, hasBias: true, bidirectional: true);
        double[] input = new double[4 * 2 * 2]; // T = 4, B = 2, I = 2
        Assert.Equal("lengths", Assert.Throws<ArgumentOutOfRangeException>(() => RecurrentReference.Forward(p, input, 4, 2, lengths: [0, 4])).ParamName);
        Assert.Equal("lengths", Assert.Throws<ArgumentOutOfRangeException>(() => RecurrentReference.Forward(p, input, 4, 2, lengths: [5, 4])).ParamName);
        Assert.Equal("lengths", Assert.Throws<ArgumentException>(() => RecurrentReference.Forward(p, input, 4, 2, lengths: [4])).ParamName);
        Assert.Equal("dropoutMasks", Assert.Throws<ArgumentException>(() => RecurrentReference.Forward(p, input, 4, 2, dropoutMasks: [])).ParamName);
        Assert.Equal("dropoutMasks", Assert.Throws<ArgumentException>(() => RecurrentReference.Forward(p, input, 4, 2, dropoutMasks: [new double[4 * 2 * 3]])).ParamName);
        Assert.Equal("h0", Assert.Throws<ArgumentException>(() => RecurrentReference.Forward(p, input, 4, 2, h0: new double[2 * 2 * 3])).ParamName); // [L·D, B, H] = 24, not 12
        Assert.Equal("projSize", Assert.Throws<ArgumentException>(() => new ReferenceWeights(CellKind.Gru, 2, 3, 1, true, projSize: 1)).ParamName);
        Assert.Equal("projSize", Assert.Throws<ArgumentOutOfRangeException>(() => new ReferenceWeights(CellKind.Lstm, 2, 3, 1, true, projSize: 3)).ParamName);
    }

    // One step of nn.LSTM with proj_size, transcribed from its documented equations (gate rows i, f, g, o).
    private static (double[] H, double[] C) ProjectedLstmStep(
        double[] wIh, double[] wHh, double[] bIh, double[] bHh, double[] wHr, double[] x, double[] hPrev, double[] cPrev)
    {
        int inputs = x.Length, p = hPrev.Length, hidden = cPrev.Length;
        static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));
        double Gate(int row)
        {
            double z = bIh[row] + bHh[row];
            for (int k = 0; k < inputs; k++)
                z += wIh[row * inputs + k] * x[k];
            for (int k = 0; k < p; k++)
                z += wHh[row * p + k] * hPrev[k]; // weight_hh is [4H, P]: the recurrent input is the projected h
            return z;
        }
        var c = new double[hidden];
        var m = new double[hidden];
        for (int j = 0; j < hidden; j++)
        {
            double i = Sigmoid(Gate(j)), f = Sigmoid(Gate(hidden + j)), g = Math.Tanh(Gate(2 * hidden + j)), o = Sigmoid(Gate(3 * hidden + j));
            c[j] = f * cPrev[j] + i * g;
            m[j] = o * Math.Tanh(c[j]);
        }
        var h = new double[p];
        for (int r = 0; r < p; r++)
            for (int k = 0; k < hidden; k++)
                h[r] += wHr[r * hidden + k] * m[k]; // h = W_hr m, weight_hr [P, H]
        return (h, c);
    }

    /// <summary>The gradients one backward pass writes or accumulates.</summary>
    private sealed record Backward(ReferenceWeights Weights, double[] DInput, double[] DH0, double[] DC0);

    /// <summary>One forward + backward call of the reference with everything it takes.</summary>
    private sealed record Run(ReferenceWeights Weights, int Steps, int BatchSize)
    {
        /// <summary>Random weights, data, state and output gradients for <paramref name="shape"/>; NaN at padded input and dOutput positions when asked.</summary>
        public Run(CellKind cell, RecurrentShape shape, ulong seed, bool nanAtPadding)
            : this(shape.CreateWeights(cell), shape.Steps, shape.BatchSize)
        {
            var random = new SeededRandom(seed);
            Weights.Randomize(random, RecurrentProblem.WeightScale);
            int T = shape.Steps, B = shape.BatchSize, units = Weights.Units, hs = Weights.HiddenStateSize, h = Weights.HiddenSize;
            bool lstm = cell == CellKind.Lstm;
            Input = random.Uniform(T * B * shape.InputSize, -1, 1);
            H0 = random.Uniform(units * B * hs, -0.8, 0.8);
            C0 = lstm ? random.Uniform(units * B * h, -1, 1) : null;
            DOutput = random.Uniform(T * B * Weights.OutputSize, -1, 1);
            DHN = random.Uniform(units * B * hs, -1, 1);
            DCN = lstm ? random.Uniform(units * B * h, -1, 1) : null;
            Lengths = shape.Lengths;
            Masks = shape.DropoutMasks(cell);
            if (nanAtPadding)
            {
                for (int t = 0; t < T; t++)
                {
                    for (int b = 0; b < B; b++)
                    {
                        if (shape.IsReal(t, b))
                            continue;
                        Array.Fill(Input, double.NaN, (t * B + b) * shape.InputSize, shape.InputSize);
                        Array.Fill(DOutput, double.NaN, (t * B + b) * Weights.OutputSize, Weights.OutputSize);
                    }
                }
            }
        }

        public double[] Input { get; init; } = [];
        public double[] H0 { get; init; } = [];
        public double[]? C0 { get; init; }
        public double[] DOutput { get; init; } = [];
        public double[] DHN { get; init; } = [];
        public double[]? DCN { get; init; }
        public int[]? Lengths { get; init; }
        public double[][]? Masks { get; init; }

        public RecurrentForward Forward() => RecurrentReference.Forward(Weights, Input, Steps, BatchSize, H0, C0, lengths: Lengths, dropoutMasks: Masks);

        public (RecurrentForward Forward, Backward Gradients) ForwardBackward()
        {
            RecurrentForward f = Forward();
            var g = new Backward(
                Weights.ZerosLike(), new double[Input.Length], new double[H0.Length], new double[Weights.Cell == CellKind.Lstm ? Weights.Units * BatchSize * Weights.HiddenSize : 0]);
            double[] dOutput = DOutput.Length > 0 ? DOutput : new double[f.Output.Length];
            RecurrentReference.Backward(f, dOutput, DHN.Length > 0 ? DHN : null, DCN, g.Weights, g.DInput, g.DH0, g.DC0);
            return (f, g);
        }
    }

    /// <summary>Slicing, reversing and regrouping of time-major buffers and weight sets.</summary>
    private static class Streams
    {
        /// <summary>Rows 0..count − 1 of stream b of a [N, B, width] buffer, as a [count, 1, width] buffer.</summary>
        public static double[] Rows(double[] values, int n, int batch, int width, int b, int count)
        {
            var rows = new double[count * width];
            for (int r = 0; r < count; r++)
                Array.Copy(values, (r * batch + b) * width, rows, r * width, width);
            return rows;
        }

        /// <summary>Columns [start, start + count) of a [rows, width] buffer.</summary>
        public static double[] Columns(double[] values, int rows, int width, int start, int count)
        {
            var columns = new double[rows * count];
            for (int r = 0; r < rows; r++)
                Array.Copy(values, r * width + start, columns, r * count, count);
            return columns;
        }

        /// <summary>A [T, B, width] buffer with each stream b's steps 0..len_b − 1 reversed; padded steps kept in place.</summary>
        public static double[] Reverse(double[] values, int steps, int batch, int width, int[] lengths)
        {
            var reversed = (double[])values.Clone();
            for (int b = 0; b < batch; b++)
                for (int t = 0; t < lengths[b]; t++)
                    Array.Copy(values, ((lengths[b] - 1 - t) * batch + b) * width, reversed, (t * batch + b) * width, width);
            return reversed;
        }

        /// <summary>Copies a one-layer bidirectional network's tensors into two unidirectional ones (by name, "_reverse" dropped).</summary>
        public static void SplitDirections(ReferenceWeights bidirectional, ReferenceWeights forward, ReferenceWeights reverse)
        {
            Dictionary<string, double[]> ahead = forward.Named().ToDictionary(t => t.Name, t => t.Values), back = reverse.Named().ToDictionary(t => t.Name, t => t.Values);
            foreach ((string name, double[] values) in bidirectional.Named())
            {
                if (name.EndsWith("_reverse", StringComparison.Ordinal))
                    values.CopyTo(back[name[..^"_reverse".Length]], 0);
                else
                    values.CopyTo(ahead[name], 0);
            }
        }

        /// <summary>The inverse of <see cref="SplitDirections"/>: both directions' tensors into a bidirectional network's (copied).</summary>
        public static void JoinDirections(ReferenceWeights forward, ReferenceWeights reverse, ReferenceWeights bidirectional)
        {
            Dictionary<string, double[]> ahead = forward.Named().ToDictionary(t => t.Name, t => t.Values), back = reverse.Named().ToDictionary(t => t.Name, t => t.Values);
            foreach ((string name, double[] values) in bidirectional.Named())
            {
                double[] source = name.EndsWith("_reverse", StringComparison.Ordinal) ? back[name[..^"_reverse".Length]] : ahead[name];
                source.CopyTo(values, 0);
            }
        }

        /// <summary>Copies a two-layer network's tensors into two one-layer networks (layer 1's renamed to layer 0's).</summary>
        public static void SplitLayers(ReferenceWeights stacked, ReferenceWeights bottom, ReferenceWeights top)
        {
            Dictionary<string, double[]> lower = bottom.Named().ToDictionary(t => t.Name, t => t.Values), upper = top.Named().ToDictionary(t => t.Name, t => t.Values);
            foreach ((string name, double[] values) in stacked.Named())
                values.CopyTo(name.Contains("_l1", StringComparison.Ordinal) ? upper[name.Replace("_l1", "_l0", StringComparison.Ordinal)] : lower[name], 0);
        }

        /// <summary>The inverse of <see cref="SplitLayers"/>.</summary>
        public static void JoinLayers(ReferenceWeights bottom, ReferenceWeights top, ReferenceWeights stacked)
        {
            Dictionary<string, double[]> lower = bottom.Named().ToDictionary(t => t.Name, t => t.Values), upper = top.Named().ToDictionary(t => t.Name, t => t.Values);
            foreach ((string name, double[] values) in stacked.Named())
                (name.Contains("_l1", StringComparison.Ordinal) ? upper[name.Replace("_l1", "_l0", StringComparison.Ordinal)] : lower[name]).CopyTo(values, 0);
        }

        /// <summary>sum += addend, tensor by tensor.</summary>
        public static void Add(ReferenceWeights sum, ReferenceWeights addend)
        {
            foreach (((_, double[] s), (_, double[] a)) in sum.Named().Zip(addend.Named()))
                for (int k = 0; k < s.Length; k++)
                    s[k] += a[k];
        }

        public static void AssertClose(string label, ReferenceWeights expected, ReferenceWeights actual)
        {
            foreach (((string name, double[] e), (_, double[] a)) in expected.Named().Zip(actual.Named()))
                AssertClose($"{label}: {name}", e, a);
        }

        public static void AssertClose(string label, double[] expected, double[] actual)
        {
            Assert.Equal(expected.Length, actual.Length);
            for (int k = 0; k < expected.Length; k++)
            {
                if (!(Math.Abs(expected[k] - actual[k]) <= SumTolerance * (1 + Math.Abs(expected[k]))))
                    Assert.Fail($"{label}[{k}]: expected {expected[k]:R}, actual {actual[k]:R}");
            }
        }
    }
}
