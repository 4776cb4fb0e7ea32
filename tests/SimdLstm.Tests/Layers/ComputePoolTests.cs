using System;
using System.Threading;
using Xunit;

namespace SimdLstm.Tests.Layers;

/// <summary>The pool itself: each share once, taken by whichever thread claims it first, errors reach the caller, Dispose, bad arguments.</summary>
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
        public int SleepMilliseconds { get; set; }

        public void Run(int part, int parts)
        {
            Assert.Equal(ThreadIds.Length, parts);
            if (part == PauseIn)
                Thread.Sleep(100);
            if (SleepMilliseconds > 0)
                Thread.Sleep(SleepMilliseconds);
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
    public void Run_EachShareOnce_ShareZeroOnCaller_OthersTakenByWorkers(int threads, int parts)
    {
        using var pool = new ComputePool(threads);
        Assert.Equal(threads, pool.ThreadCount);
        int onWorkers = 0;
        for (int repeat = 0; repeat < 50; repeat++)
        {
            // Each share takes a millisecond, so woken workers claim theirs while the caller runs share 0.
            var work = new RecordingWork(parts) { SleepMilliseconds = 1 };
            pool.Run(work, parts);
            Assert.All(work.Runs, r => Assert.Equal(1, r));
            Assert.Equal(Environment.CurrentManagedThreadId, work.ThreadIds[0]);
            for (int p = 1; p < parts; p++)
            {
                if (work.ThreadIds[p] != Environment.CurrentManagedThreadId)
                {
                    onWorkers++;
                    Assert.StartsWith("SimdLstm compute ", work.Threads[p]!.Name);
                }
            }
        }
        if (parts > 1)
            Assert.True(onWorkers > 0, "no share ran on a worker in 50 splits");
    }

    [Fact]
    public void Run_WorkerHeldUp_CallerRunsTheOpenShares_WithoutWaitingForIt()
    {
        using var pool = new ComputePool(3);
        using var release = new ManualResetEventSlim(false);
        int held = 0, hookReturned = 0;
        pool.BeforeWorkerClaims = _ =>
        {
            // Hold up every worker on the first split only (as if off its core); fail rather than hang if never released.
            if (Volatile.Read(ref held) == 0)
                release.Wait(TimeSpan.FromSeconds(10));
            Interlocked.Increment(ref hookReturned);
        };
        var work = new RecordingWork(3);
        pool.Run(work, 3);
        // Run returned while both workers were still held: the caller ran all three shares.
        Assert.Equal(0, Volatile.Read(ref hookReturned));
        Assert.All(work.Runs, r => Assert.Equal(1, r));
        Assert.All(work.ThreadIds, id => Assert.Equal(Environment.CurrentManagedThreadId, id));

        // Released late, the workers find that split closed and claim nothing of it; the next split runs whole once.
        Volatile.Write(ref held, 1);
        release.Set();
        SpinWait.SpinUntil(() => Volatile.Read(ref hookReturned) >= 2, TimeSpan.FromSeconds(10));
        Assert.All(work.Runs, r => Assert.Equal(1, r));
        var next = new RecordingWork(3);
        pool.Run(next, 3);
        Assert.All(next.Runs, r => Assert.Equal(1, r));
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
        var workers = new Thread?[3];
        pool.BeforeWorkerClaims = index => workers[index] = Thread.CurrentThread;
        var work = new RecordingWork(3);
        pool.Run(work, 3);
        // Every worker sees every split (whether or not it gets a share of it).
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref workers[1]) is not null && Volatile.Read(ref workers[2]) is not null, TimeSpan.FromSeconds(10)));
        Assert.True(workers[1]!.IsAlive && workers[2]!.IsAlive);
        pool.Dispose();
        Assert.True(pool.IsDisposed);
        Assert.False(workers[1]!.IsAlive);
        Assert.False(workers[2]!.IsAlive);
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
