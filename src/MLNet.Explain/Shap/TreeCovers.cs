namespace MLNet.Explain.Shap;

/// <summary>
/// How many rows of the cover data reach each node and leaf of one tree. ML.NET keeps no node sample counts, so
/// path-dependent TreeSHAP counts them by routing data (the data the stage is fitted on) through the trees.
/// </summary>
internal sealed record TreeCovers(double[] Nodes, double[] Leaves)
{
    /// <summary>
    /// The share of <paramref name="node"/>'s cover that goes to <paramref name="child"/> (a node index, or
    /// <c>~leaf</c>): the conditional probability of that branch when the split's feature is unknown. A node no cover
    /// row reached splits its weight evenly, so every conditional expectation stays defined.
    /// </summary>
    public double Fraction(int node, int child)
    {
        double parent = Nodes[node];
        if (parent <= 0) return 0.5;
        return (child >= 0 ? Nodes[child] : Leaves[~child]) / parent;
    }

    /// <summary>Counts the covers of every tree of <paramref name="ensemble"/> over <paramref name="rows"/>.</summary>
    public static TreeCovers[][] Count(TreeEnsemble ensemble, IEnumerable<float[]> rows)
    {
        var covers = ensemble.Outputs
            .Select(trees => trees.Select(t => new TreeCovers(new double[t.NodeCount], new double[t.LeafCount])).ToArray())
            .ToArray();
        var all = ensemble.Outputs.SelectMany((trees, output) => trees.Select((tree, index) => (tree, covers: covers[output][index]))).ToArray();
        foreach (var chunk in rows.Chunk(4096))
        {
            foreach (var row in chunk)
                if (row.Length != ensemble.FeatureCount)
                    throw new ArgumentException($"A cover row has {row.Length} feature slots; the tree model reads {ensemble.FeatureCount}.");
            // Each tree's counts are written by one thread only.
            Parallel.ForEach(all, item =>
            {
                foreach (var row in chunk)
                    item.covers.Add(item.tree, row);
            });
        }
        return covers;
    }

    private void Add(FlatTree tree, ReadOnlySpan<float> features)
    {
        if (tree.NodeCount == 0)
        {
            Leaves[0]++;
            return;
        }
        int node = 0;
        while (node >= 0)
        {
            Nodes[node]++;
            node = tree.GoesLeft(node, features) ? tree.Left[node] : tree.Right[node];
        }
        Leaves[~node]++;
    }
}
