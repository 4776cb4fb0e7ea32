using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;
using Storage = SimdLstm.Onnx.Tests.TestModelWriter.Storage;

namespace SimdLstm.Onnx.Tests;

/// <summary>ONNX models written node by node in the test (not by the exporter) import and run as ONNX Runtime runs them.</summary>
public sealed class ImportTests
{
    private const int Float = 1, Int32 = 6;

    // W [D, G·H, I], R [D, G·H, H], B [D, 2·G·H] in ONNX's layout, U(−1/√H, 1/√H) as PyTorch draws them.
    internal static (float[] W, float[] R, float[] B) Weights(Random random, int gates, int directions, int hidden, int inputs)
    {
        float bound = 1f / MathF.Sqrt(hidden);
        return (Harness.Uniform(random, directions * gates * hidden * inputs, bound), Harness.Uniform(random, directions * gates * hidden * hidden, bound),
            Harness.Uniform(random, directions * 2 * gates * hidden, bound));
    }

    private static void AssertClose(float[] expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        double difference = Harness.MaxDifference(expected, actual);
        Assert.True(difference <= tolerance, $"{what}: difference {difference:E3} > {tolerance:E3}");
    }

    /// <summary>
    /// As <c>torch.onnx.export</c> writes a batch-first 2-layer <c>nn.LSTM</c> + <c>nn.Linear</c>: Transpose in, LSTM,
    /// Squeeze, LSTM, Squeeze, Transpose out, MatMul + Add, the final states concatenated; typed <c>float_data</c> weights.
    /// </summary>
    [Fact]
    public void A_torch_style_two_layer_lstm_with_a_head_runs_as_in_OnnxRuntime()
    {
        var random = new Random(1);
        const int I = 5, H = 7, V = 4, T = 6, B = 3;
        var (w0, r0, b0) = Weights(random, 4, 1, H, I);
        var (w1, r1, b1) = Weights(random, 4, 1, H, H);
        float[] fcW = Harness.Uniform(random, H * V, 0.4f), fcB = Harness.Uniform(random, V, 0.4f);
        byte[] model = new TestModelWriter()
            .Input("x", Float, "batch", "seq", I)
            .Floats("W0", [1, 4 * H, I], w0).Floats("R0", [1, 4 * H, H], r0).Floats("B0", [1, 8 * H], b0)
            .Floats("W1", [1, 4 * H, H], w1).Floats("R1", [1, 4 * H, H], r1).Floats("B1", [1, 8 * H], b1)
            .Floats("fc_w", [H, V], fcW).Floats("fc_b", [V], fcB).Int64s("axes", 1)
            .Node("Transpose", "t_in", ["x"], ["xt"], ("perm", new long[] { 1, 0, 2 }))
            .Node("LSTM", "lstm0", ["xt", "W0", "R0", "B0"], ["y0", "h0", "c0"], ("hidden_size", (long)H))
            .Node("Squeeze", "sq0", ["y0", "axes"], ["x1"])
            .Node("LSTM", "lstm1", ["x1", "W1", "R1", "B1"], ["y1", "h1", "c1"], ("hidden_size", (long)H))
            .Node("Squeeze", "sq1", ["y1", "axes"], ["y1s"])
            .Node("Transpose", "t_out", ["y1s"], ["ybt"], ("perm", new long[] { 1, 0, 2 }))
            .Node("MatMul", "fc_mm", ["ybt", "fc_w"], ["mm"])
            .Node("Add", "fc_add", ["mm", "fc_b"], ["logits"])
            .Node("Concat", "hn_cat", ["h0", "h1"], ["hn"], ("axis", 0L))
            .Node("Concat", "cn_cat", ["c0", "c1"], ["cn"], ("axis", 0L))
            .Output("logits", Float, "batch", "seq", V).Output("hn", Float, 2, "batch", H).Output("cn", Float, 2, "batch", H)
            .ToBytes();
        OnnxImportedModel imported = OnnxImport.Load(model);
        Assert.True(imported.BatchFirst);
        Assert.Equal(RecurrentOptions.Lstm(I, H, 2), imported.Options);
        Assert.NotNull(imported.Model);
        Assert.Equal(["lstm0", "lstm1"], imported.RecurrentNodes);
        PassInput input = Harness.RandomInput(random, I, T, B, batchFirst: true, lengths: false, state: null);
        PassOutput ours = Harness.RunSimdLstm(imported.Recurrent, imported.Model!.Head, input);
        Dictionary<string, float[]> theirs = Harness.RunOnnxRuntime(model, input, inputName: "x");
        double tolerance = Harness.Tolerance(imported.Recurrent, imported.Model.Head, input);
        AssertClose(theirs["logits"], ours.Output, tolerance, "logits");
        AssertClose(theirs["hn"], ours.Hidden, tolerance, "h_n");
        AssertClose(theirs["cn"], ours.Cell, tolerance, "c_n");
    }

