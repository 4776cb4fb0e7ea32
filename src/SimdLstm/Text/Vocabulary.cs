using System;
using System.Collections.Generic;

namespace SimdLstm.Text;

/// <summary>
/// A character vocabulary: each distinct UTF-16 code unit of a text gets an id in [0, <see cref="Count"/>), in ordinal
/// order of the characters, so the same text always gives the same ids.
/// </summary>
/// <remarks>
/// Characters are UTF-16 code units: a character outside the Basic Multilingual Plane is two ids (its surrogates), which a
/// character-level model learns to emit in pairs. <see cref="Serialize"/> writes the characters in id order as one string
/// (the checkpoint's <c>vocabulary</c> metadata); <see cref="Deserialize"/> reads it back. Instances are immutable.
/// </remarks>
public sealed class Vocabulary
{
    private readonly char[] _chars;
    private readonly Dictionary<char, int> _ids;

    private Vocabulary(char[] chars)
    {
        _chars = chars;
        _ids = new Dictionary<char, int>(chars.Length);
        for (int i = 0; i < chars.Length; i++)
        {
            if (!_ids.TryAdd(chars[i], i))
                throw new ArgumentException($"The character U+{(int)chars[i]:X4} appears twice in the vocabulary.", nameof(chars));
        }
    }

    /// <summary>Number of distinct characters (the model's input and output size V).</summary>
    public int Count => _chars.Length;

    /// <summary>The character of id <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not in [0, <see cref="Count"/>).</exception>
    public char this[int id]
    {
        get
        {
            if ((uint)id >= (uint)_chars.Length)
                throw new ArgumentOutOfRangeException(nameof(id), id, $"Expected an id in [0, {_chars.Length}).");
            return _chars[id];
        }
    }

    /// <summary>Builds the vocabulary of every distinct character in <paramref name="text"/>, sorted by code unit.</summary>
    /// <exception cref="ArgumentException"><paramref name="text"/> is empty.</exception>
    public static Vocabulary FromText(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
            throw new ArgumentException("Expected a non-empty text but got 0 characters.", nameof(text));
        var seen = new bool[char.MaxValue + 1];
        int count = 0;
        foreach (char c in text)
        {
            if (!seen[c])
            {
                seen[c] = true;
                count++;
            }
        }
        var chars = new char[count];
        int n = 0;
        for (int c = 0; c <= char.MaxValue; c++)
        {
            if (seen[c])
                chars[n++] = (char)c;
        }
        return new Vocabulary(chars);
    }

    /// <summary>The vocabulary written by <see cref="Serialize"/>: its characters in id order, each once.</summary>
    /// <exception cref="ArgumentException"><paramref name="serialized"/> is empty or repeats a character.</exception>
    public static Vocabulary Deserialize(string serialized)
    {
        ArgumentNullException.ThrowIfNull(serialized);
        if (serialized.Length == 0)
            throw new ArgumentException("Expected at least one character but got an empty vocabulary.", nameof(serialized));
        var chars = serialized.ToCharArray();
        var seen = new HashSet<char>();
        foreach (char c in chars)
        {
            if (!seen.Add(c))
                throw new ArgumentException($"The character U+{(int)c:X4} appears twice in the vocabulary.", nameof(serialized));
        }
        return new Vocabulary(chars);
    }

    /// <summary>The characters in id order, as one string (round-trips through <see cref="Deserialize"/>).</summary>
    public string Serialize() => new(_chars);

    /// <summary>Whether <paramref name="c"/> is in the vocabulary, and its id.</summary>
    public bool TryGetId(char c, out int id) => _ids.TryGetValue(c, out id);

    /// <summary>The id of <paramref name="c"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="c"/> is not in the vocabulary.</exception>
    public int IdOf(char c) =>
        _ids.TryGetValue(c, out int id) ? id : throw new ArgumentException($"The character U+{(int)c:X4} '{c}' is not in the vocabulary of {Count} characters.", nameof(c));

    /// <summary>The ids of every character of <paramref name="text"/>.</summary>
    /// <exception cref="ArgumentException">A character is not in the vocabulary (its position is named).</exception>
    public int[] Encode(ReadOnlySpan<char> text)
    {
        var ids = new int[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            if (!_ids.TryGetValue(text[i], out ids[i]))
                throw new ArgumentException($"The character U+{(int)text[i]:X4} at index {i} is not in the vocabulary of {Count} characters.", nameof(text));
        }
        return ids;
    }

    /// <summary>The text of ids <paramref name="ids"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in [0, <see cref="Count"/>).</exception>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var chars = new char[ids.Length];
        for (int i = 0; i < ids.Length; i++)
            chars[i] = this[ids[i]];
        return new string(chars);
    }
}
