using System;
using System.Collections.Generic;
using System.IO;
using SimdLstm.Onnx.Protobuf;

namespace SimdLstm.Onnx;

/// <summary>
/// Reads an ONNX model whose graph is a stack of <c>LSTM</c>, <c>GRU</c> or <c>RNN</c> nodes (as <c>torch.onnx.export</c>
/// and other exporters write them) into a <see cref="RecurrentLayer"/>, or, with a final linear head, a
/// <see cref="SequenceModel"/>.
/// </summary>
/// <remarks>
/// <para>Taken: weights and biases from initializers or <c>Constant</c> nodes (float, double or float16; raw or typed
/// data), ONNX's gate orders mapped to PyTorch's and <c>B</c> split into <c>bias_ih</c> and <c>bias_hh</c>;
/// <c>direction</c> forward or bidirectional; <c>hidden_size</c>; <c>layout</c> 0 or 1; a GRU's
/// <c>linear_before_reset = 1</c> (PyTorch's formula); an RNN's Tanh or Relu; <c>sequence_lens</c> from a graph input
/// (the pass's lengths); an initial state absent, zero, or from graph inputs. Between stacked nodes the glue exporters
/// write (<c>Squeeze</c>, <c>Transpose</c>, <c>Reshape</c>, <c>Identity</c>, <c>Dropout</c>, <c>Cast</c>); after the
/// last one a <c>Gemm</c> or a <c>MatMul</c> (+ <c>Add</c>) head; nodes that only gather the final states into outputs
/// (<c>Concat</c>, …) or build a zero initial state (<c>ConstantOfShape</c> from <c>Shape</c>, …).</para>
/// <para>Refused, with an <see cref="OnnxFormatException"/> naming the node and the attribute or input:
/// <c>direction = "reverse"</c> (the library's layers run forward or bidirectional), <c>linear_before_reset = 0</c>,
/// non-default <c>activations</c>, <c>activation_alpha</c>/<c>activation_beta</c>, <c>clip</c>, <c>input_forget = 1</c>,
/// the peephole input <c>P</c>; layers that differ in cell, size, direction or lengths; and any other op (the message
/// names the first).</para>
/// <para>Corrupt bytes (truncated, flipped, sizes larger than the input) give an <see cref="OnnxFormatException"/>
/// too: every size is checked against the bytes that remain before anything is allocated for it.</para>
/// </remarks>
public static class OnnxImport
{
    /// <summary>Imports the ONNX model in the file at <paramref name="path"/>.</summary>
    /// <exception cref="OnnxFormatException">The file is not an ONNX model, or not one this importer takes.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static OnnxImportedModel Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Load(File.ReadAllBytes(path));
    }

    /// <summary>Imports the ONNX model read from <paramref name="stream"/> (to its end).</summary>
    /// <exception cref="OnnxFormatException">The bytes are not an ONNX model, or not one this importer takes.</exception>
    public static OnnxImportedModel Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Load(buffer.ToArray());
    }

    /// <summary>Imports the ONNX model in <paramref name="model"/> (a serialized ModelProto).</summary>
    /// <exception cref="OnnxFormatException">The bytes are not an ONNX model, or not one this importer takes.</exception>
    public static OnnxImportedModel Load(byte[] model)
    {
        ArgumentNullException.ThrowIfNull(model);
        OnnxModelProto proto = OnnxReader.ReadModel(model);
        return new GraphImporter(proto).Import();
    }
}
