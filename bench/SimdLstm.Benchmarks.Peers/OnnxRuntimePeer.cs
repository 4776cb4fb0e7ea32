using System;
using Microsoft.ML.OnnxRuntime;

namespace SimdLstm.Benchmarks.Peers;

/// <summary>
/// An ONNX Runtime session over one LSTM or GRU node (or, with <c>dynamicQuantize</c>, one <c>DynamicQuantizeLSTM</c>
/// node on int8 weights: <see cref="OnnxModel.DynamicQuantizeLstm"/>) with fixed T and B = 1, single-threaded, with every
/// input and output bound to preallocated arrays so a run does no tensor allocation of ours (ONNX Runtime's own per-run
/// bookkeeping still allocates a little; the allocation column shows it).
/// </summary>
internal sealed class OnnxRuntimePeer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly OrtValue[] _values;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;

    // Ping-pong state buffers: a step reads h (and c) from one set and writes the other; the next step swaps them, so the
    // state is passed in and out without copying.
    private readonly OrtValue[][] _inputs;
    private readonly OrtValue[][] _outputs;
    private int _phase;

    public OnnxRuntimePeer(RecurrentParameters weights, int steps, bool dynamicQuantize = false)
    {
        ArgumentNullException.ThrowIfNull(weights);
        int inputSize = weights.Options.InputSize, h = weights.Options.HiddenSize;
        bool lstm = weights.Options.HasCellState;
        Steps = steps;
        Input = new float[steps * inputSize];
        Output = new float[steps * h];
        Hidden = [new float[h], new float[h]];
        Cell = lstm ? [new float[h], new float[h]] : [[], []];

        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        byte[] model = dynamicQuantize ? OnnxModel.DynamicQuantizeLstm(weights, steps) : OnnxModel.For(weights, steps, batch: 1);
        _session = new InferenceSession(model, options);

        OrtValue x = OrtValue.CreateTensorValueFromMemory(Input, [steps, 1, inputSize]);
        OrtValue y = OrtValue.CreateTensorValueFromMemory(Output, [steps, 1, 1, h]);
        OrtValue h0 = OrtValue.CreateTensorValueFromMemory(Hidden[0], [1, 1, h]);
        OrtValue h1 = OrtValue.CreateTensorValueFromMemory(Hidden[1], [1, 1, h]);
        if (lstm)
        {
            OrtValue c0 = OrtValue.CreateTensorValueFromMemory(Cell[0], [1, 1, h]);
            OrtValue c1 = OrtValue.CreateTensorValueFromMemory(Cell[1], [1, 1, h]);
            _values = [x, y, h0, c0, h1, c1];
            _inputNames = ["X", "initial_h", "initial_c"];
            _outputNames = ["Y", "Y_h", "Y_c"];
            _inputs = [[x, h0, c0], [x, h1, c1]];
            _outputs = [[y, h1, c1], [y, h0, c0]];
        }
        else
        {
            _values = [x, y, h0, h1];
            _inputNames = ["X", "initial_h"];
            _outputNames = ["Y", "Y_h"];
            _inputs = [[x, h0], [x, h1]];
            _outputs = [[y, h1], [y, h0]];
        }
    }

    public int Steps { get; }

    /// <summary>X, [T, 1, I].</summary>
    public float[] Input { get; }

    /// <summary>Y, [T, 1, 1, H].</summary>
    public float[] Output { get; }

    /// <summary>The two h buffers; <see cref="CurrentHidden"/> is the one the next run reads.</summary>
    public float[][] Hidden { get; }

    /// <summary>The two c buffers (empty for a GRU).</summary>
    public float[][] Cell { get; }

    /// <summary>h after the last run (the input of the next: write a state here to start the next run from it).</summary>
    public float[] CurrentHidden => Hidden[_phase];

    /// <summary>c after the last run (empty for a GRU).</summary>
    public float[] CurrentCell => Cell[_phase];

    /// <summary>Zeroes the state.</summary>
    public void Reset()
    {
        _phase = 0;
        foreach (float[] a in Hidden)
            Array.Clear(a);
        foreach (float[] a in Cell)
            Array.Clear(a);
    }

    /// <summary>Runs T steps from the current state and makes the final state current.</summary>
    public void Run()
    {
        _session.Run(_runOptions, _inputNames, _inputs[_phase], _outputNames, _outputs[_phase]);
        _phase ^= 1;
    }

    public void Dispose()
    {
        foreach (OrtValue v in _values)
            v.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }
}

