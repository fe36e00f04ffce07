namespace MLNet.Explain.Onnx.Saliency;

/// <summary>How Integrated Gradients places its steps along the path from the baseline to the input.</summary>
public enum IntegrationRule
{
    /// <summary>Gauss–Legendre nodes: exact for polynomials of degree 2n−1, so far fewer steps reach a small delta.</summary>
    GaussLegendre,

    /// <summary>Left Riemann sum (alphas 0, 1/n, …, (n−1)/n), as in the original paper's code.</summary>
    RiemannLeft,

    /// <summary>Right Riemann sum (alphas 1/n, …, 1).</summary>
    RiemannRight,

    /// <summary>Midpoint rule (alphas (k+½)/n).</summary>
    RiemannMiddle,

    /// <summary>Trapezoid rule (alphas 0, 1/(n−1), …, 1 with halved end weights).</summary>
    RiemannTrapezoid,
}

/// <summary>Points and weights on [0, 1] whose weighted sum of f(α) approximates ∫₀¹ f(α) dα.</summary>
public static class Quadrature
{
    public static (double[] Alphas, double[] Weights) On01(IntegrationRule rule, int steps)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "Integration needs at least one step.");
        return rule switch
        {
            IntegrationRule.GaussLegendre => GaussLegendre(steps),
            IntegrationRule.RiemannLeft => Uniform(steps, k => (double)k / steps),
            IntegrationRule.RiemannRight => Uniform(steps, k => (k + 1.0) / steps),
            IntegrationRule.RiemannMiddle => Uniform(steps, k => (k + 0.5) / steps),
            IntegrationRule.RiemannTrapezoid => Trapezoid(steps),
            _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, "Unknown integration rule."),
        };
    }

    private static (double[], double[]) Uniform(int steps, Func<int, double> alpha)
        => (Enumerable.Range(0, steps).Select(alpha).ToArray(), Enumerable.Repeat(1.0 / steps, steps).ToArray());

    private static (double[], double[]) Trapezoid(int steps)
    {
        if (steps == 1) return ([0.5], [1.0]);
        var alphas = Enumerable.Range(0, steps).Select(k => (double)k / (steps - 1)).ToArray();
        var weights = Enumerable.Repeat(1.0 / (steps - 1), steps).ToArray();
        weights[0] /= 2;
        weights[^1] /= 2;
        return (alphas, weights);
    }

    /// <summary>Gauss–Legendre nodes by Newton's method on Pₙ, mapped from [−1, 1] to [0, 1].</summary>
    private static (double[], double[]) GaussLegendre(int n)
    {
        var alphas = new double[n];
        var weights = new double[n];
        for (int i = 0; i < n; i++)
        {
            double x = Math.Cos(Math.PI * (i + 0.75) / (n + 0.5));
            double derivative;
            while (true)
            {
                (double p, derivative) = Legendre(n, x);
                double step = p / derivative;
                x -= step;
                if (Math.Abs(step) < 1e-15) break;
            }
            (_, derivative) = Legendre(n, x);
            alphas[n - 1 - i] = (x + 1) / 2;
            weights[n - 1 - i] = 1 / ((1 - x * x) * derivative * derivative);
        }
        return (alphas, weights);
    }

    /// <summary>Pₙ(x) and Pₙ'(x) by the three-term recurrence.</summary>
    private static (double Value, double Derivative) Legendre(int n, double x)
    {
        double previous = 1, current = x;
        for (int k = 2; k <= n; k++)
            (previous, current) = (current, ((2 * k - 1) * x * current - (k - 1) * previous) / k);
        if (n == 0) return (1, 0);
        double derivative = n * (x * current - previous) / (x * x - 1);
        return (current, derivative);
    }
}
