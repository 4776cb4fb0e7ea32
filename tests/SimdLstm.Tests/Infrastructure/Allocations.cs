using System;
using Xunit;

namespace SimdLstm.Tests;

/// <summary>Steady-state allocation checks through <see cref="GC.GetAllocatedBytesForCurrentThread"/>.</summary>
internal static class Allocations
{
    /// <summary>
    /// Asserts that <paramref name="count"/> calls of <paramref name="iteration"/> allocate nothing on this thread, in at
    /// least one of <paramref name="windows"/> consecutive measurement windows.
    /// </summary>
    /// <remarks>
    /// Why more than one window: tiered compilation promotes methods on a wall-clock timer, and on a loaded machine the
    /// promotion can land inside a window and bill a one-off allocation to the measuring thread, which no warm-up count
    /// rules out. A genuine per-call allocation dirties every window and still fails; a retry is written to the test
    /// output so that a routine one stays visible.
    /// </remarks>
    public static void AssertNone(Action iteration, int count = 100, int windows = 3)
    {
        ArgumentNullException.ThrowIfNull(iteration);
        var seen = new long[windows];
        for (int w = 0; w < windows; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < count; i++)
                iteration();
            seen[w] = GC.GetAllocatedBytesForCurrentThread() - before;
            if (seen[w] == 0)
            {
                if (w > 0)
                    TestContext.Current.TestOutputHelper?.WriteLine($"clean on window {w + 1}; earlier windows allocated {string.Join(", ", seen[..w])} bytes");
                return;
            }
        }
        Assert.Fail($"{count} calls allocated {string.Join(", ", seen)} bytes in each of {windows} consecutive windows.");
    }
}
