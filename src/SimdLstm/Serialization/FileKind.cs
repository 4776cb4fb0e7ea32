using System;
using System.IO;
using System.Runtime.InteropServices;

namespace SimdLstm.Serialization;

/// <summary>What a path names, as far as a save that renames over it is concerned.</summary>
internal enum FileKindValue
{
    /// <summary>Nothing exists at the path.</summary>
    Missing,

    /// <summary>A regular file (the only thing a save may replace).</summary>
    Regular,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A device, pipe, socket or anything else that is neither a regular file nor a directory.</summary>
    Special,
}

/// <summary>
/// Tells a regular file from a device node, pipe or socket without opening it (opening a pipe blocks). .NET reports every
/// non-directory as a plain file on Unix, so on Linux the file type comes from <c>statx</c>, whose buffer layout is the
/// same on every architecture; elsewhere (or if <c>statx</c> is unavailable) only what <see cref="FileAttributes"/> says
/// is used: a directory, and on Windows a device.
/// </summary>
internal static partial class FileKind
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const int ModeOffset = 28; // struct statx: u32 mask, u32 blksize, u64 attributes, u32 nlink, u32 uid, u32 gid, u16 mode
    private const int TypeMask = 0xF000, TypeRegular = 0x8000, TypeDirectory = 0x4000;

    private static bool s_statxUnavailable;

    /// <summary>The kind of <paramref name="path"/> itself (a symbolic link is not followed: it counts as <see cref="FileKindValue.Special"/>).</summary>
    public static FileKindValue Of(string path)
    {
        FileAttributes attributes;
        try
        {
            attributes = File.GetAttributes(path);
        }
        catch (FileNotFoundException)
        {
            return FileKindValue.Missing;
        }
        catch (DirectoryNotFoundException)
        {
            return FileKindValue.Missing;
        }
        if ((attributes & FileAttributes.Directory) != 0)
            return FileKindValue.Directory;
        if ((attributes & (FileAttributes.Device | FileAttributes.ReparsePoint)) != 0)
            return FileKindValue.Special;
        if (OperatingSystem.IsLinux() && !s_statxUnavailable)
        {
            int? mode = StatxMode(path);
            if (mode is int m)
            {
                return (m & TypeMask) switch
                {
                    TypeRegular => FileKindValue.Regular,
                    TypeDirectory => FileKindValue.Directory,
                    _ => FileKindValue.Special,
                };
            }
        }
        return FileKindValue.Regular;
    }

    private static unsafe int? StatxMode(string path)
    {
        byte* buffer = stackalloc byte[256];
        try
        {
            if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, buffer) != 0)
                return null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_statxUnavailable = true;
            return null;
        }
        return *(ushort*)(buffer + ModeOffset);
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int directory, string path, int flags, uint mask, byte* buffer);
}
