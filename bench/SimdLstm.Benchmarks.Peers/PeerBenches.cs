using System;
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using static TorchSharp.torch;

namespace SimdLstm.Benchmarks.Peers;

/// <summary>
/// ONNX Runtime's LSTM or GRU operator on one thread: a streaming step (T = 1, state passed in and out) and a 100-step
/// sequence (time per step), with the weights of the main suite's class of the same cell (<c>LstmBench</c>,
/// <c>GruBench</c>). <see cref="OnnxRuntimeBench"/> and <see cref="OnnxRuntimeGruBench"/> pick the cell.
/// </summary>
[MemoryDiagnoser]
public abstract class OnnxRuntimeCellBench
{
    private OnnxRuntimePeer _peer = null!;

    /// <summary>I = H.</summary>
    [ParamsSource(nameof(Sizes))]
    public int Size { get; set; }

    /// <summary>The sizes to run.</summary>
    public static IEnumerable<int> Sizes() => BenchCases.Sizes();

    /// <summary>The cell this class measures.</summary>
    public abstract CellKind Cell { get; }

    /// <summary>Checks agreement with SimdLstm (again, in this process) and builds the T = 1 session.</summary>
    [GlobalSetup(Target = nameof(Step))]
    public void SetupStep() => Create(1);

    /// <summary>Checks agreement and builds the T = 100 session.</summary>
    [GlobalSetup(Target = nameof(Sequence))]
    public void SetupSequence() => Create(BenchCases.SequenceSteps);

    /// <summary>One step; the state it returns is the next step's input.</summary>
    [Benchmark]
    public void Step() => _peer.Run();

    /// <summary>A 100-step sequence from a zero state; time per step.</summary>
    [Benchmark(OperationsPerInvoke = BenchCases.SequenceSteps)]
    public void Sequence()
    {
        _peer.Reset();
        _peer.Run();
    }

    /// <summary>Releases the session.</summary>
    [GlobalCleanup]
    public void Cleanup() => _peer?.Dispose();

    private void Create(int steps)
    {
        if (PeerCheck.OnnxRuntime(Size, Cell).Problem is string problem)
            throw new InvalidOperationException("Refusing to time ONNX Runtime: " + problem);
        _peer = new OnnxRuntimePeer(PeerCheck.Layer(Size, Cell).Weights, steps);
        PeerCheck.Uniform(steps * Size, seed: 2).CopyTo(_peer.Input, 0);
    }
}

/// <summary>ONNX Runtime's <c>LSTM</c> node.</summary>
public class OnnxRuntimeBench : OnnxRuntimeCellBench
{
    /// <inheritdoc/>
    public override CellKind Cell => CellKind.Lstm;
}

/// <summary>ONNX Runtime's <c>GRU</c> node (<c>linear_before_reset = 1</c>, PyTorch's cell).</summary>
public class OnnxRuntimeGruBench : OnnxRuntimeCellBench
{
    /// <inheritdoc/>
    public override CellKind Cell => CellKind.Gru;
}

/// <summary>
/// libtorch through TorchSharp: the cell module's step (<c>nn.LSTMCell</c>, <c>nn.GRUCell</c>), the sequence module's
/// 100-step sequence (<c>nn.LSTM</c>, <c>nn.GRU</c>; time per step) and a training pass (forward + backward with dL/dx,
/// B = 32, T = 50), on one thread and on all cores. <see cref="TorchBench"/> and <see cref="TorchGruBench"/> pick the cell.
/// </summary>
[MemoryDiagnoser]
public abstract class TorchCellBench
{
    /// <summary>Selects the thread counts: <c>1</c>, <c>all</c> or <c>1,all</c> (the default).</summary>
    public const string ThreadsVariable = "SIMDLSTM_TORCH_THREADS";

    private TorchPeer _peer = null!;
    private Tensor _x = null!;
    private Tensor _hidden = null!;
    private Tensor? _cell;
    private Tensor _dOutput = null!;

    /// <summary>I = H.</summary>
    [ParamsSource(nameof(Sizes))]
    public int Size { get; set; }

