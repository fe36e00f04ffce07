"""Reference values for WeightedLeastSquaresTests and NormalTests (scikit-learn 1.2.1, scipy 1.10.1).

Run with /usr/bin/python3 after `apt-get install python3-sklearn`; the printed numbers are pasted into the tests.
"""
import numpy as np
from scipy.stats import norm
from sklearn.linear_model import Ridge

rng = np.random.RandomState(0)
X = np.round(rng.normal(size=(12, 3)), 2)
y = np.round(X @ [1.5, -2, 0.5] + rng.normal(size=12) * 0.3 + 4, 2)
w = np.round(rng.uniform(0.1, 2, size=12), 2)
print(X.tolist(), y.tolist(), w.tolist(), sep="\n")
for alpha, intercept in [(1.0, True), (0.5, False)]:
    m = Ridge(alpha=alpha, fit_intercept=intercept).fit(X, y, sample_weight=w)
    print(m.coef_.tolist(), m.intercept_, m.score(X, y, sample_weight=w))
print([norm.cdf(v) for v in [-10, -5, -3.5, -1, 0, 0.3, 2.9, 3.1, 6]])
print([norm.ppf(v) for v in [1e-12, 0.001, 0.02, 0.3, 0.5, 0.9, 0.99999]])
