using System;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace SimdLstm;

/// <summary>
/// A fixed set of threads that share the work of one training pass: the opt-in multi-threaded mode. A pool of N threads
/// owns N − 1 dedicated background workers; the thread that calls into the library is the N-th and does a share of every
/// split itself. Pass a pool when making a workspace (<see cref="RecurrentLayer.CreateWorkspace(int, int, ComputePool?)"/>);
/// weights stay shareable and a workspace made without a pool runs on the calling thread alone, as before.
/// </summary>
/// <remarks>
/// <para><b>Results do not depend on the thread count.</b> Work is split so that every output element is computed by
/// exactly the same floating-point operations, in the same order, as on one thread (see
/// <see cref="RecurrentLayer.Forward(ReadOnlySpan{float}, int, RecurrentState, RecurrentWorkspace, Span{float}, bool)"/>):
/// a pass with 1, 2 or 16 threads gives bitwise the same outputs, states and gradients as a pass without a pool.</para>
/// <para><b>Shares are taken as they come.</b> Share 0 runs on the caller; every other share goes to whichever thread
/// claims it first: a worker, or the caller once its own share is done. A worker that is slow to start (asleep, or held
/// off its core by another process) therefore does not hold the split up: the caller runs the shares nobody has claimed.
/// Only a share already claimed is waited for, so a worker preempted in the middle of its share still delays the split.</para>
/// <para><b>A measured fallback.</b> The pool times its splits: the caller's own share, and the split from start to end.
/// One thread would have taken about the caller's share times the number of shares. When, over a window of
/// <see cref="FallbackWindow"/> splits, the splits took 95 % of that or more (the other threads were held off their cores, or
/// the work was too small to repay the hand-off), the next splits are offered one share: the caller runs the whole work
/// alone, as without a pool, for 20 ms, then the pool tries its threads again over a window. Each window that shows no
/// gain doubles that time (up to 1 s); one that shows a gain resets it. Since results do not depend on the split, this
/// changes only the speed. Measured on a 2-core machine with the other core busy, it did not change the two-thread
/// pass beyond that machine's noise (2 threads 0.91–1.18× the time of 1 before it, 0.92–1.11× after, at H = 128 and 256); with the core free it costs
/// nothing measurable.</para>
/// <para><b>Dispatch allocates nothing.</b> A workspace holds one pre-allocated work object; handing it to the workers is
/// a counter increment and, for a worker that has gone to sleep, an event signal. An idle worker spins for about
/// <see cref="SpinMicroseconds"/> µs (so back-to-back phases of a pass start at once) and then blocks, so an idle pool
/// does not burn cores.</para>
/// <para><b>One caller at a time.</b> A pool runs one split at a time. If a second thread calls in while the pool is busy
/// (two workspaces sharing a pool, used concurrently), that call does not wait and does not fail: it runs its whole split
/// on its own thread. Since results do not depend on the split, it computes the same values, only without help.</para>
/// <para><b>Errors.</b> An exception thrown by a worker's share is caught on the worker (the process does not die, the
/// worker stays usable) and rethrown on the calling thread, with its original stack, once every share of that split has
/// finished. If several shares throw, the lowest-numbered share's exception is rethrown.</para>
/// <para><b>Dispose</b> waits for a split in progress to finish, then stops and joins the workers. Using a workspace made
/// with a disposed pool for a pass throws <see cref="ObjectDisposedException"/> before anything is written. Dispose is
/// idempotent. Workers are background threads, so a pool that is never disposed does not keep the process alive, but
/// its threads (blocked, not spinning) live until the process ends.</para>
/// </remarks>
public sealed class ComputePool : IDisposable
{
    /// <summary>How long an idle thread spins, in µs, before it blocks on an event.</summary>
    /// <remarks>
    /// Long enough to bridge the serial gaps between the phases of a pass (copies, packing W_hh: a few µs at small sizes),
    /// short enough that a pool idle between passes sleeps almost at once. Waking a blocked thread costs tens of µs on
    /// Linux, which is why the phases of one pass should not pay it.
    /// </remarks>
    public const int SpinMicroseconds = 50;

