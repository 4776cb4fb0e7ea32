using System.Collections.Generic;

namespace SimdLstm.Onnx;

/// <summary>What an ONNX model became: its recurrent layers, its head when it has one, and how its inputs map onto a pass.</summary>
public sealed class OnnxImportedModel
{
    internal OnnxImportedModel(RecurrentLayer recurrent, SequenceModel? model, string inputName, bool batchFirst, string? sequenceLengthsInput,
        IReadOnlyList<string> initialStateInputs, string? outputName, IReadOnlyList<string> recurrentNodes, long opset)
    {
        Recurrent = recurrent;
        Model = model;
        InputName = inputName;
        BatchFirst = batchFirst;
        SequenceLengthsInput = sequenceLengthsInput;
        InitialStateInputs = initialStateInputs;
        OutputName = outputName;
        RecurrentNodes = recurrentNodes;
        Opset = opset;
    }

    /// <summary>The recurrent layers (with a head: the model's, sharing its weights).</summary>
    public RecurrentLayer Recurrent { get; }

    /// <summary>The whole model when the graph ends in a linear head (<c>Gemm</c>, or <c>MatMul</c> with or without <c>Add</c>); null otherwise.</summary>
    public SequenceModel? Model { get; }

    /// <summary>The shape of the recurrent layers.</summary>
    public RecurrentOptions Options => Recurrent.Options;

    /// <summary>The graph input holding the sequences.</summary>
    public string InputName { get; }

    /// <summary>Whether that input is batch-first ([batch, seq, I]); pass this as <see cref="SequenceInput"/>'s <c>batchFirst</c>.</summary>
    public bool BatchFirst { get; }

    /// <summary>The graph input feeding the recurrent nodes' <c>sequence_lens</c>, null when they have none: its values are the pass's lengths.</summary>
    public string? SequenceLengthsInput { get; }

    /// <summary>The graph inputs feeding <c>initial_h</c>/<c>initial_c</c> (their values go into the <see cref="RecurrentState"/>); empty when the initial state is zero.</summary>
    public IReadOnlyList<string> InitialStateInputs { get; }

    /// <summary>The graph output the sequence path ends in (the layers' output, or the head's), null when the graph outputs only states.</summary>
    public string? OutputName { get; }

    /// <summary>The recurrent nodes, layer by layer (their names, or "#index" when unnamed).</summary>
    public IReadOnlyList<string> RecurrentNodes { get; }

    /// <summary>The model's default-domain opset.</summary>
    public long Opset { get; }
}
