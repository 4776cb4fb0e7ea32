using System;
using System.Collections.Generic;
using BenchmarkDotNet.Attributes;

namespace SimdLstm.Benchmarks;

/// <summary>
/// Inference passes of one layer with I = H over T = 100 described by <see cref="SequenceInput"/>: bidirectional and
/// unidirectional at B = 1 (every stream T long) and at B = 16 with the unsorted lengths of
/// <see cref="SequenceShapes.BatchLengths"/> (50 … 100), through the packed copy (<c>layer.Pack().Forward</c>) and, for the
/// bidirectional B = 16 pass, through <see cref="RecurrentLayer.Forward(SequenceInput, RecurrentState, RecurrentWorkspace, Span{float}, bool)"/>
/// itself; and a unidirectional B = 16 pass whose lengths average T/2 (<see cref="SequenceShapes.HalfLengths"/>) against
/// the same pass with no lengths (every stream T long). <see cref="LstmSequenceShapeBench"/> and
/// <see cref="GruSequenceShapeBench"/> pick the cell.
/// </summary>
/// <remarks>
/// <para>Reported per token. The B = 1 cases and the <c>…Batch</c> cases report per real stream-step
/// (<c>OperationsPerInvoke</c> = T = 100, or Σ lengths = 1153); a bidirectional token is processed by both directions, so
/// "bidirectional costs twice the unidirectional" reads as Bidirectional ≈ 2 × Unidirectional. <see cref="HalfLengths"/>
/// and <see cref="FullLengths"/> both report per padded slot (T·B = 1600), so their ratio is the ratio of the passes' times.</para>
/// <para>Every case reuses the state, workspace and buffers made in its setup: the allocation column must read 0 B.</para>
/// </remarks>
[MemoryDiagnoser]
public abstract class SequenceShapeBench
{
    private RecurrentLayer _layer = null!;
    private PackedRecurrentLayer _packed = null!;
    private RecurrentState _state = null!;
    private RecurrentWorkspace _workspace = null!;
    private InferenceWorkspace _packedWorkspace = null!;
    private float[] _input = [];
    private float[] _output = [];
    private int[] _lengths = [];

    /// <summary>I = H.</summary>
    [ParamsSource(nameof(Sizes))]
    public int Size { get; set; }

    /// <summary>The sizes to run (see <see cref="BenchCases.Sizes"/>).</summary>
    public static IEnumerable<int> Sizes() => BenchCases.Sizes();

    /// <summary>The cell this class measures.</summary>
    public abstract CellKind Cell { get; }

    /// <summary>Setup of <see cref="Bidirectional"/>.</summary>
    [GlobalSetup(Target = nameof(Bidirectional))]
    public void SetupBidirectional() => Create(bidirectional: true, batch: 1, []);

    /// <summary>Setup of <see cref="Unidirectional"/>.</summary>
    [GlobalSetup(Target = nameof(Unidirectional))]
    public void SetupUnidirectional() => Create(bidirectional: false, batch: 1, []);

    /// <summary>Setup of <see cref="BidirectionalBatch"/> and <see cref="LayerBidirectionalBatch"/>.</summary>
    [GlobalSetup(Targets = [nameof(BidirectionalBatch), nameof(LayerBidirectionalBatch)])]
    public void SetupBidirectionalBatch() => Create(bidirectional: true, SequenceShapes.Batch, SequenceShapes.BatchLengths);

    /// <summary>Setup of <see cref="UnidirectionalBatch"/>.</summary>
    [GlobalSetup(Target = nameof(UnidirectionalBatch))]
    public void SetupUnidirectionalBatch() => Create(bidirectional: false, SequenceShapes.Batch, SequenceShapes.BatchLengths);

    /// <summary>Setup of <see cref="HalfLengths"/>.</summary>
    [GlobalSetup(Target = nameof(HalfLengths))]
    public void SetupHalfLengths() => Create(bidirectional: false, SequenceShapes.Batch, SequenceShapes.HalfLengths);

    /// <summary>Setup of <see cref="FullLengths"/>: no lengths, every stream T long.</summary>
    [GlobalSetup(Target = nameof(FullLengths))]
    public void SetupFullLengths() => Create(bidirectional: false, SequenceShapes.Batch, []);

