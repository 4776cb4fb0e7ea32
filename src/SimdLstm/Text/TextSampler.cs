using System;
using System.Diagnostics;
using System.Text;

namespace SimdLstm.Text;

/// <summary>The text a <see cref="TextSampler"/> generated and how long it took.</summary>
/// <param name="Text">The generated characters (the prime text not included); each character is one Unicode scalar value, so the string may hold more UTF-16 code units than characters.</param>
/// <param name="MicrosecondsPerCharacter">Wall time per generated character: one streaming model step plus one draw.</param>
public sealed record SampleResult(string Text, double MicrosecondsPerCharacter);

/// <summary>
/// Generates text from a character-level <see cref="SequenceModel"/> one character at a time: each character is one
/// streaming step of a packed inference copy of the model (<see cref="SequenceModel.Pack(PackedPrecision)"/>, in the
/// precision the sampler was made with) followed by a draw from softmax(logits / temperature).
/// </summary>
/// <remarks>
/// The state, workspace, logits and probability buffers are allocated once; generating into a caller's span
/// (<see cref="Generate(Span{Rune}, float, int, ReadOnlySpan{char})"/>) allocates nothing. The draws come from a
/// generator of the sampler's own (SplitMix64) reseeded with the given seed at each call, so the same model, seed,
/// temperature and prime give the same text on every machine and .NET version. Not thread-safe.
/// </remarks>
public sealed class TextSampler
{
    private readonly PackedSequenceModel _model;
    private readonly Vocabulary _vocabulary;
    private readonly RecurrentState _state;
    private readonly PackedSequenceModelWorkspace _workspace;
    private readonly float[] _logits;
    private readonly int[] _token = new int[1];

