using System;
using System.Collections.Generic;
using System.Text;
using Google.Protobuf;

namespace SimdLstm.Onnx.Protobuf;

/// <summary>A region [Start, Start + Length) of the input bytes holding one length-delimited field's payload.</summary>
internal readonly record struct ProtoSlice(int Start, int Length);

/// <summary>
/// Reads the fields of one protobuf message, a region of a byte array, with <see cref="CodedInputStream"/>. Every
/// length-delimited field is checked against what is left of the message before anything is read or allocated for it,
/// and nested messages are read as regions of the same array (no copies).
/// </summary>
internal sealed class ProtoCursor
{
    private readonly byte[] _data;
    private readonly int _end;
    private readonly string _message;
    private CodedInputStream _input;
    private long _bias;

    public ProtoCursor(byte[] data, ProtoSlice slice, string message)
    {
        _data = data;
        _end = slice.Start + slice.Length;
        _message = message;
        _input = Open(slice.Start);
    }

    /// <summary>The bytes the message lies in.</summary>
    public byte[] Data => _data;

    /// <summary>The field number of the field just read by <see cref="Next"/>.</summary>
    public int Field { get; private set; }

    /// <summary>The wire type of the field just read by <see cref="Next"/>.</summary>
    public WireFormat.WireType WireType { get; private set; }

    /// <summary>Reads the next field's tag; false at the end of the message.</summary>
    public bool Next()
    {
        uint tag = _input.ReadTag();
        if (tag == 0)
            return false;
        Field = WireFormat.GetTagFieldNumber(tag);
        WireType = WireFormat.GetTagWireType(tag);
        return true;
    }

    /// <summary>Skips the field just read (groups included; the library bounds their nesting).</summary>
    public void Skip() => _input.SkipLastField();

    public long Int64()
    {
        Expect(WireFormat.WireType.Varint);
        return _input.ReadInt64();
    }

    public float Float()
    {
        Expect(WireFormat.WireType.Fixed32);
        return _input.ReadFloat();
    }

    /// <summary>The payload of the length-delimited field just read, checked to lie within the message.</summary>
    public ProtoSlice Slice()
    {
        Expect(WireFormat.WireType.LengthDelimited);
        int length = _input.ReadLength();
        long start = _input.Position + _bias;
        if (length < 0 || length > _end - start)
            throw new OnnxFormatException($"Field {Field} of a {_message} claims {length} bytes but only {_end - start} remain: the model is truncated or corrupt.");
        int next = (int)start + length;
        _input = Open(next);
        return new ProtoSlice((int)start, length);
    }

    /// <summary>The string in the field just read (UTF-8).</summary>
    public string String()
    {
        ProtoSlice slice = Slice();
        return Encoding.UTF8.GetString(_data, slice.Start, slice.Length);
    }

    /// <summary>A cursor over the nested message in the field just read.</summary>
    public ProtoCursor Message(string message) => new(_data, Slice(), message);

    /// <summary>Appends the varints of a repeated integer field, packed or not.</summary>
    public void Int64s(List<long> values)
    {
        if (WireType == WireFormat.WireType.Varint)
        {
            values.Add(_input.ReadInt64());
            return;
        }
        ProtoSlice slice = Slice();
        var packed = new CodedInputStream(_data, slice.Start, slice.Length);
        while (!packed.IsAtEnd)
            values.Add(packed.ReadInt64());
    }

    /// <summary>Appends the floats of a repeated float field, packed or not.</summary>
    public void Floats(List<float> values)
    {
        if (WireType == WireFormat.WireType.Fixed32)
        {
            values.Add(_input.ReadFloat());
            return;
        }
        ProtoSlice slice = Slice();
        if (slice.Length % 4 != 0)
            throw new OnnxFormatException($"Packed floats in field {Field} of a {_message} take {slice.Length} bytes, not a multiple of 4.");
        values.Capacity = Math.Max(values.Capacity, values.Count + slice.Length / 4);
        var packed = new CodedInputStream(_data, slice.Start, slice.Length);
        while (!packed.IsAtEnd)
            values.Add(packed.ReadFloat());
    }

    /// <summary>Appends the doubles of a repeated double field, packed or not.</summary>
    public void Doubles(List<double> values)
    {
        if (WireType == WireFormat.WireType.Fixed64)
        {
            values.Add(_input.ReadDouble());
            return;
        }
        ProtoSlice slice = Slice();
        if (slice.Length % 8 != 0)
            throw new OnnxFormatException($"Packed doubles in field {Field} of a {_message} take {slice.Length} bytes, not a multiple of 8.");
        values.Capacity = Math.Max(values.Capacity, values.Count + slice.Length / 8);
        var packed = new CodedInputStream(_data, slice.Start, slice.Length);
        while (!packed.IsAtEnd)
            values.Add(packed.ReadDouble());
    }

    private void Expect(WireFormat.WireType type)
    {
        if (WireType != type)
            throw new OnnxFormatException($"Field {Field} of a {_message} has wire type {WireType}; expected {type}.");
    }

    private CodedInputStream Open(int start)
    {
        var input = new CodedInputStream(_data, start, _end - start);
        // Position counts from the array's start or from the region's, depending on the stream; either way the bias
        // turns it into an index into the array.
        _bias = start - input.Position;
        return input;
    }
}
