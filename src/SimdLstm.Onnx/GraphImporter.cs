using System;
using System.Collections.Generic;
using System.Linq;
using SimdLstm.Onnx.Protobuf;

namespace SimdLstm.Onnx;

/// <summary>Turns a parsed graph into layers: follows the sequence from the graph input through each node to the output.</summary>
internal sealed class GraphImporter
{
    private static readonly HashSet<string> KnownOps = new(StringComparer.Ordinal)
    {
        "LSTM", "GRU", "RNN", "Transpose", "Squeeze", "Unsqueeze", "Reshape", "Identity", "Dropout", "Cast", "Gemm", "MatMul", "Add",
        "Concat", "Slice", "Gather", "Shape", "Constant", "ConstantOfShape", "Expand",
    };

    // Ops that may compute shapes, zero states or the gathered final states (never the sequence itself).
    private static readonly HashSet<string> AuxiliaryOps = new(StringComparer.Ordinal)
    {
        "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Slice", "Cast", "Constant", "ConstantOfShape", "Reshape", "Identity", "Expand", "Transpose", "Add",
    };

    private static readonly HashSet<string> StateOps = new(StringComparer.Ordinal)
    {
        "Concat", "Identity", "Squeeze", "Unsqueeze", "Transpose", "Reshape", "Slice", "Gather", "Cast",
    };

    private readonly OnnxModelProto _model;
    private readonly OnnxGraph _graph;
    private readonly Dictionary<string, OnnxTensor> _constants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OnnxNode> _producer = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<OnnxNode>> _consumers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _runtimeInputs = new(StringComparer.Ordinal);
    private readonly HashSet<string> _graphOutputs = new(StringComparer.Ordinal);
    private readonly bool[] _used;
    private long _opset;

    public GraphImporter(OnnxModelProto model)
    {
        _model = model;
        _graph = model.Graph ?? throw new OnnxFormatException("The model has no graph.");
        _used = new bool[_graph.Nodes.Count];
    }

    private enum Kind
    {
        Sequence, // [T, B, F] (batch-first: [B, T, F])
        RecurrentOutput, // [T, D, B, H], a layout-0 node's Y
        Split, // [T, B, D, H] (batch-first: [B, T, D, H])
        Rows, // [T·B, F] (batch-first: [B·T, F])
    }

    private sealed record Form(Kind Kind, bool BatchFirst, int Features, int Directions = 1, int Hidden = 0, bool Head = false);

    private sealed class Layer
    {
        public required OnnxNode Node { get; init; }
        public CellKind Cell { get; init; }
        public int Directions { get; init; }
        public int Hidden { get; init; }
        public int Input { get; init; }
        public required float[] W { get; init; }
        public required float[] R { get; init; }
        public float[]? B { get; init; }
        public RnnActivation Activation { get; init; }
        public bool Layout1 { get; init; }
        public string? Lengths { get; init; }
    }

