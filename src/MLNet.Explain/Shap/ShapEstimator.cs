using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Pipeline;
using MLNet.Explain.Shap;

namespace MLNet.Explain
{
    /// <summary>The SHAP stage on <c>mlContext.Explain()</c>.</summary>
    public static class ShapCatalogExtensions
    {
        /// <summary>
        /// SHAP values per row: <c>ShapValues</c> (one value per feature slot, with slot names) and <c>ShapBaseValue</c>,
        /// adding up to the explained output (<c>ShapOutput</c>). Exact TreeSHAP for FastTree, FastForest and LightGBM,
        /// exact linear SHAP for linear models and GAMs, Kernel SHAP for any other model. See docs/shap.md.
        /// </summary>
        public static ShapEstimator Shap(this ExplainCatalog catalog, ShapOptions? options = null)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new ShapEstimator(catalog.Context, options ?? new ShapOptions());
        }
    }
}

namespace MLNet.Explain.Shap
{
    /// <summary>The SHAP stage before fitting. Fitting reads the model's structure (or its background) and the data.</summary>
    public sealed class ShapEstimator : IExplanationEstimator<ShapTransformer>
    {
        private readonly MLContext _context;
        private readonly ShapOptions _options;

        internal ShapEstimator(MLContext context, ShapOptions options)
        {
            _context = context;
            _options = options;
            if (options.MaxBackgroundRows < 1)
                throw new ArgumentOutOfRangeException(nameof(options), options.MaxBackgroundRows, $"{nameof(ShapOptions.MaxBackgroundRows)} must be at least 1.");
            if (options.NumberOfSamples is < 1)
                throw new ArgumentOutOfRangeException(nameof(options), options.NumberOfSamples, $"{nameof(ShapOptions.NumberOfSamples)} must be at least 1.");
            if (options.MaxFeatures is < 1)
                throw new ArgumentOutOfRangeException(nameof(options), options.MaxFeatures, $"{nameof(ShapOptions.MaxFeatures)} must be at least 1.");
            if (options.ClassName is not null && options.ClassIndex is not null)
                throw new ArgumentException($"Set {nameof(ShapOptions.ClassName)} or {nameof(ShapOptions.ClassIndex)}, not both.", nameof(options));
        }

        public ShapTransformer Fit(ITransformer model, IDataView data)
        {
            ArgumentNullException.ThrowIfNull(model);
            ArgumentNullException.ThrowIfNull(data);
            var parts = ModelParts.Of(model, data.Schema);
            var seed = _options.Seed ?? ((Microsoft.ML.Runtime.IHostEnvironment)_context).Register(nameof(ShapEstimator)).Rand.Next();
            var fitting = new ShapFitting(parts, _options, seed, data);
            return new ShapTransformer(model, fitting.Fit(), parts, data);
        }
    }
}
