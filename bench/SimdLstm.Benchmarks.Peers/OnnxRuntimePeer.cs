using System;
using Microsoft.ML.OnnxRuntime;

namespace SimdLstm.Benchmarks.Peers;

/// <summary>
/// An ONNX Runtime session over one LSTM or GRU node with fixed T and B = 1, single-threaded, with every input and
/// output bound to preallocated arrays so a run does no tensor allocation of ours (ONNX Runtime's own per-run bookkeeping
/// still allocates a little; the allocation column shows it).
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

    public OnnxRuntimePeer(RecurrentParameters weights, int steps)
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
        _session = new InferenceSession(OnnxModel.For(weights, steps, batch: 1), options);

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

    /// <summary>h after the last run (the input of the next).</summary>
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
