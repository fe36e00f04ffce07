using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Lime;

namespace MLNet.Explain.Tests.Lime;

[TestClass]
public sealed class LimeTextTests
{
    private static readonly string[] Neutral =
    [
        "the", "movie", "plot", "actor", "scene", "story", "camera", "music", "film", "time", "character", "day", "night",
        "city", "friend", "house", "car", "book", "table", "window", "script", "light", "sound", "cast", "ending", "studio",
    ];
    private static readonly string[] Positive = ["excellent", "wonderful"];
    private static readonly string[] Negative = ["terrible", "awful"];

    /// <summary>Sentences of 6 to 10 neutral words and one marker word, which alone sets the label.</summary>
    private static List<Review> Reviews(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var words = Enumerable.Range(0, random.Next(6, 11)).Select(_ => Neutral[random.Next(Neutral.Length)]).ToList();
            bool positive = random.Next(2) == 0;
            var markers = positive ? Positive : Negative;
            words.Insert(random.Next(words.Count + 1), markers[random.Next(markers.Length)]);
            return new Review { Text = string.Join(" ", words) + ".", Label = positive };
        }).ToList();
    }

    [TestMethod]
    public void MarkerWordsGetTheTopWeightsThroughTheWholePipeline()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(Reviews(600, seed: 1));
        var model = ml.Transforms.Text.FeaturizeText("Features", "Text")
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression())
            .Fit(train);
        var lime = ml.Explain().Lime(new LimeOptions { TextColumn = "Text", NumberOfSamples = 1000, NumberOfFeatures = 5, Seed = 9 }).Fit(model, train);

        var reviews = Reviews(20, seed: 2);
        var output = lime.Transform(ml.Data.LoadFromEnumerable(reviews));
        var words = output.GetColumn<string[]>("LimeWords").ToArray();
        var weights = output.GetColumn<float[]>("LimeWordWeights").ToArray();
        var classes = output.GetColumn<string>("LimeClass").ToArray();
        int markerFirst = 0;
        for (int r = 0; r < reviews.Count; r++)
        {
            Assert.HasCount(words[r].Length, weights[r]);
            Assert.IsTrue(words[r].Length <= 5);
            for (int i = 1; i < weights[r].Length; i++)
                Assert.IsTrue(Math.Abs(weights[r][i - 1]) >= Math.Abs(weights[r][i]), "words come by decreasing |weight|");
            var marker = reviews[r].Text.Split(' ', '.').Single(w => Positive.Contains(w) || Negative.Contains(w));
            Assert.AreEqual(reviews[r].Label ? "True" : "False", classes[r], "the model predicts the marker's class");
            if (words[r][0] == marker && weights[r][0] > 0) markerFirst++;
        }
        Assert.IsTrue(markerFirst >= 18, $"the marker word has the top (positive) weight in {markerFirst} of 20 rows");
    }

    [TestMethod]
    public void MulticlassPipelineThatReplacesItsLabelInPlaceIsExplainedFromTheRawInputs()
    {
        // MapValueToKey("Label") replaces the text label in place; LIME rebuilds perturbed rows from the values that
        // entered the model (the label still text), so such a pipeline is accepted and scored as trained.
        string[] topics = ["goal", "vote", "chip"];
        var random = new Random(4);
        var rows = Enumerable.Range(0, 300).Select(_ =>
        {
            var topic = random.Next(3);
            var words = Enumerable.Range(0, 6).Select(_ => Neutral[random.Next(Neutral.Length)]).ToList();
            words.Insert(random.Next(words.Count + 1), topics[topic]);
            return new Topic { Text = string.Join(" ", words), Label = new[] { "sport", "politics", "tech" }[topic] };
        }).ToList();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.Text.FeaturizeText("Features", "Text"))
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy())
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
            .Fit(data);
        var lime = ml.Explain().Lime(new LimeOptions { TextColumn = "Text", NumberOfSamples = 300, NumberOfFeatures = 3, Seed = 2 }).Fit(model, data);
        var output = lime.Transform(ml.Data.TakeRows(data, 6));
        var words = output.GetColumn<string[]>("LimeWords").ToArray();
        var classes = output.GetColumn<string>("LimeClass").ToArray();
        CollectionAssert.AreEqual(rows.Take(6).Select(r => r.Label).ToArray(), classes, "the explained classes are the predicted topics");
        int markerFirst = Enumerable.Range(0, 6).Count(r => topics.Contains(words[r][0]) && rows[r].Text.Contains(words[r][0], StringComparison.Ordinal));
        Assert.IsTrue(markerFirst >= 5, $"the topic word comes first in {markerFirst} of 6 rows");
    }

    [TestMethod]
    public void TextsWithoutWordsStillGetTheirRow()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(Reviews(200, seed: 3));
        var model = ml.Transforms.Text.FeaturizeText("Features", "Text")
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression())
            .Fit(train);
        var lime = ml.Explain().Lime(new LimeOptions { TextColumn = "Text", NumberOfSamples = 200, Seed = 1 }).Fit(model, train);
        var output = lime.Transform(ml.Data.LoadFromEnumerable(new[] { new Review { Text = "" }, new Review { Text = " ... !" }, new Review { Text = "excellent" } }));
        var words = output.GetColumn<string[]>("LimeWords").ToArray();
        var scores = output.GetColumn<float>("LimeScore").ToArray();
        var probabilities = output.GetColumn<float>("Probability").ToArray();
        var local = output.GetColumn<float>("LimeLocalPrediction").ToArray();
        Assert.HasCount(3, words);
        Assert.IsEmpty(words[0]);
        Assert.IsEmpty(words[1]);
        Assert.IsTrue(float.IsNaN(scores[0]), "no surrogate without words");
        Assert.AreEqual(Math.Max(probabilities[0], 1 - probabilities[0]), local[0], 1e-6, "the prediction of the predicted class");
        CollectionAssert.AreEqual(new[] { "excellent" }, words[2]);
    }

    [TestMethod]
    public void BagOfWordsRemovesEveryOccurrenceAndPositionalMasksOne()
    {
        var bag = TextPerturbation.Parse("Good film, good cast; good!", LimeTextPerturbation.BagOfWords);
        CollectionAssert.AreEqual(new[] { "Good", "film", "good", "cast" }, bag.Features.ToArray(), "distinct words, case-sensitive");
        Assert.AreEqual("Good film,  cast; !", bag.Without([false, false, true, false], "UNKWORDZ"));

        var positional = TextPerturbation.Parse("good film, good", LimeTextPerturbation.Positional);
        CollectionAssert.AreEqual(new[] { "good", "film", "good" }, positional.Features.ToArray());
        Assert.AreEqual("good film, UNKWORDZ", positional.Without([false, false, true], "UNKWORDZ"));
    }

    [TestMethod]
    public void SamplesRemoveOneToAllWordsWithCosineKernelWeights()
    {
        var text = TextPerturbation.Parse("a b c d", LimeTextPerturbation.BagOfWords);
        const int n = 2000;
        var design = new double[n * 4];
        var texts = new string[n];
        var weights = new double[n];
        text.Sample(RowRandom.For(1, ["a b c d"]), "X", 25, design, texts, weights);
        Assert.AreEqual("a b c d", texts[0]);
        Assert.AreEqual(1, weights[0]);
        var removedCounts = new int[5];
        for (int i = 1; i < n; i++)
        {
            int kept = (int)design.AsSpan(i * 4, 4).ToArray().Sum();
            removedCounts[4 - kept]++;
            double distance = kept == 0 ? 100 : 100 * (1 - Math.Sqrt(kept / 4.0));
            Assert.AreEqual(Math.Sqrt(Math.Exp(-distance * distance / 625)), weights[i], 1e-12);
            Assert.AreEqual(kept, texts[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Length, texts[i]);
        }
        Assert.AreEqual(0, removedCounts[0], "every perturbation removes at least one word");
        for (int removed = 1; removed <= 4; removed++)
            Assert.AreEqual((n - 1) / 4.0, removedCounts[removed], 80, $"{removed} words removed: uniform in 1..4");
    }

    private sealed class Topic
    {
        public string Text { get; set; } = "";
        public string Label { get; set; } = "";
    }

    private sealed class Review
    {
        public string Text { get; set; } = "";
        public bool Label { get; set; }
    }
}