    /// <summary>Creates a sampler.</summary>
    /// <param name="model">A model whose tokens (its input size, or its embedding's size) and output size both equal the
    /// vocabulary size. The sampler steps a packed inference copy of it (<see cref="SequenceModel.Pack"/>), taken again
    /// from the model's current weights at the start of every generation, so it samples what the model is now.</param>
    /// <param name="vocabulary">Maps ids to characters.</param>
    /// <param name="precision">How the packed copy holds the recurrent weights: float32 (the model's own values), bfloat16
    /// or int8 (smaller weights to stream per step, at some cost in accuracy); the head stays float32.</param>
    /// <exception cref="ArgumentException">The model's sizes do not match the vocabulary.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="precision"/> is not a defined precision.</exception>
    public TextSampler(SequenceModel model, Vocabulary vocabulary, PackedPrecision precision = PackedPrecision.Float32)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocabulary);
        Guard.Length(model.VocabularySize > 0 ? model.VocabularySize : model.Options.InputSize, vocabulary.Count, nameof(model));
        Guard.Length(model.OutputSize, vocabulary.Count, nameof(model));
        if (!Enum.IsDefined(precision))
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "Expected Float32, BFloat16 or Int8.");
        _model = model.Pack(precision);
        _vocabulary = vocabulary;
        _state = _model.CreateState(1);
        _workspace = _model.CreateWorkspace(1);
        _logits = new float[vocabulary.Count];
    }

    /// <summary>The precision of the packed copy the sampler steps (as the packed copy reports it).</summary>
    public PackedPrecision Precision => _model.Precision;

    /// <summary>Generates <paramref name="length"/> characters and measures the time per character.</summary>
    /// <param name="length">Characters (Unicode scalar values) to generate; 0 or more.</param>
    /// <param name="temperature">Divides the logits: below 1 sharpens, above 1 flattens; &gt; 0 and finite.</param>
    /// <param name="seed">Seeds the draws.</param>
    /// <param name="prime">Text fed through the model first (every character must be in the vocabulary); empty starts from a newline if the vocabulary has one, otherwise from id 0.</param>
    public SampleResult Generate(int length, float temperature, int seed, string? prime = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var runes = new Rune[length];
        double microseconds = Generate(runes, temperature, seed, prime);
        var text = new StringBuilder(length);
        foreach (Rune rune in runes)
            text.Append(rune.ToString());
        return new SampleResult(text.ToString(), microseconds);
    }

    /// <summary>
    /// Generates <paramref name="destination"/>.Length characters into <paramref name="destination"/> and returns the
    /// microseconds per generated character. Allocates nothing.
    /// </summary>
    /// <exception cref="ArgumentException">A prime character is not in the vocabulary, or the temperature is not &gt; 0 and finite. Nothing is written.</exception>
    public double Generate(Span<Rune> destination, float temperature, int seed, ReadOnlySpan<char> prime)
    {
        if (!(temperature > 0) || !float.IsFinite(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "Expected a finite temperature greater than 0.");
        int unknown = _vocabulary.IndexOfUnknown(prime);
        if (unknown >= 0)
        {
            string what = Rune.DecodeFromUtf16(prime[unknown..], out Rune rune, out _) == System.Buffers.OperationStatus.Done
                ? Vocabulary.Describe(rune) : $"U+{(int)prime[unknown]:X4} (an unpaired surrogate)";
            throw new ArgumentException($"The prime character {what} at index {unknown} is not in the vocabulary.", nameof(prime));
        }
        var random = new SplitMix64(seed);
        _model.Refresh(); // the model may have trained since the last call
        _state.Reset();
        int token = 0;
        if (prime.IsEmpty)
        {
            if (_vocabulary.TryGetId(new Rune('\n'), out int newline))
                token = newline;
            Feed(token);
        }
        else
        {
            foreach (Rune rune in prime.EnumerateRunes())
            {
                _vocabulary.TryGetId(rune, out token);
                Feed(token);
            }
        }

        long start = Stopwatch.GetTimestamp();
        float inverseTemperature = 1f / temperature;
        for (int i = 0; i < destination.Length; i++)
        {
            // The logits of the last fed character give the distribution of the next one.
            token = Draw(_logits, inverseTemperature, ref random);
            destination[i] = _vocabulary[token];
            if (i + 1 < destination.Length)
                Feed(token);
        }
        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        return destination.IsEmpty ? 0 : elapsed.TotalMicroseconds / destination.Length;
    }

    private void Feed(int token)
    {
        _token[0] = token;
        _model.Step(_token, _state, _workspace, _logits);
    }

    /// <summary>Draws an id from softmax(logits · inverseTemperature) by inverting the cumulative distribution; overwrites the logits.</summary>
    private static int Draw(float[] logits, float inverseTemperature, ref SplitMix64 random)
    {
        // Subtract the maximum before exp so nothing overflows; accumulate in double so the cumulative sum is exact enough
        // that the last class is reachable.
        float max = float.NegativeInfinity;
        foreach (float z in logits)
            max = Math.Max(max, z);
        double sum = 0;
        for (int v = 0; v < logits.Length; v++)
        {
            float e = MathF.Exp((logits[v] - max) * inverseTemperature);
            logits[v] = e;
            sum += e;
        }
        double u = random.NextDouble() * sum;
        double cumulative = 0;
        for (int v = 0; v < logits.Length; v++)
        {
            cumulative += logits[v];
            if (u < cumulative)
                return v;
        }
        // u equals the sum only through rounding: take the last class with non-zero weight.
        for (int v = logits.Length - 1; v > 0; v--)
        {
            if (logits[v] > 0)
                return v;
        }
        return 0;
    }

    /// <summary>SplitMix64 (Steele, Lea and Flood 2014): a small, fast generator whose sequence is fixed by its seed; a struct, so reseeding allocates nothing.</summary>
    private struct SplitMix64(int seed)
    {
        private ulong _state = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL);

        /// <summary>A double uniform in [0, 1) with 53 random bits.</summary>
        public double NextDouble()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (z >> 11) * (1.0 / (1UL << 53));
        }
    }
}
