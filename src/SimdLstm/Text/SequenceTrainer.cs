using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using SimdLstm.Training;

namespace SimdLstm.Text;

/// <summary>Settings of a <see cref="SequenceTrainer"/>.</summary>
public sealed record SequenceTrainerOptions
{
    /// <summary>T, the truncated-BPTT chunk length (gradients flow back at most T steps). Default 50.</summary>
    public int SequenceLength { get; init; } = 50;

    /// <summary>B, the number of parallel streams per chunk. Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>The global L2 norm the gradients are clipped to before each update (<see cref="GradientClipping.ClipByGlobalNorm"/>); +∞ turns clipping off. Default 5.</summary>
    public float MaxGradientNorm { get; init; } = 5f;

    /// <summary>What a non-finite gradient norm does: skip the update and count it, or throw <see cref="NonFiniteGradientException"/>. Default skip.</summary>
    public NonFiniteNormPolicy NonFinitePolicy { get; init; } = NonFiniteNormPolicy.SkipStep;

    /// <summary>Steps between two progress reports (with the mean training loss since the previous one). Default 10.</summary>
    public int ReportEvery { get; init; } = 10;

    /// <summary>Steps between two validation evaluations; 0 evaluates only at the end. Default 100.</summary>
    public int EvaluateEvery { get; init; } = 100;

    /// <summary>At most this many validation chunks per evaluation (from the start of the validation text); 0 means all. Default 0.</summary>
    public int MaxEvaluationChunks { get; init; }
}

/// <summary>One progress report of <see cref="SequenceTrainer.Train"/>.</summary>
/// <param name="Step">Training steps completed.</param>
/// <param name="TotalSteps">Steps this call will run.</param>
/// <param name="TrainingLoss">Mean training cross-entropy (nats per token) over the steps since the previous report.</param>
/// <param name="ValidationLoss">The latest validation loss (nats per token), NaN before the first evaluation.</param>
/// <param name="TokensPerSecond">Training throughput since the start of the call: T·B tokens per step over wall time (evaluation time excluded).</param>
/// <param name="Elapsed">Wall time since the start of the call.</param>
/// <param name="Remaining">Estimated wall time left, from the mean time per step so far.</param>
/// <param name="SkippedSteps">Updates skipped so far because the gradient norm was not finite.</param>
/// <param name="IsEvaluation">Whether this report follows a validation evaluation.</param>
public readonly record struct TrainingProgress(
    int Step, int TotalSteps, float TrainingLoss, float ValidationLoss, double TokensPerSecond, TimeSpan Elapsed, TimeSpan Remaining, int SkippedSteps, bool IsEvaluation)
{
    /// <summary>The trainer's <see cref="SequenceTrainer.StepsDone"/> when <see cref="ValidationLoss"/> was measured (over every call, unlike <see cref="Step"/>); −1 before the first evaluation.</summary>
    public int ValidationStep { get; init; } = -1;
}

/// <summary>A point of a loss curve.</summary>
/// <param name="Step">Training steps completed when the loss was measured.</param>
/// <param name="Loss">Mean cross-entropy in nats per token.</param>
public readonly record struct LossPoint(int Step, float Loss);

/// <summary>What a call to <see cref="SequenceTrainer.Train"/> did.</summary>
/// <param name="Steps">Steps run.</param>
/// <param name="TrainingCurve">Mean training loss over each reporting interval.</param>
/// <param name="ValidationCurve">Every validation loss measured, including one before the first step and one at the end.</param>
/// <param name="SkippedSteps">Updates skipped because the gradient norm was not finite.</param>
/// <param name="TokensPerSecond">Training tokens (T·B per step) per second of training time.</param>
/// <param name="Elapsed">Total wall time, evaluations included.</param>
public sealed record TrainingSummary(
    int Steps, IReadOnlyList<LossPoint> TrainingCurve, IReadOnlyList<LossPoint> ValidationCurve, int SkippedSteps, double TokensPerSecond, TimeSpan Elapsed);

