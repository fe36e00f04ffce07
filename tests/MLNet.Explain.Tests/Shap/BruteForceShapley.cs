using Microsoft.ML.Trainers.FastTree;

namespace MLNet.Explain.Tests.Shap;

/// <summary>
/// Reference Shapley values by enumerating all 2^M coalitions, and the two games TreeSHAP solves, written directly
/// against ML.NET's public tree structure (independent of the library's tree reader).
/// </summary>
internal static class BruteForceShapley
{
    /// <summary>φ_i = Σ_{S ∌ i} |S|!(M−|S|−1)!/M! (v(S ∪ i) − v(S)) for a game on <paramref name="players"/> players.</summary>
    public static double[] Values(int players, Func<int, double> game)
    {
        var v = new double[1 << players];
        for (int mask = 0; mask < v.Length; mask++) v[mask] = game(mask);
        var factorial = new double[players + 1];
        factorial[0] = 1;
        for (int i = 1; i <= players; i++) factorial[i] = factorial[i - 1] * i;
        var phi = new double[players];
        for (int i = 0; i < players; i++)
            for (int mask = 0; mask < v.Length; mask++)
            {
                if ((mask >> i & 1) == 1) continue;
                int size = System.Numerics.BitOperations.PopCount((uint)mask);
                phi[i] += factorial[size] * factorial[players - size - 1] / factorial[players] * (v[mask | 1 << i] - v[mask]);
            }
        return phi;
    }

    /// <summary>ML.NET's routing of one node, NaN handling of FastTree (no missing-value defaults): NaN fails every comparison.</summary>
    public static bool GoesLeft(RegressionTreeBase tree, int node, float[] x)
        => tree.CategoricalSplitFlags[node]
            ? !tree.GetCategoricalSplitFeaturesAt(node).Any(slot => x[slot] > 0)
            : x[tree.NumericalSplitFeatureIndexes[node]] <= tree.NumericalSplitThresholds[node];

    public static int Leaf(RegressionTreeBase tree, float[] x)
    {
        int node = 0;
        while (node >= 0) node = GoesLeft(tree, node, x) ? tree.LeftChild[node] : tree.RightChild[node];
        return ~node;
    }

    /// <summary>Rows of <paramref name="data"/> reaching each node (index n) and leaf (index NumberOfNodes + leaf).</summary>
    public static double[] Covers(RegressionTreeBase tree, IEnumerable<float[]> data)
    {
        var covers = new double[tree.NumberOfNodes + tree.NumberOfLeaves];
        foreach (var x in data)
        {
            int node = 0;
            while (node >= 0)
            {
                covers[node]++;
                node = GoesLeft(tree, node, x) ? tree.LeftChild[node] : tree.RightChild[node];
            }
            covers[tree.NumberOfNodes + ~node]++;
        }
        return covers;
    }

    /// <summary>
    /// E[f(x) | x_S] of one tree: a split on a player in <paramref name="coalition"/> follows x, any other split averages
    /// its children weighted by their covers. <paramref name="playerOf"/> maps a node to its player.
    /// </summary>
    public static double PathDependent(RegressionTreeBase tree, double[] covers, float[] x, int coalition, Func<int, int> playerOf, int node = 0)
    {
        if (node < 0) return tree.LeafValues[~node];
        int left = tree.LeftChild[node], right = tree.RightChild[node];
        if ((coalition >> playerOf(node) & 1) == 1)
            return PathDependent(tree, covers, x, coalition, playerOf, GoesLeft(tree, node, x) ? left : right);
        double Cover(int child) => child >= 0 ? covers[child] : covers[tree.NumberOfNodes + ~child];
        return (Cover(left) * PathDependent(tree, covers, x, coalition, playerOf, left)
                + Cover(right) * PathDependent(tree, covers, x, coalition, playerOf, right)) / covers[node];
    }
}
