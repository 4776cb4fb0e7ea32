using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using SimdLstm.Serialization;
using Xunit;

namespace SimdLstm.Tests.Serialization;

/// <summary>
/// What a save may replace and what it leaves behind, and how loading reports files that are not ours: a save never
/// replaces a device, pipe or directory, leaves no temporary file, fits the temporary name into the file-name limit and
/// cleans up after killed saves; a load names the file.
/// </summary>
public sealed class SafeTensorsFileSafetyTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("simdlstm-safety-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static SafeTensorsWriter Small() => new SafeTensorsWriter().AddCopy("w", [2], [1f, 2f]);

    [Fact]
    public void Save_OntoAPipe_RefusesAndLeavesThePipe()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "needs mkfifo");
        string fifo = Path.Combine(_directory, "model.safetensors");
        Run("mkfifo", fifo);
        var e = Assert.Throws<IOException>(() => Small().Save(fifo));
        Assert.Contains($"'{fifo}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("not a regular file", e.Message, StringComparison.Ordinal);
        Assert.Equal("fifo", Run("stat", "-c", "%F", fifo).Trim());
        Assert.Equal([fifo], Directory.GetFiles(_directory));
    }

    [Fact]
    public void Save_OntoACharacterDevice_IsRefusedBeforeWriting()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "needs /dev/full");
        // Only the check runs: a regression here must not be able to replace the real device node.
        var e = Assert.Throws<IOException>(() => SafeTensorsWriter.CheckDestination("/dev/full"));
        Assert.Equal("Cannot save '/dev/full': it is not a regular file (a device, pipe or socket), so it is not replaced.", e.Message);
        Assert.Equal(FileKindValue.Special, FileKind.Of("/dev/full"));
        Assert.Equal(FileKindValue.Regular, FileKind.Of(typeof(FileKind).Assembly.Location));
        Assert.Equal(FileKindValue.Directory, FileKind.Of(_directory));
        Assert.Equal(FileKindValue.Missing, FileKind.Of(Path.Combine(_directory, "none")));
    }

    [Fact]
    public void Save_OntoADirectory_RefusesNamingIt()
    {
        string directory = Path.Combine(_directory, "sub");
        Directory.CreateDirectory(directory);
        var e = Assert.Throws<IOException>(() => Small().Save(directory));
        Assert.Equal($"Cannot save '{directory}': it is a directory, not a file.", e.Message);
        Assert.Empty(Directory.GetFiles(_directory, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void Save_IntoAMissingDirectory_NamesThePathNotATemporaryFile()
    {
        string path = Path.Combine(_directory, "missing", "model.safetensors");
        var e = Assert.Throws<IOException>(() => Small().Save(path));
        Assert.Contains($"'{path}'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(".tmp", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(243)]
    [InlineData(255)]
    public void Save_LongestFileNames_Work(int length)
    {
        string name = new string('m', length - ".safetensors".Length) + ".safetensors";
        Assert.Equal(length, Encoding.UTF8.GetByteCount(name));
        string path = Path.Combine(_directory, name);
        Small().Save(path);
        Small().Save(path); // and replacing it
        Assert.Equal([path], Directory.GetFiles(_directory));
        Assert.Equal([1f, 2f], SafeTensorsFile.Load(path).Read("w"));
    }

    [Fact]
    public void Save_LongNonAsciiName_CutsTheTemporaryNameAtACharacterBoundary()
    {
        string name = string.Concat(Enumerable.Repeat("é", 120)) + ".st"; // 243 UTF-8 bytes
        string path = Path.Combine(_directory, name);
        Small().Save(path);
        Assert.Equal([path], Directory.GetFiles(_directory));
    }

    [Fact]
    public void Save_ThroughASymbolicLink_ReplacesTheTargetAndKeepsTheLink()
    {
        string target = Path.Combine(_directory, "real.safetensors"), link = Path.Combine(_directory, "link.safetensors");
        new SafeTensorsWriter().AddCopy("w", [1], [0f]).Save(target);
        File.CreateSymbolicLink(link, target);
        Small().Save(link);
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.Equal([1f, 2f], SafeTensorsFile.Load(target).Read("w"));
    }

    [Fact]
    public void Save_DeletesStaleTemporariesOfKilledSaves_OnlyOfThatFileAndOnlyOldOnes()
    {
        string path = Path.Combine(_directory, "model.safetensors");
        string stale = Path.Combine(_directory, ".model.safetensors.abcd1234.tmp");
        string fresh = Path.Combine(_directory, ".model.safetensors.wxyz9876.tmp");
        string open = Path.Combine(_directory, ".model.safetensors.open0000.tmp");
        string other = Path.Combine(_directory, ".other.safetensors.abcd1234.tmp");
        string unrelated = Path.Combine(_directory, ".model.safetensors.notours.tmp");
        foreach (string f in new[] { stale, fresh, open, other, unrelated })
            File.WriteAllBytes(f, Small().ToArray()); // a complete checkpoint, as a save killed just before its rename leaves
        DateTime old = DateTime.UtcNow - TimeSpan.FromHours(1);
        foreach (string f in new[] { stale, open, other, unrelated })
            File.SetLastWriteTimeUtc(f, old);
        using (new FileStream(open, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
            Small().Save(path);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(fresh));    // might be another process's save in progress
        Assert.True(File.Exists(open));     // held by a save in progress
        Assert.True(File.Exists(other));    // another file's
        Assert.True(File.Exists(unrelated)); // not a name a save makes
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void Load_Directory_IsAnIOExceptionNamingIt()
    {
        var e = Assert.Throws<IOException>(() => SafeTensorsFile.Load(_directory));
        Assert.IsNotType<UnauthorizedAccessException>(e);
        Assert.Equal($"'{_directory}' is a directory, not a safetensors file.", e.Message);
    }

    [Fact]
    public void Load_CorruptFile_NamesItAndSaysItIsNotSafetensorsBeforeTheDetail()
    {
        string path = Path.Combine(_directory, "bad.safetensors");
        byte[] bytes = new byte[100];
        bytes[0] = 200; // header length 200, more than the 92 bytes that follow
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Load(path));
        Assert.Equal($"'{path}' is not a valid safetensors file: The header length 200 exceeds the 92 bytes that follow the length field.", e.Message);
    }

    [Fact]
    public void HugeShape_IsRejectedAtTheRankLimit_WithBoundedMemoryAndMessage()
    {
        // A 20 MB header whose one tensor has 10 million dimensions of 1.
        var header = new StringBuilder("{\"t\":{\"dtype\":\"F32\",\"shape\":[");
        header.Insert(header.Length, "1,", 10_000_000).Append("1],\"data_offsets\":[0,4]}}");
        byte[] file = SafeTensorsTestFiles.Assemble(header.ToString(), new byte[4]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Parse(file));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal($"Tensor 't' has more than {SafeTensorsFile.MaxRank} dimensions.", e.Message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");

        // 64 dimensions are still fine.
        string ok = "{\"t\":{\"dtype\":\"F32\",\"shape\":[" + string.Join(",", Enumerable.Repeat(1, 64)) + "],\"data_offsets\":[0,4]}}";
        Assert.Equal(64, SafeTensorsFile.Parse(SafeTensorsTestFiles.Assemble(ok, new byte[4])).Tensors[0].Shape.Length);
    }

    private static string Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true };
        foreach (string a in args)
            start.ArgumentList.Add(a);
        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return output;
    }
}
