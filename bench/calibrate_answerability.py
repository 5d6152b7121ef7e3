#!/usr/bin/env python3
"""Fits the answerability weights (src/generate/answerability.cpp) and picks the threshold.

Input: `kaito-rag eval --qa ... --dump FILE` outputs (one JSON line per question, with the
answerability signals). Only questions of the dev sets (split "dev", i.e. docqa-dev) and of the
calibration split are used to fit; the "check" split is only scored, never fitted on.

    python3 bench/calibrate_answerability.py dump-docqa.jsonl dump-handbook.jsonl [--lexical]

--lexical fits the weight set used without an encoder (signals without similarity).
Plain Python: logistic regression by gradient descent with a small L2 penalty.
"""
import argparse
import json
import math

LEXICAL = ["passage_coverage", "sentence_coverage", "specifics_coverage", "kind_coverage"]
ENCODED = ["sentence_similarity", "top_dense", "agreement"]


def features(row, lexical):
    a = row["answerability"]
    # Dumps written before a signal existed lack it: its neutral value.
    x = [a["passage_coverage"], a["sentence_coverage"], a.get("specifics_coverage", 1.0), a.get("kind_coverage", 0.0)]
    if not lexical:
        x += [max(a["sentence_similarity"], 0.0), max(a["top_dense"], 0.0), max(a["agreement"], 0.0)]
    return x


def fit(xs, ys, l2=0.01, rate=0.5, steps=20000):
    n, d = len(xs), len(xs[0])
    w = [0.0] * (d + 1)
    for _ in range(steps):
        grad = [0.0] * (d + 1)
        for x, y in zip(xs, ys):
            z = w[0] + sum(wi * xi for wi, xi in zip(w[1:], x))
            p = 1 / (1 + math.exp(-z))
            grad[0] += p - y
            for i, xi in enumerate(x):
                grad[i + 1] += (p - y) * xi
        for i in range(d + 1):
            w[i] -= rate * (grad[i] / n + (l2 * w[i] if i else 0))
    return w


def score(w, x):
    return 1 / (1 + math.exp(-(w[0] + sum(wi * xi for wi, xi in zip(w[1:], x)))))


def rates(w, rows, lexical, t):
    pos = [r for r in rows if not r["negative"]]
    neg = [r for r in rows if r["negative"]]
    answered = sum(score(w, features(r, lexical)) >= t for r in pos) / max(len(pos), 1)
    declined = sum(score(w, features(r, lexical)) < t for r in neg) / max(len(neg), 1)
    return answered, declined, len(pos), len(neg)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dumps", nargs="+")
    ap.add_argument("--lexical", action="store_true")
    ap.add_argument("--min-answered", type=float, default=0.9)
    args = ap.parse_args()
    rows = [json.loads(l) for f in args.dumps for l in open(f) if l.strip()]
    rows = [r for r in rows if "answerability" in r]
    train = [r for r in rows if r["split"] in ("dev", "calibration")]
    check = [r for r in rows if r["split"] == "check"]
    xs = [features(r, args.lexical) for r in train]
    ys = [0 if r["negative"] else 1 for r in train]
    w = fit(xs, ys)
    names = ["bias"] + LEXICAL + ([] if args.lexical else ENCODED)
    print("weights:", ", ".join(f"{n} {v:.3f}" for n, v in zip(names, w)))
    # The highest threshold that still answers >= min-answered of the answerable training questions.
    best = 0.0
    for t in [i / 100 for i in range(1, 100)]:
        answered, _, _, _ = rates(w, train, args.lexical, t)
        if answered >= args.min_answered:
            best = t
    # answerability.cpp stores the bias shifted so that the chosen threshold becomes 0.5 (the
    # default answer_threshold), whichever weight set runs.
    print(f"bias for answer_threshold 0.5: {w[0] - math.log(best / (1 - best)):.3f}" if 0 < best < 1 else "no threshold")
    for name, subset in (("fit (dev + calibration)", train), ("check (held back)", check)):
        answered, declined, p, n = rates(w, subset, args.lexical, best)
        print(f"threshold {best:.2f} on {name}: answered {answered:.3f} of {p}, declined {declined:.3f} of {n}")


if __name__ == "__main__":
    main()
