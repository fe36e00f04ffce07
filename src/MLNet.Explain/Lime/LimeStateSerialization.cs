using MLNet.Explain.Pipeline.Persistence;

namespace MLNet.Explain.Lime;

/// <summary>The saved form of a <see cref="LimeState"/> (version 1): settings, then each feature's statistics.</summary>
internal static class LimeStateSerialization
{
    private const int Version = 1;

    public static void Write(BinaryWriter writer, LimeState state)
    {
        writer.Write(Version);
        writer.Write((int)state.Target);
        writer.Write(state.Seed);
        writer.Write(state.NumberOfSamples);
        writer.Write(state.NumberOfFeatures);
        writer.Write((int)state.FeatureSelection);
        writer.Write(state.Discretize);
        writer.Write(state.SampleAroundInstance);
        writer.Write(state.KernelWidth);
        writer.Write(state.RidgeAlpha);
        WriteOptional(writer, state.Class);
        writer.Write((int)state.MissingValues);
        WriteOptional(writer, state.TextColumn);
        writer.Write((int)state.TextPerturbation);
        writer.Write(state.MaskToken);
        var names = state.OutputNames;
        writer.WriteStrings([names.Weights, names.Intercept, names.LocalPrediction, names.Score, names.Class, names.Words, names.WordWeights]);
        writer.Write(state.Features.Count);
        foreach (var feature in state.Features)
        {
            writer.Write(feature.Name);
            writer.WriteStrings(feature.Columns.ToArray());
            writer.Write((int)feature.Kind);
            writer.Write(feature.Mean);
            writer.Write(feature.Std);
            WriteDoubles(writer, feature.BinEdges);
            writer.Write(feature.Bins.Count);
            foreach (var bin in feature.Bins)
            {
                writer.Write(bin.Mean);
                writer.Write(bin.Std);
                writer.Write(bin.Min);
                writer.Write(bin.Max);
                writer.Write(bin.Frequency);
            }
            writer.Write(feature.Categories.Count);
            foreach (var category in feature.Categories)
                writer.WriteValue(category);
            WriteDoubles(writer, feature.CategoryFrequencies);
        }
    }

    public static LimeState Read(BinaryReader reader)
    {
        int version = reader.ReadInt32();
        if (version != Version)
            throw new InvalidDataException($"The saved LIME stage has state version {version}; this version of MLNet.Explain reads version {Version}.");
        var target = (LimeTarget)reader.ReadInt32();
        int seed = reader.ReadInt32(), samples = reader.ReadInt32(), features = reader.ReadInt32();
        var selection = (LimeFeatureSelection)reader.ReadInt32();
        bool discretize = reader.ReadBoolean(), aroundInstance = reader.ReadBoolean();
        double width = reader.ReadDouble(), alpha = reader.ReadDouble();
        var className = ReadOptional(reader);
        var missing = (LimeMissingValues)reader.ReadInt32();
        var textColumn = ReadOptional(reader);
        var perturbation = (LimeTextPerturbation)reader.ReadInt32();
        var mask = reader.ReadString();
        var names = reader.ReadStrings();
        if (names.Length != 7) throw new InvalidDataException($"The saved LIME stage lists {names.Length} output column names instead of 7; the saved state is corrupt.");
        var statistics = Enumerable.Range(0, Count(reader)).Select(_ =>
        {
            var name = reader.ReadString();
            var columns = reader.ReadStrings();
            var kind = (LimeFeatureKind)reader.ReadInt32();
            double mean = reader.ReadDouble(), std = reader.ReadDouble();
            var edges = ReadDoubles(reader);
            var bins = Enumerable.Range(0, Count(reader))
                .Select(_ => new LimeBin(reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble()))
                .ToArray();
            var categories = Enumerable.Range(0, Count(reader)).Select(_ => reader.ReadValue()).ToArray();
            return new LimeFeatureStatistics(name, columns, kind, mean, std, edges, bins, categories, ReadDoubles(reader));
        }).ToArray();
        return new LimeState(target, seed, samples, features, selection, discretize, aroundInstance, width, alpha, className, missing,
            textColumn, perturbation, mask, new LimeOutputNames(names[0], names[1], names[2], names[3], names[4], names[5], names[6]), statistics);
    }

    private static void WriteOptional(BinaryWriter writer, string? value)
    {
        writer.Write(value is not null);
        if (value is not null) writer.Write(value);
    }

    private static string? ReadOptional(BinaryReader reader) => reader.ReadBoolean() ? reader.ReadString() : null;

    private static void WriteDoubles(BinaryWriter writer, IReadOnlyList<double> values)
    {
        writer.Write(values.Count);
        foreach (var value in values) writer.Write(value);
    }

    private static double[] ReadDoubles(BinaryReader reader) => Enumerable.Range(0, Count(reader)).Select(_ => reader.ReadDouble()).ToArray();

    private static int Count(BinaryReader reader)
    {
        int count = reader.ReadInt32();
        if (count < 0 || count > reader.BaseStream.Length - reader.BaseStream.Position)
            throw new InvalidDataException($"The saved LIME stage declares {count} items where {reader.BaseStream.Length - reader.BaseStream.Position} bytes remain; the saved state is corrupt.");
        return count;
    }
}
