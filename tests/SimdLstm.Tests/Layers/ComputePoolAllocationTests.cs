using System;
using Xunit;

namespace SimdLstm.Tests.Layers;

/// <summary>Runs its tests alone, after the parallel ones, so the process-wide allocation count is not moved by other tests.</summary>
[CollectionDefinition(nameof(ComputePoolAllocationCollection), DisableParallelization = true)]
public sealed class ComputePoolAllocationCollection;

/// <summary>A training pass with a pool allocates nothing in steady state, on the caller or on the workers.</summary>
[Collection(nameof(ComputePoolAllocationCollection))]
public class ComputePoolAllocationTests
{
    public static TheoryData<CellKind, int, bool> EveryCellOnTwoThreadsAndLstmOnThree
    {
        get
        {
            var data = new TheoryData<CellKind, int, bool>();
            foreach (CellKind cell in CellCases.All)
            {
                data.Add(cell, 2, false);
                data.Add(cell, 2, true);
            }
            data.Add(CellKind.Lstm, 3, false);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(EveryCellOnTwoThreadsAndLstmOnThree))]
    public void TrainingPass_WithPool_AllocatesNothingAfterWarmUp(CellKind cell, int threads, bool sequenceShapes)
    {
        // sequenceShapes: bidirectional, projected (LSTM), dropout between the layers, and per-stream lengths.
        const int steps = 6, batch = 32, hiddenSize = 24, inputSize = 10;
        var options = new RecurrentOptions(cell, inputSize, hiddenSize, numLayers: 2, bidirectional: sequenceShapes,
            projSize: sequenceShapes && cell == CellKind.Lstm ? 7 : 0, dropout: sequenceShapes ? 0.3f : 0f);
        var layer = new RecurrentLayer(options, seed: 3);
        using var pool = new ComputePool(threads);
        RecurrentWorkspace workspace = layer.CreateWorkspace(steps, batch, pool);
        RecurrentState state = layer.CreateState(batch);
        RecurrentParameters gradients = layer.CreateGradients();
        float[] input = new float[steps * batch * inputSize], output = new float[steps * batch * options.OutputSize];
        float[] dOutput = new float[output.Length], dInput = new float[input.Length];
        int[] lengths = new int[batch];
        for (int b = 0; b < batch; b++)
            lengths[b] = sequenceShapes ? 1 + b % steps : steps;
        input.AsSpan().Fill(0.25f);
        dOutput.AsSpan().Fill(0.5f);

        void Pass()
        {
            state.Reset();
            layer.Forward(SequenceInput.Dense(input, steps, lengths: lengths), state, workspace, output, training: true);
            layer.Backward(dOutput, workspace, gradients, dInput);
        }

        // Warm-up: every thread's GEMM packing scratch is allocated on its first product, once; each wake event allocates
        // its lock on its first blocking wait; tiered compilation promotes the pass's methods on a timer, so warm up for
        // a while rather than a count.
        var warmUp = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 20 || warmUp.ElapsedMilliseconds < 1000; i++)
            Pass();

        // The caller thread, exactly.
        Allocations.AssertNone(Pass, count: 50);

        // Every thread: GC.GetAllocatedBytesForCurrentThread sees only the caller, so the workers are checked through the
        // process-wide count. This collection runs alone, but the runtime itself (tiered compilation, the test host's
        // reporting) can allocate now and then; as in Allocations.AssertNone, one clean window out of five is required,
        // and a per-pass allocation on any thread dirties every window.
        var seen = new long[5];
        for (int w = 0; w < seen.Length; w++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < 50; i++)
                Pass();
            seen[w] = GC.GetTotalAllocatedBytes(precise: true) - before;
            if (seen[w] == 0)
                return;
        }
        Assert.Fail($"50 passes allocated {string.Join(", ", seen)} bytes process-wide in each of {seen.Length} windows.");
    }
}

/// <summary>The packed inference copy's steps and passes on a pool allocate nothing in steady state, on any thread.</summary>
[Collection(nameof(ComputePoolAllocationCollection))]
public class PackedComputePoolAllocationTests
{
    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void PackedStepAndForward_WithPool_AllocateNothingAfterWarmUp(CellKind cell)
    {
        // Large enough that the products are really split between the threads (see PackedRecurrentLayerTests).
        const int steps = 6, size = 256;
        PackedRecurrentLayer packed = new RecurrentLayer(new RecurrentOptions(cell, size, size), seed: 4).Pack();
        using var pool = new ComputePool(2);
        RecurrentState state = packed.CreateState();
        InferenceWorkspace workspace = packed.CreateWorkspace(steps, 1, pool);
        float[] input = new float[steps * size], output = new float[steps * size];
        input.AsSpan().Fill(0.25f);

        void Iteration()
        {
            packed.Step(input.AsSpan(0, size), state, workspace, output.AsSpan(0, size));
            packed.Forward(input, steps, state, workspace, output);
        }

        for (int i = 0; i < 20; i++)
            Iteration();
        Allocations.AssertNone(Iteration, count: 50);

        // The worker too, through the process-wide count (one clean window of three, as above).
        var seen = new long[3];
        for (int w = 0; w < seen.Length; w++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < 50; i++)
                Iteration();
            seen[w] = GC.GetTotalAllocatedBytes(precise: true) - before;
            if (seen[w] == 0)
                return;
        }
        Assert.Fail($"50 iterations allocated {string.Join(", ", seen)} bytes process-wide in each of {seen.Length} windows.");
    }
}