    /// <summary>libtorch's intra-op threads.</summary>
    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; }

    /// <summary>The cell this class measures.</summary>
    public abstract CellKind Cell { get; }

    /// <summary>The sizes to run.</summary>
    public static IEnumerable<int> Sizes() => BenchCases.Sizes();

    /// <summary>1 and every core, or as <see cref="ThreadsVariable"/> says.</summary>
    public static IEnumerable<int> ThreadCounts()
    {
        string text = Environment.GetEnvironmentVariable(ThreadsVariable) ?? "1,all";
        return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => t == "all" ? Environment.ProcessorCount : int.Parse(t, System.Globalization.CultureInfo.InvariantCulture))
            .Distinct();
    }

    /// <summary>Step setup: x [1, I], zero state [1, H].</summary>
    [GlobalSetup(Target = nameof(Step))]
    public void SetupStep()
    {
        Create();
        _x = tensor(PeerCheck.Uniform(Size, seed: 2), [1, Size]);
        _hidden = zeros(1, Size);
        _cell = Cell == CellKind.Lstm ? zeros(1, Size) : null;
    }

    /// <summary>Sequence setup: x [100, 1, I], zero state [1, 1, H].</summary>
    [GlobalSetup(Target = nameof(Sequence))]
    public void SetupSequence()
    {
        Create();
        _x = tensor(PeerCheck.Uniform(BenchCases.SequenceSteps * Size, seed: 2), [BenchCases.SequenceSteps, 1, Size]);
        _hidden = zeros(1, 1, Size);
        _cell = Cell == CellKind.Lstm ? zeros(1, 1, Size) : null;
    }

    /// <summary>Training setup: x [50, 32, I] with a gradient, dL/dy [50, 32, H].</summary>
    [GlobalSetup(Target = nameof(Train))]
    public void SetupTrain()
    {
        Create();
        int rows = BenchCases.TrainSteps * BenchCases.TrainBatch;
        _x = tensor(PeerCheck.Uniform(rows * Size, seed: 2), [BenchCases.TrainSteps, BenchCases.TrainBatch, Size]).requires_grad_(true);
        _dOutput = tensor(PeerCheck.Uniform(rows * Size, seed: 3), [BenchCases.TrainSteps, BenchCases.TrainBatch, Size]);
    }

    /// <summary>One cell step; its output state replaces the input state, as a streaming caller's would.</summary>
    [Benchmark]
    public void Step()
    {
        (Tensor h, Tensor? c) = _peer.Step(_x, _hidden, _cell);
        _hidden.Dispose();
        _cell?.Dispose();
        _hidden = h;
        _cell = c;
    }

    /// <summary>A 100-step sequence from a zero state; time per step.</summary>
    [Benchmark(OperationsPerInvoke = BenchCases.SequenceSteps)]
    public void Sequence()
    {
        (Tensor y, Tensor h, Tensor? c) = _peer.Sequence(_x, _hidden, _cell);
        y.Dispose();
        h.Dispose();
        c?.Dispose();
    }

    /// <summary>Zero gradients, forward, backward (parameter gradients and dL/dx).</summary>
    [Benchmark]
    public void Train()
    {
        using IDisposable scope = NewDisposeScope();
        _peer.Train(_x, _dOutput);
    }

    /// <summary>Releases the modules.</summary>
    [GlobalCleanup]
    public void Cleanup() => _peer?.Dispose();

    private void Create()
    {
        set_num_threads(Threads);
        if (PeerCheck.Torch(Size, Cell).Problem is string problem)
            throw new InvalidOperationException("Refusing to time libtorch: " + problem);
        _peer = new TorchPeer(PeerCheck.Layer(Size, Cell).Weights);
    }
}

/// <summary>libtorch's <c>nn.LSTMCell</c> and <c>nn.LSTM</c>.</summary>
public class TorchBench : TorchCellBench
{
    /// <inheritdoc/>
    public override CellKind Cell => CellKind.Lstm;
}

/// <summary>libtorch's <c>nn.GRUCell</c> and <c>nn.GRU</c>.</summary>
public class TorchGruBench : TorchCellBench
{
    /// <inheritdoc/>
    public override CellKind Cell => CellKind.Gru;
}
