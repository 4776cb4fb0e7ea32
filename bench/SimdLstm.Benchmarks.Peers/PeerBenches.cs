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
/// ONNX Runtime's int8 LSTM, the contrib operator <c>com.microsoft.DynamicQuantizeLSTM</c>, on one thread: a streaming
/// step (T = 1, state passed in and out), with the weights of the main suite's <c>LstmPrecisionBench</c> (those of
/// <c>LstmBench</c>) quantised per gate row, symmetric, zero point 0 (<see cref="OnnxModel.DynamicQuantizeLstm"/>). The
/// peer of SimdLstm's int8 packed step. Checked first against our fp32 step within a derived bound
/// (<see cref="QuantizedCheck"/>), as is our int8 copy.
/// </summary>
[MemoryDiagnoser]
public class DynamicQuantizeLstmBench
{
    private OnnxRuntimePeer _peer = null!;

    /// <summary>I = H.</summary>
    [ParamsSource(nameof(Sizes))]
    public int Size { get; set; }

    /// <summary>The sizes to run.</summary>
    public static IEnumerable<int> Sizes() => BenchCases.Sizes();

    /// <summary>Checks the bounds again, in this process, and builds the T = 1 session.</summary>
    [GlobalSetup]
    public void Setup()
    {
        if (QuantizedCheck.OnnxRuntimeDynamicQuantize(Size, CellKind.Lstm).Problem is string problem)
            throw new InvalidOperationException("Refusing to time ONNX Runtime's DynamicQuantizeLSTM: " + problem);
        _peer = new OnnxRuntimePeer(PeerCheck.Layer(Size, CellKind.Lstm).Weights, steps: 1, dynamicQuantize: true);
        PeerCheck.Uniform(Size, seed: 2).CopyTo(_peer.Input, 0);
    }

    /// <summary>One step; the state it returns is the next step's input.</summary>
    [Benchmark]
    public void Step() => _peer.Run();

    /// <summary>Releases the session.</summary>
    [GlobalCleanup]
    public void Cleanup() => _peer?.Dispose();
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

/// <summary>
/// ONNX Runtime's bidirectional LSTM or GRU node with <c>sequence_lens</c>, one thread, on the weights of the main suite's
/// <c>…SequenceShapeBench</c>: B = 1 (T = 100, lengths [100]) and B = 16 with <see cref="SequenceShapes.BatchLengths"/>,
/// from a zero state; per token, as ours (T = 100 and Σ lengths = 1153). <see cref="OnnxRuntimeBidirectionalBench"/> and
/// <see cref="OnnxRuntimeGruBidirectionalBench"/> pick the cell.
/// </summary>
[MemoryDiagnoser]
public abstract class OnnxRuntimeBidirectionalCellBench
{
    private OnnxRuntimeSequencePeer _peer = null!;

    /// <summary>I = H.</summary>
    [ParamsSource(nameof(Sizes))]
    public int Size { get; set; }

    /// <summary>The sizes to run.</summary>
    public static IEnumerable<int> Sizes() => BenchCases.Sizes();

    /// <summary>The cell this class measures.</summary>
    public abstract CellKind Cell { get; }

    /// <summary>Checks agreement with SimdLstm (again, in this process) and builds the B = 1 session.</summary>
    [GlobalSetup(Target = nameof(Bidirectional))]
    public void SetupBidirectional() => Create(1, [SequenceShapes.Steps]);

    /// <summary>Checks agreement and builds the B = 16 session.</summary>
    [GlobalSetup(Target = nameof(BidirectionalBatch))]
    public void SetupBidirectionalBatch() => Create(SequenceShapes.Batch, SequenceShapes.BatchLengths.ToArray());

    /// <summary>B = 1, T = 100; per token.</summary>
    [Benchmark(OperationsPerInvoke = SequenceShapes.Steps)]
    public void Bidirectional() => _peer.Run();

    /// <summary>B = 16, lengths 50 … 100; per real token (Σ lengths).</summary>
    [Benchmark(OperationsPerInvoke = SequenceShapes.BatchTokens)]
    public void BidirectionalBatch() => _peer.Run();

    /// <summary>Releases the session.</summary>
    [GlobalCleanup]
    public void Cleanup() => _peer?.Dispose();

