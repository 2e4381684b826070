"""Draws the benchmark chart (log scale, time relative to native) from run.py's JSON.
Runs in the bench venv, where matplotlib is installed: chart.py RESULTS.json OUT.png"""

import json
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

data = json.load(open(sys.argv[1]))
kernels, runners, results = (
    data["kernels"],
    [r for r in data["runners"] if r != "native"],
    data["results"],
)
fig, ax = plt.subplots(figsize=(13, 5.5))
width = 0.8 / max(1, len(runners))
for i, r in enumerate(runners):
    ys = []
    for k in kernels:
        t, nat = results[k].get(r), results[k].get("native")
        ys.append(t / nat if isinstance(t, float) and isinstance(nat, float) else math.nan)
    ax.bar([x + i * width for x in range(len(kernels))], ys, width, label=r)
ax.set_yscale("log")
ax.set_ylabel("time relative to native (log scale)")
ax.set_xticks([x + width * (len(runners) - 1) / 2 for x in range(len(kernels))])
ax.set_xticklabels(kernels, rotation=30)
ax.axhline(1.0, color="black", linewidth=0.8)
ax.legend()
ax.set_title("kernel time / native time (lower is better); " + data["command"])
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
