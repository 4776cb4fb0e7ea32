using System;
using System.Linq;
using System.Threading;
using SimdLstm.Testing;
using SimdLstm.Testing.Reference;
using Xunit;

namespace SimdLstm.Tests.Layers;

/// <summary>
/// <see cref="PackedRecurrentLayer"/> (the frozen inference copy in gate panels) against the float64 reference: steps and
/// sequence passes, dense and token inputs, time-major and batch-first, LSTM and RNN, with and without bias, one and two
/// layers, odd sizes (H = 1 and 17 leave most of a 64-row panel block as padding; H = 45 ends in a partial block);
/// snapshot and refresh semantics, argument checks, allocations and sharing across threads.
/// </summary>
/// <remarks>
/// Tolerance: |packed − reference| ≤ 2e-5 + 1e-4·|reference|, the bound <see cref="RecurrentLayerStepReferenceTests"/>
/// derives, and derived the same way here: the reference computes in double from exactly the same float weights and
/// inputs, so the difference is float rounding alone. Each pre-activation is a sum of at most max(I, H) + H + 2 ≤ 92 terms
/// (W_ih·x, W_hh·h, the two biases, which the packed copy adds together once when packing) with |w| ≤ 0.3 and
/// |x|, |h| ≤ 1 (ReLU's h grows by at most the spectral radius per step, covered by the relative term); its rounding is
/// at most about 92 · 2⁻²⁴ · 92 · 0.3 ≈ 1.5e-4 in the worst case and a few 1e-6 in practice (errors of random sign). It
/// reaches h through factors below 1 (σ', tanh', o) and over the 6 steps here is carried by f &lt; 1 (LSTM) or by the
/// recurrence (RNN). A wrong or missing term (a weight row, a bias, a padding row written back, a stale weight) is off by
/// ~0.01–0.3, far beyond the bound.
/// </remarks>
public class PackedRecurrentLayerTests
{
    private const double RelativeTolerance = 1e-4;
    private const double AbsoluteTolerance = 2e-5;
    private const int Steps = 6;
    private const double WeightScale = 0.3;

    // Every cell at four shapes (H = 45: several panel blocks, the last partial for every gate count; H = 1 and 17: one
    // partial block), and the ReLU RNN.
    public static TheoryData<CellKind, RnnActivation, bool, int, int, int> Shapes
    {
        get
        {
            var data = new TheoryData<CellKind, RnnActivation, bool, int, int, int>();
            foreach (CellKind cell in CellCases.All)
            {
                data.Add(cell, RnnActivation.Tanh, true, 2, 37, 45);
                data.Add(cell, RnnActivation.Tanh, false, 1, 37, 45);
                data.Add(cell, RnnActivation.Tanh, true, 2, 5, 1);
                data.Add(cell, RnnActivation.Tanh, false, 2, 3, 17);
            }
            data.Add(CellKind.Rnn, RnnActivation.Relu, false, 1, 37, 45);
            data.Add(CellKind.Rnn, RnnActivation.Relu, true, 2, 9, 17);
            return data;
        }
    }

    public static TheoryData<CellKind, bool> EveryCellWithAndWithoutBias => CellCases.Each(true, false);