    /// <summary>Bidirectional, B = 1, T = 100, packed copy; per token.</summary>
    [Benchmark(OperationsPerInvoke = SequenceShapes.Steps)]
    [BenchmarkCategory("SequenceShape")]
    public void Bidirectional() => Packed();

    /// <summary>Unidirectional, B = 1, T = 100, packed copy; per token.</summary>
    [Benchmark(OperationsPerInvoke = SequenceShapes.Steps)]
    [BenchmarkCategory("SequenceShape")]
    public void Unidirectional() => Packed();

    /// <summary>Bidirectional, B = 16, lengths 50 … 100, packed copy; per real token (Σ lengths).</summary>
    [Benchmark(OperationsPerInvoke = SequenceShapes.BatchTokens)]
    [BenchmarkCategory("SequenceShape")]
    public void BidirectionalBatch() => Packed();

    /// <summary>Unidirectional, B = 16, the same lengths, packed copy; per real token (Σ lengths).</summary>
    [Benchmark(OperationsPerInvoke = SequenceShapes.BatchTokens)]
    [BenchmarkCategory("SequenceShape")]
    public void UnidirectionalBatch() => Packed();

    /// <summary>As <see cref="BidirectionalBatch"/> through <see cref="RecurrentLayer"/> (inference pass, no dropout; it also saves the pass for backward).</summary>
    [Benchmark(OperationsPerInvoke = SequenceShapes.BatchTokens)]
    [BenchmarkCategory("SequenceShape")]
    public void LayerBidirectionalBatch()
    {
        _state.Reset();
        _layer.Forward(SequenceInput.Dense(_input, SequenceShapes.Steps, lengths: _lengths), _state, _workspace, _output, training: false);
    }

    /// <summary>Unidirectional, B = 16, lengths averaging T/2, packed copy; per padded slot (T·B), to compare with <see cref="FullLengths"/>.</summary>
    [Benchmark(OperationsPerInvoke = SequenceShapes.PaddedTokens)]
    [BenchmarkCategory("SequenceShape")]
    public void HalfLengths() => Packed();

    /// <summary>Unidirectional, B = 16, no lengths (every stream T long), packed copy; per padded slot (T·B).</summary>
    [Benchmark(OperationsPerInvoke = SequenceShapes.PaddedTokens)]
    [BenchmarkCategory("SequenceShape")]
    public void FullLengths() => Packed();

    private void Packed()
    {
        _state.Reset();
        _packed.Forward(SequenceInput.Dense(_input, SequenceShapes.Steps, lengths: _lengths), _state, _packedWorkspace, _output);
    }

    private void Create(bool bidirectional, int batch, ReadOnlySpan<int> lengths)
    {
        SequenceShapes.Validate();
        RecurrentOptions options = SequenceShapes.Options(Cell, Size, bidirectional);
        _layer = new RecurrentLayer(options, seed: 1);
        _packed = _layer.Pack();
        _state = _layer.CreateState(batch);
        _workspace = _layer.CreateWorkspace(SequenceShapes.Steps, batch);
        _packedWorkspace = _packed.CreateWorkspace(SequenceShapes.Steps, batch);
        _lengths = lengths.ToArray();
        var random = new Random(2);
        _input = new float[SequenceShapes.Steps * batch * Size];
        for (int i = 0; i < _input.Length; i++)
            _input[i] = (float)(random.NextDouble() * 2 - 1);
        _output = new float[SequenceShapes.Steps * batch * options.OutputSize];
    }
}

/// <summary>The LSTM sequence-shape cases.</summary>
[BenchmarkCategory("SequenceShape")]
public class LstmSequenceShapeBench : SequenceShapeBench
{
    /// <inheritdoc/>
    public override CellKind Cell => CellKind.Lstm;
}

/// <summary>The GRU sequence-shape cases.</summary>
[BenchmarkCategory("SequenceShape")]
public class GruSequenceShapeBench : SequenceShapeBench
{
    /// <inheritdoc/>
    public override CellKind Cell => CellKind.Gru;
}
