using System;
using System.Linq;
using SimdLstm.Training;
using Xunit;

namespace SimdLstm.Tests.Training;

public class OptimizerTests
{
    /// <summary>One optimiser configuration: the float implementation and its double reference, both built for a length and learning rate.</summary>
    private sealed record Config(string Name, float LearningRate, Func<int, float, Optimizer> Create, Func<int, ReferenceOptimizer> CreateReference);

    private static readonly Config[] Configs =
    [
        new("Sgd", 0.05f, (n, lr) => new Sgd(n, lr), n => new ReferenceSgd(n, 0, 0, 0, false)),
        new("SgdWeightDecay", 0.05f, (n, lr) => new Sgd(n, lr, weightDecay: 0.01f), n => new ReferenceSgd(n, 0, 0, (double)0.01f, false)),
        new("SgdMomentum", 0.05f, (n, lr) => new Sgd(n, lr, momentum: 0.9f), n => new ReferenceSgd(n, (double)0.9f, 0, 0, false)),
        new("SgdMomentumDampening", 0.05f, (n, lr) => new Sgd(n, lr, momentum: 0.9f, dampening: 0.3f, weightDecay: 0.02f),
            n => new ReferenceSgd(n, (double)0.9f, (double)0.3f, (double)0.02f, false)),
        new("SgdNesterov", 0.05f, (n, lr) => new Sgd(n, lr, momentum: 0.9f, weightDecay: 0.01f, nesterov: true),
            n => new ReferenceSgd(n, (double)0.9f, 0, (double)0.01f, true)),
        new("Adam", 0.01f, (n, lr) => new Adam(n, lr), n => new ReferenceAdam(n, (double)0.9f, (double)0.999f, (double)1e-8f, 0, false)),
        new("AdamWeightDecay", 0.01f, (n, lr) => new Adam(n, lr, beta1: 0.8f, beta2: 0.99f, epsilon: 1e-6f, weightDecay: 0.05f),
            n => new ReferenceAdam(n, (double)0.8f, (double)0.99f, (double)1e-6f, (double)0.05f, false)),
        // β₁ = 0.3 makes the lerp weight 1 − β₁ ≥ 0.5, PyTorch's other lerp branch.
        new("AdamSmallBeta1", 0.01f, (n, lr) => new Adam(n, lr, beta1: 0.3f), n => new ReferenceAdam(n, (double)0.3f, (double)0.999f, (double)1e-8f, 0, false)),
        new("AdamW", 0.01f, (n, lr) => new AdamW(n, lr, weightDecay: 0.1f), n => new ReferenceAdam(n, (double)0.9f, (double)0.999f, (double)1e-8f, (double)0.1f, true)),
        new("Adagrad", 0.05f, (n, lr) => new Adagrad(n, lr), n => new ReferenceAdagrad(n, 0, 0, 0, (double)1e-10f)),
        new("AdagradDecay", 0.05f, (n, lr) => new Adagrad(n, lr, learningRateDecay: 0.1f, weightDecay: 0.01f, initialAccumulatorValue: 0.1f, epsilon: 1e-8f),
            n => new ReferenceAdagrad(n, (double)0.1f, (double)0.01f, (double)0.1f, (double)1e-8f)),
    ];

    public static TheoryData<string> ConfigNames => new(Configs.Select(c => c.Name));

    private static Config Get(string name) => Configs.Single(c => c.Name == name);

    private const int Steps = 6;