    public static TheoryData<CellKind, int> EveryCellBatchOneAndThree => CellCases.Each(1, 3);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Step_MatchesReference_EveryStep(CellKind cell, RnnActivation activation, bool bias, int layers, int inputSize, int hiddenSize)
    {
        Net net = Net.Create(cell, activation, bias, layers, inputSize, hiddenSize, seed: 11);
        PackedRecurrentLayer packed = net.Layer.Pack();
        foreach (int batch in new[] { 1, 3 })
        {
            foreach (bool tokens in new[] { false, true })
            {
                Sequence s = Sequence.Create(net, batch, tokens, seed: (ulong)(100 + batch * 2 + (tokens ? 1 : 0)));
                RecurrentForward expected = s.Reference(net);
                RecurrentState state = s.InitialState(packed);
                InferenceWorkspace workspace = packed.CreateWorkspace(1, batch);
                float[] output = new float[batch * hiddenSize];
                string label = $"batch {batch}, {(tokens ? "tokens" : "dense")}";
                for (int t = 0; t < Steps; t++)
                {
                    s.Step(packed, t, state, workspace, output);
                    ReferenceComparison.AssertClose($"{label}: h of step {t}", output, expected.Output.AsSpan(t * batch * hiddenSize, batch * hiddenSize),
                        RelativeTolerance, AbsoluteTolerance);
                }
                AssertFinalState(label, state, expected);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_MatchesReference_EveryStep(CellKind cell, RnnActivation activation, bool bias, int layers, int inputSize, int hiddenSize)
    {
        Net net = Net.Create(cell, activation, bias, layers, inputSize, hiddenSize, seed: 12);
        PackedRecurrentLayer packed = net.Layer.Pack();
        foreach (int batch in new[] { 1, 3 })
        {
            foreach (bool tokens in new[] { false, true })
            {
                Sequence s = Sequence.Create(net, batch, tokens, seed: (ulong)(200 + batch * 2 + (tokens ? 1 : 0)));
                RecurrentForward expected = s.Reference(net);
                foreach (bool batchFirst in new[] { false, true })
                {
                    RecurrentState state = s.InitialState(packed);
                    // A workspace for more steps and streams than used: the pass must not depend on the maximum.
                    InferenceWorkspace workspace = packed.CreateWorkspace(Steps + 2, batch + 1);
                    float[] output = s.Forward(packed, state, workspace, batchFirst);
                    string label = $"batch {batch}, {(tokens ? "tokens" : "dense")}, {(batchFirst ? "batch-first" : "time-major")}";
                    ReferenceComparison.AssertClose($"{label}: output", output, expected.Output, RelativeTolerance, AbsoluteTolerance);
                    AssertFinalState(label, state, expected);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardAndRepeatedStep_Agree(CellKind cell, RnnActivation activation, bool bias, int layers, int inputSize, int hiddenSize)
    {
        // The pass projects the inputs with the matrix product and the step with the panel kernel, so they agree up to
        // float rounding only; the same bound applies (both are within it of the same exact result).
        Net net = Net.Create(cell, activation, bias, layers, inputSize, hiddenSize, seed: 13);
        PackedRecurrentLayer packed = net.Layer.Pack();
        const int batch = 3;
        foreach (bool tokens in new[] { false, true })
        {
            Sequence s = Sequence.Create(net, batch, tokens, seed: tokens ? 301UL : 300UL);
            RecurrentState stepped = s.InitialState(packed), passed = s.InitialState(packed);
            InferenceWorkspace workspace = packed.CreateWorkspace(Steps, batch);
            float[] stepOutputs = new float[Steps * batch * hiddenSize];
            for (int t = 0; t < Steps; t++)
                s.Step(packed, t, stepped, workspace, stepOutputs.AsSpan(t * batch * hiddenSize, batch * hiddenSize));
            float[] passOutputs = s.Forward(packed, passed, workspace, batchFirst: false);

            string label = tokens ? "tokens" : "dense";
            ReferenceComparison.AssertClose($"{label}: pass output vs steps", passOutputs, ToDouble(stepOutputs), RelativeTolerance, AbsoluteTolerance);
            ReferenceComparison.AssertClose($"{label}: hN", passed.Hidden, ToDouble(stepped.Hidden.ToArray()), RelativeTolerance, AbsoluteTolerance);
            if (net.Options.HasCellState)
                ReferenceComparison.AssertClose($"{label}: cN", passed.Cell, ToDouble(stepped.Cell.ToArray()), RelativeTolerance, AbsoluteTolerance);
        }
    }

    [Theory]
    [MemberData(nameof(EveryCellWithAndWithoutBias))]
    public void Pack_IsASnapshot_AndRefreshEqualsAFreshPack(CellKind cell, bool bias)
    {
        Net net = Net.Create(cell, RnnActivation.Tanh, bias, 2, 37, 45, seed: 14);
        PackedRecurrentLayer packed = net.Layer.Pack();
        float[] before = Results(packed, net);

        // Change every weight (and bias) of the source layer.
        Span<float> weights = net.Layer.Weights.Buffer.Span;
        for (int i = 0; i < weights.Length; i++)
            weights[i] = 0.05f - weights[i];

        // The snapshot has not seen the change, while a fresh copy has (so the change is visible in these results at all).
        float[] unchanged = Results(packed, net);
        Assert.Equal(before.Length, unchanged.Length);
        Assert.True(BitwiseEqual(before, unchanged), "the packed copy changed when the source weights changed");
        PackedRecurrentLayer fresh = net.Layer.Pack();
        float[] freshResults = Results(fresh, net);
        Assert.False(BitwiseEqual(before, freshResults), "changing the weights did not change a fresh copy's results");

        packed.Refresh(net.Layer.Weights);
        Assert.True(BitwiseEqual(freshResults, Results(packed, net)), "a refreshed copy differs from a freshly packed one");
    }

    [Fact]
    public void Refresh_WithWeightsOfAnotherShape_ThrowsNamingWeightsAndKeepsTheCopy()
    {
        Net net = Net.Create(CellKind.Lstm, RnnActivation.Tanh, true, 2, 37, 45, seed: 15);
        PackedRecurrentLayer packed = net.Layer.Pack();
        float[] before = Results(packed, net);
        foreach (RecurrentOptions other in new[]
        {
            new RecurrentOptions(CellKind.Lstm, 37, 46, 2),
            new RecurrentOptions(CellKind.Lstm, 36, 45, 2),
            new RecurrentOptions(CellKind.Lstm, 37, 45, 1),
            new RecurrentOptions(CellKind.Lstm, 37, 45, 2, bias: false),
            new RecurrentOptions(CellKind.Rnn, 37, 45, 2),
        })
        {
            var otherLayer = new RecurrentLayer(other, seed: 3);
            ArgumentException e = Assert.Throws<ArgumentException>(() => packed.Refresh(otherLayer.Weights));
            Assert.Equal("weights", e.ParamName);
        }
        Assert.True(BitwiseEqual(before, Results(packed, net)), "a refused refresh changed the packed copy");
    }

    [Fact]
    public void Step_ThrowsForBadArgumentsBeforeWriting()
    {
        Net net = Net.Create(CellKind.Lstm, RnnActivation.Tanh, true, 2, 7, 5, seed: 16);
        PackedRecurrentLayer packed = net.Layer.Pack();
        const int batch = 2, inputSize = 7, hiddenSize = 5;
        float[] input = new float[batch * inputSize];
        int[] tokens = [1, 6];
        InferenceWorkspace workspace = packed.CreateWorkspace(1, batch);
        RecurrentState otherState = new RecurrentLayer(new RecurrentOptions(CellKind.Lstm, 7, 6, 2)).CreateState(batch);
        InferenceWorkspace otherWorkspace = new RecurrentLayer(new RecurrentOptions(CellKind.Rnn, 7, 5, 2)).Pack().CreateWorkspace(1, batch);
        InferenceWorkspace smallWorkspace = packed.CreateWorkspace(1, batch - 1);
        int outputLength = batch * hiddenSize;

        AssertThrowsUntouched(packed, batch, "input", (s, o) => packed.Step(input.AsSpan(1), s, workspace, o), outputLength);
        AssertThrowsUntouched(packed, batch, "input", (s, o) => packed.Step(new float[input.Length + 1], s, workspace, o), outputLength);
        AssertThrowsUntouched(packed, batch, "output", (s, o) => packed.Step(input, s, workspace, o), outputLength - 1);
        AssertThrowsUntouched(packed, batch, "output", (s, o) => packed.Step(tokens, s, workspace, o), outputLength + 1);
        AssertThrowsUntouched(packed, batch, "tokens", (s, o) => packed.Step(tokens.AsSpan(1), s, workspace, o), outputLength);
        AssertThrowsUntouched(packed, batch, "tokens", (s, o) => packed.Step(new[] { 1, -1 }, s, workspace, o), outputLength);
        AssertThrowsUntouched(packed, batch, "tokens", (s, o) => packed.Step(new[] { inputSize, 0 }, s, workspace, o), outputLength);
        AssertThrowsUntouched(packed, batch, "workspace", (s, o) => packed.Step(input, s, otherWorkspace, o), outputLength);
        AssertThrowsUntouched(packed, batch, "workspace", (s, o) => packed.Step(tokens, s, smallWorkspace, o), outputLength);
        AssertThrowsUntouched(packed, batch, "workspace", (s, o) => packed.Step(input, s, null!, o), outputLength);
        AssertThrowsUntouched(packed, batch, "state", (_, o) => packed.Step(input, otherState, workspace, o), outputLength);
        AssertThrowsUntouched(packed, batch, "state", (_, o) => packed.Step(tokens, otherState, workspace, o), outputLength);
        AssertThrowsUntouched(packed, batch, "state", (_, o) => packed.Step(input, null!, workspace, o), outputLength);
    }

    [Fact]
    public void Forward_ThrowsForBadArgumentsBeforeWriting()
    {
        Net net = Net.Create(CellKind.Rnn, RnnActivation.Relu, true, 2, 7, 5, seed: 17);
        PackedRecurrentLayer packed = net.Layer.Pack();
        const int batch = 2, inputSize = 7, hiddenSize = 5, steps = 3;
        float[] input = new float[steps * batch * inputSize];
        int[] tokens = [0, 1, 2, 3, 4, 5];
        InferenceWorkspace workspace = packed.CreateWorkspace(steps, batch);
        RecurrentState otherState = new RecurrentLayer(new RecurrentOptions(CellKind.Rnn, 7, 5, 2, activation: RnnActivation.Tanh)).CreateState(batch);
        InferenceWorkspace otherWorkspace = new RecurrentLayer(new RecurrentOptions(CellKind.Rnn, 8, 5, 2, activation: RnnActivation.Relu)).Pack().CreateWorkspace(steps, batch);
        int outputLength = steps * batch * hiddenSize;

        AssertThrowsUntouched(packed, batch, "steps", (s, o) => packed.Forward(input.AsSpan(0, 0), 0, s, workspace, o), 0);
        AssertThrowsUntouched(packed, batch, "steps", (s, o) => packed.Forward(new float[(steps + 1) * batch * inputSize], steps + 1, s, workspace, o),
            (steps + 1) * batch * hiddenSize);
        AssertThrowsUntouched(packed, batch, "steps", (s, o) => packed.Forward(new int[(steps + 1) * batch], steps + 1, s, workspace, o, batchFirst: true),
            (steps + 1) * batch * hiddenSize);
        AssertThrowsUntouched(packed, batch, "input", (s, o) => packed.Forward(input.AsSpan(1), steps, s, workspace, o), outputLength);
        AssertThrowsUntouched(packed, batch, "input", (s, o) => packed.Forward(input, steps - 1, s, workspace, o), (steps - 1) * batch * hiddenSize);
        AssertThrowsUntouched(packed, batch, "output", (s, o) => packed.Forward(input, steps, s, workspace, o, batchFirst: true), outputLength - 1);
        AssertThrowsUntouched(packed, batch, "output", (s, o) => packed.Forward(tokens, steps, s, workspace, o), outputLength + hiddenSize);
        AssertThrowsUntouched(packed, batch, "tokens", (s, o) => packed.Forward(tokens.AsSpan(1), steps, s, workspace, o), outputLength);
        AssertThrowsUntouched(packed, batch, "tokens", (s, o) => packed.Forward(new[] { 0, 1, 2, 3, 4, inputSize }, steps, s, workspace, o), outputLength);
        AssertThrowsUntouched(packed, batch, "tokens", (s, o) => packed.Forward(new[] { 0, 1, -2, 3, 4, 5 }, steps, s, workspace, o, batchFirst: true), outputLength);
        AssertThrowsUntouched(packed, batch, "workspace", (s, o) => packed.Forward(input, steps, s, otherWorkspace, o), outputLength);
        AssertThrowsUntouched(packed, batch, "workspace", (s, o) => packed.Forward(input, steps, s, packed.CreateWorkspace(steps, batch - 1), o), outputLength);
        AssertThrowsUntouched(packed, batch, "state", (_, o) => packed.Forward(input, steps, otherState, workspace, o), outputLength);
        AssertThrowsUntouched(packed, batch, "state", (_, o) => packed.Forward(tokens, steps, otherState, workspace, o), outputLength);
    }

    [Theory]
    [MemberData(nameof(EveryCellBatchOneAndThree))]
    public void StepAndForward_AllocateNothing(CellKind cell, int batch)
    {
        Net net = Net.Create(cell, RnnActivation.Tanh, true, 2, 37, 45, seed: 18);
        PackedRecurrentLayer packed = net.Layer.Pack();
        var random = new SeededRandom(19);
        float[] input = random.UniformSingle(Steps * batch * 37, -1, 1);
        int[] tokens = random.Tokens(Steps * batch, 37);
        RecurrentState state = packed.CreateState(batch);
        InferenceWorkspace workspace = packed.CreateWorkspace(Steps, batch);
        float[] stepOutput = new float[batch * 45], passOutput = new float[Steps * batch * 45];
        void Iteration()
        {
            packed.Step(input.AsSpan(0, batch * 37), state, workspace, stepOutput);
            packed.Step(tokens.AsSpan(0, batch), state, workspace, stepOutput);
            packed.Forward(input, Steps, state, workspace, passOutput);
            packed.Forward(tokens, Steps, state, workspace, passOutput, batchFirst: true);
            state.Reset();
        }
        Iteration();
        Allocations.AssertNone(Iteration, count: 20);
    }

    [Fact]
    public void SharedAcrossThreads_GivesTheSingleThreadResultsBitwise()
    {
        // Each thread runs its own streams (own input, state and workspace) through the one shared copy, all at once;
        // every result must equal, bit for bit, the same work done alone on this thread first.
        const int threads = 4, batch = 2, repeats = 25;
        Net net = Net.Create(CellKind.Lstm, RnnActivation.Tanh, true, 2, 37, 45, seed: 20);
        PackedRecurrentLayer packed = net.Layer.Pack();
        var sequences = new Sequence[threads];
        var expected = new float[threads][];
        for (int i = 0; i < threads; i++)
        {
            sequences[i] = Sequence.Create(net, batch, tokens: i % 2 == 1, seed: (ulong)(400 + i));
            expected[i] = Work(packed, sequences[i], repeats);
        }

        var actual = new float[threads][];
        var errors = new Exception?[threads];
        using var start = new Barrier(threads);
        var workers = new Thread[threads];
        for (int i = 0; i < threads; i++)
        {
            int index = i;
            workers[i] = new Thread(() =>
            {
                try
                {
                    start.SignalAndWait();
                    actual[index] = Work(packed, sequences[index], repeats);
                }
                catch (Exception e)
                {
                    errors[index] = e;
                }
            });
            workers[i].Start();
        }
        foreach (Thread worker in workers)
            worker.Join();

        for (int i = 0; i < threads; i++)
        {
            Assert.Null(errors[i]);
            Assert.True(BitwiseEqual(expected[i], actual[i]), $"thread {i} differs from the single-thread run");
        }

        // Repeats of the same work, the state carried on: outputs of every step and pass, and the final state.
        static float[] Work(PackedRecurrentLayer packed, Sequence s, int repeats)
        {
            int h = packed.Options.HiddenSize;
            RecurrentState state = s.InitialState(packed);
            InferenceWorkspace workspace = packed.CreateWorkspace(Steps, s.Batch);
            int perRepeat = 2 * Steps * s.Batch * h;
            float[] results = new float[repeats * perRepeat + state.Hidden.Length + state.Cell.Length];
            for (int r = 0; r < repeats; r++)
            {
                Span<float> block = results.AsSpan(r * perRepeat, perRepeat);
                for (int t = 0; t < Steps; t++)
                    s.Step(packed, t, state, workspace, block.Slice(t * s.Batch * h, s.Batch * h));
                s.Forward(packed, state, workspace, batchFirst: r % 2 == 1).CopyTo(block[(Steps * s.Batch * h)..]);
            }
            state.Hidden.CopyTo(results.AsSpan(repeats * perRepeat));
            state.Cell.CopyTo(results.AsSpan(repeats * perRepeat + state.Hidden.Length));
            return results;
        }
    }

    [Theory]
    [InlineData(CellKind.Lstm, 1, 70, 130)]   // 9 panel blocks, the last one partial
    [InlineData(CellKind.Lstm, 2, 64, 128)]   // the sequence's recurrent product is exactly the split threshold
    [InlineData(CellKind.Rnn, 1, 50, 260)]    // 5 blocks of 64 units, the last one partial
    [InlineData(CellKind.Gru, 1, 70, 130)]    // 7 blocks of 21 units, the last one partial
    [InlineData(CellKind.Gru, 2, 64, 150)]    // the sequence's recurrent product (3·150·150) is above the split threshold
    public void OnComputePool_GivesTheNoPoolResultsBitwise(CellKind cell, int layers, int inputSize, int hiddenSize)
    {
        // The shapes are large enough that the products are really split (each step's and each sequence step's product is
        // at least the 64 K multiply-adds below which the layer keeps it on the calling thread, and has at least two
        // blocks), so each thread count cuts the blocks and the projection rows differently; every result must still equal
        // the no-pool run bit for bit.
        Net net = Net.Create(cell, RnnActivation.Tanh, true, layers, inputSize, hiddenSize, seed: 31);
        PackedRecurrentLayer packed = net.Layer.Pack();
        float[] expected = Results(packed, net);
        foreach (int threads in new[] { 1, 2, 3, 4 })
        {
            using var pool = new ComputePool(threads);
            Assert.True(BitwiseEqual(expected, Results(packed, net, pool)), $"{threads} threads differ from the run without a pool");
        }
    }

    [Fact]
    public void OnDisposedPool_ThrowsBeforeWriting()
    {
        Net net = Net.Create(CellKind.Lstm, RnnActivation.Tanh, true, 1, 64, 64, seed: 34);
        PackedRecurrentLayer packed = net.Layer.Pack();
        var pool = new ComputePool(2);
        RecurrentState state = packed.CreateState();
        InferenceWorkspace workspace = packed.CreateWorkspace(Steps, 1, pool);
        pool.Dispose();
        float[] output = new float[64];
        Assert.Throws<ObjectDisposedException>(() => packed.Step(new float[64], state, workspace, output));
        Assert.Throws<ObjectDisposedException>(() => packed.Forward(new float[Steps * 64], Steps, state, workspace, new float[Steps * 64]));
        Assert.All(state.Hidden.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(output, v => Assert.Equal(0f, v));
    }

    // ---- helpers ----

    /// <summary>Everything a packed copy computes on one fixed data set: steps and passes, dense and tokens, and the final states.</summary>
    private static float[] Results(PackedRecurrentLayer packed, Net net, ComputePool? pool = null)
    {
        var results = new System.Collections.Generic.List<float>();
        foreach (bool tokens in new[] { false, true })
        {
            Sequence s = Sequence.Create(net, batch: 3, tokens, seed: tokens ? 501UL : 500UL);
            RecurrentState state = s.InitialState(packed);
            InferenceWorkspace workspace = packed.CreateWorkspace(Steps, s.Batch, pool);
            float[] output = new float[s.Batch * net.Options.HiddenSize];
            for (int t = 0; t < Steps; t++)
            {
                s.Step(packed, t, state, workspace, output);
                results.AddRange(output);
            }
            results.AddRange(s.Forward(packed, state, workspace, batchFirst: false));
            results.AddRange(state.Hidden.ToArray());
            results.AddRange(state.Cell.ToArray());
        }
        return [.. results];
    }

    private static void AssertFinalState(string label, RecurrentState state, RecurrentForward expected)
    {
        ReferenceComparison.AssertClose($"{label}: hN", state.Hidden, expected.HN, RelativeTolerance, AbsoluteTolerance);
        if (state.Options.HasCellState)
            ReferenceComparison.AssertClose($"{label}: cN", state.Cell, expected.CN, RelativeTolerance, AbsoluteTolerance);
    }

    private delegate void Call(RecurrentState state, Span<float> output);

    /// <summary>
    /// Calls with a nonzero state and a sentinel-filled output; requires an <see cref="ArgumentException"/> (or subclass)
    /// naming <paramref name="paramName"/>, and the state and output unchanged.
    /// </summary>
    private static void AssertThrowsUntouched(PackedRecurrentLayer packed, int batch, string paramName, Call call, int outputLength)
    {
        RecurrentState state = packed.CreateState(batch);
        var random = new SeededRandom(21);
        state.SetHidden(random.UniformSingle(state.Hidden.Length, -0.5f, 0.5f));
        if (state.Cell.Length > 0)
            state.SetCell(random.UniformSingle(state.Cell.Length, -0.5f, 0.5f));
        float[] hidden = state.Hidden.ToArray(), cell = state.Cell.ToArray();
        var output = new GuardedBuffer(outputLength);

        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => call(state, output.Span));
        Assert.Equal(paramName, e.ParamName);
        Assert.Equal(hidden, state.Hidden.ToArray());
        Assert.Equal(cell, state.Cell.ToArray());
        Assert.All(output.ToArray(), v => Assert.Equal(GuardedBuffer.Sentinel, v));
        output.AssertGuardsIntact();
    }

    private static bool BitwiseEqual(float[] expected, float[] actual)
    {
        if (expected.Length != actual.Length)
            return false;
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                return false;
        }
        return true;
    }

    private static double[] ToDouble(float[] values) => values.Select(v => (double)v).ToArray();

    /// <summary>A network: the float64 reference weights and a float layer holding the same values.</summary>
    private sealed record Net(RecurrentOptions Options, ReferenceWeights Reference, RecurrentLayer Layer)
    {
        public static Net Create(CellKind cell, RnnActivation activation, bool bias, int layers, int inputSize, int hiddenSize, ulong seed)
        {
            var random = new SeededRandom(seed);
            ReferenceWeights reference = new ReferenceWeights(cell, inputSize, hiddenSize, layers, bias, activation).Randomize(random, WeightScale);
            var options = new RecurrentOptions(cell, inputSize, hiddenSize, layers, bias, activation);
            var layer = new RecurrentLayer(options);
            int copied = 0;
            foreach ((string name, double[] values) in reference.Named())
            {
                Span<float> target = layer.Weights.Buffer[name].Span;
                Assert.Equal(values.Length, target.Length);
                for (int i = 0; i < values.Length; i++)
                {
                    // Round to the stored float and use that value in the reference too, so only arithmetic differs.
                    target[i] = (float)values[i];
                    values[i] = target[i];
                }
                copied++;
            }
            Assert.Equal(layer.Weights.Buffer.Tensors.Count, copied);
            return new Net(options, reference, layer);
        }
    }

    /// <summary>
    /// <see cref="Steps"/> steps of <see cref="Batch"/> streams: dense inputs [T, B, I] or tokens [T, B] (time-major), and a
    /// random initial h and c [L, B, H].
    /// </summary>
    private sealed class Sequence
    {
        private Sequence(int batch, int inputSize, int hiddenSize, float[]? input, int[]? tokens, float[] h0, float[] c0)
        {
            Batch = batch;
            InputSize = inputSize;
            HiddenSize = hiddenSize;
            Input = input;
            Tokens = tokens;
            H0 = h0;
            C0 = c0;
        }

        public int Batch { get; }

        public int InputSize { get; }

        public int HiddenSize { get; }

        public float[]? Input { get; }

        public int[]? Tokens { get; }

        public float[] H0 { get; }

        public float[] C0 { get; }

        public static Sequence Create(Net net, int batch, bool tokens, ulong seed)
        {
            var random = new SeededRandom(seed);
            RecurrentOptions o = net.Options;
            int stateLength = o.NumLayers * batch * o.HiddenSize;
            return new Sequence(batch, o.InputSize, o.HiddenSize,
                tokens ? null : random.UniformSingle(Steps * batch * o.InputSize, -1, 1),
                tokens ? random.Tokens(Steps * batch, o.InputSize) : null,
                random.UniformSingle(stateLength, -0.5f, 0.5f),
                o.HasCellState ? random.UniformSingle(stateLength, -0.5f, 0.5f) : []);
        }

        public RecurrentForward Reference(Net net)
        {
            double[] input = Tokens is null ? ToDouble(Input!) : TokenReference.OneHot(Tokens, InputSize);
            return RecurrentReference.Forward(net.Reference, input, Steps, Batch, ToDouble(H0), C0.Length == 0 ? null : ToDouble(C0));
        }

        public RecurrentState InitialState(PackedRecurrentLayer packed)
        {
            RecurrentState state = packed.CreateState(Batch);
            state.SetHidden(H0);
            if (C0.Length > 0)
                state.SetCell(C0);
            return state;
        }

        /// <summary>Step <paramref name="t"/> of every stream.</summary>
        public void Step(PackedRecurrentLayer packed, int t, RecurrentState state, InferenceWorkspace workspace, Span<float> output)
        {
            if (Tokens is null)
                packed.Step(Input.AsSpan(t * Batch * InputSize, Batch * InputSize), state, workspace, output);
            else
                packed.Step(Tokens.AsSpan(t * Batch, Batch), state, workspace, output);
        }

        /// <summary>A pass over all steps, given batch-first when asked; returns the output time-major, [T, B, H].</summary>
        public float[] Forward(PackedRecurrentLayer packed, RecurrentState state, InferenceWorkspace workspace, bool batchFirst)
        {
            float[] output = new float[Steps * Batch * HiddenSize];
            if (Tokens is null)
            {
                float[] input = batchFirst ? SwapOuter(Input!, Steps, Batch, InputSize) : Input!;
                packed.Forward(input, Steps, state, workspace, output, batchFirst);
            }
            else
            {
                int[] tokens = batchFirst ? SwapOuter(Tokens, Steps, Batch, 1) : Tokens;
                packed.Forward(tokens, Steps, state, workspace, output, batchFirst);
            }
            return batchFirst ? SwapOuter(output, Batch, Steps, HiddenSize) : output;
        }

        // [outer, inner, width] → [inner, outer, width], written here rather than with the library's own helper.
        private static T[] SwapOuter<T>(T[] source, int outer, int inner, int width)
        {
            var result = new T[source.Length];
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                    Array.Copy(source, (o * inner + i) * width, result, (i * outer + o) * width, width);
            return result;
        }
    }
}
