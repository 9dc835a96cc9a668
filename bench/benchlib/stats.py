"""Means with 95% t-intervals, and how the reports print them."""
import math

import pandas as pd
from scipy import stats


def ci95(values):
    """(mean, half-width of the 95% t-interval); half-width is NaN for n < 2."""
    v = pd.Series(values).dropna().astype(float)
    if v.empty:
        return math.nan, math.nan
    if len(v) < 2:
        return float(v.mean()), math.nan
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return float(v.mean()), float(half)


def fmt(mean, half, digits=0):
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    s = f"{mean:,.{digits}f}"
    if half is not None and not math.isnan(half):
        s += f" ± {half:,.{digits}f}"
    return s
