using System;
using System.CommandLine;
using System.Linq;

namespace SimdLstm.Cli;

/// <summary>Option factories shared by the commands.</summary>
internal static class CommonOptions
{
    /// <summary>The values <c>--cell</c> accepts (compared ignoring case), each with the cell it names.</summary>
    private static readonly (string Name, CellKind Cell)[] CellNames = [("lstm", CellKind.Lstm), ("gru", CellKind.Gru), ("rnn", CellKind.Rnn)];

    /// <summary>"lstm, gru or rnn", for help and error text.</summary>
    public static string CellChoices { get; } = string.Join(", ", CellNames[..^1].Select(c => c.Name)) + " or " + CellNames[^1].Name;

    /// <summary>An integer option with a default, rejected at parse time below <paramref name="minimum"/>.</summary>
    public static Option<int> Int(string name, string description, int defaultValue, int minimum = 1)
    {
        var option = new Option<int>(name) { Description = $"{description} (default {defaultValue})", DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            // Only a value that parses is checked here; one that does not is already reported by the parser.
            if (result.Tokens.Count == 1 && int.TryParse(result.Tokens[0].Value, System.Globalization.CultureInfo.InvariantCulture, out int value) && value < minimum)
                result.AddError($"{name} must be at least {minimum} but is {value}.");
        });
        return option;
    }

    /// <summary><c>--cell lstm|gru|rnn</c> (any case); any other value is rejected at parse time, naming the choices.</summary>
    public static Option<string> Cell(string defaultValue = "lstm")
    {
        var option = new Option<string>("--cell") { Description = $"Cell kind: {CellChoices} (default {defaultValue})", DefaultValueFactory = _ => defaultValue };
        option.CompletionSources.Add(CellNames.Select(c => c.Name).ToArray());
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && !TryParseCell(result.Tokens[0].Value, out _))
                result.AddError($"--cell must be {CellChoices} but is '{result.Tokens[0].Value}'.");
        });
        return option;
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