/// <summary>
/// Truncated backpropagation through time for a token <see cref="SequenceModel"/>: B parallel streams cut from one token
/// array (<see cref="StreamBatcher"/>), the state carried from chunk to chunk with the gradient cut at the boundary,
/// gradient clipping by global norm, one optimiser update per chunk, and a validation loss over held-out tokens.
/// </summary>
/// <remarks>
/// <para>
/// One <see cref="Step"/>: fill chunk k of [T, B] inputs and targets; zero the gradients; forward from the carried state
/// and backward within the chunk (<see cref="SequenceModel.ForwardBackward(ReadOnlySpan{int}, ReadOnlySpan{int}, int, RecurrentState, SequenceModelWorkspace, SequenceModelGradients)"/>);
/// clip; update. After the last chunk of an epoch the streams start again from the beginning with a zero state.
/// Everything is allocated in the constructor, so a step allocates nothing.
/// </para>
/// <para>
/// Deterministic: the chunk order is fixed and the model's kernels are deterministic, so the same model initialisation,
/// optimiser and data give bit-identical losses on one machine (the last bits may differ between instruction sets).
/// </para>
/// <para>
/// Multi-threaded passes: a trainer made with a <see cref="ComputePool"/> runs its training and validation passes on
/// that pool's threads (the recurrent layers' work is shared among them; clipping, the update and the head run on the
/// calling thread). The pool splits work so that every value is computed as on one thread, so a run's losses, weights
/// and optimiser state are bitwise the same whatever the pool's thread count, and a run saved with one thread count
/// continues exactly with another.
/// </para>
/// <para>Not thread-safe: one trainer drives one model from one thread (the pool's workers only help within a pass).</para>
/// </remarks>
public sealed class SequenceTrainer
{
    private readonly SequenceModel _model;
    private readonly Optimizer _optimizer;
    private readonly SequenceTrainerOptions _options;
    private readonly StreamBatcher _train;
    private readonly StreamBatcher? _validation;
    private readonly RecurrentState _state;
    private readonly RecurrentState? _validationState;
    private readonly SequenceModelWorkspace _workspace;
    private readonly SequenceModelGradients _gradients;
    private int _chunk;

    /// <summary>Creates a trainer whose passes run on the calling thread alone.</summary>
    /// <param name="model">The model; its input and output sizes must both cover every token id.</param>
    /// <param name="optimizer">The optimiser, for <see cref="ParameterBuffer.Length"/> parameters.</param>
    /// <param name="trainingTokens">Training text as token ids; at least B·T + 1. Not copied.</param>
    /// <param name="validationTokens">Held-out tokens; empty for none, otherwise at least T + 1. Not copied.</param>
    /// <param name="options">Settings; defaults when null.</param>
    /// <exception cref="ArgumentException">A size mismatch, too few tokens, or a token id outside the model's range.</exception>
    public SequenceTrainer(SequenceModel model, Optimizer optimizer, ReadOnlyMemory<int> trainingTokens, ReadOnlyMemory<int> validationTokens, SequenceTrainerOptions? options = null)
        : this(model, optimizer, trainingTokens, validationTokens, options, pool: null)
    {
    }