    public OnnxImportedModel Import()
    {
        ReadOpset();
        foreach (OnnxNode node in _graph.Nodes)
        {
            bool defaultDomain = node.Domain.Length == 0 || node.Domain == "ai.onnx";
            if (!defaultDomain || !KnownOps.Contains(node.OpType))
            {
                string op = defaultDomain ? $"'{node.OpType}'" : $"'{node.OpType}' of domain '{node.Domain}'";
                throw NotRecurrent($"node {node.Label} is an op {op}, which it does not take (it takes LSTM, GRU and RNN nodes, the Transpose/Squeeze/Reshape glue between them and a Gemm or MatMul + Add head).");
            }
        }
        IndexGraph();
        OnnxNode first = _graph.Nodes.FirstOrDefault(IsRecurrent)
            ?? throw NotRecurrent(_graph.Nodes.Count == 0 ? "the graph has no nodes." : "the graph has no LSTM, GRU or RNN node.");
        string input = TraceInput(first);

        var layers = new List<Layer>();
        var stateInputs = new List<string>();
        var stateOutputs = new HashSet<string>(StringComparer.Ordinal);
        bool batchFirstInput = false;
        var form = new Form(Kind.Sequence, false, -1);
        string current = input;
        float[]? headWeight = null; // [V, F], PyTorch's layout
        float[]? headBias = null;
        OnnxNode? pendingMatMul = null;
        string? output = null;
        for (int guard = 0; ; guard++)
        {
            if (guard > _graph.Nodes.Count)
                throw new OnnxFormatException("The graph has a cycle.");
            List<OnnxNode> next = DataConsumers(current);
            if (next.Count == 0)
            {
                if (!_graphOutputs.Contains(current))
                    throw NotRecurrent($"the sequence path ends in '{current}', which is not a graph output.");
                output = current;
                break;
            }
            if (next.Count > 1)
                throw NotRecurrent($"'{current}' feeds more than one node ({string.Join(", ", next.Select(n => n.Label))}); the graph is not a chain of layers.");
            OnnxNode node = next[0];
            if (_used[node.Index])
                throw new OnnxFormatException("The graph has a cycle.");
            _used[node.Index] = true;
            if (pendingMatMul != null && node.OpType != "Add")
                pendingMatMul = null;
            switch (node.OpType)
            {
                case "LSTM":
                case "GRU":
                case "RNN":
                    {
                        if (form.Head)
                            throw NotRecurrent($"node {node.Label} follows the linear head.");
                        RequireDataInput(node, current, 0);
                        if (form.Kind != Kind.Sequence)
                            throw Refuse(node, $"its input X is a {Describe(form)} tensor; expected [seq, batch, features].");
                        Layer layer = ReadLayer(node, stateInputs);
                        if (form.Features >= 0 && form.Features != layer.Input)
                            throw Refuse(node, $"W takes {layer.Input} input features but the tensor before it has {form.Features}.");
                        if (layers.Count == 0)
                            batchFirstInput = form.BatchFirst != layer.Layout1;
                        else if (form.BatchFirst != layer.Layout1)
                            throw Refuse(node, $"layout = {(layer.Layout1 ? 1 : 0)} reads the time and batch axes of its input swapped.");
                        CheckStack(layers, layer);
                        layers.Add(layer);
                        string y = node.Output(0);
                        foreach (string state in node.Outputs.Skip(1))
                        {
                            if (state.Length > 0)
                                stateOutputs.Add(state);
                        }
                        if (y.Length == 0)
                        {
                            output = null;
                            goto done;
                        }
                        current = y;
                        form = layer.Layout1
                            ? new Form(Kind.Split, true, -1, layer.Directions, layer.Hidden)
                            : new Form(Kind.RecurrentOutput, false, -1, layer.Directions, layer.Hidden);
                        break;
                    }
                case "Identity":
                case "Dropout":
                case "Cast":
                    {
                        RequireDataInput(node, current, 0);
                        if (node.OpType == "Cast" && IntAttribute(node, "to", OnnxDataType.Float) != OnnxDataType.Float)
                            throw NotRecurrent($"node {node.Label} casts the sequence to {OnnxDataType.Name((int)IntAttribute(node, "to", 0))}.");
                        if (node.OpType == "Dropout" && node.Input(2).Length > 0 && !IsZero(node.Input(2), 0))
                            throw Refuse(node, "training_mode is not a constant false.");
                        current = node.Output(0);
                        break;
                    }
                case "Transpose":
                    RequireDataInput(node, current, 0);
                    form = Transpose(node, form);
                    current = node.Output(0);
                    break;
                case "Squeeze":
                    RequireDataInput(node, current, 0);
                    form = Squeeze(node, form);
                    current = node.Output(0);
                    break;
                case "Reshape":
                    RequireDataInput(node, current, 0);
                    form = Reshape(node, form);
                    current = node.Output(0);
                    break;
                case "MatMul":
                    {
                        if (form.Head)
                            throw NotRecurrent($"node {node.Label} follows the linear head.");
                        RequireDataInput(node, current, 0);
                        if (form.Kind is not (Kind.Sequence or Kind.Rows) || form.Features < 0)
                            throw Refuse(node, $"it multiplies a {Describe(form)} tensor; expected the layers' [seq, batch, features] output.");
                        OnnxTensor b = Weights(node, 1, "B");
                        if (b.Dims.Length != 2 || b.Dims[0] != form.Features)
                            throw Refuse(node, $"B has shape {b.ShapeText}; expected [{form.Features}, outputs].");
                        int outputs = ToInt(b.Dims[1], node, "B");
                        headWeight = Transposed(b.Floats!, form.Features, outputs, 1f);
                        form = form with { Features = outputs, Head = true };
                        pendingMatMul = node;
                        current = node.Output(0);
                        break;
                    }
                case "Add":
                    {
                        if (pendingMatMul == null)
                            throw NotRecurrent($"node {node.Label} (Add) does not follow a MatMul head.");
                        int other = node.Input(0) == current ? 1 : node.Input(1) == current ? 0 : -1;
                        if (other < 0 || node.Inputs.Count != 2)
                            throw Refuse(node, "expected the head's product and a bias.");
                        headBias = Bias(node, other, form.Features, 1f);
                        pendingMatMul = null;
                        current = node.Output(0);
                        break;
                    }
                case "Gemm":
                    {
                        if (form.Head)
                            throw NotRecurrent($"node {node.Label} follows the linear head.");
                        RequireDataInput(node, current, 0);
                        if (form.Kind != Kind.Rows || form.Features < 0)
                            throw Refuse(node, $"it takes a {Describe(form)} tensor; expected the layers' output as rows [seq·batch, features].");
                        if (IntAttribute(node, "transA", 0) != 0)
                            throw Refuse(node, "transA = 1 is not a linear head.");
                        bool transB = IntAttribute(node, "transB", 0) != 0;
                        float alpha = FloatAttribute(node, "alpha", 1f), beta = FloatAttribute(node, "beta", 1f);
                        OnnxTensor b = Weights(node, 1, "B");
                        int features = form.Features;
                        if (b.Dims.Length != 2 || b.Dims[transB ? 1 : 0] != features)
                            throw Refuse(node, $"B has shape {b.ShapeText}; expected {(transB ? $"[outputs, {features}]" : $"[{features}, outputs]")}.");
                        int outputs = ToInt(b.Dims[transB ? 0 : 1], node, "B");
                        headWeight = transB ? Scaled(b.Floats!, alpha) : Transposed(b.Floats!, features, outputs, alpha);
                        headBias = node.Input(2).Length > 0 ? Bias(node, 2, outputs, beta) : null;
                        form = form with { Features = outputs, Head = true };
                        current = node.Output(0);
                        break;
                    }
                default:
                    throw NotRecurrent($"node {node.Label} is an op '{node.OpType}', which cannot stand on the sequence path.");
            }
            if (current.Length == 0)
                throw Refuse(node, "its output has no name.");
        }
    done:
        ClassifyRest(stateOutputs);
        return Build(layers, headWeight, headBias, form, input, batchFirstInput, stateInputs, output);
    }

