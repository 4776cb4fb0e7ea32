using System;
using System.Linq;
using SimdLstm.Testing;
using SimdLstm.Testing.Reference;
using Xunit;

namespace SimdLstm.Tests.Layers;

/// <summary>
/// The bfloat16 and int8 packed copies (<see cref="PackedRecurrentLayer(RecurrentParameters, PackedPrecision)"/>) as a
/// whole: a step against the float64 reference run on the copy's effective weights (<see cref="PackedRecurrentLayer.CopyEffectiveWeights"/>)
/// within a derived bound; every sequence feature (batches, lengths, both directions, projections, tokens) against the
/// same model's float32 copy on those weights; sequence passes bitwise equal to repeated steps and to each stream alone;
/// threads bitwise one thread; refresh; the workspace; allocations.
/// </summary>
/// <remarks>
/// <para><b>Tolerance against the reference.</b> bfloat16 weights are exact floats and the copy multiplies x itself, so
/// it differs from the reference on its effective weights by float rounding alone: 2e-5 + 1e-4·|ref|, the bound
/// <see cref="PackedRecurrentLayerTests"/> derives for the same shapes and weight scale. Int8 adds its input
/// quantisation: each product uses σ·x_q for x, within σ·(1/2 + 2⁻²⁴·Q) + 3·2⁻²⁴·|x| per element (the format's
/// remarks, tested in <c>PanelFormatTests</c>), so a gate pre-activation of row r is off by at most
/// E_r = Σ_k |w[r, k]|·that over both products. One step carries it to h with a factor the cell's equations give (σ′ ≤
/// 1/4, tanh′ ≤ 1, |gates| ≤ 1): an RNN 1; an LSTM 1/4 (o) + |c₀|/4 (f) + 1/4 (i) + 1 (g) = 1.5 + |c₀|/4; a GRU
/// (r, z ≤ E/2 each through both products) 2·E/2 (z, |n − h₀| ≤ 2) + E + E + (E/2)·|W_hn·h₀ + b_hn| (n) = E·(3 + |W_hn·h₀ +
/// b_hn|/2). With E below 1e-3 the products of two errors are below 1 % of these first-order terms, covered by a factor
/// 1.01.</para>
/// </remarks>
public class PackedPrecisionTests
{
    private const double RelativeTolerance = 1e-4;
    private const double AbsoluteTolerance = 2e-5;
    private const double U = 1.0 / (1 << 24);
    private static readonly PackedPrecision[] Quantised = [PackedPrecision.BFloat16, PackedPrecision.Int8];

    public static TheoryData<CellKind, PackedPrecision, bool, int, int> StepShapes
    {
        get
        {
            var data = new TheoryData<CellKind, PackedPrecision, bool, int, int>();
            foreach (CellKind cell in CellCases.All)
            {
                foreach (PackedPrecision precision in Quantised)
                {
                    data.Add(cell, precision, true, 37, 45);
                    data.Add(cell, precision, false, 5, 1);
                    data.Add(cell, precision, true, 3, 17);
                    data.Add(cell, precision, true, 64, 130);
                }
            }
            return data;
        }
    }

    public static TheoryData<CellKind, PackedPrecision> CellsAndPrecisions
    {
        get
        {
            var data = new TheoryData<CellKind, PackedPrecision>();
            foreach (CellKind cell in CellCases.All)
            {
                foreach (PackedPrecision precision in Quantised)
                    data.Add(cell, precision);
            }
            return data;
        }
    }

    private static RecurrentLayer Layer(RecurrentOptions options, ulong seed)
    {
        var layer = new RecurrentLayer(options);
        var random = new SeededRandom(seed);
        Span<float> all = layer.Weights.Buffer.Span;
        random.UniformSingle(all.Length, -0.3f, 0.3f).CopyTo(all);
        return layer;
    }

