"""Figures of the scenario report (matplotlib, headless).

:func:`scenario_figure` draws one scenario in both frameworks side by side:
the loss curves overlaid, the predicted-class histogram against the labels,
per-class recall and the per-layer gradient norms at the start of training.
:func:`trajectory_parity_figure` draws, for every scenario and dtype, how far
the PyTorch run is from the Keras run against the design's tolerances.
Both take the plain dictionaries of :mod:`scenarios.execute` (no framework
imports) and return PNG bytes.

Example:
    >>> r = {"frameworks": {fw: {"status": "ok", "summary": {"loss": [1.0, 0.5], "pred_hist_train": [3, 1]}}
    ...                     for fw in ("keras", "torch")}}
    >>> scenario_figure(r, "demo")[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import io
from typing import Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["COLOURS", "scenario_figure", "trajectory_parity_figure"]

COLOURS = {"keras": "#d62728", "torch": "#1f77b4", "labels": "#bbbbbb"}
NAMES = {"keras": "Keras (TensorFlow)", "torch": "PyTorch (torch_impl)"}
FLOOR = 1e-17  # where an exact 0 is drawn on a log axis


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _summaries(result: dict) -> dict[str, dict]:
    return {fw: e["summary"] for fw, e in result["frameworks"].items() if e.get("summary")}


def _bars(ax, series: dict[str, list], labels: Optional[list] = None, log: bool = False):
    """Grouped bars, one group per category; ``labels`` drawn as a grey outline behind them."""
    n = max(len(v) for v in series.values())
    x = np.arange(n)
    width = 0.8 / max(1, len(series))
    if labels is not None:
        ax.bar(x, labels, 0.9, color="none", edgecolor=COLOURS["labels"], linewidth=1.5, label="true labels")
    for i, (fw, values) in enumerate(series.items()):
        vals = [np.nan if v is None else v for v in values]
        ax.bar(x - 0.4 + width * (i + 0.5), vals, width, color=COLOURS[fw], alpha=0.85, label=NAMES[fw])
    ax.set_xticks(x)
    if log:
        ax.set_yscale("log")


def scenario_figure(result: dict, title: str) -> Optional[bytes]:
    """Four panels for one scenario (``None`` when neither framework trained)."""
    summ = _summaries(result)
    if not summ:
        return None
    any_s = next(iter(summ.values()))
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.2))
    fig.suptitle(title, fontsize=11, x=0.01, ha="left")

    ax = axes[0]
    for fw, s in summ.items():
        y = s["loss"]
        epochs = np.arange(1, len(y) + 1)
        if fw == "keras":
            ax.plot(epochs, y, color=COLOURS[fw], linewidth=5, alpha=0.35, label=NAMES[fw])
        else:
            ax.plot(epochs, y, color=COLOURS[fw], linewidth=1.3, linestyle="--", marker="o", markersize=2.5,
                    label=NAMES[fw])
    values = [v for s in summ.values() for v in s["loss"] if np.isfinite(v)]
    if values:  # a flat curve stays flat: float32 noise is not drawn as a trend
        lo, hi = min(values), max(values)
        pad = max(hi - lo, 1e-3 * max(abs(lo), abs(hi)), 1e-12) * 0.1
        mid, half = (lo + hi) / 2, max((hi - lo) / 2 + pad, 0.05 * max(abs(lo), abs(hi), 1e-12))
        ax.set_ylim(mid - half, mid + half)
        ax.ticklabel_format(axis="y", useOffset=False)
    ax.set_title("loss per epoch", fontsize=9)
    ax.set_xlabel("epoch", fontsize=8)
    ax.legend(fontsize=7, loc="best")

    split = "test" if "pred_hist_test" in any_s else "train"
    ax = axes[1]
    _bars(ax, {fw: s[f"pred_hist_{split}"] for fw, s in summ.items()}, any_s.get(f"label_hist_{split}"))
    ax.set_title(f"predicted classes ({split} set) vs labels", fontsize=9)
    ax.set_xlabel("class", fontsize=8)
    ax.legend(fontsize=7, loc="best")

    ax = axes[2]
    rkey = "recall_test" if any_s.get("recall_test") else "recall_train"
    if any_s.get(rkey):
        _bars(ax, {fw: s[rkey] for fw, s in summ.items()})
        ax.set_ylim(0, 1.05)
        ax.set_title(f"recall per class ({rkey.split('_')[1]} set)", fontsize=9)
        ax.set_xlabel("class", fontsize=8)
    else:
        mp = {fw: s.get("mean_prediction") for fw, s in summ.items()}
        ax.text(0.5, 0.5, "no recall: the targets are not classes of this output\n" +
                "\n".join(f"{NAMES[fw]}: mean prediction {v:.3f}" for fw, v in mp.items() if v is not None),
                ha="center", va="center", fontsize=8, transform=ax.transAxes)
        ax.set_axis_off()

    ax = axes[3]
    if any_s.get("grad_norms"):
        norms = {fw: [max(v, FLOOR) for v in s["grad_norms"]] for fw, s in summ.items() if s.get("grad_norms")}
        flat = [v for vs in norms.values() for v in vs]
        if max(flat) <= FLOOR:
            ax.text(0.5, 0.5, "every kernel gradient is exactly 0", ha="center", va="center", fontsize=9,
                    transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            _bars(ax, norms, log=max(flat) > 30 * min(flat))  # log scale only where the layers differ by decades
            ax.set_xticklabels([f"dense {i + 1}" for i in range(len(any_s["grad_norms"]))], fontsize=7)
        ratio = any_s.get("grad_ratio")
        ratio_txt = f" (first/last {ratio:.3g})" if ratio is not None and np.isfinite(ratio) else ""
        ax.set_title(f"kernel gradient norm per layer at start{ratio_txt}", fontsize=9)
    else:
        ax.set_axis_off()
    for a in axes:
        a.tick_params(labelsize=7)
    fig.tight_layout()
    return _png(fig)


def trajectory_parity_figure(rows: list[dict], tolerances: dict[str, float]) -> bytes:
    """``rows``: [{name, dtype, value}] with value the worst relative loss difference."""
    names = list(dict.fromkeys(r["name"] for r in rows))
    dtypes = list(dict.fromkeys(r["dtype"] for r in rows))
    fig, ax = plt.subplots(figsize=(11, 0.3 * len(names) + 1.5))
    y = np.arange(len(names))
    h = 0.8 / max(1, len(dtypes))
    colours = {"float32": "#ff7f0e", "float64": "#2ca02c"}
    for i, dt in enumerate(dtypes):
        vals = {r["name"]: r["value"] for r in rows if r["dtype"] == dt}
        v = [max(vals.get(n, np.nan), FLOOR) if vals.get(n) is not None else np.nan for n in names]
        ax.barh(y - 0.4 + h * (i + 0.5), v, h, color=colours.get(dt, "grey"), label=dt)
        ax.axvline(tolerances[dt], color=colours.get(dt, "grey"), linestyle=":", linewidth=1.2)
    ax.set_xscale("log")
    ax.set_xlim(FLOOR / 2, 1)
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("PyTorch vs Keras: worst relative loss difference (float64: every epoch; float32: final epoch); "
                  "dotted: tolerance", fontsize=8)
    ax.legend(fontsize=8, loc="lower right")
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    return _png(fig)