    private readonly Thread[] _workers;
    private readonly ManualResetEventSlim[] _wake;
    private readonly ManualResetEventSlim _done = new(false);
    private readonly ExceptionDispatchInfo?[] _errors;
    private readonly long _spinTicks = Math.Max(1, Stopwatch.Frequency * SpinMicroseconds / 1_000_000);

    // Published to the workers by incrementing _generation (an interlocked, full-fence write); read after it.
    private IComputeWork? _work;
    private int _parts;
    private long _generation;
    // The claim word of the split in progress: the generation's low 32 bits in the high half, the next unclaimed share
    // in the low half. A share is claimed by a compare-exchange that keeps the generation, so a worker that wakes late,
    // for a split already over, cannot claim a share of the next.
    private long _claims;
    private int _completed;
    private int _busy;
    private volatile bool _disposed;

    // Test hook: called on a worker after it sees a new split and before it claims a share (to hold a worker up).
    internal Action<int>? BeforeWorkerClaims;

    /// <summary>Splits per window of the measured fallback (see the remarks).</summary>
    internal const int FallbackWindow = 32;

    // The measured fallback, updated by the caller that holds the pool: the window's splits, their wall time and the time
    // one thread would have taken (the caller's share × shares), all in Stopwatch ticks; until when splits are offered one
    // share (0: not falling back), and for how long the next fallback lasts.
    internal static readonly long FirstFallbackTicks = Stopwatch.Frequency / 50;
    internal static readonly long LongestFallbackTicks = Stopwatch.Frequency;
    private int _windowSplits;
    private long _windowWall, _windowAlone;
    private long _aloneUntil;
    private long _fallbackTicks = FirstFallbackTicks;

    /// <summary>Creates a pool of <paramref name="threadCount"/> threads: the caller plus <paramref name="threadCount"/> − 1 workers started now.</summary>
    /// <param name="threadCount">The number of threads that share each split, at least 1. 1 makes a pool with no workers:
    /// passes run on the caller, as without a pool. More threads than cores is allowed and stays correct, but is slower.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threadCount"/> is less than 1.</exception>
    public ComputePool(int threadCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        ThreadCount = threadCount;
        _workers = new Thread[threadCount - 1];
        _wake = new ManualResetEventSlim[threadCount - 1];
        _errors = new ExceptionDispatchInfo?[threadCount];
        for (int i = 0; i < _workers.Length; i++)
        {
            _wake[i] = new ManualResetEventSlim(false);
            int index = i + 1;
            _workers[i] = new Thread(() => WorkerLoop(index))
            {
                IsBackground = true,
                Name = $"SimdLstm compute {index}",
            };
        }
        foreach (Thread worker in _workers)
            worker.Start();
    }

    /// <summary>The number of threads sharing each split, the caller included.</summary>
    public int ThreadCount { get; }