/// <summary>
/// An ONNX Runtime session over one LSTM or GRU node (one or two directions) for a pass of T steps over B streams with
/// per-stream lengths (<c>sequence_lens</c>), from a zero state, single-threaded; every input and output is bound to a
/// preallocated array. The initial state is an input that nothing writes, so it stays zero from run to run.
/// </summary>
internal sealed class OnnxRuntimeSequencePeer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly OrtValue[] _inputs;
    private readonly OrtValue[] _outputs;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;

    public OnnxRuntimeSequencePeer(RecurrentParameters weights, int steps, ReadOnlySpan<int> lengths)
    {
        ArgumentNullException.ThrowIfNull(weights);
        int inputSize = weights.Options.InputSize, h = weights.Options.HiddenSize, d = weights.Options.NumDirections, batch = lengths.Length;
        bool lstm = weights.Options.HasCellState;
        Steps = steps;
        Batch = batch;
        Directions = d;
        HiddenSize = h;
        Input = new float[steps * batch * inputSize];
        Lengths = lengths.ToArray();
        Output = new float[steps * d * batch * h];
        Hidden = new float[d * batch * h];
        Cell = lstm ? new float[d * batch * h] : [];

        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(OnnxModel.For(weights, steps, batch, sequenceLengths: true), options);

        OrtValue x = OrtValue.CreateTensorValueFromMemory(Input, [steps, batch, inputSize]);
        OrtValue lens = OrtValue.CreateTensorValueFromMemory(Lengths, [batch]);
        OrtValue h0 = OrtValue.CreateTensorValueFromMemory(new float[d * batch * h], [d, batch, h]);
        OrtValue y = OrtValue.CreateTensorValueFromMemory(Output, [steps, d, batch, h]);
        OrtValue yh = OrtValue.CreateTensorValueFromMemory(Hidden, [d, batch, h]);
        if (lstm)
        {
            OrtValue c0 = OrtValue.CreateTensorValueFromMemory(new float[d * batch * h], [d, batch, h]);
            OrtValue yc = OrtValue.CreateTensorValueFromMemory(Cell, [d, batch, h]);
            _inputs = [x, lens, h0, c0];
            _inputNames = ["X", "sequence_lens", "initial_h", "initial_c"];
            _outputs = [y, yh, yc];
            _outputNames = ["Y", "Y_h", "Y_c"];
        }
        else
        {
            _inputs = [x, lens, h0];
            _inputNames = ["X", "sequence_lens", "initial_h"];
            _outputs = [y, yh];
            _outputNames = ["Y", "Y_h"];
        }
    }

    public int Steps { get; }

    public int Batch { get; }

    public int Directions { get; }

    public int HiddenSize { get; }

    /// <summary>X, [T, B, I].</summary>
    public float[] Input { get; }

    /// <summary>sequence_lens, [B].</summary>
    public int[] Lengths { get; }

    /// <summary>Y, [T, D, B, H] (ONNX's layout).</summary>
    public float[] Output { get; }

    /// <summary>Y_h, [D, B, H] (PyTorch's h_n layout).</summary>
    public float[] Hidden { get; }

    /// <summary>Y_c, [D, B, H]; empty for a GRU.</summary>
    public float[] Cell { get; }

    /// <summary>Runs the pass.</summary>
    public void Run() => _session.Run(_runOptions, _inputNames, _inputs, _outputNames, _outputs);

    /// <summary><see cref="Output"/> in PyTorch's (and SimdLstm's) layout: [T, B, D·H], direction d's h at columns d·H ….</summary>
    public float[] OutputTimeBatchFeature()
    {
        int h = HiddenSize, d = Directions, b = Batch;
        var result = new float[Output.Length];
        for (int t = 0; t < Steps; t++)
        {
            for (int dir = 0; dir < d; dir++)
            {
                for (int s = 0; s < b; s++)
                    Output.AsSpan(((t * d + dir) * b + s) * h, h).CopyTo(result.AsSpan((t * b + s) * d * h + dir * h, h));
            }
        }
        return result;
    }

    public void Dispose()
    {
        foreach (OrtValue v in _inputs)
            v.Dispose();
        foreach (OrtValue v in _outputs)
            v.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }
}
