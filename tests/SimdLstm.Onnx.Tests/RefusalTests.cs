using System;
using Xunit;

namespace SimdLstm.Onnx.Tests;

/// <summary>Every refusal names its reason: the node, and the attribute, input or op.</summary>
public sealed class RefusalTests
{
    private const int Float = 1, Int32 = 6;
    private const int I = 3, H = 4;

    // One recurrent node "rnn_node" over x [seq, 2, I] with weights for op (G gates, D directions), extra attributes and inputs.
    private static byte[] Single(string op, int directions, (string, object)[] attributes, string[]? inputs = null, Action<TestModelWriter>? more = null, long hiddenSize = H)
    {
        int g = op switch { "LSTM" => 4, "GRU" => 3, _ => 1 };
        var random = new Random(5);
        var (w, r, b) = ImportTests.Weights(random, g, directions, H, I);
        var writer = new TestModelWriter()
            .Input("x", Float, "seq", 2, I)
            .Floats("W", [directions, g * H, I], w).Floats("R", [directions, g * H, H], r).Floats("B", [directions, 2 * g * H], b);
        more?.Invoke(writer);
        return writer
            .Node(op, "rnn_node", inputs ?? ["x", "W", "R", "B"], ["y", "hn"], [("hidden_size", hiddenSize), .. attributes])
            .Output("y", Float, "seq", directions, 2, H).Output("hn", Float, directions, 2, H)
            .ToBytes();
    }

