using System;
using System.Threading;
using Xunit;

namespace SimdLstm.Tests.Layers;

/// <summary>One pool of each thread count, shared by the tests of a class and disposed after them.</summary>
public sealed class ComputePools : IDisposable
{
    private readonly ComputePool[] _pools = [new(1), new(2), new(3), new(4)];

    /// <summary>The pool of <paramref name="threads"/> threads (1 to 4).</summary>
    public ComputePool Get(int threads) => _pools[threads - 1];

    public void Dispose()
    {
        foreach (ComputePool pool in _pools)
            pool.Dispose();
    }
}

/// <summary>
/// The multi-threaded mode computes bitwise what the single-threaded one does: outputs, final states, every parameter
/// gradient, dInput and dh0/dc0, for 1 to 4 threads (4 is more than this machine's cores), LSTM and RNN, odd sizes and
/// batches of 1, 3 and 32. The no-pool pass is the expectation; no tolerance is needed or allowed, since the split is
/// designed so that every element is computed by the same operations in the same order.
/// </summary>
public class ComputePoolLayerTests(ComputePools pools) : IClassFixture<ComputePools>
{
    public sealed record Shape(CellKind Cell, RnnActivation Activation, int InputSize, int HiddenSize, int Layers, int Batch, int Steps,
        bool Bias = true, bool Tokens = false, bool BatchFirst = false)
    {
        public override string ToString() =>
            $"{Cell}{(Cell == CellKind.Rnn ? "-" + Activation : "")} I={InputSize} H={HiddenSize} L={Layers} B={Batch} T={Steps}{(Bias ? "" : " no-bias")}{(Tokens ? " tokens" : "")}{(BatchFirst ? " batch-first" : "")}";
    }

    private static readonly Shape[] Shapes =
    [
        new(CellKind.Lstm, RnnActivation.Tanh, 7, 1, 2, 3, 5),
        new(CellKind.Lstm, RnnActivation.Tanh, 5, 5, 1, 32, 6),
        new(CellKind.Lstm, RnnActivation.Tanh, 3, 17, 2, 3, 7, BatchFirst: true),
        new(CellKind.Lstm, RnnActivation.Tanh, 33, 33, 1, 32, 9),
        // G·H = 260 and T·B = 288: the k of the backward step product and of the weight gradients exceed the GEMM's
        // 256-deep blocks, so the blocked k-order is exercised under the split too.
        new(CellKind.Lstm, RnnActivation.Tanh, 10, 65, 1, 32, 9),
        new(CellKind.Lstm, RnnActivation.Tanh, 6, 17, 2, 1, 4),
        new(CellKind.Lstm, RnnActivation.Tanh, 13, 5, 2, 32, 5, Tokens: true),
        new(CellKind.Lstm, RnnActivation.Tanh, 4, 17, 1, 32, 4, Bias: false),
        new(CellKind.Rnn, RnnActivation.Tanh, 7, 5, 2, 3, 8),
        new(CellKind.Rnn, RnnActivation.Relu, 4, 17, 2, 32, 5),
        new(CellKind.Rnn, RnnActivation.Tanh, 33, 33, 1, 1, 6),
        new(CellKind.Rnn, RnnActivation.Tanh, 9, 1, 1, 32, 5, Bias: false),
        new(CellKind.Rnn, RnnActivation.Tanh, 20, 300, 1, 3, 3),
        new(CellKind.Rnn, RnnActivation.Tanh, 11, 5, 1, 3, 6, Tokens: true, BatchFirst: true),
        new(CellKind.Gru, RnnActivation.Tanh, 7, 1, 2, 3, 5),
        new(CellKind.Gru, RnnActivation.Tanh, 33, 33, 1, 32, 9),
        new(CellKind.Gru, RnnActivation.Tanh, 3, 17, 2, 3, 7, BatchFirst: true),
        new(CellKind.Gru, RnnActivation.Tanh, 10, 90, 1, 32, 9), // G·H = 270: past the GEMM's 256-deep blocks, as the LSTM one above
        new(CellKind.Gru, RnnActivation.Tanh, 13, 5, 2, 32, 5, Tokens: true),
        new(CellKind.Gru, RnnActivation.Tanh, 4, 17, 1, 32, 4, Bias: false),
    ];

    public static TheoryData<int, int> Cases()
    {
        var data = new TheoryData<int, int>();
        for (int s = 0; s < Shapes.Length; s++)
            for (int threads = 1; threads <= 4; threads++)
                data.Add(s, threads);
        return data;
    }

