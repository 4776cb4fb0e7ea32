using System.Text.Json;

namespace SimdLstm.Serialization;

/// <summary>
/// The element types a safetensors header may name, with their spelling in the "dtype" field
/// (https://github.com/huggingface/safetensors, README "Format"). All are little-endian.
/// </summary>
/// <remarks>
/// The reader accepts exactly these dtypes; any other string (including the sub-byte F4/F6 types of
/// newer revisions of the format) is rejected as a <see cref="SafeTensorsFormatException"/>. Of these,
/// <see cref="F32"/>, <see cref="F64"/>, <see cref="F16"/> and <see cref="BF16"/> can be read as float.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1707:Identifiers should not contain underscores", Justification = "The names mirror the format's dtype strings (F8_E5M2).")]
public enum SafeTensorsDType
{
    /// <summary>"BOOL": one byte per element.</summary>
    BOOL,

    /// <summary>"U8": unsigned 8-bit integer.</summary>
    U8,

    /// <summary>"I8": signed 8-bit integer.</summary>
    I8,

    /// <summary>"F8_E5M2": 8-bit float with 5 exponent and 2 mantissa bits.</summary>
    F8_E5M2,

    /// <summary>"F8_E4M3": 8-bit float with 4 exponent and 3 mantissa bits.</summary>
    F8_E4M3,

    /// <summary>"I16": signed 16-bit integer.</summary>
    I16,

    /// <summary>"U16": unsigned 16-bit integer.</summary>
    U16,

    /// <summary>"F16": IEEE 754 binary16; read as float exactly.</summary>
    F16,

    /// <summary>"BF16": bfloat16 (the upper half of a binary32); read as float exactly.</summary>
    BF16,

    /// <summary>"I32": signed 32-bit integer.</summary>
    I32,

    /// <summary>"U32": unsigned 32-bit integer.</summary>
    U32,

    /// <summary>"F32": IEEE 754 binary32; read as float bit for bit. The only dtype the writer produces.</summary>
    F32,

    /// <summary>"F64": IEEE 754 binary64; read as float rounded to nearest (out-of-range magnitudes become ±∞).</summary>
    F64,

    /// <summary>"I64": signed 64-bit integer.</summary>
    I64,

    /// <summary>"U64": unsigned 64-bit integer.</summary>
    U64,
}

/// <summary>Spelling and sizes of <see cref="SafeTensorsDType"/>.</summary>
internal static class SafeTensorsDTypes
{
    private static readonly string[] Names =
        ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"];

    public static string Name(SafeTensorsDType dtype) => Names[(int)dtype];

    public static int Size(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.BOOL or SafeTensorsDType.U8 or SafeTensorsDType.I8 or SafeTensorsDType.F8_E5M2 or SafeTensorsDType.F8_E4M3 => 1,
        SafeTensorsDType.I16 or SafeTensorsDType.U16 or SafeTensorsDType.F16 or SafeTensorsDType.BF16 => 2,
        SafeTensorsDType.I32 or SafeTensorsDType.U32 or SafeTensorsDType.F32 => 4,
        _ => 8,
    };

    public static bool IsReadableAsSingle(SafeTensorsDType dtype) =>
        dtype is SafeTensorsDType.F32 or SafeTensorsDType.F64 or SafeTensorsDType.F16 or SafeTensorsDType.BF16;

    /// <summary>Parses the current JSON string token as a dtype; ordinal and case-sensitive, escapes resolved.</summary>
    public static bool TryParse(ref Utf8JsonReader reader, out SafeTensorsDType dtype)
    {
        for (int i = 0; i < Names.Length; i++)
        {
            if (reader.ValueTextEquals(Names[i]))
            {
                dtype = (SafeTensorsDType)i;
                return true;
            }
        }
        dtype = default;
        return false;
    }
}