    private OnnxImportedModel Build(List<Layer> layers, float[]? headWeight, float[]? headBias, Form form, string input, bool batchFirst, List<string> stateInputs, string? output)
    {
        Layer first = layers[0];
        RecurrentOptions options;
        try
        {
            options = new RecurrentOptions(first.Cell, first.Input, first.Hidden, layers.Count, layers.Any(l => l.B != null), first.Activation, first.Directions == 2);
        }
        catch (ArgumentException e)
        {
            throw new OnnxFormatException($"The layers' shape is out of range: {e.Message}", e);
        }
        SequenceModel? model = null;
        RecurrentLayer recurrent;
        if (headWeight != null)
        {
            int outputs = form.Features;
            model = new SequenceModel(options, outputs, new ParameterBuffer(SequenceModel.Layout(options, outputs)));
            headWeight.CopyTo(model.Head.Weight);
            headBias?.CopyTo(model.Head.Bias);
            recurrent = model.Recurrent;
        }
        else
        {
            recurrent = new RecurrentLayer(new RecurrentParameters(options, new ParameterBuffer(RecurrentParameters.Layout(options))));
        }
        RecurrentParameters p = recurrent.Weights;
        int g = options.GateCount, h = options.HiddenSize;
        for (int l = 0; l < layers.Count; l++)
        {
            Layer layer = layers[l];
            int inputs = layer.Input;
            for (int d = 0; d < layer.Directions; d++)
            {
                GateOrder.ToTorch(layer.Cell, h, inputs, layer.W.AsSpan(d * g * h * inputs, g * h * inputs), p.WeightIh(l, d));
                GateOrder.ToTorch(layer.Cell, h, h, layer.R.AsSpan(d * g * h * h, g * h * h), p.WeightHh(l, d));
                if (layer.B != null)
                {
                    GateOrder.ToTorch(layer.Cell, h, 1, layer.B.AsSpan(d * 2 * g * h, g * h), p.BiasIh(l, d));
                    GateOrder.ToTorch(layer.Cell, h, 1, layer.B.AsSpan(d * 2 * g * h + g * h, g * h), p.BiasHh(l, d));
                }
            }
        }
        return new OnnxImportedModel(recurrent, model, input, batchFirst, first.Lengths, stateInputs.Distinct().ToArray(), output,
            layers.Select(l => l.Node.Name.Length > 0 ? l.Node.Name : "#" + l.Node.Index).ToArray(), _opset);
    }

    private void ReadOpset()
    {
        if (_model.Opsets.TryGetValue("", out long opset) || _model.Opsets.TryGetValue("ai.onnx", out opset))
            _opset = opset;
        else
            throw new OnnxFormatException("The model imports no opset of the default (ai.onnx) domain.");
        if (_opset < 7)
            throw new OnnxFormatException($"The model's opset is {_opset}; this importer reads opset 7 and later.");
    }

