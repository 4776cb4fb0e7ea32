using System;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Linq;

namespace SimdLstm.Cli;

/// <summary>
/// Option factories shared by the commands. Numbers are parsed culture-invariantly whatever the machine's locale: a
/// decimal point, never a comma (so <c>--lr 0,002</c> is an error, not 2). Every value is checked at parse time, so any
/// bad value on the command line gives the usage exit code.
/// </summary>
internal static class CommonOptions
{
    /// <summary>The values <c>--cell</c> accepts (compared ignoring case), each with the cell it names.</summary>
    private static readonly (string Name, CellKind Cell)[] CellNames = [("lstm", CellKind.Lstm), ("gru", CellKind.Gru), ("rnn", CellKind.Rnn)];

    /// <summary>"lstm, gru or rnn", for help and error text.</summary>
    public static string CellChoices { get; } = string.Join(", ", CellNames[..^1].Select(c => c.Name)) + " or " + CellNames[^1].Name;

    /// <summary>The values <c>--precision</c> accepts (compared ignoring case), each with the packed precision it names.</summary>
    private static readonly (string Name, PackedPrecision Precision)[] PrecisionNames =
        [("fp32", PackedPrecision.Float32), ("bf16", PackedPrecision.BFloat16), ("int8", PackedPrecision.Int8)];

    /// <summary>"fp32, bf16 or int8", for help and error text.</summary>
    public static string PrecisionChoices { get; } = string.Join(", ", PrecisionNames[..^1].Select(p => p.Name)) + " or " + PrecisionNames[^1].Name;

    /// <summary>An integer option with a default, rejected at parse time below <paramref name="minimum"/>.</summary>
    public static Option<int> Int(string name, string description, int defaultValue, int minimum = 1)
    {
        var option = new Option<int>(name)
        {
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
                if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
                {
                    result.AddError($"{name} must be an integer but is '{text}'.");
                    return default;
                }
                if (value < minimum)
                    result.AddError($"{name} must be at least {minimum} but is {value}.");
                return value;
            },
        };
        return option;
    }

    /// <summary>
    /// A floating-point option with a default, parsed culture-invariantly (a comma is an error naming the option) and
    /// rejected at parse time unless finite and above <paramref name="exclusiveMinimum"/>.
    /// </summary>
    public static Option<float> Float(string name, string description, float defaultValue, float exclusiveMinimum = 0f)
    {
        var option = new Option<float>(name)
        {
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
                if (text.Contains(',', StringComparison.Ordinal))
                {
                    result.AddError($"{name} must be a number written with a decimal point ('.') but is '{text}'.");
                    return default;
                }
                if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value))
                {
                    result.AddError($"{name} must be a number but is '{text}'.");
                    return default;
                }
                if (!float.IsFinite(value) || !(value > exclusiveMinimum))
                    result.AddError($"{name} must be a finite number greater than {exclusiveMinimum.ToString(CultureInfo.InvariantCulture)} but is {text}.");
                return value;
            },
        };
        return option;
    }

    /// <summary>A path option with a default; an empty value is rejected at parse time.</summary>
    public static Option<string> Path(string name, string description, string defaultValue)
    {
        var option = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && string.IsNullOrWhiteSpace(result.Tokens[0].Value))
                result.AddError($"{name} must be a file path but is empty.");
        });
        return option;
    }

    /// <summary><c>--cell lstm|gru|rnn</c> (any case); any other value is rejected at parse time, naming the choices.</summary>
    public static Option<string> Cell(string defaultValue = "lstm")
    {
        var option = new Option<string>("--cell") { Description = $"Cell kind: {CellChoices}", DefaultValueFactory = _ => defaultValue };
        option.CompletionSources.Add(CellNames.Select(c => c.Name).ToArray());
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && !TryParseCell(result.Tokens[0].Value, out _))
                result.AddError($"--cell must be {CellChoices} but is '{result.Tokens[0].Value}'.");
        });
        return option;
    }

    /// <summary>
    /// <c>--precision fp32|bf16|int8</c> (any case): how the packed inference copy holds the recurrent weights; any other
    /// value is rejected at parse time, naming the choices.
    /// </summary>
    public static Option<string> Precision(string defaultValue = "fp32")
    {
        var option = new Option<string>("--precision")
        {
            Description = $"Weights of the packed inference copy: {PrecisionChoices}. fp32 steps the trained weights as they are; bf16 rounds them to bfloat16 (half the bytes per step); int8 quantises each row with its own scale (about a quarter). Both give slightly different logits from fp32's; the output layer stays fp32",
            DefaultValueFactory = _ => defaultValue,
        };
        option.CompletionSources.Add(PrecisionNames.Select(p => p.Name).ToArray());
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && !TryParsePrecision(result.Tokens[0].Value, out _))
                result.AddError($"--precision must be {PrecisionChoices} but is '{result.Tokens[0].Value}'.");
        });
        return option;
    }

    /// <summary>The precision <paramref name="text"/> names (<c>fp32</c>, <c>bf16</c> or <c>int8</c>, any case).</summary>
    /// <exception cref="CliException">Any other text (a usage error).</exception>
    public static PackedPrecision ParsePrecision(string? text) =>
        TryParsePrecision(text, out PackedPrecision precision) ? precision : throw CliException.Usage($"--precision must be {PrecisionChoices} but is '{text}'.");

    /// <summary>The name <c>--precision</c> gives <paramref name="precision"/>: fp32, bf16 or int8.</summary>
    public static string PrecisionName(PackedPrecision precision)
    {
        foreach ((string name, PackedPrecision value) in PrecisionNames)
        {
            if (value == precision)
                return name;
        }
        return precision.ToString();
    }

    private static bool TryParsePrecision(string? text, out PackedPrecision precision)
    {
        foreach ((string name, PackedPrecision value) in PrecisionNames)
        {
            // ASCII letters in any case; no other character folds onto them (the dotless ı is not an i here).
            if (text is not null && System.Text.Ascii.EqualsIgnoreCase(text, name))
            {
                precision = value;
                return true;
            }
        }
        precision = default;
        return false;
    }

    /// <summary>The cell <paramref name="text"/> names (<c>lstm</c>, <c>gru</c> or <c>rnn</c>, any case).</summary>
    /// <exception cref="CliException">Any other text.</exception>
    public static CellKind ParseCell(string? text) =>
        TryParseCell(text, out CellKind cell) ? cell : throw new CliException($"--cell must be {CellChoices} but is '{text}'.");

    private static bool TryParseCell(string? text, out CellKind cell)
    {
        foreach ((string name, CellKind kind) in CellNames)
        {
            if (string.Equals(text, name, StringComparison.OrdinalIgnoreCase))
            {
                cell = kind;
                return true;
            }
        }
        cell = default;
        return false;
    }
}
