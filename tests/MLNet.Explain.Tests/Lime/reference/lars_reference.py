"""Reference lasso path for FeatureSelectionTests (scikit-learn 1.2.1), computed as Python lime's lasso_path selection
does: weighted-centered data scaled by sqrt(weights), then lars_path(method='lasso'). Data: tests/data/diabetes.csv,
features standardized (population std), weights w_i = 0.2 + 0.8 * ((37 i) mod 100) / 100."""
import numpy as np
from sklearn.linear_model import lars_path

d = np.loadtxt("tests/data/diabetes.csv", delimiter=",", skiprows=1)
X, y = d[:, :-1], d[:, -1]
X = (X - X.mean(0)) / X.std(0)
w = 0.2 + 0.8 * ((37 * np.arange(len(y))) % 100) / 100
Xw = (X - np.average(X, axis=0, weights=w)) * np.sqrt(w[:, None])
yw = (y - np.average(y, weights=w)) * np.sqrt(w)
alphas, active, coefs = lars_path(Xw, yw, method="lasso")
print("path =", coefs.T.tolist())
for k in range(1, 11):  # lime's choice: the last breakpoint with at most k non-zero coefficients
    nonzero = list(range(X.shape[1]))
    for i in range(coefs.shape[1] - 1, 0, -1):
        nonzero = coefs.T[i].nonzero()[0]
        if len(nonzero) <= k:
            break
    print(k, list(nonzero))