    private void IndexGraph()
    {
        foreach (OnnxTensor t in _graph.Initializers)
        {
            if (!_constants.TryAdd(t.Name, t))
                throw new OnnxFormatException($"Initializer '{t.Name}' is defined twice.");
        }
        foreach (OnnxNode node in _graph.Nodes)
        {
            foreach (string o in node.Outputs)
            {
                if (o.Length > 0 && (!_producer.TryAdd(o, node) || _constants.ContainsKey(o)))
                    throw new OnnxFormatException($"Tensor '{o}' is produced more than once.");
            }
            foreach (string i in node.Inputs)
            {
                if (i.Length == 0)
                    continue;
                if (!_consumers.TryGetValue(i, out List<OnnxNode>? list))
                    _consumers[i] = list = [];
                list.Add(node);
            }
            if (node.OpType == "Constant")
            {
                _used[node.Index] = true;
                _constants[node.Output(0)] = ConstantValue(node);
            }
        }
        foreach (OnnxValueInfo input in _graph.Inputs)
        {
            if (!_constants.ContainsKey(input.Name))
                _runtimeInputs.Add(input.Name);
        }
        foreach (OnnxValueInfo o in _graph.Outputs)
            _graphOutputs.Add(o.Name);
    }

    private static OnnxTensor ConstantValue(OnnxNode node)
    {
        if (node.Attributes.Count != 1 || node.Output(0).Length == 0)
            throw Refuse(node, "expected one output and one value attribute.");
        OnnxAttribute a = node.Attributes[0];
        return a.Name switch
        {
            "value" when a.T != null => a.T,
            "value_float" => new OnnxTensor { DataType = OnnxDataType.Float, Floats = [a.F] },
            "value_floats" => new OnnxTensor { DataType = OnnxDataType.Float, Dims = [a.Floats.Count], Floats = a.Floats.ToArray() },
            "value_int" => new OnnxTensor { DataType = OnnxDataType.Int64, Integers = [a.I] },
            "value_ints" => new OnnxTensor { DataType = OnnxDataType.Int64, Dims = [a.Ints.Count], Integers = a.Ints.ToArray() },
            _ => throw Refuse(node, $"attribute '{a.Name}' is not a value this importer reads."),
        };
    }

    private static bool IsRecurrent(OnnxNode node) => node.OpType is "LSTM" or "GRU" or "RNN";

    // The graph input the first recurrent node's X comes from, through layout-only nodes.
    private string TraceInput(OnnxNode first)
    {
        string name = first.Input(0);
        for (int depth = 0; depth <= _graph.Nodes.Count; depth++)
        {
            if (_runtimeInputs.Contains(name))
                return name;
            if (_constants.ContainsKey(name))
                throw Refuse(first, "its input X is a constant.");
            if (!_producer.TryGetValue(name, out OnnxNode? node))
                throw Refuse(first, $"its input X ('{name}') is neither a graph input nor computed by a node.");
            if (node.OpType is not ("Transpose" or "Identity" or "Cast" or "Dropout"))
                throw NotRecurrent($"node {node.Label} computes the first recurrent node's input; the sequence must come from a graph input.");
            name = node.Input(0);
        }
        throw new OnnxFormatException("The graph has a cycle.");
    }

    private List<OnnxNode> DataConsumers(string name) =>
        _consumers.TryGetValue(name, out List<OnnxNode>? list) ? list.Where(n => n.OpType != "Shape").Distinct().ToList() : [];

    private static void RequireDataInput(OnnxNode node, string current, int index)
    {
        for (int i = 0; i < node.Inputs.Count; i++)
        {
            if (node.Inputs[i] == current && i != index)
                throw Refuse(node, $"the sequence is its input {i}; expected input {index}.");
        }
    }

