using System;
using System.Threading;
using Xunit;

namespace SimdLstm.Tests.Layers;

/// <summary>The pool itself: shares run on distinct threads, errors reach the caller, Dispose, bad arguments.</summary>
public class ComputePoolTests
{
    /// <summary>Records which thread ran each share, optionally throwing or pausing in one share.</summary>
    private sealed class RecordingWork(int parts) : IComputeWork
    {
        public int[] ThreadIds { get; } = new int[parts];
        public Thread?[] Threads { get; } = new Thread?[parts];
        public int[] Runs { get; } = new int[parts];
        public int ThrowIn { get; set; } = -1;
        public int PauseIn { get; set; } = -1;

        public void Run(int part, int parts)
        {
            Assert.Equal(ThreadIds.Length, parts);
            if (part == PauseIn)
                Thread.Sleep(100);
            ThreadIds[part] = Environment.CurrentManagedThreadId;
            Threads[part] = Thread.CurrentThread;
            Interlocked.Increment(ref Runs[part]);
            if (part == ThrowIn)
                throw new InvalidOperationException($"share {part} failed");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Constructor_ThreadCountBelowOne_Throws(int threadCount)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ComputePool(threadCount));
        Assert.Equal("threadCount", e.ParamName);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(4, 4)]
    [InlineData(4, 2)]
    public void Run_EachShareOnce_ShareZeroOnCaller_OthersOnDistinctWorkers(int threads, int parts)
    {
        using var pool = new ComputePool(threads);
        Assert.Equal(threads, pool.ThreadCount);
        for (int repeat = 0; repeat < 50; repeat++)
        {
            var work = new RecordingWork(parts);
            pool.Run(work, parts);
            Assert.All(work.Runs, r => Assert.Equal(1, r));
            Assert.Equal(Environment.CurrentManagedThreadId, work.ThreadIds[0]);
            for (int p = 1; p < parts; p++)
            {
                Assert.NotEqual(Environment.CurrentManagedThreadId, work.ThreadIds[p]);
                for (int q = 1; q < p; q++)
                    Assert.NotEqual(work.ThreadIds[q], work.ThreadIds[p]);
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void Run_PartsOutsideOneToThreadCount_Throws(int parts)
    {
        using var pool = new ComputePool(2);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => pool.Run(new ThrowingWork(), parts));
        Assert.Equal("parts", e.ParamName);
    }

    [Fact]
    public void Run_AfterWorkersWentToSleep_StillRunsEveryShare()
    {
        using var pool = new ComputePool(3);
        for (int repeat = 0; repeat < 3; repeat++)
        {
            // Far longer than the spin budget, so the workers block on their events and must be woken.
            Thread.Sleep(20);
            var work = new RecordingWork(3);
            pool.Run(work, 3);
            Assert.All(work.Runs, r => Assert.Equal(1, r));
        }
    }

    [Fact]
    public void Run_WorkerShareThrows_ExceptionOnCaller_PoolStillUsable()
    {
        using var pool = new ComputePool(3);
        var work = new RecordingWork(3) { ThrowIn = 2 };
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run(work, 3));
        Assert.Equal("share 2 failed", e.Message);
        Assert.All(work.Runs, r => Assert.Equal(1, r));

        // The worker survived, and the error is not reported again.
        var next = new RecordingWork(3);
        pool.Run(next, 3);
        Assert.All(next.Runs, r => Assert.Equal(1, r));
    }

    [Fact]
    public void Run_CallerShareThrows_WaitsForWorkersBeforeThrowing()
    {
        using var pool = new ComputePool(2);
        var work = new RecordingWork(2) { ThrowIn = 0, PauseIn = 1 };
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run(work, 2));
        Assert.Equal("share 0 failed", e.Message);
        // The worker's share (paused 100 ms) had finished when the exception reached the caller.
        Assert.Equal(1, Volatile.Read(ref work.Runs[1]));
    }

    [Fact]
    public void Run_SeveralSharesThrow_LowestShareWins()
    {
        using var pool = new ComputePool(3);
        var work = new ThrowingWork();
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run(work, 3));
        Assert.Equal("share 1", e.Message);
    }

    private sealed class ThrowingWork : IComputeWork
    {
        public void Run(int part, int parts)
        {
            if (part > 0)
                throw new InvalidOperationException($"share {part}");
        }
    }

    [Fact]
    public void Dispose_JoinsWorkers_IsIdempotent_LaterRunThrows()
    {
        var pool = new ComputePool(3);
        var work = new RecordingWork(3);
        pool.Run(work, 3);
        pool.Dispose();
        Assert.True(pool.IsDisposed);
        Assert.False(work.Threads[1]!.IsAlive);
        Assert.False(work.Threads[2]!.IsAlive);
        pool.Dispose();
        var later = new RecordingWork(3);
        Assert.Throws<ObjectDisposedException>(() => pool.Run(later, 3));
        Assert.All(later.Runs, r => Assert.Equal(0, r));
    }

    [Fact]
    public void Dispose_DuringRunOnAnotherThread_WaitsForTheSplit()
    {
        var pool = new ComputePool(2);
        var work = new RecordingWork(2) { PauseIn = 1 };
        var caller = new Thread(() => pool.Run(work, 2));
        caller.Start();
        // Let the split start (the worker's share pauses 100 ms), then dispose from here.
        SpinWait.SpinUntil(() => Volatile.Read(ref work.Runs[0]) == 1, 5000);
        pool.Dispose();
        caller.Join();
        Assert.All(work.Runs, r => Assert.Equal(1, r));
    }
}
