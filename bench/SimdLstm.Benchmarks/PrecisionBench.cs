using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using BenchmarkDotNet.Attributes;

namespace SimdLstm.Benchmarks;

/// <summary>
/// The packed batch-1 streaming step (<see cref="PackedRecurrentLayer.Step(ReadOnlySpan{float}, RecurrentState, InferenceWorkspace, Span{float})"/>)
/// of one layer with I = H, one thread, with the packed copy's gate weights in fp32, bf16 or int8
/// (<see cref="RecurrentLayer.Pack(PackedPrecision)"/>). The weights and the input are those of <see cref="CellBench"/>'s
/// step (seed 1, input from seed 2), so the fp32 case is <c>LstmBench.Step</c> / <c>GruBench.Step</c> again, measured in the
/// same run as the other two. <see cref="LstmPrecisionBench"/> and <see cref="GruPrecisionBench"/> pick the cell.
/// </summary>
/// <remarks>
/// A batch-1 step streams every packed gate weight once (<see cref="PackedRecurrentLayer.WeightBytes"/> bytes), so its
/// floor is those bytes over the read bandwidth of a buffer of the same size (<see cref="PackedReadBench"/>, measured in
/// the same run): fewer bytes per weight move the floor down and, at the larger sizes, the working set to a faster cache
/// level. The state carries over from call to call, as when serving; every case must allocate 0 bytes.
/// </remarks>
[MemoryDiagnoser]
public abstract class PrecisionBench
{
    private PackedRecurrentLayer _packed = null!;
    private RecurrentState _state = null!;
    private InferenceWorkspace _workspace = null!;
    private float[] _input = [];
    private float[] _output = [];

    /// <summary>I = H.</summary>
    [ParamsSource(nameof(Sizes))]
    public int Size { get; set; }

    /// <summary>The sizes to run (see <see cref="BenchCases.Sizes"/>).</summary>
    public static IEnumerable<int> Sizes() => BenchCases.Sizes();

    /// <summary>The precision of the packed gate weights.</summary>
    [Params(PackedPrecision.Float32, PackedPrecision.BFloat16, PackedPrecision.Int8)]
    public PackedPrecision Precision { get; set; }

    /// <summary>The cell this class measures.</summary>
    public abstract CellKind Cell { get; }

    /// <summary>Builds the layer, its packed copy at <see cref="Precision"/>, a state, a one-step workspace and the input.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var layer = new RecurrentLayer(BenchCases.Options(Cell, Size), seed: 1);
        _packed = layer.Pack(Precision);
        _state = _packed.CreateState();
        _workspace = _packed.CreateWorkspace();
        var random = new Random(2);
        _input = new float[Size];
        for (int i = 0; i < _input.Length; i++)
            _input[i] = (float)(random.NextDouble() * 2 - 1);
        _output = new float[Size];
    }

    /// <summary>One streaming step of one stream through the packed copy.</summary>
    [Benchmark]
    [BenchmarkCategory("Precision")]
    public void Step() => _packed.Step(_input, _state, _workspace, _output);

    private static readonly ConcurrentDictionary<(CellKind, int, PackedPrecision), long> s_weightBytes = new();

    /// <summary>
    /// <see cref="PackedRecurrentLayer.WeightBytes"/> of the packed copy a case steps through: the bytes one batch-1 step
    /// streams (computed once per shape and precision, from a layer of that shape).
    /// </summary>
    public static long WeightBytes(CellKind cell, int size, PackedPrecision precision) =>
        s_weightBytes.GetOrAdd((cell, size, precision), key =>
            new RecurrentLayer(BenchCases.Options(key.Item1, key.Item2), seed: 1).Pack(key.Item3).WeightBytes);
}

/// <summary>The LSTM precision cases.</summary>
[BenchmarkCategory("Precision")]
public class LstmPrecisionBench : PrecisionBench
{
    /// <inheritdoc/>
    public override CellKind Cell => CellKind.Lstm;
}

/// <summary>The GRU precision cases.</summary>
[BenchmarkCategory("Precision")]
public class GruPrecisionBench : PrecisionBench
{
    /// <inheritdoc/>
    public override CellKind Cell => CellKind.Gru;
}