    // The layer's weights in the reference, with weight_ih and weight_hh replaced by the copy's effective weights.
    private static ReferenceWeights EffectiveReference(RecurrentLayer layer, PackedRecurrentLayer packed)
    {
        RecurrentOptions o = layer.Options;
        var reference = new ReferenceWeights(o.Cell, o.InputSize, o.HiddenSize, o.NumLayers, o.Bias, o.Activation, o.Bidirectional, o.ProjectionSize);
        foreach ((string name, double[] values) in reference.Named())
        {
            Span<float> source = layer.Weights.Buffer[name].Span;
            for (int i = 0; i < values.Length; i++)
                values[i] = source[i];
        }
        for (int l = 0; l < o.NumLayers; l++)
        {
            for (int d = 0; d < o.NumDirections; d++)
            {
                int u = reference.Unit(l, d);
                float[] ih = new float[reference.WeightIh[u].Length], hh = new float[reference.WeightHh[u].Length];
                packed.CopyEffectiveWeights(l, d, recurrent: false, ih);
                packed.CopyEffectiveWeights(l, d, recurrent: true, hh);
                for (int i = 0; i < ih.Length; i++)
                    reference.WeightIh[u][i] = ih[i];
                for (int i = 0; i < hh.Length; i++)
                    reference.WeightHh[u][i] = hh[i];
            }
        }
        return reference;
    }