    /// <summary>
    /// Every length 0..257 at a random element offset, <see cref="Steps"/> steps with fresh random
    /// gradients and a learning-rate change half way (a schedule), against the double reference.
    /// Tolerance: one step performs at most 8 rounded float operations on each element, on values
    /// bounded by |θ| + 1 (gradients are at most 1 in magnitude and γ·|update| ≤ 1 for these
    /// hyperparameters: SGD's momentum buffer stays below 1/(1 − μ) = 10, Adam's normalised step and
    /// Adagrad's g/√s below a few units), each rounding contributing at most 2⁻²⁴ relative; errors add
    /// over steps. Hence |θ_float − θ_double| ≤ steps · 8 · 2⁻²⁴ · (|θ| + 1).
    /// </summary>
    [Theory]
    [MemberData(nameof(ConfigNames))]
    public void Step_MatchesDoubleReference(string name)
    {
        Config config = Get(name);
        var rng = new Random(1234 + name.Length);
        double worst = 0;
        for (int n = 0; n <= 257; n++)
        {
            var parameters = new GuardedBuffer(n, rng.Next(8));
            var gradients = new GuardedBuffer(n, rng.Next(8));
            for (int i = 0; i < n; i++)
                parameters.Span[i] = (float)(rng.NextDouble() * 4 - 2);
            double[] expected = parameters.ToArray().Select(x => (double)x).ToArray();

            Optimizer optimizer = config.Create(n, config.LearningRate);
            ReferenceOptimizer reference = config.CreateReference(n);
            reference.LearningRate = config.LearningRate;
            for (int step = 1; step <= Steps; step++)
            {
                if (step == Steps / 2 + 1)
                {
                    optimizer.LearningRate = config.LearningRate * 0.5f;
                    reference.LearningRate = optimizer.LearningRate;
                }
                FillGradients(gradients.Span, rng);
                float[] gradientsBefore = gradients.ToArray();
                optimizer.Step(parameters.Span, gradients.Span);
                reference.Step(expected, gradients.Span);
                Assert.Equal(gradientsBefore, gradients.ToArray());
                Assert.Equal(step, optimizer.StepCount);
            }
            parameters.AssertGuardsIntact();
            gradients.AssertGuardsIntact();
            for (int i = 0; i < n; i++)
            {
                double error = Math.Abs(parameters.Span[i] - expected[i]);
                double tolerance = Steps * 8 * Math.Pow(2, -24) * (Math.Abs(expected[i]) + 1);
                if (!(error <= tolerance)) Assert.Fail($"{name}, n = {n}, element {i}: got {parameters.Span[i]:R}, expected {expected[i]:R} (error {error:E3} > {tolerance:E3})");
                worst = Math.Max(worst, error / tolerance);
            }
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"{name}: worst error / tolerance = {worst:F3}");
    }

    /// <summary>
    /// The update is elementwise and every path (Vector256, Vector128, scalar) uses the same
    /// operations, so stepping a long vector must give, element for element, the same bits as stepping
    /// each element alone (a length-1 optimiser only runs the scalar loop).
    /// </summary>
    [Theory]
    [MemberData(nameof(ConfigNames))]
    public void Step_GivesTheSameBitsOnEveryPath(string name)
    {
        Config config = Get(name);
        var rng = new Random(99);
        const int n = 203; // 25 Vector256 blocks, one Vector128 block and a scalar tail of 3
        float[] parameters = new float[n];
        for (int i = 0; i < n; i++)
            parameters[i] = (float)(rng.NextDouble() * 4 - 2);
        float[][] singles = parameters.Select(p => new[] { p }).ToArray();
        Optimizer whole = config.Create(n, config.LearningRate);
        Optimizer[] alone = singles.Select(_ => config.Create(1, config.LearningRate)).ToArray();
        float[] gradients = new float[n];
        for (int step = 0; step < 4; step++)
        {
            FillGradients(gradients, rng);
            whole.Step(parameters, gradients);
            for (int i = 0; i < n; i++)
                alone[i].Step(singles[i], gradients.AsSpan(i, 1));
        }
        for (int i = 0; i < n; i++)
            if (!(BitConverter.SingleToInt32Bits(parameters[i]) == BitConverter.SingleToInt32Bits(singles[i][0]))) Assert.Fail($"{name}, element {i}: {parameters[i]:R} vs {singles[i][0]:R}");
    }

    [Theory]
    [MemberData(nameof(ConfigNames))]
    public void Reset_RestoresTheInitialState(string name)
    {
        Config config = Get(name);
        var rng = new Random(5);
        const int n = 37;
        float[] start = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[][] gradients = Enumerable.Range(0, 3).Select(_ => { var g = new float[n]; FillGradients(g, rng); return g; }).ToArray();

        Optimizer fresh = config.Create(n, config.LearningRate);
        float[] expected = (float[])start.Clone();
        foreach (float[] g in gradients) fresh.Step(expected, g);

        Optimizer reused = config.Create(n, config.LearningRate);
        float[] scratch = (float[])start.Clone();
        foreach (float[] g in gradients) reused.Step(scratch, g);
        reused.Reset();
        Assert.Equal(0, reused.StepCount);
        Assert.Equal(config.LearningRate, reused.LearningRate);
        float[] actual = (float[])start.Clone();
        foreach (float[] g in gradients) reused.Step(actual, g);

        Assert.Equal(expected, actual);
        Assert.NotEqual(start, actual);
    }

