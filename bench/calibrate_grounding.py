#!/usr/bin/env python3
"""Fits the grounding check's logistic weights (generate/grounding.cpp) on the calibration part of
a labelled grounding set, from `kaito-rag eval --grounding SET --dump FEATURES.jsonl` output.

The held part is never used for fitting; it is reported for the fitted weights at the threshold
chosen on the calibration part (the highest with <= 10 % false alarms), with the bias shifted so
that this threshold is 0.5 (the default grounding_threshold).

Usage: calibrate_grounding.py FEATURES.jsonl   (encoded features when the dump was made with
--embedding-model, lexical otherwise; prints the weights to paste into grounding.cpp)
"""
import json
import math
import sys

FEATURES = ["coverage", "similarity", "missing_numbers", "negation_mismatch", "unmatched"]


def fit(rows, encoded, steps=4000, rate=0.5, l2=1e-3):
    names = FEATURES if encoded else [f for f in FEATURES if f != "similarity"]
    w = {n: 0.0 for n in names}
    b = 0.0
    for _ in range(steps):
        gb, gw = 0.0, {n: 0.0 for n in names}
        for r in rows:
            z = b + sum(w[n] * r[n] for n in names)
            p = 1 / (1 + math.exp(-max(-30, min(30, z))))
            err = p - (0 if r["unsupported"] else 1)  # target: supported = 1
            gb += err
            for n in names:
                gw[n] += err * r[n]
        b -= rate * gb / len(rows)
        for n in names:
            w[n] -= rate * (gw[n] / len(rows) + l2 * w[n])
    return b, w


def score(r, b, w):
    return b + sum(w[n] * r[n] for n in w)


def rates(rows, b, w, z_threshold):
    bad = [r for r in rows if r["unsupported"]]
    good = [r for r in rows if not r["unsupported"]]
    caught = sum(score(r, b, w) < z_threshold for r in bad)
    alarms = sum(score(r, b, w) < z_threshold for r in good)
    return caught, len(bad), alarms, len(good)


def main():
    rows = [json.loads(line) for line in open(sys.argv[1])]
    encoded = all(r["similarity"] >= 0 for r in rows)
    cal = [r for r in rows if r["split"] == "calibration"]
    held = [r for r in rows if r["split"] == "held"]
    b, w = fit(cal, encoded)
    # The highest logit threshold with <= 10 % false alarms on the calibration part.
    good = sorted(score(r, b, w) for r in cal if not r["unsupported"])
    z = good[int(0.1 * len(good))]  # flag scores strictly below the 10th percentile of supported ones
    b -= z  # shift: that threshold becomes logit 0 = score 0.5
    for name, part in (("calibration", cal), ("held", held)):
        c, nb, a, ng = rates(part, b, w, 0.0)
        print(f"{name}: caught {c}/{nb} = {c / nb:.3f}, false alarms {a}/{ng} = {a / ng:.3f}")
        kinds = sorted({r["kind"] for r in part})
        print("   " + ", ".join(f"{k} {sum(score(r, b, w) < 0 for r in part if r['kind'] == k)}/"
                                f"{sum(r['kind'] == k for r in part)}" for k in kinds))
    print("weights {bias, coverage, similarity, missing_numbers, negation_mismatch, unmatched}:")
    print("{%.3f, %.3f, %.3f, %.3f, %.3f, %.3f}" % (b, w["coverage"], w.get("similarity", 0.0), w["missing_numbers"],
                                                     w["negation_mismatch"], w["unmatched"]))


if __name__ == "__main__":
    main()
