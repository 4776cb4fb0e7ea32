using System;
using System.Collections.Generic;
using BenchmarkDotNet.Attributes;

namespace SimdLstm.Benchmarks;

/// <summary>
/// One recurrent layer with I = H: the streaming step at batch 1 and an inference sequence (T = 100, batch 1), both through
/// the inference copy <see cref="PackedRecurrentLayer"/> and, for comparison, through <see cref="RecurrentLayer"/> itself
/// (which reads the weights in PyTorch's layout and saves the sequence for backward); and a training pass (forward + BPTT,
/// B = 32, T = 50). <see cref="LstmBench"/>, <see cref="GruBench"/> and <see cref="RnnBench"/> pick the cell.
/// </summary>
/// <remarks>
/// Every case reuses the state, workspace and buffers made in its setup, so the allocation column must read 0 B: the
/// library promises a steady state that allocates nothing.
/// </remarks>
[MemoryDiagnoser]
public abstract class CellBench
{
    private RecurrentLayer _layer = null!;
    private PackedRecurrentLayer _packed = null!;
    private RecurrentState _state = null!;
    private RecurrentWorkspace _workspace = null!;
    private InferenceWorkspace _packedWorkspace = null!;
    private RecurrentParameters _gradients = null!;
    private float[] _input = [];
    private float[] _output = [];
    private float[] _dOutput = [];
    private float[] _dInput = [];
    private ComputePool? _pool;

    /// <summary>I = H.</summary>
    [ParamsSource(nameof(Sizes))]
    public int Size { get; set; }

    /// <summary>The sizes to run (see <see cref="BenchCases.Sizes"/>).</summary>
    public static IEnumerable<int> Sizes() => BenchCases.Sizes();

    /// <summary>The cell this class measures.</summary>
    public abstract CellKind Cell { get; }

    /// <summary>Setup of <see cref="Step"/>: batch 1, one step of scratch, the packed copy.</summary>
    [GlobalSetup(Target = nameof(Step))]
    public void SetupStep() => Create(steps: 1, batch: 1, packed: true);

    /// <summary>Setup of <see cref="LayerStep"/>: as <see cref="SetupStep"/> without the packed copy.</summary>
    [GlobalSetup(Target = nameof(LayerStep))]
    public void SetupLayerStep() => Create(steps: 1, batch: 1);

    /// <summary>Setup of <see cref="Sequence"/>.</summary>
    [GlobalSetup(Target = nameof(Sequence))]
    public void SetupSequence() => Create(BenchCases.SequenceSteps, batch: 1, packed: true);

    /// <summary>Setup of <see cref="LayerSequence"/>.</summary>
    [GlobalSetup(Target = nameof(LayerSequence))]
    public void SetupLayerSequence() => Create(BenchCases.SequenceSteps, batch: 1);

    /// <summary>Setup of <see cref="Train"/>.</summary>
    [GlobalSetup(Target = nameof(Train))]
    public void SetupTrain() => Create(BenchCases.TrainSteps, BenchCases.TrainBatch);

    /// <summary>Setup of <see cref="StepTwoThreads"/>: as the step cases, with the packed copy's workspace on a pool of 2 threads.</summary>
    [GlobalSetup(Target = nameof(StepTwoThreads))]
    public void SetupStepTwoThreads()
    {
        _pool = new ComputePool(2);
        Create(steps: 1, batch: 1, packed: true, _pool);
    }

    /// <summary>Setup of <see cref="SequenceTwoThreads"/>: as the sequence cases, on a pool of 2 threads.</summary>
    [GlobalSetup(Target = nameof(SequenceTwoThreads))]
    public void SetupSequenceTwoThreads()
    {
        _pool = new ComputePool(2);
        Create(BenchCases.SequenceSteps, batch: 1, packed: true, _pool);
    }

    /// <summary>Stops the pool's worker.</summary>
    [GlobalCleanup(Targets = [nameof(StepTwoThreads), nameof(SequenceTwoThreads)])]
    public void CleanupInferenceTwoThreads() => _pool?.Dispose();

    /// <summary>Setup of <see cref="TrainTwoThreads"/>: as <see cref="Train"/>, with a workspace on a pool of 2 threads.</summary>
    [GlobalSetup(Target = nameof(TrainTwoThreads))]
    public void SetupTrainTwoThreads()
    {
        _pool = new ComputePool(2);
        Create(BenchCases.TrainSteps, BenchCases.TrainBatch, pool: _pool);
    }

    /// <summary>Stops the pool's worker.</summary>
    [GlobalCleanup(Target = nameof(TrainTwoThreads))]
    public void CleanupTrainTwoThreads() => _pool?.Dispose();

    /// <summary>
    /// One streaming step of one stream through the packed inference copy; the state carries over from call to call as
    /// it does when serving.
    /// </summary>
    [Benchmark]
    [BenchmarkCategory("Step")]
    public void Step() => _packed.Step(_input, _state, _packedWorkspace, _output);