    private Layer ReadLayer(OnnxNode node, List<string> stateInputs)
    {
        CellKind cell = node.OpType switch { "LSTM" => CellKind.Lstm, "GRU" => CellKind.Gru, _ => CellKind.Rnn };
        int g = cell switch { CellKind.Lstm => 4, CellKind.Gru => 3, _ => 1 };
        string[] allowed = cell switch
        {
            CellKind.Lstm => ["activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "layout", "input_forget"],
            CellKind.Gru => ["activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "layout", "linear_before_reset"],
            _ => ["activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "layout"],
        };
        foreach (OnnxAttribute a in node.Attributes)
        {
            if (node.Attributes.Count(other => other.Name == a.Name) > 1)
                throw Refuse(node, $"attribute '{a.Name}' appears more than once.");
            if (Array.IndexOf(allowed, a.Name) < 0)
                throw Refuse(node, $"attribute '{a.Name}' is not one of {node.OpType}'s.");
        }
        string direction = StringAttribute(node, "direction", "forward");
        int d = direction switch
        {
            "forward" => 1,
            "bidirectional" => 2,
            "reverse" => throw Refuse(node, "direction = \"reverse\" is not supported: the library's layers run forward or bidirectional, and a reverse-only layer cannot be expressed without running the sequences backwards outside the model."),
            _ => throw Refuse(node, $"direction = \"{direction}\" is not one of forward, reverse, bidirectional."),
        };
        foreach (string name in new[] { "activation_alpha", "activation_beta" })
        {
            if (node.Attribute(name) != null)
                throw Refuse(node, $"attribute '{name}' is not supported (only the default activations are).");
        }
        if (node.Attribute("clip") != null)
            throw Refuse(node, "attribute 'clip' is not supported: the library does not clip the cell's inputs.");
        if (cell == CellKind.Lstm && IntAttribute(node, "input_forget", 0) != 0)
            throw Refuse(node, "attribute 'input_forget' = 1 (coupled input and forget gates) is not supported.");
        if (cell == CellKind.Gru && IntAttribute(node, "linear_before_reset", 0) != 1)
            throw Refuse(node, "attribute 'linear_before_reset' = 0 (the reset gate applied before the recurrent product) is not supported: the library's GRU is PyTorch's, linear_before_reset = 1.");
        long layout = IntAttribute(node, "layout", 0);
        if (layout is not (0 or 1))
            throw Refuse(node, $"attribute 'layout' = {layout}; expected 0 or 1.");
        RnnActivation activation = Activations(node, cell, d);

        int maxInputs = cell == CellKind.Lstm ? 8 : 6;
        if (node.Inputs.Count > maxInputs)
            throw Refuse(node, $"it has {node.Inputs.Count} inputs; {node.OpType} has at most {maxInputs}.");
        if (cell == CellKind.Lstm && node.Input(7).Length > 0)
            throw Refuse(node, "input 'P' (peephole weights) is not supported.");
        if (node.Outputs.Count > (cell == CellKind.Lstm ? 3 : 2))
            throw Refuse(node, $"it has {node.Outputs.Count} outputs.");
        OnnxTensor w = Weights(node, 1, "W");
        OnnxTensor r = Weights(node, 2, "R");
        if (r.Dims.Length != 3 || r.Dims[0] != d || r.Dims[2] < 1 || r.Dims[1] != g * r.Dims[2])
            throw Refuse(node, $"R has shape {r.ShapeText}; expected [{d}, {g}·hidden, hidden].");
        int hidden = ToInt(r.Dims[2], node, "R");
        if (node.Attribute("hidden_size") is { } hs && hs.I != hidden)
            throw Refuse(node, $"hidden_size = {hs.I} but R has shape {r.ShapeText}.");
        if (w.Dims.Length != 3 || w.Dims[0] != d || w.Dims[1] != (long)g * hidden || w.Dims[2] < 1)
            throw Refuse(node, $"W has shape {w.ShapeText}; expected [{d}, {(long)g * hidden}, input_size].");
        int input = ToInt(w.Dims[2], node, "W");
        float[]? b = null;
        if (node.Input(3).Length > 0)
        {
            OnnxTensor bt = Weights(node, 3, "B");
            if (bt.Dims.Length != 2 || bt.Dims[0] != d || bt.Dims[1] != 2L * g * hidden)
                throw Refuse(node, $"B has shape {bt.ShapeText}; expected [{d}, {2L * g * hidden}].");
            b = bt.Floats;
        }
        string? lengths = null;
        if (node.Input(4).Length > 0)
            lengths = LengthsInput(node, node.Input(4));
        for (int i = 5; i <= 6 && i < node.Inputs.Count; i++)
        {
            string name = node.Inputs[i];
            if (name.Length == 0)
                continue;
            string role = i == 5 ? "initial_h" : "initial_c";
            if (i == 6 && cell != CellKind.Lstm)
                throw Refuse(node, $"{node.OpType} has no input {i}.");
            if (IsZero(name, 0))
                continue;
            string? source = FromGraphInput(name, 0) ?? throw Refuse(node, $"{role} ('{name}') is neither zero nor taken from a graph input.");
            stateInputs.Add(source);
        }
        return new Layer
        {
            Node = node, Cell = cell, Directions = d, Hidden = hidden, Input = input, W = w.Floats!, R = r.Floats!, B = b,
            Activation = activation, Layout1 = layout == 1, Lengths = lengths,
        };
    }

    private static RnnActivation Activations(OnnxNode node, CellKind cell, int directions)
    {
        OnnxAttribute? a = node.Attribute("activations");
        string[] defaults = cell switch { CellKind.Lstm => ["sigmoid", "tanh", "tanh"], CellKind.Gru => ["sigmoid", "tanh"], _ => ["tanh"] };
        if (a == null)
            return RnnActivation.Tanh;
        List<string> names = a.Strings;
        if (names.Count != defaults.Length && names.Count != defaults.Length * directions)
            throw Refuse(node, $"attribute 'activations' has {names.Count} entries; expected {defaults.Length * directions}.");
        bool relu = cell == CellKind.Rnn && names.Count > 0 && names.All(n => string.Equals(n, "Relu", StringComparison.OrdinalIgnoreCase));
        if (relu)
            return RnnActivation.Relu;
        for (int i = 0; i < names.Count; i++)
        {
            if (!string.Equals(names[i], defaults[i % defaults.Length], StringComparison.OrdinalIgnoreCase))
                throw Refuse(node, $"attribute 'activations' = [{string.Join(", ", names)}] is not supported (only {node.OpType}'s defaults{(cell == CellKind.Rnn ? ", or Relu throughout" : "")}).");
        }
        return RnnActivation.Tanh;
    }

    private static void CheckStack(List<Layer> layers, Layer layer)
    {
        if (layers.Count == 0)
            return;
        Layer first = layers[0], previous = layers[^1];
        if (layer.Cell != first.Cell)
            throw Refuse(layer.Node, $"a {layer.Node.OpType} stacked on a {first.Node.OpType}: the layers of a model share one cell.");
        if (layer.Hidden != first.Hidden)
            throw Refuse(layer.Node, $"hidden size {layer.Hidden} differs from the first layer's {first.Hidden}.");
        if (layer.Directions != first.Directions)
            throw Refuse(layer.Node, "its direction differs from the first layer's.");
        if (layer.Activation != first.Activation)
            throw Refuse(layer.Node, "its activation differs from the first layer's.");
        if (layer.Lengths != first.Lengths)
            throw Refuse(layer.Node, $"its sequence_lens ({layer.Lengths ?? "none"}) differs from the first layer's ({first.Lengths ?? "none"}).");
        if (layer.Input != previous.Directions * previous.Hidden)
            throw Refuse(layer.Node, $"W takes {layer.Input} input features; the layer below gives {previous.Directions * previous.Hidden}.");
    }

    private string LengthsInput(OnnxNode node, string name)
    {
        if (_constants.ContainsKey(name))
            throw Refuse(node, "sequence_lens is a constant; expected a graph input (the lengths of each pass).");
        for (int depth = 0; depth <= _graph.Nodes.Count; depth++)
        {
            if (_runtimeInputs.Contains(name))
                return name;
            if (!_producer.TryGetValue(name, out OnnxNode? p) || p.OpType is not ("Identity" or "Cast"))
                break;
            _used[p.Index] = true;
            name = p.Input(0);
        }
        throw Refuse(node, "sequence_lens does not come from a graph input.");
    }

    // Whether a tensor is all zeros: a zero constant, a ConstantOfShape of zero, or a layout op over one.
    private bool IsZero(string name, int depth)
    {
        if (depth > 64)
            return false;
        if (_constants.TryGetValue(name, out OnnxTensor? t))
            return (t.Floats != null && t.Floats.All(v => v == 0f)) || (t.Integers != null && t.Integers.All(v => v == 0));
        if (!_producer.TryGetValue(name, out OnnxNode? node))
            return false;
        bool zero;
        switch (node.OpType)
        {
            case "ConstantOfShape":
                OnnxTensor? value = node.Attribute("value")?.T;
                zero = value == null || (value.Floats != null && value.Floats.All(v => v == 0f)) || (value.Integers != null && value.Integers.All(v => v == 0));
                break;
            case "Expand" or "Identity" or "Cast" or "Reshape" or "Squeeze" or "Unsqueeze" or "Slice" or "Transpose" or "Gather":
                zero = IsZero(node.Input(0), depth + 1);
                break;
            default:
                return false;
        }
        if (zero)
            MarkAncestors(node);
        return zero;
    }

    // The graph input a tensor is taken from through layout ops (an initial state sliced per layer), or null.
    private string? FromGraphInput(string name, int depth)
    {
        if (depth > 64)
            return null;
        if (_runtimeInputs.Contains(name))
            return name;
        if (!_producer.TryGetValue(name, out OnnxNode? node) || node.OpType is not ("Slice" or "Identity" or "Reshape" or "Squeeze" or "Unsqueeze" or "Transpose" or "Gather" or "Cast" or "Expand"))
            return null;
        string? source = FromGraphInput(node.Input(0), depth + 1);
        if (source != null)
            MarkAncestors(node);
        return source;
    }

    // Marks a node and what computes its inputs (shapes, indices) as used, through auxiliary ops only.
    private void MarkAncestors(OnnxNode start)
    {
        var stack = new Stack<OnnxNode>();
        stack.Push(start);
        _used[start.Index] = true;
        while (stack.Count > 0)
        {
            OnnxNode node = stack.Pop();
            foreach (string input in node.Inputs)
            {
                if (input.Length > 0 && _producer.TryGetValue(input, out OnnxNode? p) && !_used[p.Index] && AuxiliaryOps.Contains(p.OpType))
                {
                    _used[p.Index] = true;
                    stack.Push(p);
                }
            }
        }
    }

    // Every node must be on the sequence path, compute a weight, a shape or a zero state, or gather the final states.
    private void ClassifyRest(HashSet<string> stateOutputs)
    {
        for (int pass = 0; pass < 2; pass++)
        {
            foreach (OnnxNode node in _graph.Nodes)
            {
                if (_used[node.Index] || !StateOps.Contains(node.OpType))
                    continue;
                bool fromStates = false, other = false;
                foreach (string input in node.Inputs)
                {
                    if (input.Length == 0 || _constants.ContainsKey(input))
                        continue;
                    if (stateOutputs.Contains(input))
                        fromStates = true;
                    else
                        other = true;
                }
                if (!fromStates || other)
                    continue;
                MarkAncestors(node);
                foreach (string o in node.Outputs)
                    stateOutputs.Add(o);
            }
        }
        foreach (OnnxNode node in _graph.Nodes)
        {
            if (!_used[node.Index])
                throw NotRecurrent($"node {node.Label} is neither on the path of the sequence through the layers and head nor computes their weights, states or shapes.");
        }
    }

    private Form Transpose(OnnxNode node, Form form)
    {
        List<long>? perm = node.Attribute("perm")?.Ints;
        int rank = Rank(form);
        long[] p = perm is { Count: > 0 } ? perm.ToArray() : Enumerable.Range(0, rank).Reverse().Select(i => (long)i).ToArray();
        if (p.Length != rank)
            throw Refuse(node, $"perm [{string.Join(", ", p)}] does not fit a {Describe(form)} tensor.");
        bool Is(params long[] expected) => p.SequenceEqual(expected);
        switch (form.Kind)
        {
            case Kind.Sequence when Is(1, 0, 2):
                return form with { BatchFirst = !form.BatchFirst };
            case Kind.Sequence when Is(0, 1, 2):
            case Kind.Split when Is(0, 1, 2, 3):
            case Kind.RecurrentOutput when Is(0, 1, 2, 3):
                return form;
            case Kind.RecurrentOutput when Is(0, 2, 1, 3):
                return new Form(Kind.Split, false, -1, form.Directions, form.Hidden);
            case Kind.RecurrentOutput when Is(2, 0, 1, 3):
                return new Form(Kind.Split, true, -1, form.Directions, form.Hidden);
            case Kind.Split when Is(1, 0, 2, 3):
                return form with { BatchFirst = !form.BatchFirst };
            case Kind.Split when Is(0, 2, 1, 3) && !form.BatchFirst:
                return new Form(Kind.RecurrentOutput, false, -1, form.Directions, form.Hidden);
            default:
                throw Refuse(node, $"perm [{string.Join(", ", p)}] on a {Describe(form)} tensor is not a layout this importer follows.");
        }
    }

    private Form Squeeze(OnnxNode node, Form form)
    {
        long[] axes = node.Input(1).Length > 0 ? Integers(node, 1, "axes") : node.Attribute("axes")?.Ints.ToArray() ?? [];
        int rank = Rank(form);
        long[] normal = axes.Select(a => a < 0 ? a + rank : a).ToArray();
        if (form.Kind == Kind.RecurrentOutput && form.Directions == 1 && normal.SequenceEqual([1L]))
            return new Form(Kind.Sequence, false, form.Hidden);
        if (form.Kind == Kind.Split && form.Directions == 1 && normal.SequenceEqual([2L]))
            return new Form(Kind.Sequence, form.BatchFirst, form.Hidden);
        throw Refuse(node, $"squeezing axes [{string.Join(", ", axes)}] of a {Describe(form)} tensor is not a layout this importer follows.");
    }

    private Form Reshape(OnnxNode node, Form form)
    {
        if (IntAttribute(node, "allowzero", 0) != 0)
            throw Refuse(node, "allowzero = 1 is not supported.");
        long[] shape = Integers(node, 1, "shape");
        if (shape.Count(v => v == -1) > 1 || shape.Any(v => v < -1))
            throw Refuse(node, $"shape [{string.Join(", ", shape)}] is not a valid reshape.");
        int features = form.Kind switch
        {
            Kind.Sequence or Kind.Rows => form.Features,
            Kind.Split => form.Directions * form.Hidden,
            _ => form.Directions == 1 ? form.Hidden : -1,
        };
        // Positive leading sizes are taken on trust (a model exported with fixed sizes); the feature axis must match,
        // and a 0 (copy the input's size) must not copy an axis that is not the time or batch axis.
        bool zeroCopiesAxes = form.Kind is Kind.Sequence or Kind.Split;
        bool Leading(long v) => v == -1 || v > 0 || (v == 0 && zeroCopiesAxes);
        bool Last(long v, bool otherInferred) => v == features || (v == -1 && !otherInferred);
        if (features > 0 && shape.Length == 3)
        {
            bool second = form.Kind == Kind.RecurrentOutput ? shape[1] != 0 && shape[1] >= -1 : Leading(shape[1]);
            bool first = Leading(shape[0]) || (form.Kind == Kind.RecurrentOutput && shape[0] == 0);
            if (first && second && Last(shape[2], shape[0] == -1 || shape[1] == -1))
                return new Form(Kind.Sequence, form.BatchFirst, features, Head: form.Head);
        }
        if (features > 0 && shape.Length == 2 && (shape[0] == -1 || shape[0] > 0) && shape[1] == features)
            return new Form(Kind.Rows, form.BatchFirst, features, Head: form.Head);
        throw Refuse(node, $"reshaping a {Describe(form)} tensor to [{string.Join(", ", shape)}] is not a layout this importer follows.");
    }

    private static int Rank(Form form) => form.Kind switch { Kind.Sequence => 3, Kind.Rows => 2, _ => 4 };

    private static string Describe(Form form) => form.Kind switch
    {
        Kind.Sequence => form.BatchFirst ? "[batch, seq, features]" : "[seq, batch, features]",
        Kind.RecurrentOutput => "[seq, directions, batch, hidden]",
        Kind.Split => form.BatchFirst ? "[batch, seq, directions, hidden]" : "[seq, batch, directions, hidden]",
        _ => "[rows, features]",
    };

    private OnnxTensor Constant(OnnxNode node, int index, string role)
    {
        string name = node.Input(index);
        if (name.Length == 0)
            throw Refuse(node, $"input {role} is missing.");
        if (_constants.TryGetValue(name, out OnnxTensor? t))
            return t;
        if (_runtimeInputs.Contains(name))
            throw Refuse(node, $"{role} ('{name}') is a graph input; it must be an initializer or a constant.");
        throw Refuse(node, $"{role} ('{name}') is computed by a node; it must be an initializer or a constant.");
    }

    private OnnxTensor Weights(OnnxNode node, int index, string role)
    {
        OnnxTensor t = Constant(node, index, role);
        if (t.Floats == null)
            throw Refuse(node, $"{role} is {OnnxDataType.Name(t.DataType)}; expected float, double or float16.");
        return t;
    }

    private long[] Integers(OnnxNode node, int index, string role)
    {
        OnnxTensor t = Constant(node, index, role);
        if (t.Integers == null || t.DataType is not (OnnxDataType.Int64 or OnnxDataType.Int32))
            throw Refuse(node, $"{role} is {OnnxDataType.Name(t.DataType)}; expected int64.");
        if (t.Dims.Length > 1)
            throw Refuse(node, $"{role} has shape {t.ShapeText}; expected a list.");
        return t.Integers;
    }

    private float[] Bias(OnnxNode node, int index, int outputs, float scale)
    {
        OnnxTensor t = Weights(node, index, "the bias");
        if (t.Dims.Any(d => d != 1 && d != outputs) || (t.Dims.Length > 0 && t.Dims[^1] != outputs && t.ElementCount != 1) || (t.ElementCount != outputs && t.ElementCount != 1))
            throw Refuse(node, $"the bias has shape {t.ShapeText}; expected [{outputs}].");
        var bias = new float[outputs];
        for (int i = 0; i < outputs; i++)
            bias[i] = scale * t.Floats![t.Floats.Length == 1 ? 0 : i];
        return bias;
    }

    private static float[] Transposed(float[] values, int rows, int columns, float scale)
    {
        var result = new float[values.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
                result[c * rows + r] = scale * values[r * columns + c];
        }
        return result;
    }

    private static float[] Scaled(float[] values, float scale) => values.Select(v => scale * v).ToArray();

    private static int ToInt(long value, OnnxNode node, string role) =>
        value is >= 1 and <= int.MaxValue ? (int)value : throw Refuse(node, $"{role} has a dimension {value} out of range.");

    private static long IntAttribute(OnnxNode node, string name, long fallback)
    {
        OnnxAttribute? a = node.Attribute(name);
        if (a == null)
            return fallback;
        if (a.Type is not (OnnxAttributeType.Int or OnnxAttributeType.Undefined))
            throw Refuse(node, $"attribute '{name}' is of type {a.Type}; expected an int.");
        return a.I;
    }

    private static float FloatAttribute(OnnxNode node, string name, float fallback)
    {
        OnnxAttribute? a = node.Attribute(name);
        if (a == null)
            return fallback;
        if (a.Type is not (OnnxAttributeType.Float or OnnxAttributeType.Undefined))
            throw Refuse(node, $"attribute '{name}' is of type {a.Type}; expected a float.");
        return a.F;
    }

    private static string StringAttribute(OnnxNode node, string name, string fallback)
    {
        OnnxAttribute? a = node.Attribute(name);
        if (a == null)
            return fallback;
        if (a.Type is not (OnnxAttributeType.String or OnnxAttributeType.Undefined) || a.S == null)
            throw Refuse(node, $"attribute '{name}' is not a string.");
        return a.S;
    }

    private static OnnxFormatException NotRecurrent(string detail) => new("Not a recurrent model this can import: " + detail);

    private static OnnxFormatException Refuse(OnnxNode node, string detail) => new($"Node {node.Label}: {detail}");
}
