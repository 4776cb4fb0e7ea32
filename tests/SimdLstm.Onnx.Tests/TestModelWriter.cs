using System;
using System.Collections.Generic;
using System.IO;
using Google.Protobuf;

namespace SimdLstm.Onnx.Tests;

/// <summary>
/// Writes ONNX models for the tests directly with Google.Protobuf's output stream, node by node, independent of the
/// library's exporter (its own field handling, typed <c>float_data</c> or raw initializers, float16 and double).
/// </summary>
internal sealed class TestModelWriter
{
    private readonly List<byte[]> _nodes = [];
    private readonly List<byte[]> _initializers = [];
    private readonly List<byte[]> _inputs = [];
    private readonly List<byte[]> _outputs = [];

    public int Opset { get; set; } = 14;

    public enum Storage { Raw, Typed, Half, Double }

    public TestModelWriter Input(string name, int elemType, params object[] dims)
    {
        _inputs.Add(ValueInfo(name, elemType, dims));
        return this;
    }

    public TestModelWriter Output(string name, int elemType, params object[] dims)
    {
        _outputs.Add(ValueInfo(name, elemType, dims));
        return this;
    }

    public TestModelWriter Floats(string name, long[] dims, float[] values, Storage storage = Storage.Typed)
    {
        _initializers.Add(Message(o =>
        {
            Packed(o, 1, dims);
            o.WriteTag(2, WireFormat.WireType.Varint);
            o.WriteInt32(storage switch { Storage.Half => 10, Storage.Double => 11, _ => 1 });
            o.WriteTag(8, WireFormat.WireType.LengthDelimited);
            o.WriteString(name);
            switch (storage)
            {
                case Storage.Typed:
                    o.WriteTag(4, WireFormat.WireType.LengthDelimited);
                    o.WriteLength(values.Length * 4);
                    foreach (float v in values)
                        o.WriteFloat(v);
                    break;
                case Storage.Raw:
                    {
                        byte[] raw = new byte[values.Length * 4];
                        Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
                        o.WriteTag(9, WireFormat.WireType.LengthDelimited);
                        o.WriteBytes(ByteString.CopyFrom(raw));
                        break;
                    }
                case Storage.Half:
                    {
                        byte[] raw = new byte[values.Length * 2];
                        for (int i = 0; i < values.Length; i++)
                            BitConverter.TryWriteBytes(raw.AsSpan(2 * i), (Half)values[i]);
                        o.WriteTag(9, WireFormat.WireType.LengthDelimited);
                        o.WriteBytes(ByteString.CopyFrom(raw));
                        break;
                    }
                case Storage.Double:
                    o.WriteTag(10, WireFormat.WireType.LengthDelimited);
                    o.WriteLength(values.Length * 8);
                    foreach (float v in values)
                        o.WriteDouble(v);
                    break;
            }
        }));
        return this;
    }

    public TestModelWriter Int64s(string name, params long[] values)
    {
        _initializers.Add(Message(o =>
        {
            Packed(o, 1, [values.Length]);
            o.WriteTag(2, WireFormat.WireType.Varint);
            o.WriteInt32(7);
            o.WriteTag(8, WireFormat.WireType.LengthDelimited);
            o.WriteString(name);
            Packed(o, 7, values);
        }));
        return this;
    }