    /// <summary>
    /// A bidirectional GRU (<c>linear_before_reset = 1</c>) with raw weights, <c>sequence_lens</c> from a graph input,
    /// a zero initial state from ConstantOfShape, Transpose + Reshape to [seq, batch, 2H], and a Gemm head
    /// (transB = 1, alpha and beta not 1) between Reshapes.
    /// </summary>
    [Fact]
    public void A_bidirectional_gru_with_lengths_and_a_gemm_head_runs_as_in_OnnxRuntime()
    {
        var random = new Random(2);
        const int I = 4, H = 5, V = 3, T = 7, B = 3;
        var (w, r, b) = Weights(random, 3, 2, H, I);
        float[] gemmB = Harness.Uniform(random, V * 2 * H, 0.4f), gemmC = Harness.Uniform(random, V, 0.4f);
        byte[] model = new TestModelWriter()
            .Input("x", Float, "seq", B, I).Input("lens", Int32, B)
            .Floats("W", [2, 3 * H, I], w, Storage.Raw).Floats("R", [2, 3 * H, H], r, Storage.Raw).Floats("B", [2, 6 * H], b, Storage.Raw)
            .Floats("gemm_b", [V, 2 * H], gemmB, Storage.Raw).Floats("gemm_c", [V], gemmC, Storage.Raw)
            .Int64s("state_shape", 2, B, H).Int64s("joined", 0, 0, -1).Int64s("rows", -1, 2 * H).Int64s("back", -1, B, V)
            .Node("ConstantOfShape", "zeros", ["state_shape"], ["h_init"])
            .Node("GRU", "gru", ["x", "W", "R", "B", "lens", "h_init"], ["y", "hn"], ("hidden_size", (long)H), ("direction", "bidirectional"), ("linear_before_reset", 1L))
            .Node("Transpose", "t", ["y"], ["yt"], ("perm", new long[] { 0, 2, 1, 3 }))
            .Node("Reshape", "join", ["yt", "joined"], ["yj"])
            .Node("Reshape", "to_rows", ["yj", "rows"], ["yr"])
            .Node("Gemm", "head", ["yr", "gemm_b", "gemm_c"], ["g"], ("transB", 1L), ("alpha", 0.5f), ("beta", 2f))
            .Node("Reshape", "from_rows", ["g", "back"], ["out"])
            .Output("out", Float, "seq", B, V).Output("hn", Float, 2, B, H)
            .ToBytes();
        OnnxImportedModel imported = OnnxImport.Load(model);
        Assert.False(imported.BatchFirst);
        Assert.Equal("lens", imported.SequenceLengthsInput);
        Assert.Empty(imported.InitialStateInputs);
        Assert.Equal(RecurrentOptions.Gru(I, H, bidirectional: true), imported.Options);
        PassInput input = Harness.RandomInput(random, I, T, B, batchFirst: false, lengths: true, state: null);
        PassOutput ours = Harness.RunSimdLstm(imported.Recurrent, imported.Model!.Head, input);
        Dictionary<string, float[]> theirs = Harness.RunOnnxRuntime(model, input, inputName: "x", lengthsName: "lens");
        double tolerance = Harness.Tolerance(imported.Recurrent, imported.Model.Head, input);
        AssertClose(theirs["out"], ours.Output, tolerance, "output");
        AssertClose(theirs["hn"], ours.Hidden, tolerance, "h_n");
    }