    /// <summary>Everything a training pass produces.</summary>
    private sealed record PassResult(float[] Output, float[] Hidden, float[] Cell, float[] Gradients, float[] DInput, float[] DHidden0, float[] DCell0);

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainingPasses_WithPool_BitwiseEqualWithoutPool(int shapeIndex, int threads)
    {
        Shape shape = Shapes[shapeIndex];
        PassResult expected = Run(shape, pool: null);
        PassResult actual = Run(shape, pools.Get(threads));
        string label = $"{shape}, {threads} threads";
        AssertBitwise(expected.Output, actual.Output, $"output ({label})");
        AssertBitwise(expected.Hidden, actual.Hidden, $"final h ({label})");
        AssertBitwise(expected.Cell, actual.Cell, $"final c ({label})");
        AssertBitwise(expected.Gradients, actual.Gradients, $"parameter gradients ({label})");
        AssertBitwise(expected.DInput, actual.DInput, $"dInput ({label})");
        AssertBitwise(expected.DHidden0, actual.DHidden0, $"dh0 ({label})");
        AssertBitwise(expected.DCell0, actual.DCell0, $"dc0 ({label})");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void SequenceModel_WithPool_BitwiseEqualWithoutPool(int threads)
    {
        const int vocabulary = 11, steps = 8, batch = 5;
        var model = new SequenceModel(RecurrentOptions.Lstm(vocabulary, 13, numLayers: 2), outputSize: vocabulary, seed: 4);
        var random = new Random(8);
        int[] tokens = new int[steps * batch], targets = new int[steps * batch];
        for (int i = 0; i < tokens.Length; i++)
        {
            tokens[i] = random.Next(vocabulary);
            targets[i] = random.Next(vocabulary);
        }

        (float Loss, float[] Gradients, float[] Hidden) Train(ComputePool? pool)
        {
            SequenceModelWorkspace workspace = pool is null ? model.CreateWorkspace(steps, batch) : model.CreateWorkspace(steps, batch, pool);
            RecurrentState state = model.CreateState(batch);
            SequenceModelGradients gradients = model.CreateGradients();
            float loss = model.ForwardBackward(tokens, targets, steps, state, workspace, gradients);
            return (loss, gradients.Buffer.Span.ToArray(), state.Hidden.ToArray());
        }

        var expected = Train(pool: null);
        var actual = Train(pools.Get(threads));
        Assert.Equal(BitConverter.SingleToInt32Bits(expected.Loss), BitConverter.SingleToInt32Bits(actual.Loss));
        AssertBitwise(expected.Gradients, actual.Gradients, $"gradients, {threads} threads");
        AssertBitwise(expected.Hidden, actual.Hidden, $"final h, {threads} threads");
    }

    [Fact]
    public void ReadmeExample_CompilesAndMatchesOneThread()
    {
        const int steps = 4, batch = 6;
        var lstm = new RecurrentLayer(RecurrentOptions.Lstm(inputSize: 8, hiddenSize: 16), seed: 42);
        float[] input = Random(steps * batch * 8, 1), pooled = new float[steps * batch * 16], single = new float[pooled.Length];

        // --- README.md: several threads ---
        using var pool = new ComputePool(threadCount: 2);
        RecurrentWorkspace workspace = lstm.CreateWorkspace(maxSteps: steps, maxBatch: batch, pool);  // or model.CreateWorkspace(steps, batch, pool)
        // --- end ---

        lstm.Forward(input, steps, lstm.CreateState(batch), workspace, pooled);
        lstm.Forward(input, steps, lstm.CreateState(batch), lstm.CreateWorkspace(steps, batch), single);
        AssertBitwise(single, pooled, "README example output");
    }

    [Fact]
    public void Workspace_RemembersItsPool()
    {
        var layer = new RecurrentLayer(RecurrentOptions.Lstm(3, 4), seed: 1);
        ComputePool pool = pools.Get(2);
        Assert.Same(pool, layer.CreateWorkspace(2, 2, pool).Pool);
        Assert.Null(layer.CreateWorkspace(2, 2).Pool);
        Assert.Same(pool, new RecurrentWorkspace(layer.Options, 2, 2, pool).Pool);
    }

    [Fact]
    public void Forward_WithDisposedPool_ThrowsBeforeWriting()
    {
        var layer = new RecurrentLayer(RecurrentOptions.Lstm(3, 4), seed: 1);
        var pool = new ComputePool(2);
        RecurrentWorkspace workspace = layer.CreateWorkspace(2, 3, pool);
        RecurrentState state = layer.CreateState(3);
        float[] input = Random(2 * 3 * 3, 1), output = new float[2 * 3 * 4];
        layer.Forward(input, 2, state, workspace, output);
        RecurrentParameters gradients = layer.CreateGradients();
        pool.Dispose();

        output.AsSpan().Fill(42f);
        float[] stateBefore = state.Hidden.ToArray();
        Assert.Throws<ObjectDisposedException>(() => layer.Forward(input, 2, state, workspace, output));
        Assert.All(output, v => Assert.Equal(42f, v));
        Assert.Equal(stateBefore, state.Hidden.ToArray());
        Assert.Throws<ObjectDisposedException>(() => layer.Backward(new float[2 * 3 * 4], workspace, gradients));
        Assert.All(gradients.Buffer.Span.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Passes_OnTwoThreadsSharingOnePool_EqualSingleThreadResults()
    {
        // Two callers share one pool at once: the one that finds it busy runs its split alone, with the same values.
        Shape shape = Shapes[3];
        PassResult expected = Run(shape, pool: null);
        using var pool = new ComputePool(2);
        var failures = new Exception?[2];
        var threads = new Thread[2];
        for (int i = 0; i < threads.Length; i++)
        {
            int caller = i;
            threads[i] = new Thread(() =>
            {
                try
                {
                    for (int repeat = 0; repeat < 20; repeat++)
                    {
                        PassResult actual = Run(shape, pool);
                        AssertBitwise(expected.Output, actual.Output, $"output, caller {caller}, repeat {repeat}");
                        AssertBitwise(expected.Gradients, actual.Gradients, $"gradients, caller {caller}, repeat {repeat}");
                        AssertBitwise(expected.DInput, actual.DInput, $"dInput, caller {caller}, repeat {repeat}");
                    }
                }
                catch (Exception e)
                {
                    failures[caller] = e;
                }
            });
            threads[i].Start();
        }
        foreach (Thread thread in threads)
            thread.Join();
        Assert.Null(failures[0]);
        Assert.Null(failures[1]);
    }

    // Two passes of the streams (the second continuing from the first's final state, as truncated BPTT does), with a
    // random initial state, dL/dh_T and dL/dc_T; the gradients accumulate over both.
    private static PassResult Run(Shape shape, ComputePool? pool)
    {
        var options = new RecurrentOptions(shape.Cell, shape.InputSize, shape.HiddenSize, shape.Layers, shape.Bias, shape.Activation);
        var layer = new RecurrentLayer(options, seed: 17);
        int batch = shape.Batch, steps = shape.Steps, h = shape.HiddenSize, inputSize = shape.InputSize;
        bool lstm = options.HasCellState;
        int stateLength = shape.Layers * batch * h;
        RecurrentWorkspace workspace = pool is null ? layer.CreateWorkspace(steps, batch) : layer.CreateWorkspace(steps, batch, pool);
        RecurrentState state = layer.CreateState(batch);
        state.SetHidden(Random(stateLength, 3));
        if (lstm)
            state.SetCell(Random(stateLength, 4, 2f));
        RecurrentParameters gradients = layer.CreateGradients();
        float[] output = new float[steps * batch * h];
        float[] dInput = shape.Tokens ? [] : new float[steps * batch * inputSize];
        float[] dHidden0 = new float[stateLength];
        float[] dCell0 = lstm ? new float[stateLength] : [];
        float[] dFinalHidden = Random(stateLength, 5), dFinalCell = lstm ? Random(stateLength, 6) : [];
        for (int pass = 0; pass < 2; pass++)
        {
            if (shape.Tokens)
            {
                var random = new Random(7 + pass);
                int[] tokens = new int[steps * batch];
                for (int i = 0; i < tokens.Length; i++)
                    tokens[i] = random.Next(inputSize);
                layer.Forward(tokens, steps, state, workspace, output, shape.BatchFirst);
            }
            else
            {
                layer.Forward(Random(steps * batch * inputSize, 7 + pass), steps, state, workspace, output, shape.BatchFirst);
            }
            layer.Backward(Random(steps * batch * h, 9 + pass), workspace, gradients, dInput, dFinalHidden, dFinalCell, dHidden0, dCell0);
        }
        return new PassResult(output, state.Hidden.ToArray(), state.Cell.ToArray(), gradients.Buffer.Span.ToArray(), dInput, dHidden0, dCell0);
    }

    private static float[] Random(int length, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(random.NextDouble() * 2 - 1) * scale;
        return values;
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
