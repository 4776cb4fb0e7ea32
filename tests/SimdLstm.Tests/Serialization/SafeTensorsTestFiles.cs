using System;
using System.Buffers.Binary;
using System.Text;
using SimdLstm.Serialization;

namespace SimdLstm.Tests.Serialization;

/// <summary>Byte-level builders for safetensors files, written from the format description, independent of the library's writer.</summary>
internal static class SafeTensorsTestFiles
{
    /// <summary>8-byte little-endian length, the header text as UTF-8 (space-padded to a multiple of 8 when asked), then the data.</summary>
    public static byte[] Assemble(string headerJson, ReadOnlySpan<byte> data, bool pad = true)
    {
        byte[] header = Encoding.UTF8.GetBytes(headerJson);
        int length = pad ? (header.Length + 7) / 8 * 8 : header.Length;
        byte[] file = new byte[8 + length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)length);
        header.CopyTo(file, 8);
        file.AsSpan(8 + header.Length, length - header.Length).Fill((byte)' ');
        data.CopyTo(file.AsSpan(8 + length));
        return file;
    }

    /// <summary>A single-F32-tensor file whose header is <paramref name="headerJson"/> and whose data section has <paramref name="dataLength"/> bytes.</summary>
    public static byte[] WithData(string headerJson, int dataLength) => Assemble(headerJson, new byte[dataLength]);

    public static byte[] LittleEndian(params float[] values)
    {
        byte[] bytes = new byte[4 * values.Length];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return bytes;
    }

    /// <summary>A small valid file made by the library's writer: metadata, a matrix, a scalar, an empty tensor and a vector.</summary>
    public static byte[] Sample()
    {
        var writer = new SafeTensorsWriter();
        writer.AddMetadata("format", "pt").AddMetadata("step", "1200");
        writer.AddCopy("lstm.weight_ih_l0", [4, 2], [0.5f, -1.25f, 3f, 0f, -0f, 1e-3f, 7f, -8f]);
        writer.AddCopy("scale", [], [2.5f]);
        writer.AddCopy("empty", [0, 3], []);
        writer.AddCopy("lstm.bias_ih_l0", [3], [1f, 2f, float.NaN]);
        return writer.ToArray();
    }
}