    /// <summary>Whether <see cref="Dispose"/> has been called.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>Stops and joins the workers, after any split in progress has finished. Idempotent.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        // Take the pool as a caller would, so no split is in flight while the workers stop.
        var spin = new SpinWait();
        while (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
            spin.SpinOnce();
        try
        {
            if (_disposed)
                return;
            _disposed = true;
            _work = null;
            Interlocked.Increment(ref _generation);
            foreach (ManualResetEventSlim wake in _wake)
                wake.Set();
            foreach (Thread worker in _workers)
                worker.Join();
            foreach (ManualResetEventSlim wake in _wake)
                wake.Dispose();
            _done.Dispose();
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>
    /// The shares to split <paramref name="items"/> independent items into: as many as threads (at most the items), or 1
    /// while the measured fallback holds (see the remarks), when the caller should run the whole work itself.
    /// </summary>
    internal int SharesFor(int items) => SharesFor(items, Stopwatch.GetTimestamp());

    internal int SharesFor(int items, long now)
    {
        if (ThreadCount == 1 || items <= 1)
            return 1;
        long until = Volatile.Read(ref _aloneUntil);
        if (until != 0 && now < until)
            return 1;
        return Math.Min(ThreadCount, items);
    }

    /// <summary>Whether splits are being offered one share now (the measured fallback holds).</summary>
    internal bool IsFallingBack(long now) => SharesFor(2, now) == 1 && ThreadCount > 1;

    /// <summary>
    /// Adds one split to the fallback's window: the caller's own share took <paramref name="own"/> ticks and the whole split
    /// <paramref name="wall"/>, with <paramref name="parts"/> shares; at the window's end decides whether to fall back.
    /// </summary>
    internal void RecordSplit(long own, long wall, int parts, long now)
    {
        _windowWall += wall;
        _windowAlone += own * parts;
        if (++_windowSplits < FallbackWindow)
            return;
        // No gain: the splits took 95 % or more of what one thread would have.
        if (_windowWall * 100 >= _windowAlone * 95)
        {
            Volatile.Write(ref _aloneUntil, now + _fallbackTicks);
            _fallbackTicks = Math.Min(2 * _fallbackTicks, LongestFallbackTicks);
        }
        else
        {
            Volatile.Write(ref _aloneUntil, 0);
            _fallbackTicks = FirstFallbackTicks;
        }
        _windowSplits = 0;
        _windowWall = _windowAlone = 0;
    }

    /// <summary>Throws <see cref="ObjectDisposedException"/> if the pool has been disposed.</summary>
    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>
    /// Runs <c>work.Run(p, parts)</c> for every p in [0, <paramref name="parts"/>) exactly once: share 0 on the calling
    /// thread, each other share on the first thread to claim it (a worker, or the caller after its own share), and returns
    /// when all have finished. Allocates nothing.
    /// </summary>
    /// <param name="work">The work; its <c>Run</c> must be safe to call concurrently for different shares.</param>
    /// <param name="parts">The number of shares, 1 ≤ parts ≤ <see cref="ThreadCount"/>.</param>
    internal void Run(IComputeWork work, int parts)
    {
        ArgumentNullException.ThrowIfNull(work);
        // A share past the worker count would never run: refuse it rather than return with work undone.
        ArgumentOutOfRangeException.ThrowIfLessThan(parts, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(parts, ThreadCount);
        ThrowIfDisposed();
        if (parts == 1 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            // Nothing to share, or another caller holds the pool: the whole split runs here, with the same values.
            for (int p = 0; p < parts; p++)
                work.Run(p, parts);
            return;
        }

        ExceptionDispatchInfo? error = null;
        try
        {
            if (_disposed)
            {
                for (int p = 0; p < parts; p++)
                    work.Run(p, parts);
                return;
            }

            _work = work;
            _parts = parts;
            _done.Reset();
            Volatile.Write(ref _completed, 0);
            long tag = (Volatile.Read(ref _generation) + 1 & 0xFFFFFFFF) << 32;
            // Share 0 is the caller's; shares 1 … parts − 1 go to whoever claims them first. The claim word is set before
            // the generation is published, so a worker that sees the generation sees its claims.
            Interlocked.Exchange(ref _claims, tag | 1);
            Interlocked.Increment(ref _generation);
            foreach (ManualResetEventSlim wake in _wake)
                wake.Set();

            long start = Stopwatch.GetTimestamp();
            RunShare(work, 0, parts);
            long own = Stopwatch.GetTimestamp() - start;
            // Then every share no worker has claimed yet.
            for (int p; (p = Claim(tag, parts)) >= 0;)
                RunShare(work, p, parts);

            // Only shares a worker claimed can remain: wait for them.
            if (Volatile.Read(ref _completed) != parts && !SpinUntil(ref _completed, parts))
            {
                while (Volatile.Read(ref _completed) != parts)
                    _done.Wait();
            }
            // No share is open or running now; close the split so that a late worker claims nothing.
            Interlocked.Exchange(ref _claims, tag | 0xFFFFFFFF);
            _work = null;
            long end = Stopwatch.GetTimestamp();
            RecordSplit(own, end - start, parts, end);
            error = TakeFirstError();
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }

        error?.Throw();
    }

    // Claims the next share of the split tagged `tag`, or returns −1 when every share is claimed or the split is over.
    private int Claim(long tag, int parts)
    {
        while (true)
        {
            long word = Volatile.Read(ref _claims);
            int next = (int)(word & 0xFFFFFFFF);
            if ((word & ~0xFFFFFFFFL) != tag || next < 0 || next >= parts)
                return -1;
            if (Interlocked.CompareExchange(ref _claims, word + 1, word) == word)
                return next;
        }
    }

    // Runs one share, keeping its exception for the caller, and counts it done (waking the caller after the last).
    private void RunShare(IComputeWork work, int part, int parts)
    {
        try
        {
            work.Run(part, parts);
        }
        catch (Exception e)
        {
            _errors[part] = ExceptionDispatchInfo.Capture(e);
        }
        if (Interlocked.Increment(ref _completed) == parts)
            _done.Set();
    }

    // Called while the pool is still held, so the next split cannot mix its errors with this one's.
    private ExceptionDispatchInfo? TakeFirstError()
    {
        ExceptionDispatchInfo? first = null;
        for (int p = 0; p < _errors.Length; p++)
        {
            first ??= _errors[p];
            _errors[p] = null;
        }
        return first;
    }

    private void WorkerLoop(int index)
    {
        ManualResetEventSlim wake = _wake[index - 1];
        long seen = 0;
        while (true)
        {
            long generation = Volatile.Read(ref _generation);
            if (generation == seen && !SpinUntilChanged(ref _generation, seen, out generation))
            {
                // Reset, then look again: a generation published after the look also sets the event, so no wake-up is lost.
                wake.Reset();
                generation = Volatile.Read(ref _generation);
                if (generation == seen)
                {
                    wake.Wait();
                    continue;
                }
            }
            seen = generation;
            if (_disposed)
                return;

            BeforeWorkerClaims?.Invoke(index);
            // The shares of this split that are still open. The work and count read after a successful claim are this
            // split's: the caller publishes them before the claim word and cannot start another split before this share
            // completes.
            long tag = (generation & 0xFFFFFFFF) << 32;
            for (int p; (p = Claim(tag, Volatile.Read(ref _parts))) >= 0;)
                RunShare(_work!, p, _parts);
        }
    }

    // Spins (pausing the core between looks) until `location` equals `target` or the spin budget runs out.
    private bool SpinUntil(ref int location, int target)
    {
        long start = Stopwatch.GetTimestamp();
        for (int spins = 1; Volatile.Read(ref location) != target; spins++)
        {
            if (Stopwatch.GetTimestamp() - start > _spinTicks)
                return false;
            Pause(spins);
        }
        return true;
    }

    private bool SpinUntilChanged(ref long location, long seen, out long value)
    {
        long start = Stopwatch.GetTimestamp();
        for (int spins = 1; (value = Volatile.Read(ref location)) == seen; spins++)
        {
            if (Stopwatch.GetTimestamp() - start > _spinTicks)
                return false;
            Pause(spins);
        }
        return true;
    }

    // One look's pause while spinning: a short processor pause, so a hand-off between two running threads takes well under
    // a microsecond; and every 8th look a yield of the time slice, because when the machine is busier than the pool's
    // threads (another process on a core, or more threads than cores) the thread this one waits for may be queued behind
    // it on the same core: without the yield it would only run when the spinner's slice ran out, which measured about
    // 115 µs per hand-off on this 2-core machine with one core busy.
    private static void Pause(int spins)
    {
        if (spins % 8 == 0)
            Thread.Yield();
        else
            Thread.SpinWait(4);
    }
}

/// <summary>A split of work into shares, run by <see cref="ComputePool.Run"/>.</summary>
internal interface IComputeWork
{
    /// <summary>Runs share <paramref name="part"/> of <paramref name="parts"/>; shares must write disjoint memory.</summary>
    void Run(int part, int parts);
}
