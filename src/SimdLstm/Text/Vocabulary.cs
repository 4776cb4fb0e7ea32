using System;
using System.Collections.Generic;
using System.Text;

namespace SimdLstm.Text;

/// <summary>
/// A character vocabulary: each distinct Unicode scalar value (<see cref="Rune"/>) of a text gets an id in
/// [0, <see cref="Count"/>), in order of the scalar values, so the same text always gives the same ids.
/// </summary>
/// <remarks>
/// A character is a Unicode scalar value, not a UTF-16 code unit: an emoji or any other character outside the Basic
/// Multilingual Plane is one id, and a text with an unpaired surrogate (which no UTF-8 file can hold) is refused.
/// <see cref="Serialize"/> writes the characters in id order as one string (the checkpoint's <c>vocabulary</c>
/// metadata); <see cref="Deserialize"/> reads it back, so a checkpoint's vocabulary round-trips any text. Instances are
/// immutable.
/// </remarks>
public sealed class Vocabulary
{
    private readonly Rune[] _runes;
    private readonly Dictionary<Rune, int> _ids;

    private Vocabulary(Rune[] runes)
    {
        _runes = runes;
        _ids = new Dictionary<Rune, int>(runes.Length);
        for (int i = 0; i < runes.Length; i++)
        {
            if (!_ids.TryAdd(runes[i], i))
                throw new ArgumentException($"The character {Describe(runes[i])} appears twice in the vocabulary.", nameof(runes));
        }
    }

    /// <summary>Number of distinct characters (the model's input and output size V).</summary>
    public int Count => _runes.Length;

    /// <summary>The character of id <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not in [0, <see cref="Count"/>).</exception>
    public Rune this[int id]
    {
        get
        {
            if ((uint)id >= (uint)_runes.Length)
                throw new ArgumentOutOfRangeException(nameof(id), id, $"Expected an id in [0, {_runes.Length}).");
            return _runes[id];
        }
    }

    /// <summary>Builds the vocabulary of every distinct character in <paramref name="text"/>, sorted by scalar value.</summary>
    /// <exception cref="ArgumentException"><paramref name="text"/> is empty or has an unpaired surrogate (its index is named).</exception>
    public static Vocabulary FromText(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
            throw new ArgumentException("Expected a non-empty text but got 0 characters.", nameof(text));
        var seen = new HashSet<Rune>();
        int index = 0;
        while (index < text.Length)
        {
            Rune rune = Next(text, index, nameof(text));
            seen.Add(rune);
            index += rune.Utf16SequenceLength;
        }
        var runes = new Rune[seen.Count];
        seen.CopyTo(runes);
        Array.Sort(runes);
        return new Vocabulary(runes);
    }

    /// <summary>The vocabulary written by <see cref="Serialize"/>: its characters in id order, each once.</summary>
    /// <exception cref="ArgumentException"><paramref name="serialized"/> is empty, repeats a character or has an unpaired surrogate.</exception>
    public static Vocabulary Deserialize(string serialized)
    {
        ArgumentNullException.ThrowIfNull(serialized);
        if (serialized.Length == 0)
            throw new ArgumentException("Expected at least one character but got an empty vocabulary.", nameof(serialized));
        var runes = new List<Rune>();
        var seen = new HashSet<Rune>();
        int index = 0;
        while (index < serialized.Length)
        {
            Rune rune = Next(serialized, index, nameof(serialized));
            if (!seen.Add(rune))
                throw new ArgumentException($"The character {Describe(rune)} appears twice in the vocabulary.", nameof(serialized));
            runes.Add(rune);
            index += rune.Utf16SequenceLength;
        }
        return new Vocabulary([.. runes]);
    }

    /// <summary>The characters in id order, as one string (round-trips through <see cref="Deserialize"/>).</summary>
    public string Serialize()
    {
        var builder = new StringBuilder(_runes.Length);
        foreach (Rune rune in _runes)
            builder.Append(rune.ToString());
        return builder.ToString();
    }

    /// <summary>Whether <paramref name="rune"/> is in the vocabulary, and its id.</summary>
    public bool TryGetId(Rune rune, out int id) => _ids.TryGetValue(rune, out id);

    /// <summary>The id of <paramref name="rune"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="rune"/> is not in the vocabulary.</exception>
    public int IdOf(Rune rune) =>
        _ids.TryGetValue(rune, out int id) ? id : throw new ArgumentException($"The character {Describe(rune)} is not in the vocabulary of {Count} characters.", nameof(rune));

    /// <summary>
    /// The first character of <paramref name="text"/> that is not in the vocabulary, as its UTF-16 index, or −1 when
    /// every character is (an unpaired surrogate counts as not in it).
    /// </summary>
    public int IndexOfUnknown(ReadOnlySpan<char> text)
    {
        int index = 0;
        while (index < text.Length)
        {
            if (Rune.DecodeFromUtf16(text[index..], out Rune rune, out int used) != System.Buffers.OperationStatus.Done || !_ids.ContainsKey(rune))
                return index;
            index += used;
        }
        return -1;
    }

    /// <summary>The ids of every character of <paramref name="text"/>, one per Unicode scalar value.</summary>
    /// <exception cref="ArgumentException">A character is not in the vocabulary, or an unpaired surrogate (its index is named).</exception>
    public int[] Encode(ReadOnlySpan<char> text)
    {
        var ids = new List<int>(text.Length);
        int index = 0;
        while (index < text.Length)
        {
            Rune rune = Next(text, index, nameof(text));
            if (!_ids.TryGetValue(rune, out int id))
                throw new ArgumentException($"The character {Describe(rune)} at index {index} is not in the vocabulary of {Count} characters.", nameof(text));
            ids.Add(id);
            index += rune.Utf16SequenceLength;
        }
        return [.. ids];
    }

    /// <summary>The text of ids <paramref name="ids"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in [0, <see cref="Count"/>).</exception>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var builder = new StringBuilder(ids.Length);
        foreach (int id in ids)
            builder.Append(this[id].ToString());
        return builder.ToString();
    }

    /// <summary>"U+1F600 '😀'", or just the code point for a control character.</summary>
    public static string Describe(Rune rune) =>
        Rune.IsControl(rune) ? $"U+{rune.Value:X4}" : $"U+{rune.Value:X4} '{rune}'";

    private static Rune Next(ReadOnlySpan<char> text, int index, string paramName)
    {
        if (Rune.DecodeFromUtf16(text[index..], out Rune rune, out _) != System.Buffers.OperationStatus.Done)
            throw new ArgumentException($"The text has an unpaired surrogate U+{(int)text[index]:X4} at index {index}; a character must be a Unicode scalar value.", paramName);
        return rune;
    }
}
