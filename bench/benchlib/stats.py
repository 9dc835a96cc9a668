"""The statistics the reports use, in one place.

- Means with 95% t-intervals over repetitions; on log axes, intervals of
  the geometric mean (t-interval of the logs, back-transformed: asymmetric).
- Ratios and changes with 95% percentile-bootstrap intervals (resampling
  each group's repetitions independently; 10,000 resamples, fixed seed).
- Welch's t-test for two groups; Holm's step-down correction when a study
  makes several comparisons (the sweeps: every level against the base).
- The declared outlier rule: a repetition is an outlier when it lies more
  than 3 scaled MADs (1.4826 x median absolute deviation) from its group's
  median, with 4 or more repetitions in the group. Reports show summaries
  with and without outliers; nothing is dropped silently.
- ANOVA residual checks: Shapiro-Wilk (normality of residuals) and
  Brown-Forsythe/Levene around the median (equal variance across cells),
  and externally studentized residuals, |r| > 3 flagged.
- A least-squares slope with its 95% t-interval (a soak's drift per hour)."""
import math

import numpy as np
import pandas as pd
from scipy import stats

BOOTSTRAP_N = 10000
SEED = 20261127
OUTLIER_MADS = 3.0


def _vals(values):
    return pd.Series(values, dtype="float64").dropna()


def ci95(values):
    """(mean, half-width of the 95% t-interval); half-width NaN for n < 2."""
    v = _vals(values)
    if v.empty:
        return math.nan, math.nan
    if len(v) < 2:
        return float(v.mean()), math.nan
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return float(v.mean()), float(half)


def geo_ci95(values):
    """(geometric mean, low, high): the t-interval of the logs,
    back-transformed (asymmetric; for log axes). Non-positive values are
    left out."""
    v = _vals(values)
    v = v[v > 0]
    if v.empty:
        return math.nan, math.nan, math.nan
    lg = np.log(v)
    m = float(lg.mean())
    if len(v) < 2:
        return math.exp(m), math.nan, math.nan
    half = stats.t.ppf(0.975, len(v) - 1) * float(lg.std(ddof=1)) / math.sqrt(len(v))
    return math.exp(m), math.exp(m - half), math.exp(m + half)


def bootstrap_ratio(a, b, seed=SEED, n=BOOTSTRAP_N):
    """(mean(a)/mean(b), low, high): 95% percentile-bootstrap interval,
    each group resampled on its own. NaN bounds when a group has < 2."""
    a, b = _vals(a).to_numpy(), _vals(b).to_numpy()
    if len(a) == 0 or len(b) == 0 or b.mean() == 0:
        return math.nan, math.nan, math.nan
    point = a.mean() / b.mean()
    if len(a) < 2 or len(b) < 2:
        return float(point), math.nan, math.nan
    rng = np.random.default_rng(seed)
    ra = rng.choice(a, size=(n, len(a)), replace=True).mean(axis=1)
    rb = rng.choice(b, size=(n, len(b)), replace=True).mean(axis=1)
    ok = rb != 0
    r = ra[ok] / rb[ok]
    return float(point), float(np.percentile(r, 2.5)), float(np.percentile(r, 97.5))


def welch_p(a, b):
    a, b = _vals(a), _vals(b)
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if a.std(ddof=1) == 0 and b.std(ddof=1) == 0:
        return 0.0 if a.mean() != b.mean() else 1.0
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def holm(pvalues):
    """Holm-adjusted p-values, in the input order (NaN stays NaN)."""
    idx = [i for i, p in enumerate(pvalues) if not (p is None or math.isnan(p))]
    order = sorted(idx, key=lambda i: pvalues[i])
    m = len(order)
    out = [math.nan] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        adj = min(1.0, (m - rank) * pvalues[i])
        running = max(running, adj)
        out[i] = running
    return out


def outliers(values):
    """Booleans, one per value: True for an outlier by the declared rule."""
    v = pd.Series(values, dtype="float64")
    flags = [False] * len(v)
    x = v.dropna()
    if len(x) < 4:
        return flags
    med = x.median()
    mad = 1.4826 * (x - med).abs().median()
    if mad == 0:
        return flags
    for i, val in enumerate(v):
        if not math.isnan(val) and abs(val - med) / mad > OUTLIER_MADS:
            flags[i] = True
    return flags


def without_outliers(values, flags=None):
    """The values the declared rule keeps (flags: outliers(values), if already at hand)."""
    return [v for v, out in zip(values, outliers(values) if flags is None else flags) if not out]


def residual_checks(model, groups):
    """Shapiro-Wilk on the residuals, Brown-Forsythe on the groups'
    residuals, studentized residuals above 3: a dict."""
    resid = pd.Series(model.resid).reset_index(drop=True)
    groups = pd.Series(groups).reset_index(drop=True)
    out = {"n": int(len(resid))}
    if len(resid) >= 3:
        out["shapiro_w"], out["shapiro_p"] = [float(x) for x in stats.shapiro(resid)]
    grouped = [resid[groups == g].to_numpy() for g in pd.unique(groups)]
    grouped = [g for g in grouped if len(g) >= 2]
    if len(grouped) >= 2:
        out["levene_w"], out["levene_p"] = [float(x) for x in stats.levene(*grouped, center="median")]
    try:
        st = model.get_influence().resid_studentized_external
        out["max_abs_studentized"] = float(np.nanmax(np.abs(st)))
        out["studentized_over_3"] = [int(i) for i in np.where(np.abs(st) > 3)[0]]
    except Exception:  # a saturated model has no residual degrees of freedom
        out["max_abs_studentized"] = math.nan
        out["studentized_over_3"] = []
    return out


def fmt(mean, half=None, digits=0):
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    s = f"{mean:,.{digits}f}"
    if half is not None and not (isinstance(half, float) and math.isnan(half)):
        s += f" ± {half:,.{digits}f}"
    return s


def fmt_ratio(point, lo, hi, as_change=True):
    """'+12.3% [+8.1, +16.0]' (as_change) or '1.12x [1.08, 1.16]'."""
    if point is None or math.isnan(point):
        return "–"
    if as_change:
        s = f"{(point - 1) * 100:+.1f}%"
        if not math.isnan(lo):
            s += f" [{(lo - 1) * 100:+.1f}, {(hi - 1) * 100:+.1f}]"
        return s
    s = f"{point:.2f}x"
    if not math.isnan(lo):
        s += f" [{lo:.2f}, {hi:.2f}]"
    return s


def fmt_p(p):
    if p is None or math.isnan(p):
        return "–"
    return f"{p:.2g}" if p >= 1e-4 else "<1e-4"


def slope_ci95(x, y):
    """Least-squares line of y on x: (slope, low, high, intercept), the
    slope's 95% interval from the t distribution with n - 2 degrees of
    freedom (standard error sqrt(SSR / (n - 2) / Sxx)). The interval is NaN
    for n < 3; everything is NaN for n < 2 or a constant x."""
    x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = len(x)
    if n < 2:
        return math.nan, math.nan, math.nan, math.nan
    sxx = float(((x - x.mean()) ** 2).sum())
    if sxx == 0:
        return math.nan, math.nan, math.nan, math.nan
    slope = float(((x - x.mean()) * (y - y.mean())).sum() / sxx)
    intercept = float(y.mean() - slope * x.mean())
    if n < 3:
        return slope, math.nan, math.nan, intercept
    ssr = float(((y - (intercept + slope * x)) ** 2).sum())
    half = float(stats.t.ppf(0.975, n - 2)) * math.sqrt(ssr / (n - 2) / sxx)
    return slope, slope - half, slope + half, intercept
