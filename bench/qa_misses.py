#!/usr/bin/env python3
"""Prints every miss of a `kaito-rag eval --qa ... --dump FILE` run with what the answer path saw.

A miss is an answerable question answered wrongly (or declined) or an unanswerable one answered.
For each: the question, the expected strings (and the evidence docqa-dev gives), the answer, the
answerability score against its threshold with its signals, and the sources offered, best first.

    python3 bench/qa_misses.py DUMP.jsonl QUESTIONS.jsonl [QUESTIONS.jsonl ...] [--kind wrong|declined|answered]
        [--chars 300]

Plain Python, no dependencies.
"""
import argparse
import json
import textwrap


def load_questions(paths):
    questions = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                if line.strip():
                    q = json.loads(line)
                    questions[q["id"]] = q
    return questions


def kind_of(row):
    if row["negative"]:
        return None if row["declined"] else "answered"
    if row["declined"]:
        return "declined"
    return None if row["answer_correct"] else "wrong"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dump")
    parser.add_argument("questions", nargs="+")
    parser.add_argument("--kind", choices=["wrong", "declined", "answered"], help="only this kind of miss")
    parser.add_argument("--chars", type=int, default=300, help="characters of each source to print")
    args = parser.parse_args()

    questions = load_questions(args.questions)
    counts = {"wrong": 0, "declined": 0, "answered": 0}
    with open(args.dump) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    for row in rows:
        kind = kind_of(row)
        if kind is None:
            continue
        counts[kind] += 1
        if args.kind and kind != args.kind:
            continue
        q = questions.get(row["id"], {})
        print(f"=== {row['id']} [{row['set']}/{row['split']}] {kind.upper()} ({q.get('type', '')})")
        print(f"Q: {q.get('question', '?')}")
        if not row["negative"]:
            print(f"expected: {q.get('answers')}  in {q.get('file', '')} page {q.get('page', 0)}")
            if q.get("evidence"):
                print(f"evidence: {q['evidence']}")
        print("A: " + textwrap.shorten(row["answer"], 400))
        a = row.get("answerability")
        if a:
            signals = ", ".join(f"{k} {a[k]:.2f}" for k in
                                ("passage_coverage", "sentence_coverage", "sentence_similarity", "top_dense",
                                 "agreement"))
            print(f"answerability {a['score']:.3f} vs {a['threshold']:.3f}: {signals}")
        print(f"cited: {row['cited']}")
        for i, source in enumerate(row.get("sources", []), 1):
            print(f"  [{i}] " + textwrap.shorten(source, args.chars))
        print()
    total = len(rows)
    print(f"{total} questions: {counts['wrong']} answered wrongly, {counts['declined']} answerable declined, "
          f"{counts['answered']} unanswerable answered")


if __name__ == "__main__":
    main()