    /// <summary>A node; attribute values are long, float, string, long[] or string[].</summary>
    public TestModelWriter Node(string op, string name, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        _nodes.Add(Message(o =>
        {
            foreach (string i in inputs)
            {
                o.WriteTag(1, WireFormat.WireType.LengthDelimited);
                o.WriteString(i);
            }
            foreach (string x in outputs)
            {
                o.WriteTag(2, WireFormat.WireType.LengthDelimited);
                o.WriteString(x);
            }
            o.WriteTag(3, WireFormat.WireType.LengthDelimited);
            o.WriteString(name);
            o.WriteTag(4, WireFormat.WireType.LengthDelimited);
            o.WriteString(op);
            foreach ((string an, object value) in attributes)
            {
                o.WriteTag(5, WireFormat.WireType.LengthDelimited);
                o.WriteBytes(ByteString.CopyFrom(Message(a =>
                {
                    a.WriteTag(1, WireFormat.WireType.LengthDelimited);
                    a.WriteString(an);
                    int type;
                    switch (value)
                    {
                        case long i:
                            a.WriteTag(3, WireFormat.WireType.Varint);
                            a.WriteInt64(i);
                            type = 2;
                            break;
                        case float f:
                            a.WriteTag(2, WireFormat.WireType.Fixed32);
                            a.WriteFloat(f);
                            type = 1;
                            break;
                        case string s:
                            a.WriteTag(4, WireFormat.WireType.LengthDelimited);
                            a.WriteString(s);
                            type = 3;
                            break;
                        case long[] ints:
                            foreach (long i in ints)
                            {
                                a.WriteTag(8, WireFormat.WireType.Varint);
                                a.WriteInt64(i);
                            }
                            type = 7;
                            break;
                        case string[] strings:
                            foreach (string s in strings)
                            {
                                a.WriteTag(9, WireFormat.WireType.LengthDelimited);
                                a.WriteString(s);
                            }
                            type = 8;
                            break;
                        default:
                            throw new ArgumentException("attribute value");
                    }
                    a.WriteTag(20, WireFormat.WireType.Varint);
                    a.WriteInt32(type);
                })));
            }
        }));
        return this;
    }

    public byte[] ToBytes()
    {
        byte[] graph = Message(g =>
        {
            foreach (byte[] n in _nodes)
                Embedded(g, 1, n);
            g.WriteTag(2, WireFormat.WireType.LengthDelimited);
            g.WriteString("test");
            foreach (byte[] t in _initializers)
                Embedded(g, 5, t);
            foreach (byte[] i in _inputs)
                Embedded(g, 11, i);
            foreach (byte[] o in _outputs)
                Embedded(g, 12, o);
        });
        return Message(m =>
        {
            m.WriteTag(1, WireFormat.WireType.Varint);
            m.WriteInt64(8);
            m.WriteTag(2, WireFormat.WireType.LengthDelimited);
            m.WriteString("tests");
            Embedded(m, 7, graph);
            Embedded(m, 8, Message(s =>
            {
                s.WriteTag(2, WireFormat.WireType.Varint);
                s.WriteInt64(Opset);
            }));
        });
    }

    private static byte[] ValueInfo(string name, int elemType, object[] dims) => Message(v =>
    {
        v.WriteTag(1, WireFormat.WireType.LengthDelimited);
        v.WriteString(name);
        Embedded(v, 2, Message(t => Embedded(t, 1, Message(tt =>
        {
            tt.WriteTag(1, WireFormat.WireType.Varint);
            tt.WriteInt32(elemType);
            Embedded(tt, 2, Message(shape =>
            {
                foreach (object d in dims)
                {
                    Embedded(shape, 1, Message(dim =>
                    {
                        if (d is string s)
                        {
                            dim.WriteTag(2, WireFormat.WireType.LengthDelimited);
                            dim.WriteString(s);
                        }
                        else
                        {
                            dim.WriteTag(1, WireFormat.WireType.Varint);
                            dim.WriteInt64(Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture));
                        }
                    }));
                }
            }));
        }))));
    });

    private static void Packed(CodedOutputStream o, int field, long[] values)
    {
        byte[] payload = Message(p =>
        {
            foreach (long v in values)
                p.WriteInt64(v);
        });
        Embedded(o, field, payload);
    }

    private static void Embedded(CodedOutputStream o, int field, byte[] payload)
    {
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(ByteString.CopyFrom(payload));
    }

    private static byte[] Message(Action<CodedOutputStream> write)
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream, leaveOpen: true);
        write(output);
        output.Flush();
        return stream.ToArray();
    }
}