    private void Create(int batch, int[] lengths)
    {
        if (PeerCheck.OnnxRuntimeBidirectional(Size, Cell).Problem is string problem)
            throw new InvalidOperationException("Refusing to time ONNX Runtime: " + problem);
        _peer = new OnnxRuntimeSequencePeer(PeerCheck.BidirectionalLayer(Size, Cell).Weights, SequenceShapes.Steps, lengths);
        PeerCheck.Uniform(SequenceShapes.Steps * batch * Size, seed: 2).CopyTo(_peer.Input, 0);
    }
}

/// <summary>ONNX Runtime's bidirectional <c>LSTM</c> node.</summary>
public class OnnxRuntimeBidirectionalBench : OnnxRuntimeBidirectionalCellBench
{
    /// <inheritdoc/>
    public override CellKind Cell => CellKind.Lstm;
}

/// <summary>ONNX Runtime's bidirectional <c>GRU</c> node (<c>linear_before_reset = 1</c>).</summary>
public class OnnxRuntimeGruBidirectionalBench : OnnxRuntimeBidirectionalCellBench
{
    /// <inheritdoc/>
    public override CellKind Cell => CellKind.Gru;
}

/// <summary>
/// libtorch's <c>nn.LSTM</c> / <c>nn.GRU</c> with <c>bidirectional</c> on one thread (<c>set_num_threads(1)</c>), on the
/// weights of the main suite's <c>…SequenceShapeBench</c>: B = 1 as it is (T = 100) and B = 16 through
/// <c>pack_padded_sequence</c> with <see cref="SequenceShapes.BatchLengths"/> (unsorted, <c>enforce_sorted</c> false) and
/// <c>pad_packed_sequence</c> back to [T, B, 2H], from a zero state; per token, as ours. The packing and unpacking are
/// part of the timed call, as they are of a caller's. <see cref="TorchBidirectionalBench"/> and
/// <see cref="TorchGruBidirectionalBench"/> pick the cell.
/// </summary>
[MemoryDiagnoser]
public abstract class TorchBidirectionalCellBench
{
    private TorchSequencePeer _peer = null!;
    private Tensor _x = null!;
    private Tensor? _lengths;

    /// <summary>I = H.</summary>
    [ParamsSource(nameof(Sizes))]
    public int Size { get; set; }

    /// <summary>The sizes to run.</summary>
    public static IEnumerable<int> Sizes() => BenchCases.Sizes();

    /// <summary>The cell this class measures.</summary>
    public abstract CellKind Cell { get; }

    /// <summary>B = 1 setup: x [100, 1, I], no packing.</summary>
    [GlobalSetup(Target = nameof(Bidirectional))]
    public void SetupBidirectional() => Create(1, null);

    /// <summary>B = 16 setup: x [100, 16, I] and the lengths (int64).</summary>
    [GlobalSetup(Target = nameof(BidirectionalBatch))]
    public void SetupBidirectionalBatch() =>
        Create(SequenceShapes.Batch, tensor(Array.ConvertAll(SequenceShapes.BatchLengths.ToArray(), l => (long)l), [SequenceShapes.Batch]));

    /// <summary>B = 1, T = 100; per token.</summary>
    [Benchmark(OperationsPerInvoke = SequenceShapes.Steps)]
    public void Bidirectional() => Run();

    /// <summary>B = 16, lengths 50 … 100, packed; per real token (Σ lengths).</summary>
    [Benchmark(OperationsPerInvoke = SequenceShapes.BatchTokens)]
    public void BidirectionalBatch() => Run();

    /// <summary>Releases the module.</summary>
    [GlobalCleanup]
    public void Cleanup() => _peer?.Dispose();

    private void Run()
    {
        (Tensor y, Tensor h, Tensor? c) = _peer.Forward(_x, _lengths);
        y.Dispose();
        h.Dispose();
        c?.Dispose();
    }

    private void Create(int batch, Tensor? lengths)
    {
        set_num_threads(1);
        if (PeerCheck.TorchBidirectional(Size, Cell).Problem is string problem)
            throw new InvalidOperationException("Refusing to time libtorch: " + problem);
        _peer = new TorchSequencePeer(PeerCheck.BidirectionalLayer(Size, Cell).Weights);
        _x = tensor(PeerCheck.Uniform(SequenceShapes.Steps * batch * Size, seed: 2), [SequenceShapes.Steps, batch, Size]);
        _lengths = lengths;
    }
}

/// <summary>libtorch's bidirectional <c>nn.LSTM</c>.</summary>
public class TorchBidirectionalBench : TorchBidirectionalCellBench
{
    /// <inheritdoc/>
    public override CellKind Cell => CellKind.Lstm;
}

/// <summary>libtorch's bidirectional <c>nn.GRU</c>.</summary>
public class TorchGruBidirectionalBench : TorchBidirectionalCellBench
{
    /// <inheritdoc/>
    public override CellKind Cell => CellKind.Gru;
}