    [Theory]
    [MemberData(nameof(StepShapes))]
    public void Step_MatchesTheReferenceOnTheEffectiveWeights_WithinTheDerivedBound(CellKind cell, PackedPrecision precision, bool bias, int inputSize, int hiddenSize)
    {
        const int batch = 3;
        var options = new RecurrentOptions(cell, inputSize, hiddenSize, 1, bias);
        RecurrentLayer layer = Layer(options, (ulong)(inputSize * 31 + hiddenSize));
        PackedRecurrentLayer packed = layer.Pack(precision);
        ReferenceWeights reference = EffectiveReference(layer, packed);
        var random = new SeededRandom(77);
        float[] x = random.UniformSingle(batch * inputSize, -1f, 1f);
        float[] h0 = random.UniformSingle(batch * hiddenSize, -1f, 1f);
        float[] c0 = options.HasCellState ? random.UniformSingle(batch * hiddenSize, -1f, 1f) : [];
        RecurrentState state = packed.CreateState(batch);
        state.SetHidden(h0);
        if (c0.Length > 0)
            state.SetCell(c0);
        float[] output = new float[batch * hiddenSize];
        packed.Step(x, state, packed.CreateWorkspace(1, batch), output);
        RecurrentForward expected = RecurrentReference.Forward(reference, x.Select(v => (double)v).ToArray(), 1, batch,
            h0.Select(v => (double)v).ToArray(), c0.Length == 0 ? null : c0.Select(v => (double)v).ToArray());

        int g = options.GateSize, range = 32767; // Q for these sizes: Σ|q| ≤ 127·130 keeps Q at its cap
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> xb = x.AsSpan(b * inputSize, inputSize), hb = h0.AsSpan(b * hiddenSize, hiddenSize);
            double sx = xb.ToArray().Max(Math.Abs) / range, sh = hb.ToArray().Max(Math.Abs) / range;
            for (int j = 0; j < hiddenSize; j++)
            {
                double quantisation = 0, recurrentN = 0;
                if (precision == PackedPrecision.Int8)
                {
                    for (int q = 0; q < options.GateCount; q++)
                    {
                        int row = q * hiddenSize + j;
                        double e = 0;
                        for (int k = 0; k < inputSize; k++)
                            e += Math.Abs(reference.WeightIh[0][row * inputSize + k]) * (sx * (0.5 + U * range) + 3 * U * Math.Abs(xb[k]));
                        for (int k = 0; k < hiddenSize; k++)
                            e += Math.Abs(reference.WeightHh[0][row * hiddenSize + k]) * (sh * (0.5 + U * range) + 3 * U * Math.Abs(hb[k]));
                        quantisation = Math.Max(quantisation, e);
                    }
                    if (cell == CellKind.Gru)
                    {
                        int row = 2 * hiddenSize + j;
                        recurrentN = bias ? Math.Abs(reference.BiasHh[0][row]) : 0;
                        for (int k = 0; k < hiddenSize; k++)
                            recurrentN += Math.Abs(reference.WeightHh[0][row * hiddenSize + k] * hb[k]);
                    }
                }
                double factor = cell switch
                {
                    CellKind.Lstm => 1.5 + Math.Abs(c0[b * hiddenSize + j]) / 4,
                    CellKind.Gru => 3 + recurrentN / 2,
                    _ => 1,
                };
                double want = expected.Output[b * hiddenSize + j], got = output[b * hiddenSize + j];
                double bound = 1.01 * factor * quantisation + AbsoluteTolerance + RelativeTolerance * Math.Abs(want);
                Assert.True(Math.Abs(got - want) <= bound, $"{cell} {precision} stream {b} unit {j}: {got} vs reference {want} (bound {bound})");
            }
        }
        _ = g;
    }

    // Every sequence feature through the quantised copy equals the float32 copy of a layer holding the effective weights
    // up to float rounding order (bfloat16: the effective weights multiply x exactly as float32 ones do) — the sequence
    // code (lengths, directions, projections, stacking, tokens, batch-first) is shared, the formats only change the products.
    [Theory]
    [MemberData(nameof(CellsAndPrecisions))]
    public void BFloat16Sequence_EqualsTheFloat32CopyOfItsEffectiveWeights_EveryFeature(CellKind cell, PackedPrecision precision)
    {
        if (precision != PackedPrecision.BFloat16)
            return;
        foreach ((bool bidirectional, int proj, int layers, bool tokens) in new[] { (false, 0, 2, false), (true, 0, 2, false), (true, 0, 1, true), (false, 5, 2, false), (true, 7, 2, false) })
        {
            if (proj > 0 && cell != CellKind.Lstm)
                continue;
            var options = new RecurrentOptions(cell, 11, 13, layers, bidirectional: bidirectional, projSize: proj);
            RecurrentLayer layer = Layer(options, 5);
            PackedRecurrentLayer packed = layer.Pack(precision);
            var effective = new RecurrentLayer(options);
            layer.Weights.Buffer.Span.CopyTo(effective.Weights.Buffer.Span);
            for (int l = 0; l < layers; l++)
            {
                for (int d = 0; d < options.NumDirections; d++)
                {
                    packed.CopyEffectiveWeights(l, d, recurrent: false, effective.Weights.WeightIh(l, d));
                    packed.CopyEffectiveWeights(l, d, recurrent: true, effective.Weights.WeightHh(l, d));
                }
            }
            PackedRecurrentLayer float32 = effective.Pack();
            const int steps = 7, batch = 4;
            int[] lengths = [7, 2, 5, 7];
            var random = new SeededRandom(9);
            float[] x = random.UniformSingle(steps * batch * 11, -1f, 1f);
            int[] ids = Enumerable.Range(0, steps * batch).Select(i => (i * 7) % 11).ToArray();
            float[] got = new float[steps * batch * options.OutputSize], want = new float[got.Length];
            RecurrentState sGot = packed.CreateState(batch), sWant = float32.CreateState(batch);
            SequenceInput input = tokens ? SequenceInput.FromTokens(ids, steps, batchFirst: true, lengths: lengths) : SequenceInput.Dense(x, steps, batchFirst: true, lengths: lengths);
            packed.Forward(input, sGot, packed.CreateWorkspace(steps, batch), got);
            float32.Forward(input, sWant, float32.CreateWorkspace(steps, batch), want);
            for (int i = 0; i < got.Length; i++)
                Assert.True(Math.Abs(got[i] - want[i]) <= AbsoluteTolerance + RelativeTolerance * Math.Abs(want[i]), $"{cell} bi={bidirectional} proj={proj} L={layers} tokens={tokens} [{i}]: {got[i]} vs {want[i]}");
            float[] hGot = sGot.Hidden.ToArray(), hWant = sWant.Hidden.ToArray();
            for (int i = 0; i < hGot.Length; i++)
                Assert.True(Math.Abs(hGot[i] - hWant[i]) <= AbsoluteTolerance + RelativeTolerance * Math.Abs(hWant[i]), $"h_n [{i}]: {hGot[i]} vs {hWant[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(CellsAndPrecisions))]
    public void Sequence_IsBitwiseRepeatedSteps_AndEachStreamAlone(CellKind cell, PackedPrecision precision)
    {
        var options = new RecurrentOptions(cell, 19, 70, 2, projSize: cell == CellKind.Lstm ? 33 : 0);
        RecurrentLayer layer = Layer(options, 3);
        PackedRecurrentLayer packed = layer.Pack(precision);
        const int steps = 6, batch = 3;
        var random = new SeededRandom(4);
        float[] x = random.UniformSingle(steps * batch * 19, -2f, 2f);
        int width = options.OutputSize;

        float[] passed = new float[steps * batch * width];
        RecurrentState passState = packed.CreateState(batch);
        packed.Forward(x, steps, passState, packed.CreateWorkspace(steps, batch), passed);
        RecurrentState stepState = packed.CreateState(batch);
        InferenceWorkspace stepWorkspace = packed.CreateWorkspace(1, batch);
        float[] stepped = new float[passed.Length];
        for (int t = 0; t < steps; t++)
            packed.Step(x.AsSpan(t * batch * 19, batch * 19), stepState, stepWorkspace, stepped.AsSpan(t * batch * width, batch * width));
        Assert.Equal(stepped, passed);
        Assert.Equal(stepState.Hidden.ToArray(), passState.Hidden.ToArray());
        Assert.Equal(stepState.Cell.ToArray(), passState.Cell.ToArray());

        // A bidirectional batch with lengths: each stream alone (B = 1, the stream path) gives its rows bitwise.
        var bi = new RecurrentOptions(cell, 19, 70, 2, bidirectional: true);
        PackedRecurrentLayer packedBi = Layer(bi, 8).Pack(precision);
        int[] lengths = [4, 6, 1];
        float[] all = new float[steps * batch * bi.OutputSize];
        RecurrentState allState = packedBi.CreateState(batch);
        packedBi.Forward(SequenceInput.Dense(x, steps, lengths: lengths), allState, packedBi.CreateWorkspace(steps, batch), all);
        for (int b = 0; b < batch; b++)
        {
            int n = lengths[b];
            float[] alone = new float[n * bi.OutputSize], xb = new float[n * 19];
            for (int t = 0; t < n; t++)
                x.AsSpan((t * batch + b) * 19, 19).CopyTo(xb.AsSpan(t * 19));
            RecurrentState s = packedBi.CreateState(1);
            packedBi.Forward(xb, n, s, packedBi.CreateWorkspace(n, 1), alone);
            for (int t = 0; t < n; t++)
                Assert.Equal(alone.AsSpan(t * bi.OutputSize, bi.OutputSize).ToArray(), all.AsSpan((t * batch + b) * bi.OutputSize, bi.OutputSize).ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(CellsAndPrecisions))]
    public void Pool_GivesOneThreadsResults_Bitwise(CellKind cell, PackedPrecision precision)
    {
        var options = new RecurrentOptions(cell, 130, 200, 2);
        PackedRecurrentLayer packed = Layer(options, 6).Pack(precision);
        const int steps = 4, batch = 2;
        float[] x = new SeededRandom(1).UniformSingle(steps * batch * 130, -1f, 1f);
        float[] Run(ComputePool? pool)
        {
            var results = new System.Collections.Generic.List<float>();
            RecurrentState state = packed.CreateState(batch);
            InferenceWorkspace ws = packed.CreateWorkspace(steps, batch, pool);
            float[] output = new float[batch * 200];
            for (int t = 0; t < steps; t++)
            {
                packed.Step(x.AsSpan(t * batch * 130, batch * 130), state, ws, output);
                results.AddRange(output);
            }
            float[] sequence = new float[steps * batch * 200];
            packed.Forward(x, steps, state, ws, sequence);
            results.AddRange(sequence);
            return [.. results];
        }
        float[] one = Run(null);
        foreach (int threads in new[] { 2, 3 })
        {
            using var pool = new ComputePool(threads);
            Assert.Equal(one, Run(pool));
        }
    }

    [Theory]
    [MemberData(nameof(CellsAndPrecisions))]
    public void Refresh_RequantisesInPlace_AsAFreshCopy_WithoutAllocating(CellKind cell, PackedPrecision precision)
    {
        var options = new RecurrentOptions(cell, 9, 21, 1);
        RecurrentLayer layer = Layer(options, 2);
        PackedRecurrentLayer packed = layer.Pack(precision);
        float[] x = new SeededRandom(3).UniformSingle(9, -1f, 1f);
        float[] Step(PackedRecurrentLayer p)
        {
            float[] output = new float[21];
            p.Step(x, p.CreateState(), p.CreateWorkspace(), output);
            return output;
        }
        float[] before = Step(packed);
        Span<float> w = layer.Weights.Buffer.Span;
        for (int i = 0; i < w.Length; i++)
            w[i] = -w[i] * 0.5f;
        Assert.Equal(before, Step(packed)); // a snapshot: unchanged until refreshed
        Allocations.AssertNone(() => packed.Refresh(layer.Weights), count: 5);
        Assert.Equal(Step(layer.Pack(precision)), Step(packed));
        Assert.NotEqual(before, Step(packed));
    }

    [Theory]
    [MemberData(nameof(CellsAndPrecisions))]
    public void StepsAndPasses_AllocateNothing(CellKind cell, PackedPrecision precision)
    {
        var options = new RecurrentOptions(cell, 33, 40, 2, bidirectional: false);
        PackedRecurrentLayer packed = Layer(options, 1).Pack(precision);
        const int steps = 5, batch = 2;
        float[] x = new SeededRandom(2).UniformSingle(steps * batch * 33, -1f, 1f), output = new float[steps * batch * 40];
        RecurrentState state = packed.CreateState(batch);
        InferenceWorkspace ws = packed.CreateWorkspace(steps, batch);
        int[] lengths = [5, 3];
        Allocations.AssertNone(() =>
        {
            packed.Step(x.AsSpan(0, batch * 33), state, ws, output.AsSpan(0, batch * 40));
            packed.Forward(SequenceInput.Dense(x, steps, lengths: lengths), state, ws, output);
        }, count: 20);
        using var pool = new ComputePool(2);
        InferenceWorkspace pooled = packed.CreateWorkspace(steps, batch, pool);
        Allocations.AssertNone(() => packed.Forward(x, steps, state, pooled, output), count: 20);
    }

    [Fact]
    public void Workspace_HoldsOnlyWhatInferenceNeeds_AndBelongsToOnePrecision()
    {
        // An H = 1024 LSTM: the training workspace packs W_hh for its passes (16 MiB) and keeps backward buffers; the
        // inference workspace of a step holds a few vectors of G·H, I and H.
        var layer = new RecurrentLayer(RecurrentOptions.Lstm(1024, 1024), seed: 1);
        PackedRecurrentLayer packed = layer.Pack(PackedPrecision.Int8);
        long before = GC.GetAllocatedBytesForCurrentThread();
        InferenceWorkspace workspace = packed.CreateWorkspace();
        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        // Gates 16 KiB, input, two layer rows, carries, next h, quantised x and h, their row copies: under 80 KiB.
        Assert.True(bytes < 80 * 1024, $"the step workspace allocated {bytes} bytes");
        Assert.Equal(PackedPrecision.Int8, workspace.Precision);

        PackedRecurrentLayer float32 = layer.Pack();
        RecurrentState state = float32.CreateState();
        var e = Assert.Throws<ArgumentException>(() => float32.Step(new float[1024], state, workspace, new float[1024]));
        Assert.Equal("workspace", e.ParamName);
        Assert.Contains("Int8", e.Message);
        Assert.Throws<ArgumentException>(() => float32.Forward(new float[1024], 1, state, workspace, new float[1024]));
        Assert.All(state.Hidden.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void UnknownPrecision_IsRefused()
    {
        var layer = new RecurrentLayer(RecurrentOptions.Lstm(3, 4), seed: 1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => layer.Pack((PackedPrecision)7));
        Assert.Equal("precision", e.ParamName);
    }

    [Theory]
    [MemberData(nameof(CellsAndPrecisions))]
    public void CopyEffectiveWeights_RefusesBadArguments_BeforeWritingAnything(CellKind cell, PackedPrecision precision)
    {
        var options = new RecurrentOptions(cell, 5, 6, 2, bidirectional: true);
        PackedRecurrentLayer packed = Layer(options, 4).Pack(precision);
        int g = options.GateSize;
        // weight_ih of layer 1 is [G·H, 2·H] (both directions feed it); weight_hh [G·H, H].
        float[] destination = Enumerable.Repeat(7f, g * 12 + 1).ToArray();
        var e = Assert.Throws<ArgumentException>(() => packed.CopyEffectiveWeights(1, 0, recurrent: false, destination));
        Assert.Equal("destination", e.ParamName);
        Assert.Contains((g * 12).ToString(), e.Message);
        Assert.Contains((g * 12 + 1).ToString(), e.Message);
        Assert.Throws<ArgumentException>(() => packed.CopyEffectiveWeights(0, 1, recurrent: true, destination.AsSpan(0, g * 6 - 1)));
        Assert.Equal("layer", Assert.Throws<ArgumentOutOfRangeException>(() => packed.CopyEffectiveWeights(2, 0, false, destination)).ParamName);
        Assert.Equal("layer", Assert.Throws<ArgumentOutOfRangeException>(() => packed.CopyEffectiveWeights(-1, 0, false, destination)).ParamName);
        Assert.Equal("direction", Assert.Throws<ArgumentOutOfRangeException>(() => packed.CopyEffectiveWeights(0, 2, true, destination)).ParamName);
        Assert.All(destination, v => Assert.Equal(7f, v));

        // The right length is written whole (every weight lies in ±0.3, so none is the 7 put there) and nothing past it.
        packed.CopyEffectiveWeights(1, 1, recurrent: false, destination.AsSpan(0, g * 12));
        Assert.DoesNotContain(7f, destination.AsSpan(0, g * 12).ToArray());
        Assert.Equal(7f, destination[^1]);
    }

    [Theory]
    [MemberData(nameof(CellsAndPrecisions))]
    public void QuantisedCopy_RefusesWeightsOfAnotherShape_AndWorkspacesOfNoSize_KeepingItself(CellKind cell, PackedPrecision precision)
    {
        var options = new RecurrentOptions(cell, 5, 6, 1);
        PackedRecurrentLayer packed = Layer(options, 4).Pack(precision);
        float[] x = [0.5f, -1f, 0.25f, 1f, -0.75f];
        float[] before = new float[6], after = new float[6];
        packed.Step(x, packed.CreateState(), packed.CreateWorkspace(), before);
        var other = Layer(new RecurrentOptions(cell, 5, 7, 1), 4);
        var e = Assert.Throws<ArgumentException>(() => packed.Refresh(other.Weights));
        Assert.Equal("weights", e.ParamName);
        Assert.Equal("maxSteps", Assert.Throws<ArgumentOutOfRangeException>(() => packed.CreateWorkspace(0)).ParamName);
        Assert.Equal("maxBatch", Assert.Throws<ArgumentOutOfRangeException>(() => packed.CreateWorkspace(1, 0)).ParamName);
        packed.Step(x, packed.CreateState(), packed.CreateWorkspace(), after);
        Assert.Equal(before, after);
    }

    [Theory]
    [MemberData(nameof(CellsAndPrecisions))]
    public void WeightBytes_CountWhatAStepReads(CellKind cell, PackedPrecision precision)
    {
        var options = new RecurrentOptions(cell, 256, 256, 1);
        PackedRecurrentLayer packed = Layer(options, 1).Pack(precision);
        PackedRecurrentLayer float32 = Layer(options, 1).Pack();
        int g = options.GateSize, units = 64 / options.GateCount, blocks = (256 + units - 1) / units;
        // The documented layouts: blocks of 64 panel rows, columns in pairs (256 of each matrix: 128 pairs), 2 bytes a
        // bfloat16 weight, 1 an int8 weight plus a 4-byte scale per panel row; the biases are float32 (a GRU keeps b_hh
        // apart, the others add the two into one vector).
        long panelRows = (long)blocks * 64, perWeight = precision == PackedPrecision.Int8 ? 1 : 2;
        long panels = 2 * panelRows * 256 * perWeight + (precision == PackedPrecision.Int8 ? 2 * panelRows * 4 : 0);
        long biases = 4L * g * (cell == CellKind.Gru ? 2 : 1);
        Assert.Equal(panels + biases, packed.WeightBytes);
        long weights = (long)g * 512;
        Assert.True(float32.WeightBytes >= weights * 4);
    }
}
