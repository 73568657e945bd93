#!/usr/bin/env python3
"""An ETT-like hourly table for docs/forecast-quality.md, item 28: six load columns with daily and
weekly cycles around slowly wandering levels (random walks), an AR(1) noise each, and an oil
temperature `OT` that follows the mean load; every load falls by 1.25-2.75 from row 6,833 of
8,760, just before the test part of tsf's default split (the level shift of the issue's held-out
benchmark). Seeded: the same file every time.

    python3 scripts/quality/ett_like.py [OUT]     # default /tmp/ett/ett_like.csv (numpy, pandas)
"""
import argparse
from pathlib import Path

import numpy as np
import pandas as pd

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("out", nargs="?", default="/tmp/ett/ett_like.csv", help="CSV to write")
out = Path(parser.parse_args().out)
out.parent.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(7)
n = 24 * 365
t = np.arange(n)
idx = pd.date_range("2016-07-01", periods=n, freq="h")
cols = {}
base_level = np.cumsum(rng.normal(0, 0.03, n))  # shared slow level
shift = np.where(t > int(n * 0.78), -2.5, 0.0)    # level shift before the test part
for i, name in enumerate(["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL"]):
    amp = 1.0 + 0.3 * i
    own = np.cumsum(rng.normal(0, 0.02, n))
    daily = amp * np.sin(2 * np.pi * (t % 24) / 24 + 0.3 * i)
    weekly = 0.4 * amp * np.sin(2 * np.pi * (t % 168) / 168)
    ar = np.zeros(n)
    e = rng.normal(0, 0.3, n)
    for k in range(1, n):
        ar[k] = 0.7 * ar[k - 1] + e[k]
    cols[name] = 5 + i + base_level + own + daily + weekly + ar + shift * (0.5 + 0.2 * i)
load = sum(cols.values()) / 6
ot = np.zeros(n); ot[0] = 10
for k in range(1, n):
    ot[k] = ot[k - 1] + 0.05 * (0.8 * load[k - 1] + 5 - ot[k - 1]) + rng.normal(0, 0.15)
cols["OT"] = ot
df = pd.DataFrame(cols, index=idx); df.index.name = "date"
df.round(3).to_csv(out)
print(df.describe().T[["mean", "std", "min", "max"]])
