using System.Text.Json;
using System.Text.Json.Serialization;

namespace MLNet.Explain.Report;

/// <summary>The JSON form of a <see cref="ReportDocument"/> (explanations.json): camelCase names, non-finite numbers as null.</summary>
public static class ReportJson
{
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    public static string Serialize(ReportDocument document) => JsonSerializer.Serialize(document, Options);

    public static ReportDocument Deserialize(string json)
        => JsonSerializer.Deserialize<ReportDocument>(json, Options) ?? throw new JsonException("The JSON holds no report (null).");

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            WriteIndented = true,
            Converters = { new FiniteDoubleConverter() },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>JSON has no NaN or infinity: those are written as null and read back as NaN.</summary>
    private sealed class FiniteDoubleConverter : JsonConverter<double>
    {
        public override bool HandleNull => true;

        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
            => reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value)) writer.WriteNumberValue(value);
            else writer.WriteNullValue();
        }
    }
}
