using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Xunit;

namespace SimdLstm.Tests.Architecture;

/// <summary>
/// One direction of knowledge in src/SimdLstm: kernels ← cells (and the pool, parameters, serialization) ← layers and
/// models ← training parts ← the character-model application. A source file may name the types of its own level and of
/// the levels below it, never one declared above it (read from the source text, so a new file in a folder is covered
/// without listing it).
/// </summary>
public partial class LayeringTests
{
    // Folder (or "" for files at the root of src/SimdLstm) → level. A folder missing here fails the test, so a new folder
    // must be placed.
    private static readonly Dictionary<string, int> Levels = new()
    {
        [""] = 0,
        ["Kernels"] = 0,
        ["Cells"] = 1,
        ["Parallel"] = 1,
        ["Parameters"] = 1,
        ["Serialization"] = 1,
        ["Layers"] = 2,
        ["Training"] = 3,
        ["Interop"] = 3,
        ["Text"] = 4,
    };

    // Names that match a type of a higher level but are something else: (folder, name, why).
    private static readonly (string Folder, string Name, string Why)[] Homonyms =
    [
        ("Kernels", "SoftmaxCrossEntropy", "the kernel function Kernels.SoftmaxCrossEntropy, not the layer of that name"),
    ];

    [Fact]
    public void EverySourceFile_NamesOnlyTypesOfItsLevelOrBelow()
    {
        string root = Path.Combine(RepositoryRoot(), "src", "SimdLstm");
        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => (Path: f, Folder: FolderOf(root, f), Text: File.ReadAllText(f)))
            .ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
            Assert.True(Levels.ContainsKey(file.Folder), $"Folder '{file.Folder}' of {file.Path} has no level in {nameof(LayeringTests)}.");

        // Every type declared in each file, with its level.
        var declared = new Dictionary<string, (int Level, string Folder)>();
        foreach (var file in files)
            foreach (Match m in Declaration().Matches(file.Text))
                declared[m.Groups[1].Value] = (Levels[file.Folder], file.Folder);
        Assert.Contains("RecurrentLayer", declared.Keys); // the scan sees the code it is meant to guard
        Assert.Contains("Vocabulary", declared.Keys);

        var violations = new List<string>();
        foreach (var file in files)
        {
            int level = Levels[file.Folder];
            string code = Comments().Replace(file.Text, " ");
            foreach ((string type, (int typeLevel, string folder)) in declared)
            {
                if (typeLevel > level && !Homonyms.Any(h => h.Folder == file.Folder && h.Name == type) && Regex.IsMatch(code, $@"\b{Regex.Escape(type)}\b"))
                    violations.Add($"{Path.GetRelativePath(root, file.Path)} ({file.Folder}, level {level}) names {type} ({folder}, level {typeLevel})");
            }
        }
        Assert.True(violations.Count == 0, "Knowledge flows the wrong way:\n" + string.Join("\n", violations));
    }

    private static string FolderOf(string root, string file)
    {
        string relative = Path.GetRelativePath(root, file);
        int slash = relative.IndexOf(Path.DirectorySeparatorChar, StringComparison.Ordinal);
        return slash < 0 ? "" : relative[..slash];
    }

    internal static string RepositoryRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "SimdLstm.sln")))
                return d.FullName;
        }
        throw new InvalidOperationException($"No SimdLstm.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"\b(?:class|struct|record|enum|interface)\s+([A-Z]\w*)")]
    private static partial Regex Declaration();

    // Line comments (including XML docs, whose crefs may point anywhere for the reader) and block comments.
    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex Comments();
}
