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

    // The measured fallback, driven with explicit timings (in ticks) so that no test depends on this machine's load.
    [Fact]
    public void Fallback_WindowWithoutGain_OffersOneShare_ForTheFallbackTime_ThenTriesAgain()
    {
        using var pool = new ComputePool(2);
        long now = 1_000_000;
        Assert.Equal(2, pool.SharesFor(5, now));
        // A window in which every split took as long as one thread would have (the caller ran both shares).
        for (int i = 0; i < ComputePool.FallbackWindow - 1; i++)
            pool.RecordSplit(own: 100, wall: 200, parts: 2, now);
        Assert.Equal(2, pool.SharesFor(5, now)); // not before the window is full
        pool.RecordSplit(own: 100, wall: 200, parts: 2, now);
        Assert.Equal(1, pool.SharesFor(5, now));
        Assert.True(pool.IsFallingBack(now + ComputePool.FirstFallbackTicks - 1));
        Assert.Equal(1, pool.SharesFor(5, now + ComputePool.FirstFallbackTicks - 1));
        Assert.Equal(2, pool.SharesFor(5, now + ComputePool.FirstFallbackTicks));

        // Another window without gain: twice as long; then one with gain: back to the first length.
        now += ComputePool.FirstFallbackTicks;
        for (int i = 0; i < ComputePool.FallbackWindow; i++)
            pool.RecordSplit(own: 100, wall: 190, parts: 2, now); // 95 % of one thread's time: no gain
        Assert.Equal(1, pool.SharesFor(5, now + 2 * ComputePool.FirstFallbackTicks - 1));
        Assert.Equal(2, pool.SharesFor(5, now + 2 * ComputePool.FirstFallbackTicks));
        now += 2 * ComputePool.FirstFallbackTicks;
        for (int i = 0; i < ComputePool.FallbackWindow; i++)
            pool.RecordSplit(own: 100, wall: 120, parts: 2, now);
        Assert.Equal(2, pool.SharesFor(5, now));
        for (int i = 0; i < ComputePool.FallbackWindow; i++)
            pool.RecordSplit(own: 100, wall: 200, parts: 2, now);
        Assert.Equal(1, pool.SharesFor(5, now + ComputePool.FirstFallbackTicks - 1));
        Assert.Equal(2, pool.SharesFor(5, now + ComputePool.FirstFallbackTicks));
    }

    [Fact]
    public void Fallback_LengthDoublesUpToTheLongest()
    {
        using var pool = new ComputePool(2);
        long now = 0, length = ComputePool.FirstFallbackTicks;
        for (int window = 0; window < 12; window++)
        {
            for (int i = 0; i < ComputePool.FallbackWindow; i++)
                pool.RecordSplit(own: 10, wall: 25, parts: 2, now);
            Assert.Equal(1, pool.SharesFor(4, now + length - 1));
            Assert.Equal(2, pool.SharesFor(4, now + length));
            now += length;
            length = Math.Min(2 * length, ComputePool.LongestFallbackTicks);
        }
        Assert.Equal(ComputePool.LongestFallbackTicks, length);
    }

    [Fact]
    public void Fallback_SplitsThatGain_KeepEveryThread_AndOneItemIsOneShare()
    {
        using var pool = new ComputePool(3);
        for (int i = 0; i < 10 * ComputePool.FallbackWindow; i++)
            pool.RecordSplit(own: 100, wall: 110, parts: 3, 0); // 110 against 300 for one thread
        Assert.Equal(3, pool.SharesFor(7, 0));
        Assert.Equal(2, pool.SharesFor(2, 0));
        Assert.Equal(1, pool.SharesFor(1, 0));
        using var single = new ComputePool(1);
        Assert.Equal(1, single.SharesFor(7, 0));
        Assert.False(single.IsFallingBack(0));
    }

    [Fact]
    public void Fallback_WorkersHeldOffForAWindow_CallerThenRunsTheWorkAlone()
    {
        using var pool = new ComputePool(2);
        using var release = new ManualResetEventSlim(false);
        // The worker is held as if another process had its core: the caller runs both shares of every split.
        pool.BeforeWorkerClaims = _ => release.Wait(TimeSpan.FromSeconds(10));
        // Share 1 (which the caller ends up running) takes 2 ms, share 0 next to nothing: each split takes far longer than
        // the caller's share × 2, whatever the timer's noise.
        for (int i = 0; i < ComputePool.FallbackWindow; i++)
        {
            var work = new SlowShareWork();
            pool.Run(work, 2);
            Assert.Equal(Environment.CurrentManagedThreadId, work.ThreadIds[1]);
        }
        release.Set();
        Assert.True(pool.IsFallingBack(System.Diagnostics.Stopwatch.GetTimestamp()));
    }

    private sealed class SlowShareWork : IComputeWork
    {
        public int[] ThreadIds { get; } = new int[2];

        public void Run(int part, int parts)
        {
            if (part == 1)
                Thread.Sleep(2);
            ThreadIds[part] = Environment.CurrentManagedThreadId;
        }
    }
}