    [Theory]
    [MemberData(nameof(ConfigNames))]
    public void Step_AllocatesNothing(string name)
    {
        Config config = Get(name);
        const int n = 1001;
        float[] parameters = new float[n];
        float[] gradients = new float[n];
        FillGradients(gradients, new Random(3));
        Optimizer optimizer = config.Create(n, config.LearningRate);
        for (int i = 0; i < 3; i++) optimizer.Step(parameters, gradients); // warm-up: JIT, static initialisers

        int call = 0;
        Allocations.AssertNone(() =>
        {
            optimizer.LearningRate = config.LearningRate / (1 + call++);
            optimizer.Step(parameters, gradients);
        }, count: 500);
    }

    /// <summary>
    /// f(x) = ½ Σ aᵢ (xᵢ − cᵢ)² with curvatures aᵢ in [0.5, 2]: every optimiser must bring x to c.
    /// The bound 1e-3 is far below the initial distance (up to 4) and is met with a wide margin by
    /// each method's step budget (gradient descent contracts by at least 1 − γ·0.5 per step).
    /// </summary>
    [Theory]
    [InlineData("Sgd", 300)]
    [InlineData("SgdMomentum", 300)]
    [InlineData("SgdNesterov", 300)]
    [InlineData("Adam", 3000)]
    [InlineData("AdamW", 3000)]
    [InlineData("Adagrad", 3000)]
    public void Step_ConvergesOnAConvexQuadratic(string kind, int steps)
    {
        const int n = 37;
        var rng = new Random(11);
        double[] a = Enumerable.Range(0, n).Select(_ => 0.5 + 1.5 * rng.NextDouble()).ToArray();
        double[] c = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 4 - 2).ToArray();
        float[] x = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        Optimizer optimizer = kind switch
        {
            "Sgd" => new Sgd(n, 0.1f),
            "SgdMomentum" => new Sgd(n, 0.05f, momentum: 0.9f),
            "SgdNesterov" => new Sgd(n, 0.05f, momentum: 0.9f, nesterov: true),
            "Adam" => new Adam(n, 0.01f),
            // A small decoupled decay moves the minimiser by about λ·|c|·√v̂/a ≪ 1e-3.
            "AdamW" => new AdamW(n, 0.01f, weightDecay: 1e-5f),
            "Adagrad" => new Adagrad(n, 0.5f),
            _ => throw new ArgumentException(kind, nameof(kind)),
        };
        float[] g = new float[n];
        for (int step = 0; step < steps; step++)
        {
            for (int i = 0; i < n; i++)
                g[i] = (float)(a[i] * (x[i] - c[i]));
            optimizer.Step(x, g);
        }
        double distance = Enumerable.Range(0, n).Max(i => Math.Abs(x[i] - c[i]));
        Assert.True(distance < 1e-3, $"{kind}: max |x − c| = {distance:E3} after {steps} steps");
    }

    [Fact]
    public void Step_ThrowsForMismatchedLengths_BeforeWriting()
    {
        var optimizer = new Adam(5);
        float[] parameters = [1, 2, 3, 4, 5];
        var ex = Assert.Throws<ArgumentException>(() => optimizer.Step(parameters, new float[4]));
        Assert.Equal("gradients", ex.ParamName);
        Assert.Contains("Expected length 5 but got 4", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => optimizer.Step(new float[6], new float[5]));
        Assert.Equal("parameters", ex.ParamName);
        Assert.Contains("Expected length 5 but got 6", ex.Message, StringComparison.Ordinal);
        Assert.Equal([1f, 2, 3, 4, 5], parameters);
        Assert.Equal(0, optimizer.StepCount);
    }

    [Fact]
    public void Step_ThrowsForOverlappingSpans()
    {
        var optimizer = new Sgd(4, 0.1f);
        float[] buffer = new float[6];
        var ex = Assert.Throws<ArgumentException>(() => optimizer.Step(buffer.AsSpan(0, 4), buffer.AsSpan(2, 4)));
        Assert.Equal("parameters", ex.ParamName);
        Assert.Throws<ArgumentException>(() => optimizer.Step(buffer.AsSpan(0, 4), buffer.AsSpan(0, 4)));
        Assert.Equal(0, optimizer.StepCount);
    }

    public static TheoryData<string, string> InvalidConstructions => new()
    {
        { "parameterCount", "Sgd(-1)" },
        { "learningRate", "Sgd(lr=-1)" },
        { "learningRate", "Sgd(lr=NaN)" },
        { "learningRate", "Adam(lr=+Inf)" },
        { "momentum", "Sgd(momentum=-0.1)" },
        { "dampening", "Sgd(dampening=NaN)" },
        { "weightDecay", "Sgd(weightDecay=-1)" },
        { "nesterov", "Sgd(nesterov, momentum=0)" },
        { "nesterov", "Sgd(nesterov, dampening=0.1)" },
        { "beta1", "Adam(beta1=1)" },
        { "beta2", "AdamW(beta2=-0.1)" },
        { "epsilon", "Adam(epsilon=-1)" },
        { "weightDecay", "AdamW(weightDecay=NaN)" },
        { "learningRateDecay", "Adagrad(lrDecay=-1)" },
        { "initialAccumulatorValue", "Adagrad(init=-1)" },
        { "epsilon", "Adagrad(epsilon=+Inf)" },
    };

    [Theory]
    [MemberData(nameof(InvalidConstructions))]
    public void Constructor_RejectsInvalidHyperparameters(string paramName, string construction)
    {
        Action create = construction switch
        {
            "Sgd(-1)" => () => _ = new Sgd(-1, 0.1f),
            "Sgd(lr=-1)" => () => _ = new Sgd(3, -1f),
            "Sgd(lr=NaN)" => () => _ = new Sgd(3, float.NaN),
            "Adam(lr=+Inf)" => () => _ = new Adam(3, float.PositiveInfinity),
            "Sgd(momentum=-0.1)" => () => _ = new Sgd(3, 0.1f, momentum: -0.1f),
            "Sgd(dampening=NaN)" => () => _ = new Sgd(3, 0.1f, momentum: 0.5f, dampening: float.NaN),
            "Sgd(weightDecay=-1)" => () => _ = new Sgd(3, 0.1f, weightDecay: -1f),
            "Sgd(nesterov, momentum=0)" => () => _ = new Sgd(3, 0.1f, nesterov: true),
            "Sgd(nesterov, dampening=0.1)" => () => _ = new Sgd(3, 0.1f, momentum: 0.9f, dampening: 0.1f, nesterov: true),
            "Adam(beta1=1)" => () => _ = new Adam(3, beta1: 1f),
            "AdamW(beta2=-0.1)" => () => _ = new AdamW(3, beta2: -0.1f),
            "Adam(epsilon=-1)" => () => _ = new Adam(3, epsilon: -1f),
            "AdamW(weightDecay=NaN)" => () => _ = new AdamW(3, weightDecay: float.NaN),
            "Adagrad(lrDecay=-1)" => () => _ = new Adagrad(3, learningRateDecay: -1f),
            "Adagrad(init=-1)" => () => _ = new Adagrad(3, initialAccumulatorValue: -1f),
            "Adagrad(epsilon=+Inf)" => () => _ = new Adagrad(3, epsilon: float.PositiveInfinity),
            _ => throw new ArgumentException(construction, nameof(construction)),
        };
        ArgumentException ex = Assert.ThrowsAny<ArgumentException>(create);
        Assert.Equal(paramName, ex.ParamName);
    }

    [Fact]
    public void LearningRate_RejectsInvalidValues_AndKeepsTheOldOne()
    {
        var optimizer = new Adagrad(2, 0.3f);
        foreach (float bad in new[] { -0.1f, float.NaN, float.PositiveInfinity })
            Assert.Throws<ArgumentOutOfRangeException>(() => optimizer.LearningRate = bad);
        Assert.Equal(0.3f, optimizer.LearningRate);
    }

    /// <summary>Gradients in [−1, 1] with per-element magnitudes spread over four decades, and some exact zeros.</summary>
    private static void FillGradients(Span<float> gradients, Random rng)
    {
        for (int i = 0; i < gradients.Length; i++)
        {
            double scale = Math.Pow(10, -4 * rng.NextDouble());
            gradients[i] = rng.Next(20) == 0 ? 0f : (float)((rng.NextDouble() * 2 - 1) * scale);
        }
    }
}
