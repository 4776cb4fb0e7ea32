using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using SimdLstm.Testing;
using SimdLstm.Testing.Reference;

namespace SimdLstm.Cli;

/// <summary>Settings of <c>gradcheck</c>.</summary>
internal sealed record GradCheckSettings(CellKind Cell, int InputSize = 4, int Hidden = 5, int Layers = 2, int Steps = 3, int Batch = 2, int Classes = 6, int Seed = 7);

/// <summary>
/// <c>gradcheck</c>: (1) the float64 reference model's analytic gradients against central finite differences, (2) the fast
/// float <see cref="SequenceModel"/> against the reference, on the same random weights.
/// </summary>
internal static class GradCheckCommand
{
    /// <summary>
    /// Part 1 bar (the test suite's): relative error |a − n| / max(|a| + |n|, 1e-3) ≤ 1e-6 with step 1e-5. The central
    /// difference in double is good to ≈ 5e-10 absolute for these small models; over 1,600 random cases the worst seen was
    /// 5.4e-7. A wrong term in backward scores ≥ 0.5.
    /// </summary>
    public const double MaxRelativeError = 1e-6;

    /// <summary>
    /// Part 2 allowance (as tests/SimdLstm.Tests/Layers/RecurrentLayerReferenceTests.cs): |fast − reference| ≤ 2e-5 + 1e-4·|reference|,
    /// float rounding alone for small shapes (I + H ≲ 34 terms per dot product, ≲ 8 steps); larger sizes may need more.
    /// </summary>
    public const double RelativeTolerance = 1e-4;

    /// <summary>The absolute term of the part 2 allowance.</summary>
    public const double AbsoluteTolerance = 2e-5;

    /// <summary>The range of the random weights (as the gradient tests: large enough that no gate saturates or vanishes).</summary>
    private const double WeightScale = 0.6;

    public static Command Create(CliContext context)
    {
        var defaults = new GradCheckSettings(CellKind.Lstm);
        var cell = CommonOptions.Cell();
        var input = CommonOptions.Int("--input", "Input size I", defaults.InputSize);
        var hidden = CommonOptions.Int("--hidden", "Hidden size H", defaults.Hidden);
        var layers = CommonOptions.Int("--layers", "Stacked layers", defaults.Layers);
        var steps = CommonOptions.Int("--steps", "Sequence length T", defaults.Steps);
        var batch = CommonOptions.Int("--batch", "Batch size B", defaults.Batch);
        var classes = CommonOptions.Int("--classes", "Output classes V", defaults.Classes);
        var seed = CommonOptions.Int("--seed", "Seed of the weights, inputs and targets", defaults.Seed, minimum: 0);
        var command = new Command("gradcheck", "Check gradients: the float64 reference against finite differences, then the fast float model against the reference")
        {
            cell, input, hidden, layers, steps, batch, classes, seed,
        };
        command.SetAction(r => Program.Guarded(context, () => Run(context, new GradCheckSettings(
            CommonOptions.ParseCell(r.GetValue(cell)), r.GetValue(input), r.GetValue(hidden), r.GetValue(layers), r.GetValue(steps),
            r.GetValue(batch), r.GetValue(classes), r.GetValue(seed)))));
        return command;
    }

    public static int Run(CliContext context, GradCheckSettings s)
    {
        var options = new RecurrentOptions(s.Cell, s.InputSize, s.Hidden, s.Layers);
        long work = (long)s.Steps * s.Batch * s.Hidden * (s.InputSize + s.Hidden) * s.Layers * options.GateCount;
        if (work > 50_000_000)
            throw new CliException("These sizes would take very long in the float64 finite-difference check; use smaller --hidden, --input, --steps or --batch.");
        TextWriter output = context.Output;
        var random = new SeededRandom((ulong)s.Seed);
        var reference = new ModelReference(new ReferenceWeights(s.Cell, s.InputSize, s.Hidden, s.Layers, hasBias: true), s.Classes, linearHasBias: true)
            .Randomize(random, WeightScale);
        double[] input = random.Uniform(s.Steps * s.Batch * s.InputSize, -1, 1); // [T, B, I]
        // Round weights and inputs to float once, so part 2 gives the fast model exactly the values the reference uses and
        // only the arithmetic differs.
        foreach ((_, double[] values) in reference.NamedParameters())
            RoundToSingle(values);
        RoundToSingle(input);
        int[] targets = random.Tokens(s.Steps * s.Batch, s.Classes);             // [T, B]

        output.WriteLine($"{s.Cell.ToString().ToUpperInvariant()} I={s.InputSize} H={s.Hidden} layers={s.Layers} T={s.Steps} B={s.Batch} V={s.Classes} seed {s.Seed}");
        output.WriteLine($"(1) float64 reference: analytic vs central differences (step {GradientChecker.DefaultStep:G}), tolerance {MaxRelativeError:G} relative");
        ModelGradients gradients = reference.Gradients(input, s.Steps, s.Batch, targets);
        var tensors = reference.NamedParameters()
            .Zip(gradients.NamedParameters(), (v, g) => new GradientTensor(v.Name, v.Values, g.Values))
            .Append(new GradientTensor("input", input, gradients.Input))
            .ToList();
        GradientCheckReport report = GradientChecker.Check(() => reference.Loss(input, s.Steps, s.Batch, targets), tensors);
        bool ok = true;
        foreach (TensorGradientResult t in report.Tensors)
        {
            bool pass = t.MaxRelativeError <= MaxRelativeError;
            ok &= pass;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {(pass ? "ok  " : "FAIL")} {t.Name,-14} max relative error {t.MaxRelativeError:0.00E+00}  ({t.CheckedElements} elements)"));
        }

        output.WriteLine($"(2) fast float model vs the float64 reference: allowance {AbsoluteTolerance:G} + {RelativeTolerance:G}·|reference|");
        var model = new SequenceModel(options, s.Classes, seed: 0);
        foreach ((string name, double[] values) in reference.NamedParameters())
        {
            Span<float> destination = model.Parameters[name].Span;
            for (int i = 0; i < values.Length; i++)
                destination[i] = (float)values[i];
        }
        float[] inputSingle = input.Select(v => (float)v).ToArray();
        ModelGradients expected = gradients;
        SequenceModelGradients fast = model.CreateGradients();
        float loss = model.ForwardBackward(inputSingle, targets, s.Steps, model.CreateState(s.Batch), model.CreateWorkspace(s.Steps, s.Batch), fast);
        double lossRatio = Math.Abs(loss - expected.Loss) / (AbsoluteTolerance + RelativeTolerance * Math.Abs(expected.Loss));
        ok &= lossRatio <= 1;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {(lossRatio <= 1 ? "ok  " : "FAIL")} {"loss",-14} {loss:R} vs {expected.Loss:R} ({lossRatio:G3} of the allowance)"));
        foreach ((string name, double[] values) in expected.NamedParameters())
        {
            ComparisonResult c = ReferenceComparison.Compare(name, fast.Buffer[name].Span, values, RelativeTolerance, AbsoluteTolerance);
            ok &= c.Passed;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {(c.Passed ? "ok  " : "FAIL")} {name,-14} worst {c.WorstRatio:G3} of the allowance, max |diff| {c.MaxAbsoluteDifference:0.00E+00}"));
        }
        output.WriteLine(ok ? "gradcheck passed" : "gradcheck FAILED");
        if (!ok)
            context.Error.WriteLine("error: a gradient exceeds its tolerance (see the FAIL lines)");
        return ok ? 0 : Program.ErrorExitCode;
    }

    private static void RoundToSingle(double[] values)
    {
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)values[i];
    }
}