    /// <summary>
    /// Creates a trainer whose training and validation passes share their work among the threads of
    /// <paramref name="pool"/>; the results are bitwise those of a trainer without one.
    /// </summary>
    /// <param name="model">The model; its input and output sizes must both cover every token id.</param>
    /// <param name="optimizer">The optimiser, for <see cref="ParameterBuffer.Length"/> parameters.</param>
    /// <param name="trainingTokens">Training text as token ids; at least B·T + 1. Not copied.</param>
    /// <param name="validationTokens">Held-out tokens; empty for none, otherwise at least T + 1. Not copied.</param>
    /// <param name="options">Settings; defaults when null.</param>
    /// <param name="pool">The threads of the passes; null runs them on the calling thread. The caller keeps ownership:
    /// the trainer never disposes it, and a step after the pool is disposed throws <see cref="ObjectDisposedException"/>.</param>
    /// <exception cref="ArgumentException">A size mismatch, too few tokens, or a token id outside the model's range.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="pool"/> has been disposed.</exception>
    public SequenceTrainer(SequenceModel model, Optimizer optimizer, ReadOnlyMemory<int> trainingTokens, ReadOnlyMemory<int> validationTokens, SequenceTrainerOptions? options, ComputePool? pool)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        options ??= new SequenceTrainerOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SequenceLength, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ReportEvery, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.EvaluateEvery, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxEvaluationChunks, nameof(options));
        if (!(options.MaxGradientNorm > 0))
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxGradientNorm, "Expected MaxGradientNorm greater than 0.");
        Guard.Length(optimizer.ParameterCount, model.Parameters.Length, nameof(optimizer));
        pool?.ThrowIfDisposed();
        CheckTokens(trainingTokens.Span, model, nameof(trainingTokens));
        CheckTokens(validationTokens.Span, model, nameof(validationTokens));
        int t = options.SequenceLength, b = options.BatchSize;
        _model = model;
        _optimizer = optimizer;
        _options = options;
        _train = new StreamBatcher(trainingTokens, b, t);
        if (!validationTokens.IsEmpty)
        {
            // As many validation streams as fit (up to B), so a short held-out text still gives whole chunks.
            int validationBatch = Math.Clamp((validationTokens.Length - 1) / t, 1, b);
            _validation = new StreamBatcher(validationTokens, validationBatch, t);
            _validationState = model.CreateState(validationBatch);
        }
        _state = model.CreateState(b);
        _workspace = model.CreateWorkspace(t, b, pool);
        Pool = pool;
        _gradients = model.CreateGradients();
    }

    /// <summary>The model being trained.</summary>
    public SequenceModel Model => _model;

    /// <summary>The settings.</summary>
    public SequenceTrainerOptions Options => _options;

    /// <summary>The pool the passes run on, or null when they run on the calling thread alone.</summary>
    public ComputePool? Pool { get; }

    /// <summary>Steps run so far (over every call).</summary>
    public int StepsDone { get; private set; }

    /// <summary>Updates skipped so far because the gradient norm was not finite.</summary>
    public int SkippedSteps { get; private set; }

    /// <summary>Chunks per pass over the training text.</summary>
    public int ChunksPerEpoch => _train.ChunksPerEpoch;

    /// <summary>Tokens consumed by one step: T·B.</summary>
    public int TokensPerStep => _options.SequenceLength * _options.BatchSize;

    /// <summary>The gradient norm before clipping at the last step (NaN or +∞ if that update was skipped).</summary>
    public float LastGradientNorm { get; private set; }

    /// <summary>The chunk of the training text the next <see cref="Step"/> trains on, in [0, <see cref="ChunksPerEpoch"/>): the data position.</summary>
    public int NextChunk => _chunk;

    /// <summary>
    /// The state carried from one chunk to the next (B streams). Part of what a saved run must keep, with the parameters,
    /// the optimiser's state, <see cref="StepsDone"/>, <see cref="SkippedSteps"/> and <see cref="NextChunk"/>, to continue
    /// exactly; writable, so a restore can set it.
    /// </summary>
    public RecurrentState CarriedState => _state;

    /// <summary>
    /// Continues a saved run: sets <see cref="StepsDone"/>, <see cref="SkippedSteps"/> and <see cref="NextChunk"/>. The
    /// caller restores the parameters, the optimiser (<see cref="Optimizer.StateBuffers"/>, <see cref="Optimizer.Restore"/>)
    /// and <see cref="CarriedState"/>; the next steps are then bitwise those the saved run would have taken.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative, more steps were skipped than done, or the chunk is not in [0, <see cref="ChunksPerEpoch"/>).</exception>
    public void Restore(int stepsDone, int skippedSteps, int nextChunk)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stepsDone);
        ArgumentOutOfRangeException.ThrowIfNegative(skippedSteps);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(skippedSteps, stepsDone);
        if ((uint)nextChunk >= (uint)_train.ChunksPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(nextChunk), nextChunk, $"Expected a chunk in [0, {_train.ChunksPerEpoch}).");
        StepsDone = stepsDone;
        SkippedSteps = skippedSteps;
        _chunk = nextChunk;
    }

    /// <summary>
    /// One training step on the next chunk: forward, backward, clip, update. Returns the chunk's mean cross-entropy
    /// (before the update). Allocates nothing.
    /// </summary>
    /// <exception cref="NonFiniteGradientException">The gradient norm is not finite and the policy is <see cref="NonFiniteNormPolicy.Throw"/>; the parameters are unchanged.</exception>
    /// <exception cref="ObjectDisposedException">The trainer's pool has been disposed; nothing has changed (not even the data position).</exception>
    public float Step()
    {
        // Checked before the data position moves, so a refused step leaves the run where it was.
        Pool?.ThrowIfDisposed();
        if (_chunk == 0)
            _state.Reset(); // a new pass over the text: the streams start again at their stripes' beginnings
        _train.Fill(_chunk);
        _chunk = _chunk + 1 == _train.ChunksPerEpoch ? 0 : _chunk + 1;

        _gradients.Clear();
        float loss = _model.ForwardBackward(_train.Inputs, _train.Targets, _options.SequenceLength, _state, _workspace, _gradients);
        Span<float> gradients = _gradients.Buffer.Span;
        float norm = GradientClipping.ClipByGlobalNorm(gradients, _options.MaxGradientNorm, _options.NonFinitePolicy);
        LastGradientNorm = norm;
        StepsDone++;
        if (!float.IsFinite(norm))
        {
            SkippedSteps++;
            // The state after a non-finite pass may itself hold NaN; carrying it would poison every later chunk.
            _state.Reset();
            return loss;
        }
        _optimizer.Step(_model.Parameters.Span, gradients);
        return loss;
    }

    /// <summary>
    /// The mean cross-entropy (nats per token) over the validation text, from a zero state, streams as in training; NaN
    /// when there is no validation text. Uses the training workspace, so it must not run during a step.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The trainer's pool has been disposed.</exception>
    public float Evaluate()
    {
        if (_validation is null || _validationState is null)
            return float.NaN;
        Pool?.ThrowIfDisposed();
        _validationState.Reset();
        int chunks = _options.MaxEvaluationChunks == 0 ? _validation.ChunksPerEpoch : Math.Min(_validation.ChunksPerEpoch, _options.MaxEvaluationChunks);
        double total = 0;
        for (int k = 0; k < chunks; k++)
        {
            _validation.Fill(k);
            total += _model.Loss(_validation.Inputs, _validation.Targets, _options.SequenceLength, _validationState, _workspace);
        }
        return (float)(total / chunks);
    }

    /// <summary>
    /// Runs <paramref name="steps"/> steps, evaluating before the first, whenever <see cref="StepsDone"/> reaches a multiple
    /// of <see cref="SequenceTrainerOptions.EvaluateEvery"/> and after the last, and reporting through <paramref name="progress"/> (called on this thread) every
    /// <see cref="SequenceTrainerOptions.ReportEvery"/> steps and after each evaluation.
    /// </summary>
    /// <param name="steps">Steps to run; 0 or more.</param>
    /// <param name="progress">Receives reports; may be null.</param>
    /// <param name="cancellationToken">Stops between steps (the summary then covers the steps run).</param>
    public TrainingSummary Train(int steps, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        var trainingCurve = new List<LossPoint>(steps / _options.ReportEvery + 1);
        var validationCurve = new List<LossPoint>();
        long start = Stopwatch.GetTimestamp();
        long trainingTicks = 0;
        int skippedAtStart = SkippedSteps;
        float validation = float.NaN;
        int validationStep = -1;
        double intervalLoss = 0;
        int intervalSteps = 0, done = 0;

        void EvaluateNow()
        {
            validation = Evaluate();
            validationStep = StepsDone;
            validationCurve.Add(new LossPoint(StepsDone, validation));
        }

        TrainingProgress Report(float trainingLoss, bool evaluation)
        {
            TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
            double seconds = trainingTicks / (double)Stopwatch.Frequency;
            double perStep = done == 0 ? 0 : elapsed.TotalSeconds / done;
            return new TrainingProgress(
                done, steps, trainingLoss, validation, seconds > 0 ? (double)done * TokensPerStep / seconds : 0,
                elapsed, TimeSpan.FromSeconds(perStep * (steps - done)), SkippedSteps - skippedAtStart, evaluation)
            { ValidationStep = validationStep };
        }

        if (_validation is not null)
        {
            EvaluateNow();
            progress?.Report(Report(float.NaN, evaluation: true));
        }
        float lastTraining = float.NaN;
        while (done < steps && !cancellationToken.IsCancellationRequested)
        {
            long before = Stopwatch.GetTimestamp();
            float loss = Step();
            trainingTicks += Stopwatch.GetTimestamp() - before;
            done++;
            intervalLoss += loss;
            intervalSteps++;
            if (intervalSteps == _options.ReportEvery || done == steps)
            {
                lastTraining = (float)(intervalLoss / intervalSteps);
                trainingCurve.Add(new LossPoint(StepsDone, lastTraining));
                intervalLoss = 0;
                intervalSteps = 0;
                progress?.Report(Report(lastTraining, evaluation: false));
            }
            // The schedule counts every step of the run (StepsDone), so a resumed run evaluates where the whole run would.
            if (_validation is not null && (done == steps || (_options.EvaluateEvery > 0 && StepsDone % _options.EvaluateEvery == 0)))
            {
                EvaluateNow();
                progress?.Report(Report(lastTraining, evaluation: true));
            }
        }
        double trainingSeconds = trainingTicks / (double)Stopwatch.Frequency;
        return new TrainingSummary(
            done, trainingCurve, validationCurve, SkippedSteps - skippedAtStart,
            trainingSeconds > 0 ? (double)done * TokensPerStep / trainingSeconds : 0, Stopwatch.GetElapsedTime(start));
    }

    private static void CheckTokens(ReadOnlySpan<int> tokens, SequenceModel model, string name)
    {
        int limit = Math.Min(model.Options.InputSize, model.OutputSize);
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] >= (uint)limit)
                throw new ArgumentException($"Token at index {i} is {tokens[i]}; expected ids in [0, {limit}) (the model's input size {model.Options.InputSize} and output size {model.OutputSize}).", name);
        }
    }
}
