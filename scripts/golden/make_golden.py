#!/usr/bin/env python3
"""Regenerates the golden fixtures in tests/golden/ with the reference Python libraries.

    python scripts/golden/make_golden.py                  # both parts, into tests/golden/
    python scripts/golden/make_golden.py --out DIR        # somewhere else (e.g. to compare)
    python scripts/golden/make_golden.py --only fairness  # fairlearn only (no torch needed)
    python scripts/golden/make_golden.py --only kpss      # statsmodels' KPSS statistic only
    python scripts/golden/make_golden.py --compare DIR    # DIR's files against tests/golden/

Pinned versions: scripts/golden/requirements.txt (fairlearn 0.15.0, pandas 3.1.1, torch 2.15.0
CPU, captum 0.9.0, shap 0.51.0, numpy 2.4.6, statsmodels 0.15.0). What each value means is in tests/golden/README.md.

Not generated here: fairness_case.json (the fixed input case, read as it is) and TPE.md (Optuna's
medians, a separate study).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"


# --------------------------------------------------------------------------------------------
# statsmodels: kpss_golden.json, the KPSS level-stationarity statistic (ts_train::fit::kpss_level)
# --------------------------------------------------------------------------------------------

KPSS_SERIES = [
    ("statsmodels_macrodata.csv", "tbilrate"),
    ("statsmodels_macrodata.csv", "realgdp"),
    ("statsmodels_macrodata.csv", "infl"),
    ("macro_fred_monthly_1990_2025.csv", "Inflation Rate (CPI)"),
    ("statsmodels_sunspots.csv", "SUNACTIVITY"),
    ("pmdarima_wineind.csv", "wine_sales"),
]


def kpss_golden() -> dict:
    """statsmodels' kpss(x, regression="c", nlags="legacy") of bundled columns and of two seeded
    series (a random walk, white noise), with the values themselves."""
    import warnings

    import pandas as pd
    from statsmodels.tsa.stattools import kpss

    cases = []
    for file, column in KPSS_SERIES:
        x = pd.read_csv(ROOT / "data" / file)[column].to_numpy(dtype=np.float64)
        cases.append((f"{file}:{column}", x))
    rng = np.random.default_rng(3)
    cases.append(("random walk (default_rng(3), 500 steps)", np.cumsum(rng.normal(size=500))))
    cases.append(("white noise (default_rng(3), 500 values)", rng.normal(size=500)))
    out = []
    for name, x in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stat, _p, lags, _crit = kpss(x, regression="c", nlags="legacy")
        out.append({"name": name, "values": x.tolist(), "lags": int(lags), "statistic": float(stat)})
    return {"reference": "statsmodels.tsa.stattools.kpss(x, regression='c', nlags='legacy')", "cases": out}


# --------------------------------------------------------------------------------------------
# fairlearn: fairness_golden.json from fairness_case.json
# --------------------------------------------------------------------------------------------


def fairness(case_path: Path) -> dict:
    import fairlearn
    import pandas as pd
    from fairlearn import metrics as fm
    from sklearn.metrics import accuracy_score

    cases = json.loads(case_path.read_text())
    out: dict = {"fairlearn_version": fairlearn.__version__, "pandas_version": pd.__version__}
    for name in ["two_groups", "four_groups"]:
        c = cases[name]
        y_true = np.asarray(c["y_true"])
        y_pred = np.asarray(c["y_pred"])
        group = np.asarray(c["group"])
        kw = {"sensitive_features": group}

        def disparities(method: str) -> dict:
            k = dict(kw, method=method)
            return {
                "demographic_parity_difference": fm.demographic_parity_difference(y_true, y_pred, **k),
                "demographic_parity_ratio": fm.demographic_parity_ratio(y_true, y_pred, **k),
                "equalized_odds_difference": fm.equalized_odds_difference(y_true, y_pred, **k),
                "equalized_odds_ratio": fm.equalized_odds_ratio(y_true, y_pred, **k),
                "equalized_odds_difference_agg_mean": fm.equalized_odds_difference(
                    y_true, y_pred, agg="mean", **k
                ),
                "equalized_odds_ratio_agg_mean": fm.equalized_odds_ratio(y_true, y_pred, agg="mean", **k),
                "equal_opportunity_difference": fm.equal_opportunity_difference(y_true, y_pred, **k),
                "equal_opportunity_ratio": fm.equal_opportunity_ratio(y_true, y_pred, **k),
            }

        rates = {
            "selection_rate": fm.selection_rate,
            "tpr": fm.true_positive_rate,
            "fpr": fm.false_positive_rate,
            "accuracy": accuracy_score,
        }
        mf = fm.MetricFrame(metrics=rates, y_true=y_true, y_pred=y_pred, **kw)
        counts = fm.MetricFrame(metrics=fm.count, y_true=y_true, y_pred=y_pred, **kw).by_group

        def row(series) -> dict:
            return {k: float(series[k]) for k in rates}

        out[name] = {
            "n": int(len(y_true)),
            "between_groups": {k: float(v) for k, v in disparities("between_groups").items()},
            "to_overall": {k: float(v) for k, v in disparities("to_overall").items()},
            "by_group": {str(g): row(mf.by_group.loc[g]) for g in mf.by_group.index},
            "group_counts": {str(g): int(counts.loc[g]) for g in counts.index},
            "overall": row(mf.overall),
            "metricframe_difference_between_groups": row(mf.difference(method="between_groups")),
            "metricframe_ratio_between_groups": row(mf.ratio(method="between_groups")),
            "metricframe_group_min": row(mf.group_min()),
            "metricframe_group_max": row(mf.group_max()),
        }
    return out


# --------------------------------------------------------------------------------------------
# torch + captum + shap: the LSTM attribution case
# --------------------------------------------------------------------------------------------

SEQ, FEAT, HID = 12, 3, 8
N_STEPS = 64


def explain(out_dir: Path) -> dict:
    import captum
    import shap
    import torch
    from captum.attr import InputXGradient, IntegratedGradients, Saliency
    from captum.attr._utils.approximation_methods import approximation_parameters
    from safetensors.numpy import save_file as save_np
    from safetensors.torch import save_file
    from torch import nn

    torch.set_num_threads(1)  # one summation order, whatever the machine

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(input_size=FEAT, hidden_size=HID, num_layers=2, batch_first=True, dropout=0.0)
            self.fc = nn.Linear(HID, 1)

        def forward(self, x):
            return self.fc(self.lstm(x)[0][:, -1, :])

    torch.manual_seed(0)
    m32 = Net().eval()
    m64 = Net().eval()
    m64.load_state_dict(m32.state_dict())
    m64 = m64.double()
    for p in list(m32.parameters()) + list(m64.parameters()):
        p.requires_grad_(False)

    sd32 = {k: v.contiguous() for k, v in m32.state_dict().items()}
    save_file(sd32, str(out_dir / "lstm_tiny.safetensors"))
    save_file({k: v.double() for k, v in sd32.items()}, str(out_dir / "lstm_tiny_f64.safetensors"))

    x_np = np.random.default_rng(1).random((5, SEQ, FEAT), dtype=np.float32)
    bg_np = np.random.default_rng(2).random((20, SEQ, FEAT), dtype=np.float32)
    x64, x32 = torch.from_numpy(x_np.astype(np.float64)), torch.from_numpy(x_np)
    bg64, bg32 = torch.from_numpy(bg_np.astype(np.float64)), torch.from_numpy(bg_np)

    def f(model, x):
        with torch.no_grad():
            return model(x)[:, 0]

    def lst(t) -> list:
        return np.asarray(t.detach().numpy() if hasattr(t, "detach") else t, dtype=np.float64).tolist()

    fx64, fx32 = f(m64, x64), f(m32, x32)
    fb64, fb32 = f(m64, bg64), f(m32, bg32)
    f0 = f(m64, torch.zeros(1, SEQ, FEAT, dtype=torch.float64))[0]

    # Saliency and InputXGradient (Captum), float64 model and float32 model.
    def sal(model, x):
        return Saliency(model).attribute(x.clone().requires_grad_(), target=0, abs=False)

    def ixg(model, x):
        return InputXGradient(model).attribute(x.clone().requires_grad_(), target=0)

    sal64, sal32 = sal(m64, x64), sal(m32, x32)
    ixg64, ixg32 = ixg(m64, x64), ixg(m32, x32)

    # Integrated gradients, baseline zeros.
    def ig_exact(model, x, alphas, weights, dtype):
        """IG with the given alphas and weights: the gradients at all alpha_k * x in one batch (as
        Captum does), in the model's dtype (alpha_k rounded to it), weighted and summed over k in
        float64."""
        n = len(alphas)
        base = torch.zeros_like(x)
        z = torch.cat([base + torch.tensor(a, dtype=dtype) * (x - base) for a in alphas]).requires_grad_()
        with torch.enable_grad():
            (g,) = torch.autograd.grad(model(z)[:, 0].sum(), z)
        w = torch.tensor(weights, dtype=torch.float64)
        total = (w[:, None, None, None] * g.double().reshape(n, *x.shape)).sum(0)
        attr = (x - base).double() * total
        delta = attr.sum(dim=(1, 2)) - (f(model, x) - f(model, base)).double()
        return attr, delta

    def ig_captum(model, x, method):
        ig = IntegratedGradients(model)
        a, d = ig.attribute(
            x.clone().requires_grad_(),
            baselines=torch.zeros_like(x),
            target=0,
            n_steps=N_STEPS,
            method=method,
            return_convergence_delta=True,
        )
        return a, d

    def exact_rule(method, n):
        if method == "riemann_trapezoid":
            alphas = [k / (n - 1) for k in range(n)]
            weights = [1.0 / n] * n
            weights[0] = weights[-1] = 1.0 / (2 * n)
        else:
            t, u = np.polynomial.legendre.leggauss(n)
            alphas = list((1.0 + t) / 2.0)
            weights = list(u / 2.0)
        return [float(a) for a in alphas], [float(w) for w in weights]

    def captum_rule(method, n):
        step_sizes, alphas = approximation_parameters(method)
        # Captum multiplies the gradients by torch.tensor(step_sizes).float(): float32 weights.
        w = torch.tensor(step_sizes(n)).float().double().tolist()
        return [float(a) for a in alphas(n)], w

    igs: dict = {}
    ig_f32_exact: dict = {}
    for method in ["riemann_trapezoid", "gausslegendre"]:
        al, wt = exact_rule(method, N_STEPS)
        v, d = ig_exact(m64, x64, al, wt, torch.float64)
        cal, cwt = captum_rule(method, N_STEPS)
        cv, cd = ig_captum(m64, x64, method)
        cv32, cd32 = ig_captum(m32, x32, method)
        ig_f32_exact[method] = ig_exact(m32, x32, al, wt, torch.float32)
        igs[method] = {
            "method": method,
            "n_steps": N_STEPS,
            "dtype": "float64",
            "alphas": al,
            "weights": wt,
            "values": lst(v),
            "delta": lst(d),
            "captum_alphas": cal,
            "captum_weights": cwt,
            "values_captum": lst(cv),
            "delta_captum": lst(cd),
            "values_captum_f32_model": lst(cv32),
            "delta_captum_f32_model": lst(cd32),
        }
    al, wt = exact_rule("gausslegendre", 512)
    v512, d512 = ig_exact(m64, x64, al, wt, torch.float64)

    # Shapley values, features and time steps as players, interventional value function.
    def coalition_values(model, x, n, axis, dtype):
        """v[i, S] = mean_b f(b with the players in S taken from x[i]), shape [5, 2^n]."""
        bg = bg64 if dtype == torch.float64 else bg32
        nb = bg.shape[0]
        masks = torch.tensor(
            [[(s >> j) & 1 for j in range(n)] for s in range(2**n)], dtype=torch.bool
        )  # [2^n, n]
        out = []
        for i in range(x.shape[0]):
            if axis == "features":
                m = masks[:, None, None, :].expand(2**n, nb, SEQ, FEAT)
            else:
                m = masks[:, None, :, None].expand(2**n, nb, SEQ, FEAT)
            z = torch.where(m, x[i].expand(2**n, nb, SEQ, FEAT), bg.expand(2**n, nb, SEQ, FEAT))
            fz = f(model, z.reshape(-1, SEQ, FEAT)).reshape(2**n, nb)
            out.append(fz.mean(dim=1))
        return torch.stack(out)

    def shapley(v, n, dtype=np.float64):
        v = np.asarray(v, dtype=dtype)
        fact = [math.factorial(k) for k in range(n + 1)]
        phi = np.zeros(v.shape[:-1] + (n,), dtype=dtype)
        for j in range(n):
            for s in range(2**n):
                if s >> j & 1:
                    continue
                size = bin(s).count("1")
                w = dtype(fact[size] * fact[n - size - 1] / fact[n])
                phi[..., j] += w * (v[..., s | (1 << j)] - v[..., s])
        return phi

    def kernel_shap(v_row, n):
        def g(zs):
            return np.array([v_row[int(sum(int(b) << j for j, b in enumerate(z)))] for z in zs])

        ex = shap.KernelExplainer(g, np.zeros((1, n)))
        phi = ex.shap_values(np.ones((1, n)), nsamples=2**n - 2, l1_reg=False, silent=True)
        return np.asarray(phi, dtype=np.float64).reshape(-1)[:n]

    shapleys: dict = {}
    v_tables: dict = {}
    all_f32: dict = {}
    for axis, n in [("features", FEAT), ("timesteps", SEQ)]:
        v64 = coalition_values(m64, x64, n, axis, torch.float64).numpy()
        v32 = coalition_values(m32, x32, n, axis, torch.float32).numpy()
        v_tables[axis] = (v64, v32)
        phi = shapley(v64, n)
        phi32 = shapley(v32.astype(np.float64), n)
        all_f32[axis] = shapley(v32, n, np.float32)
        ks = np.stack([kernel_shap(v64[i], n) for i in range(v64.shape[0])])
        base = float(v64[0, 0])
        what = "feature column j over all 12 time steps" if axis == "features" else "time step row t (all 3 features)"
        letter = "j" if axis == "features" else "t"
        sel = "z[:, j] = x[:, j]" if axis == "features" else "z[t, :] = x[t, :]"
        d: dict = {
            "players": f"{n} players; player {letter} = {what}",
            "value_function": f"v(S) = mean over the 20 background windows b of f(z), z = b with {sel} for {letter} in S",
            "coalition_index": f"bit {letter} of the index set <=> player {letter} in S (index 0 = empty, {2**n - 1} = all)",
            "dtype": "float64",
            "base_value": base,
        }
        if axis == "features":
            d["v"] = v64.tolist()
        else:
            d["v_file"] = "explain_golden_v.safetensors, key v_timesteps, float64 [5, 4096]"
        d["values"] = phi.tolist()
        d["values_f32_model"] = phi32.tolist()
        d["kernel_shap"] = ks.tolist()
        d["kernel_shap_settings"] = (
            f"shap.KernelExplainer(g, zeros((1,{n}))).shap_values(ones((1,{n})), nsamples={2**n - 2}, "
            "l1_reg=False), g(z) = v(coalition with bits z); all coalitions enumerated"
        )
        d["kernel_shap_max_abs_diff"] = float(np.abs(ks - phi).max())
        d["efficiency_residual"] = (phi.sum(axis=1) - (fx64.numpy() - base)).tolist()
        shapleys[axis] = d

    save_np(
        {"v_features": v_tables["features"][0], "v_timesteps": v_tables["timesteps"][0]},
        str(out_dir / "explain_golden_v.safetensors"),
    )

    def err(got, want, scale=None) -> dict:
        got, want = np.asarray(lst(got)), np.asarray(lst(want))
        mad = float(np.abs(got - want).max())
        sc = float(np.abs(want).max()) if scale is None else scale
        return {"max_abs_diff": mad, "scale": sc, "max_abs_diff_over_scale": mad / sc}

    rt, gl = igs["riemann_trapezoid"], igs["gausslegendre"]
    dscale = float(np.abs(fx64.numpy() - float(f0)).max())
    f32_vs_f64 = {
        "forward": err(fx32, fx64),
        "saliency": err(sal32, sal64),
        "input_x_gradient": err(ixg32, ixg64),
        "ig_riemann_trapezoid_captum_f32": err(rt["values_captum_f32_model"], rt["values"]),
        "ig_gausslegendre_captum_f32": err(gl["values_captum_f32_model"], gl["values"]),
        "ig_riemann_trapezoid_f32_exact_weights": err(ig_f32_exact["riemann_trapezoid"][0], rt["values"]),
        "ig_gausslegendre_f32_exact_weights": err(ig_f32_exact["gausslegendre"][0], gl["values"]),
        "ig_delta_riemann_trapezoid_captum_f32": err(rt["delta_captum_f32_model"], rt["delta"], dscale),
        "ig_delta_gausslegendre_captum_f32": err(gl["delta_captum_f32_model"], gl["delta"], dscale),
        "shapley_features": err(shapleys["features"]["values_f32_model"], shapleys["features"]["values"]),
        "shapley_timesteps": err(shapleys["timesteps"]["values_f32_model"], shapleys["timesteps"]["values"]),
        "shapley_features_all_f32": err(all_f32["features"], shapleys["features"]["values"]),
        "shapley_timesteps_all_f32": err(all_f32["timesteps"], shapleys["timesteps"]["values"]),
        "coalition_values_timesteps": err(v_tables["timesteps"][1], v_tables["timesteps"][0]),
    }

    return {
        "format": "explain_golden v1",
        "versions": {
            "torch": torch.__version__.split("+")[0],
            "captum": captum.__version__,
            "shap": shap.__version__,
            "numpy": np.__version__,
        },
        "model": {
            "definition": "lstm = nn.LSTM(input_size=3, hidden_size=8, num_layers=2, batch_first=True, dropout=0.0); "
            "fc = nn.Linear(8, 1); f(x) = fc(lstm(x)[0][:, -1, :]); h0 = c0 = 0; eval mode",
            "init": "torch.manual_seed(0); Net() with PyTorch default initialisation (untrained)",
            "weights_f32": "lstm_tiny.safetensors",
            "weights_f64": "lstm_tiny_f64.safetensors (the float32 weights cast exactly to float64)",
            "input_size": FEAT,
            "hidden_size": HID,
            "num_layers": 2,
            "seq_len": SEQ,
            "gate_order": ["i", "f", "g", "o"],
        },
        "inputs": {
            "shape": [5, SEQ, FEAT],
            "generator": "numpy.random.default_rng(1).random((5, 12, 3), dtype=numpy.float32)",
            "note": "values are float32 numbers written as float64; identical in both dtypes",
            "data": x_np.astype(np.float64).tolist(),
        },
        "background": {
            "shape": [20, SEQ, FEAT],
            "generator": "numpy.random.default_rng(2).random((20, 12, 3), dtype=numpy.float32)",
            "data": bg_np.astype(np.float64).tolist(),
        },
        "forward": {
            "f64": lst(fx64),
            "f32": lst(fx32),
            "background_f64": lst(fb64),
            "background_f32": lst(fb32),
            "background_mean_f64": float(fb64.mean()),
            "zero_input_f64": float(f0),
        },
        "saliency": {
            "settings": "captum.attr.Saliency(model).attribute(x, target=0, abs=False): raw d f / d x",
            "dtype": "float64",
            "shape": [5, SEQ, FEAT],
            "values": lst(sal64),
            "values_f32_model": lst(sal32),
        },
        "input_x_gradient": {
            "settings": "captum.attr.InputXGradient(model).attribute(x, target=0): x * d f / d x",
            "dtype": "float64",
            "shape": [5, SEQ, FEAT],
            "values": lst(ixg64),
            "values_f32_model": lst(ixg32),
        },
        "integrated_gradients": {
            "common": "baseline = zeros(12, 3), target=0, n_steps=64, multiply_by_inputs=True; attr = (x - baseline) "
            "* sum_k w_k * grad f(baseline + alpha_k (x - baseline)); delta = sum(attr) - (f(x) - f(baseline))",
            "reference_gausslegendre_512": {
                "note": "Gauss-Legendre, 512 nodes, float64: the integral to about machine precision; context only",
                "values": lst(v512),
                "delta": lst(d512),
            },
            "riemann_trapezoid": rt,
            "gausslegendre": gl,
        },
        "shapley_features": shapleys["features"],
        "shapley_timesteps": shapleys["timesteps"],
        "f32_vs_f64": f32_vs_f64,
        "ig_captum_vs_exact_f64": {
            "riemann_trapezoid": err(rt["values_captum"], rt["values"]),
            "gausslegendre": err(gl["values_captum"], gl["values"]),
        },
    }


# --------------------------------------------------------------------------------------------
# Comparing a regenerated folder with the committed one
# --------------------------------------------------------------------------------------------


def _walk(a, b, path, diffs, problems):
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            problems.append(f"{path}: keys {sorted(set(a) ^ set(b))} differ")
        for k in a:
            if k in b:
                _walk(a[k], b[k], f"{path}.{k}", diffs, problems)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            problems.append(f"{path}: lengths {len(a)} vs {len(b)}")
        for x, y in zip(a, b):
            _walk(x, y, path, diffs, problems)
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        d = abs(a - b)
        scale = max(abs(b), 1e-300)
        cur = diffs.get(path, (0.0, 0.0))
        diffs[path] = (max(cur[0], d), max(cur[1], d / scale))
    elif a != b:
        problems.append(f"{path}: {a!r} vs {b!r}")


def compare(new_dir: Path, old_dir: Path) -> int:
    """Prints, per JSON leaf path, the largest absolute and relative difference; returns 1 if any
    string, key or shape differs."""
    from safetensors.numpy import load_file

    bad = 0
    for name in ["fairness_golden.json", "explain_golden.json", "kpss_golden.json"]:
        if not (new_dir / name).exists():
            print(f"{name}: not regenerated")
            continue
        diffs: dict = {}
        problems: list = []
        _walk(json.loads((new_dir / name).read_text()), json.loads((old_dir / name).read_text()), "", diffs, problems)
        worst = max((d[0] for d in diffs.values()), default=0.0)
        print(f"{name}: {len(diffs)} numeric keys, largest |new - committed| = {worst:.3e}")
        for p, (d, r) in sorted(diffs.items(), key=lambda kv: -kv[1][0]):
            if d > 0:
                print(f"  {p}: abs {d:.3e}, rel {r:.3e}")
        for p in problems:
            print(f"  MISMATCH {p}")
        bad |= bool(problems)
    for name in ["lstm_tiny.safetensors", "lstm_tiny_f64.safetensors", "explain_golden_v.safetensors"]:
        if not (new_dir / name).exists():
            print(f"{name}: not regenerated")
            continue
        a, b = load_file(str(new_dir / name)), load_file(str(old_dir / name))
        if sorted(a) != sorted(b):
            print(f"{name}: MISMATCH keys {sorted(a)} vs {sorted(b)}")
            bad = 1
            continue
        worst = max(float(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)).max()) for k in a)
        same = (new_dir / name).read_bytes() == (old_dir / name).read_bytes()
        print(f"{name}: largest |new - committed| = {worst:.3e}{' (byte-identical)' if same else ''}")
    return bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=GOLDEN, help="folder to write into (default: tests/golden)")
    ap.add_argument("--only", choices=["fairness", "explain", "kpss"], help="one part only")
    ap.add_argument("--compare", type=Path, metavar="DIR", help="compare DIR with tests/golden and exit")
    a = ap.parse_args()
    if a.compare:
        return compare(a.compare, GOLDEN)
    a.out.mkdir(parents=True, exist_ok=True)
    if a.only in (None, "fairness"):
        g = fairness(GOLDEN / "fairness_case.json")
        (a.out / "fairness_golden.json").write_text(json.dumps(g, indent=2))
        print(f"wrote {a.out / 'fairness_golden.json'}")
    if a.only in (None, "explain"):
        g = explain(a.out)
        (a.out / "explain_golden.json").write_text(json.dumps(g, indent=1) + "\n")
        print(f"wrote {a.out / 'explain_golden.json'} and the three .safetensors files")
    if a.only in (None, "kpss"):
        g = kpss_golden()
        (a.out / "kpss_golden.json").write_text(json.dumps(g, indent=1) + "\n")
        print(f"wrote {a.out / 'kpss_golden.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
