using System.Text;

namespace MLNet.Explain.Lime;

/// <summary>
/// A text split into words and separators (the reference's <c>IndexedString</c> with its default split on runs of
/// non-word characters), and rebuilt with some of its features removed. A word is a run of letters, digits and
/// underscores. Bag of words: the features are the distinct words (case-sensitive, in order of first appearance) and
/// removing one removes every occurrence. Positional: every occurrence is a feature and a removed one is replaced by
/// the mask token. Separators are always kept.
/// </summary>
internal sealed class TextPerturbation
{
    private readonly string _text;
    private readonly (int Start, int Length, int Feature)[] _tokens;
    private readonly bool _bagOfWords;

    private TextPerturbation(string text, (int, int, int)[] tokens, string[] features, bool bagOfWords)
    {
        _text = text;
        _tokens = tokens;
        Features = features;
        _bagOfWords = bagOfWords;
    }

    /// <summary>The features' words (one per feature; repeated words under positional perturbation).</summary>
    public IReadOnlyList<string> Features { get; }

    public static TextPerturbation Parse(string text, LimeTextPerturbation perturbation)
    {
        bool bagOfWords = perturbation == LimeTextPerturbation.BagOfWords;
        var tokens = new List<(int, int, int)>();
        var features = new List<string>();
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        int i = 0;
        while (i < text.Length)
        {
            int start = i;
            bool word = IsWordChar(text[i]);
            while (i < text.Length && IsWordChar(text[i]) == word) i++;
            if (!word)
            {
                tokens.Add((start, i - start, -1));
                continue;
            }
            var token = text[start..i];
            if (!bagOfWords || !vocabulary.TryGetValue(token, out int feature))
            {
                feature = features.Count;
                features.Add(token);
                if (bagOfWords) vocabulary[token] = feature;
            }
            tokens.Add((start, i - start, feature));
        }
        return new TextPerturbation(text, tokens.ToArray(), features.ToArray(), bagOfWords);
    }

    /// <summary>The text without the features flagged in <paramref name="removed"/>.</summary>
    public string Without(ReadOnlySpan<bool> removed, string maskToken)
    {
        var builder = new StringBuilder(_text.Length);
        foreach (var (start, length, feature) in _tokens)
        {
            if (feature >= 0 && removed[feature])
            {
                if (!_bagOfWords) builder.Append(maskToken);
                continue;
            }
            builder.Append(_text, start, length);
        }
        return builder.ToString();
    }

    /// <summary>
    /// Draws the neighbourhood of the text (the reference's <c>__data_labels_distances</c>): sample 0 is the text
    /// itself; every other sample removes between 1 and all features, chosen uniformly. Fills the binary design
    /// (samples x features, 1 = kept), the perturbed texts and the kernel weights on the cosine distance x 100.
    /// </summary>
    public void Sample(RowRandom random, string maskToken, double kernelWidth, Span<double> design, string[] texts, Span<double> weights)
    {
        int d = Features.Count, n = weights.Length;
        design.Fill(1);
        texts[0] = _text;
        weights[0] = 1;
        var removed = new bool[d];
        var chosen = new int[d];
        var scratch = new int[d];
        for (int i = 1; i < n; i++)
        {
            int count = 1 + random.NextInt(d);
            random.SampleWithoutReplacement(d, chosen.AsSpan(0, count), scratch);
            Array.Clear(removed);
            foreach (var feature in chosen.AsSpan(0, count))
            {
                removed[feature] = true;
                design[i * d + feature] = 0;
            }
            texts[i] = Without(removed, maskToken);
            double distance = 100 * CosineDistanceToAllOnes(d - count, d);
            weights[i] = Math.Sqrt(Math.Exp(-distance * distance / (kernelWidth * kernelWidth)));
        }
    }

    /// <summary>Cosine distance between a 0/1 vector with <paramref name="kept"/> ones and the all-ones vector (1 for the zero vector, as scikit-learn).</summary>
    private static double CosineDistanceToAllOnes(int kept, int total)
        => kept == 0 ? 1 : 1 - Math.Sqrt((double)kept / total);

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}