    private static void Refused(byte[] model, params string[] named)
    {
        OnnxFormatException e = Assert.Throws<OnnxFormatException>(() => OnnxImport.Load(model));
        foreach (string n in named)
            Assert.Contains(n, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_base_models_import()
    {
        Assert.Equal(CellKind.Lstm, OnnxImport.Load(Single("LSTM", 1, [])).Options.Cell);
        Assert.Equal(CellKind.Gru, OnnxImport.Load(Single("GRU", 2, [("linear_before_reset", 1L), ("direction", "bidirectional")])).Options.Cell);
        Assert.Equal(CellKind.Rnn, OnnxImport.Load(Single("RNN", 1, [])).Options.Cell);
    }

    [Fact]
    public void Reverse_direction_is_refused() => Refused(Single("LSTM", 1, [("direction", "reverse")]), "'rnn_node'", "direction", "reverse");

    [Fact]
    public void Linear_before_reset_0_is_refused()
    {
        Refused(Single("GRU", 1, []), "'rnn_node'", "linear_before_reset");
        Refused(Single("GRU", 1, [("linear_before_reset", 0L)]), "'rnn_node'", "linear_before_reset");
    }

    [Fact]
    public void Non_default_activations_are_refused()
    {
        Refused(Single("LSTM", 1, [("activations", new[] { "Sigmoid", "Relu", "Tanh" })]), "'rnn_node'", "activations");
        Refused(Single("GRU", 1, [("linear_before_reset", 1L), ("activations", new[] { "HardSigmoid", "Tanh" })]), "'rnn_node'", "activations");
        Refused(Single("RNN", 2, [("activations", new[] { "Relu", "Tanh" })], null), "'rnn_node'", "activations");
    }

    [Fact]
    public void Activation_alpha_and_beta_are_refused()
    {
        Refused(Single("LSTM", 1, [("activation_alpha", new long[] { 1 })]), "'rnn_node'", "activation_alpha");
        Refused(Single("RNN", 1, [("activation_beta", new long[] { 1 })]), "'rnn_node'", "activation_beta");
    }

    [Fact]
    public void Clip_is_refused() => Refused(Single("LSTM", 1, [("clip", 3f)]), "'rnn_node'", "clip");

    [Fact]
    public void Input_forget_is_refused() => Refused(Single("LSTM", 1, [("input_forget", 1L)]), "'rnn_node'", "input_forget");

    [Fact]
    public void Peepholes_are_refused() =>
        Refused(Single("LSTM", 1, [], ["x", "W", "R", "B", "", "", "", "P"], w => w.Floats("P", [1, 3 * H], new float[3 * H])), "'rnn_node'", "'P'");

    [Fact]
    public void An_unknown_attribute_or_layout_is_refused()
    {
        Refused(Single("LSTM", 1, [("peephole", 1L)]), "'rnn_node'", "'peephole'");
        Refused(Single("LSTM", 1, [("layout", 2L)]), "'rnn_node'", "layout");
    }

    [Fact]
    public void Inconsistent_sizes_are_refused()
    {
        Refused(Single("LSTM", 1, [], hiddenSize: 9), "'rnn_node'", "hidden_size = 9");
        Refused(Single("LSTM", 1, [("hidden_size", 9L)]), "'rnn_node'", "'hidden_size' appears more than once");
        Refused(Single("LSTM", 2, []), "'rnn_node'", "has shape [2, "); // weights for two directions, direction forward
    }

    [Fact]
    public void Weights_that_are_not_constants_are_refused() =>
        Refused(Single("LSTM", 1, [], ["x", "Wx", "R", "B"], w => w.Input("Wx", Float, 1, 4 * H, I)), "'rnn_node'", "W ('Wx') is a graph input");

    [Fact]
    public void Constant_sequence_lengths_are_refused() =>
        Refused(Single("LSTM", 1, [], ["x", "W", "R", "B", "lens"], w => w.Int64s("lens", 2, 2)), "'rnn_node'", "sequence_lens");

    [Fact]
    public void An_unsupported_op_is_named()
    {
        byte[] softmax = new TestModelWriter()
            .Input("x", Float, "seq", 2, I)
            .Floats("W", [1, H, I], new float[H * I]).Floats("R", [1, H, H], new float[H * H]).Int64s("axes", 1)
            .Node("RNN", "rnn_node", ["x", "W", "R"], ["y"], ("hidden_size", (long)H))
            .Node("Squeeze", "sq", ["y", "axes"], ["ys"])
            .Node("Softmax", "probabilities", ["ys"], ["p"])
            .Output("p", Float, "seq", 2, H)
            .ToBytes();
        Refused(softmax, "Not a recurrent model this can import", "'probabilities'", "'Softmax'");
        byte[] matmul = new TestModelWriter()
            .Input("x", Float, 2, I).Floats("M", [I, 2], new float[2 * I])
            .Node("MatMul", "mm", ["x", "M"], ["y"]).Output("y", Float, 2, 2).ToBytes();
        Refused(matmul, "Not a recurrent model this can import", "no LSTM, GRU or RNN");
        byte[] custom = new TestModelWriter().Input("x", Float, 2, I).Node("Fancy", "f", ["x"], ["y"]).Output("y", Float, 2, I).ToBytes();
        Refused(custom, "Not a recurrent model this can import", "'Fancy'");
    }

    [Fact]
    public void Layers_of_different_cells_are_refused()
    {
        var random = new Random(6);
        var (w0, r0, _) = ImportTests.Weights(random, 4, 1, H, I);
        var (w1, r1, _) = ImportTests.Weights(random, 3, 1, H, H);
        byte[] model = new TestModelWriter()
            .Input("x", Float, "seq", 2, I)
            .Floats("W0", [1, 4 * H, I], w0).Floats("R0", [1, 4 * H, H], r0).Floats("W1", [1, 3 * H, H], w1).Floats("R1", [1, 3 * H, H], r1).Int64s("axes", 1)
            .Node("LSTM", "first", ["x", "W0", "R0"], ["y0"], ("hidden_size", (long)H))
            .Node("Squeeze", "sq", ["y0", "axes"], ["x1"])
            .Node("GRU", "second", ["x1", "W1", "R1"], ["y1"], ("hidden_size", (long)H), ("linear_before_reset", 1L))
            .Output("y1", Float, "seq", 1, 2, H)
            .ToBytes();
        Refused(model, "'second'", "stacked on a LSTM");
    }

    [Fact]
    public void Lengths_on_one_layer_only_are_refused()
    {
        var random = new Random(7);
        var (w0, r0, _) = ImportTests.Weights(random, 1, 1, H, I);
        var (w1, r1, _) = ImportTests.Weights(random, 1, 1, H, H);
        byte[] model = new TestModelWriter()
            .Input("x", Float, "seq", 2, I).Input("lens", Int32, 2)
            .Floats("W0", [1, H, I], w0).Floats("R0", [1, H, H], r0).Floats("W1", [1, H, H], w1).Floats("R1", [1, H, H], r1).Int64s("axes", 1)
            .Node("RNN", "first", ["x", "W0", "R0", "", "lens"], ["y0"], ("hidden_size", (long)H))
            .Node("Squeeze", "sq", ["y0", "axes"], ["x1"])
            .Node("RNN", "second", ["x1", "W1", "R1"], ["y1"], ("hidden_size", (long)H))
            .Output("y1", Float, "seq", 1, 2, H)
            .ToBytes();
        Refused(model, "'second'", "sequence_lens");
    }
}
