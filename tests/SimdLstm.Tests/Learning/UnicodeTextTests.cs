using System;
using System.IO;
using System.Linq;
using System.Text;
using SimdLstm.Serialization;
using SimdLstm.Text;
using Xunit;

namespace SimdLstm.Tests.Learning;

/// <summary>A character is a Unicode scalar value: emoji and other astral characters are one token each, in the vocabulary, the encoder, the sampler and the checkpoint.</summary>
public sealed class UnicodeTextTests
{
    // Two different emoji share their high surrogate (U+D83D): a vocabulary of UTF-16 code units would hold the lone
    // surrogates, which no UTF-8 checkpoint can store.
    private const string Text = "smile 😀 and laugh 😂, café, naïve, 𝄞 clef\n";

    [Fact]
    public void Vocabulary_CountsEachScalarValueOnce_AndRoundTripsAnyText()
    {
        Vocabulary v = Vocabulary.FromText(Text);
        Assert.Equal(Text.EnumerateRunes().Distinct().Count(), v.Count);
        Assert.True(v.TryGetId(Rune.GetRuneAt("😀", 0), out _));
        Assert.True(v.TryGetId(Rune.GetRuneAt("𝄞", 0), out _));
        int[] ids = v.Encode(Text);
        Assert.Equal(Text.EnumerateRunes().Count(), ids.Length);
        Assert.Equal(Text, v.Decode(ids));
        Vocabulary back = Vocabulary.Deserialize(v.Serialize());
        Assert.Equal(ids, back.Encode(Text));
        // Sorted by scalar value.
        Assert.Equal(Enumerable.Range(0, v.Count).Select(i => v[i]).Order(), Enumerable.Range(0, v.Count).Select(i => v[i]));
    }

    [Fact]
    public void Vocabulary_UnpairedSurrogate_IsRefusedNamingItsIndex()
    {
        var e = Assert.Throws<ArgumentException>(() => Vocabulary.FromText("ab\uD83Dc"));
        Assert.Contains("unpaired surrogate U+D83D at index 2", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Vocabulary.FromText("ab").Encode("a\uDE00"));
        Assert.Contains("index 1", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Vocabulary.Deserialize("a\uD83D"));
    }

    [Fact]
    public void Checkpoint_OfAnEmojiVocabulary_SavesLoadsAndSamplesValidText()
    {
        Vocabulary v = Vocabulary.FromText(Text);
        var model = new SequenceModel(RecurrentOptions.Lstm(v.Count, 8), v.Count, seed: 5);
        string directory = Directory.CreateTempSubdirectory("simdlstm-unicode-").FullName;
        try
        {
            string path = Path.Combine(directory, "emoji.safetensors");
            ModelCheckpoint.Save(path, model, v); // before: "The string has an unpaired surrogate at index 17"
            LoadedModel loaded = ModelCheckpoint.Load(path);
            Assert.Equal(v.Serialize(), loaded.Vocabulary!.Serialize());

            var sampler = new TextSampler(loaded.Model, loaded.Vocabulary);
            string sample = sampler.Generate(400, 2f, seed: 1, prime: "😂").Text;
            Assert.Equal(400, sample.EnumerateRunes().Count());
            Assert.Equal(-1, loaded.Vocabulary.IndexOfUnknown(sample)); // every character whole (no lone surrogate) and known
            Assert.Contains(sample.EnumerateRunes(), r => r.Utf16SequenceLength == 2);
            var e = Assert.Throws<ArgumentException>(() => sampler.Generate(5, 1f, 1, prime: "🙂"));
            Assert.Contains("U+1F642", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
