using System.IO;
using System.Text;

namespace SimdLstm.Cli;

/// <summary>The training text: the embedded Genesis (KJV) corpus or a UTF-8 file.</summary>
internal static class Corpus
{
    /// <summary>The manifest name given to Corpus/genesis-kjv.txt in the project file.</summary>
    public const string EmbeddedName = "SimdLstm.Cli.genesis-kjv.txt";

    /// <summary>The embedded Book of Genesis, King James Version (public domain), one verse per line.</summary>
    public static string LoadEmbedded()
    {
        using Stream stream = typeof(Corpus).Assembly.GetManifestResourceStream(EmbeddedName)
            ?? throw new CliException($"The embedded corpus '{EmbeddedName}' is missing from the program.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return Normalize(reader.ReadToEnd());
    }

    /// <summary>The text of <paramref name="path"/>, or the embedded corpus when the path is null.</summary>
    public static string Load(string? path)
    {
        if (path is null)
            return LoadEmbedded();
        if (!File.Exists(path))
            throw new CliException($"Corpus file '{path}' does not exist.");
        string text = Normalize(File.ReadAllText(path, Encoding.UTF8));
        if (text.Length == 0)
            throw new CliException($"Corpus file '{path}' is empty.");
        return text;
    }

    // Windows line endings would add a '\r' class the model must learn to emit before every '\n'.
    private static string Normalize(string text) => text.Replace("\r\n", "\n", System.StringComparison.Ordinal);
}