    /// <summary>
    /// An RNN (Relu) with <c>layout = 1</c> and an initial state from a graph input. ONNX Runtime's CPU kernels refuse
    /// layout = 1, so the reference is the same weights in the layout-0 form (Transposes around the node), written
    /// independently; if ONNX Runtime runs the layout-1 file, it must agree too.
    /// </summary>
    [Fact]
    public void A_layout_1_rnn_runs_as_OnnxRuntime_runs_its_layout_0_form()
    {
        var random = new Random(3);
        const int I = 3, H = 6, T = 5, B = 2;
        var (w, r, b) = Weights(random, 1, 1, H, I);
        TestModelWriter Common() => new TestModelWriter()
            .Input("x", Float, B, "seq", I).Input("h0", Float, 1, B, H)
            .Floats("W", [1, H, I], w).Floats("R", [1, H, H], r).Floats("B", [1, 2 * H], b);
        byte[] layout1 = Common().Int64s("axes", 2)
            .Node("Transpose", "h0_t", ["h0"], ["h0_bf_t"], ("perm", new long[] { 1, 0, 2 }))
            .Node("RNN", "rnn", ["x", "W", "R", "B", "", "h0_bf_t"], ["y", "hn_bf"], ("hidden_size", (long)H), ("layout", 1L), ("activations", new[] { "Relu" }))
            .Node("Squeeze", "sq", ["y", "axes"], ["out"])
            .Node("Transpose", "hn_t", ["hn_bf"], ["hn"], ("perm", new long[] { 1, 0, 2 }))
            .Output("out", Float, B, "seq", H).Output("hn", Float, 1, B, H)
            .ToBytes();
        byte[] layout0 = Common().Int64s("axes", 1)
            .Node("Transpose", "x_t", ["x"], ["xt"], ("perm", new long[] { 1, 0, 2 }))
            .Node("RNN", "rnn", ["xt", "W", "R", "B", "", "h0"], ["y", "hn"], ("hidden_size", (long)H), ("activations", new[] { "Relu" }))
            .Node("Squeeze", "sq", ["y", "axes"], ["ys"])
            .Node("Transpose", "y_t", ["ys"], ["out"], ("perm", new long[] { 1, 0, 2 }))
            .Output("out", Float, B, "seq", H).Output("hn", Float, 1, B, H)
            .ToBytes();
        OnnxImportedModel imported = OnnxImport.Load(layout1);
        Assert.True(imported.BatchFirst);
        Assert.Equal(["h0"], imported.InitialStateInputs);
        Assert.Equal(RecurrentOptions.Rnn(I, H, activation: RnnActivation.Relu), imported.Options);
        Assert.Equal(imported.Recurrent.Weights.Buffer.Span.ToArray(), OnnxImport.Load(layout0).Recurrent.Weights.Buffer.Span.ToArray());
        PassInput input = Harness.RandomInput(random, I, T, B, batchFirst: true, lengths: false, state: imported.Options);
        PassOutput ours = Harness.RunSimdLstm(imported.Recurrent, null, input);
        double tolerance = Harness.Tolerance(imported.Recurrent, null, input);
        Dictionary<string, float[]> theirs = Harness.RunOnnxRuntime(layout0, input, inputName: "x", stateRows: 1, hidden: H);
        AssertClose(theirs["out"], ours.Output, tolerance, "output");
        AssertClose(theirs["hn"], ours.Hidden, tolerance, "h_n");
        try
        {
            theirs = Harness.RunOnnxRuntime(layout1, input, inputName: "x", stateRows: 1, hidden: H);
        }
        catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException e) when (e.Message.Contains("layout", StringComparison.Ordinal))
        {
            return;
        }
        AssertClose(theirs["out"], ours.Output, tolerance, "output (layout 1 in ONNX Runtime)");
    }

    /// <summary>Float16 and double initializers import as their float values: equal to ONNX Runtime on a float model of the same (rounded) weights.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Float16_and_double_weights_import_as_their_values(bool half)
    {
        Storage storage = half ? Storage.Half : Storage.Double;
        var random = new Random(4);
        const int I = 4, H = 5, T = 4, B = 2;
        var (w, r, b) = Weights(random, 4, 2, H, I);
        if (storage == Storage.Half)
        {
            w = w.Select(v => (float)(Half)v).ToArray();
            r = r.Select(v => (float)(Half)v).ToArray();
            b = b.Select(v => (float)(Half)v).ToArray();
        }
        byte[] Build(Storage s) => new TestModelWriter()
            .Input("x", Float, "seq", B, I)
            .Floats("W", [2, 4 * H, I], w, s).Floats("R", [2, 4 * H, H], r, s).Floats("B", [2, 8 * H], b, s)
            .Node("LSTM", "lstm", ["x", "W", "R", "B"], ["y", "hn", "cn"], ("hidden_size", (long)H), ("direction", "bidirectional"),
                ("activations", new[] { "Sigmoid", "Tanh", "Tanh", "Sigmoid", "Tanh", "Tanh" }))
            .Output("y", Float, "seq", 2, B, H).Output("hn", Float, 2, B, H).Output("cn", Float, 2, B, H)
            .ToBytes();
        OnnxImportedModel imported = OnnxImport.Load(Build(storage));
        PassInput input = Harness.RandomInput(random, I, T, B, batchFirst: false, lengths: false, state: null);
        PassOutput ours = Harness.RunSimdLstm(imported.Recurrent, null, input);
        Dictionary<string, float[]> theirs = Harness.RunOnnxRuntime(Build(Storage.Typed), input, inputName: "x");
        double tolerance = Harness.Tolerance(imported.Recurrent, null, input);
        AssertClose(theirs["hn"], ours.Hidden, tolerance, "h_n");
        AssertClose(theirs["cn"], ours.Cell, tolerance, "c_n");
        // Y is [seq, 2, batch, H]; SimdLstm's output is [seq, batch, 2H].
        float[] y = theirs["y"];
        float[] reordered = new float[y.Length];
        for (int t = 0; t < T; t++)
            for (int d = 0; d < 2; d++)
                for (int n = 0; n < B; n++)
                    Array.Copy(y, ((t * 2 + d) * B + n) * H, reordered, ((t * B + n) * 2 + d) * H, H);
        AssertClose(reordered, ours.Output, tolerance, "output");
    }
}