    /// <summary>A 100-step inference sequence from a zero state through the packed copy; the reported time is per step.</summary>
    [Benchmark(OperationsPerInvoke = BenchCases.SequenceSteps)]
    [BenchmarkCategory("Sequence")]
    public void Sequence()
    {
        _state.Reset();
        _packed.Forward(_input, BenchCases.SequenceSteps, _state, _packedWorkspace, _output);
    }

    /// <summary>
    /// <see cref="Step"/> on a <see cref="ComputePool"/> of 2 threads: each thread streams half the panel blocks (from its own
    /// L2 cache when the half fits). Bitwise the results of <see cref="Step"/>.
    /// </summary>
    [Benchmark]
    [BenchmarkCategory("Step")]
    public void StepTwoThreads() => Step();

    /// <summary><see cref="Sequence"/> on a <see cref="ComputePool"/> of 2 threads; the reported time is per step.</summary>
    [Benchmark(OperationsPerInvoke = BenchCases.SequenceSteps)]
    [BenchmarkCategory("Sequence")]
    public void SequenceTwoThreads() => Sequence();

    /// <summary>As <see cref="Step"/> through <see cref="RecurrentLayer.Step(System.ReadOnlySpan{float}, RecurrentState, RecurrentWorkspace, System.Span{float})"/>.</summary>
    [Benchmark]
    [BenchmarkCategory("Step")]
    public void LayerStep() => _layer.Step(_input, _state, _workspace, _output);

    /// <summary>As <see cref="Sequence"/> through <see cref="RecurrentLayer.Forward(System.ReadOnlySpan{float}, int, RecurrentState, RecurrentWorkspace, System.Span{float}, bool)"/> (which also saves the pass for backward).</summary>
    [Benchmark(OperationsPerInvoke = BenchCases.SequenceSteps)]
    [BenchmarkCategory("Sequence")]
    public void LayerSequence()
    {
        _state.Reset();
        _layer.Forward(_input, BenchCases.SequenceSteps, _state, _workspace, _output);
    }

    /// <summary>
    /// A training pass over B = 32 streams of T = 50 steps: zero the gradients, forward, backward with the input gradient
    /// (as a layer that is not the bottom of a stack needs, and so that the work is the 3 × forward the FLOP count assumes).
    /// </summary>
    [Benchmark]
    [BenchmarkCategory("Train")]
    public void Train()
    {
        _gradients.Buffer.Clear();
        _state.Reset();
        _layer.Forward(_input, BenchCases.TrainSteps, _state, _workspace, _output);
        _layer.Backward(_dOutput, _workspace, _gradients, _dInput);
    }

    /// <summary>
    /// <see cref="Train"/> with the opt-in multi-threaded mode: the workspace runs on a <see cref="ComputePool"/> of 2
    /// threads (the benchmark's thread and one worker). Results are bitwise those of <see cref="Train"/>; the ratio of the
    /// two times is the speed-up. The library's tests check that the worker allocates nothing either, whichever threads
    /// the allocation column counts.
    /// </summary>
    [Benchmark]
    [BenchmarkCategory("Train")]
    public void TrainTwoThreads() => Train();

    // The packed copy is made only for the cases that run it.
    private void Create(int steps, int batch, bool packed = false, ComputePool? pool = null)
    {
        _layer = new RecurrentLayer(BenchCases.Options(Cell, Size), seed: 1);
        _state = _layer.CreateState(batch);
        _workspace = _layer.CreateWorkspace(steps, batch, pool);
        if (packed)
        {
            _packed = _layer.Pack();
            _packedWorkspace = _packed.CreateWorkspace(steps, batch, pool);
        }
        _gradients = _layer.CreateGradients();
        var random = new Random(2);
        _input = Uniform(random, steps * batch * Size);
        _dInput = new float[steps * batch * Size];
        _output = new float[steps * batch * Size];
        _dOutput = Uniform(random, steps * batch * Size);
    }

    private static float[] Uniform(Random random, int length)
    {
        var values = new float[length];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }
}

/// <summary>The LSTM cases (G = 4).</summary>
[BenchmarkCategory("Lstm")]
public class LstmBench : CellBench
{
    /// <inheritdoc/>
    public override CellKind Cell => CellKind.Lstm;
}

/// <summary>The GRU cases (G = 3: r, z, n; no cell state).</summary>
[BenchmarkCategory("Gru")]
public class GruBench : CellBench
{
    /// <inheritdoc/>
    public override CellKind Cell => CellKind.Gru;
}

/// <summary>The vanilla RNN cases (G = 1, tanh).</summary>
[BenchmarkCategory("Rnn")]
public class RnnBench : CellBench
{
    /// <inheritdoc/>
    public override CellKind Cell => CellKind.Rnn;
}
