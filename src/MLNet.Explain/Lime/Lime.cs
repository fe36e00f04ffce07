using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Lime;
using MLNet.Explain.Pipeline;
using MLNet.Explain.Pipeline.Persistence;

namespace MLNet.Explain
{
    /// <summary>
    /// LIME (local interpretable model-agnostic explanations) as a pipeline stage: each row gets a weighted linear
    /// surrogate of the model fit on perturbed samples around it. See <see cref="LimeOptions"/> and docs/lime.md.
    /// </summary>
    public sealed class LimeEstimator : IExplanationEstimator<LimeTransformer>
    {
        private readonly LimeOptions _options;
        private readonly int _seed;

        internal LimeEstimator(MLContext context, LimeOptions options)
        {
            options.Validate();
            _options = options;
            _seed = RowRandom.SeedOf(context, options.Seed);
        }

        /// <summary>Gathers the training statistics from <paramref name="data"/> (the model's input data).</summary>
        public LimeTransformer Fit(ITransformer model, IDataView data)
        {
            ArgumentNullException.ThrowIfNull(model);
            ArgumentNullException.ThrowIfNull(data);
            _options.Validate();
            var parts = ModelParts.Of(model, data.Schema);
            var output = ExplainedOutput.Of(parts, model.GetOutputSchema(data.Schema));
            output.ClassIndex(_options.Class);

            if (_options.TextColumn is { } textColumn)
            {
                var inputSchema = LimeInputs.ModelInputSchema(model, data.Schema, [textColumn]);
                LimeInputs.RequireText(data.Schema, textColumn);
                return new LimeTransformer(model, inputSchema, State(LimeTarget.Text, _options.KernelWidth ?? 25, []));
            }
            if (_options.Columns.Count > 0 || _options.Groups.Count > 0)
            {
                var features = LimeInputs.RawFeatures(data.Schema, _options);
                var inputSchema = LimeInputs.ModelInputSchema(model, data.Schema, features.SelectMany(f => f.Columns.Select(c => c.Name)));
                var statistics = TrainingStatistics.OfColumns(data, features, _options.MaxTrainingRows, _seed);
                return new LimeTransformer(model, inputSchema, State(LimeTarget.Columns, DefaultWidth(statistics.Count), statistics));
            }
            {
                var categorical = LimeInputs.CategoricalSlots(parts.FeatureNames, _options.CategoricalFeatures);
                var featurized = parts.Featurizer.Transform(data);
                var statistics = TrainingStatistics.OfSlots(featurized, featurized.Schema[parts.FeatureColumnName], parts.FeatureNames,
                    categorical, _options.MaxTrainingRows, _seed);
                return new LimeTransformer(model, data.Schema, State(LimeTarget.FeatureSlots, DefaultWidth(statistics.Count), statistics));
            }
        }

        private static double DefaultWidth(int features) => 0.75 * Math.Sqrt(features);

        private LimeState State(LimeTarget target, double defaultWidth, IReadOnlyList<LimeFeatureStatistics> features) => new(
            target, _seed, _options.NumberOfSamples, _options.NumberOfFeatures, _options.FeatureSelection, _options.Discretize,
            _options.SampleAroundInstance, _options.KernelWidth ?? defaultWidth, _options.RidgeAlpha, _options.Class, _options.MissingValues,
            _options.TextColumn, _options.TextPerturbation, _options.MaskToken,
            new LimeOutputNames(_options.WeightsColumnName, _options.InterceptColumnName, _options.LocalPredictionColumnName,
                _options.ScoreColumnName, _options.ClassColumnName, _options.WordsColumnName, _options.WordWeightsColumnName),
            features);
    }

    /// <summary>
    /// A fitted LIME stage: the explained model's output plus, per row, the surrogate's weights (or, for text, the
    /// selected words and their weights), intercept, local prediction, weighted R² and, for classifiers, the explained class.
    /// </summary>
    public sealed class LimeTransformer : ExplanationTransformer
    {
        /// <summary>The stable name LIME stages are saved under.</summary>
        internal const string StageName = "MLNet.Explain.Lime";

        private readonly DataViewSchema _inputSchema;

        internal LimeTransformer(ITransformer model, DataViewSchema inputSchema, LimeState state) : base(model)
        {
            State = state;
            _inputSchema = inputSchema;
            var parts = ModelParts.Of(model, inputSchema);
            var output = ExplainedOutput.Of(parts, model.GetOutputSchema(inputSchema));
            var classes = new LimeClassChoice(output, state.Class, state.OutputNames.Class);
            RowExplainer = state.Target switch
            {
                LimeTarget.Text => new TextExplainer(state, model, inputSchema, classes),
                LimeTarget.Columns => new TabularExplainer(state, new ColumnScoring(state, model, inputSchema, output), classes),
                _ => new TabularExplainer(state, new SlotScoring(state, parts), classes),
            };
        }

        /// <summary>The stage's settings and the training statistics it samples from.</summary>
        public LimeState State { get; }

        protected override RowExplainer RowExplainer { get; }

        /// <summary>Saves the model's input schema (to rebuild the scoring paths on load) and the <see cref="State"/>.</summary>
        protected override void SaveState(BinaryWriter writer)
        {
            writer.WriteSchema(_inputSchema);
            LimeStateSerialization.Write(writer, State);
        }

        internal static LimeTransformer Load(ITransformer model, BinaryReader reader)
        {
            var inputSchema = reader.ReadSchema();
            return new LimeTransformer(model, inputSchema, LimeStateSerialization.Read(reader));
        }
    }
}

namespace Microsoft.ML
{
    using MLNet.Explain;

    public static class LimeCatalogExtensions
    {
        /// <summary>
        /// LIME explanations: per row, a weighted ridge surrogate of the model on perturbed samples around the row
        /// (defaults of Python <c>lime</c>: 5,000 samples, quartile discretization, 10 features, ridge alpha 1).
        /// </summary>
        public static LimeEstimator Lime(this ExplainCatalog catalog, LimeOptions? options = null)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new LimeEstimator(catalog.Context, options ?? new LimeOptions());
        }
    }
}
