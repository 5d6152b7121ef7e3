#!/usr/bin/env python3
"""Generated vs generated-with-fallback vs extractive answers on the same questions, from
`kaito-rag eval --qa … --dump` files (BENCHMARKS.md "Local-model eval").

The model run must use `--grounding-policy flag`: its dump records, per question, the model's own answer
and `grounding_action` ("flagged" when a sentence failed the grounding check). "Generated + fallback" is
what `--grounding-policy replace` serves: the model's answer where nothing was flagged, the extractive
answer where something was (taken from the extractive run over the same index and top-k; the server
builds it from the passages that fit the prompt, which are the same or fewer).

Usage: qa_fallback.py EXTRACTIVE.jsonl MODEL.jsonl [MODEL2.jsonl ...]
"""
import json
import sys


def load(path):
    return {o["id"]: o for o in map(json.loads, open(path))}


def row(name, outcomes):
    answerable = [o for o in outcomes if not o["negative"]]
    negatives = [o for o in outcomes if o["negative"]]

    def frac(key, part):
        n = sum(bool(o[key]) for o in part)
        return f"{n}/{len(part)} ({n / len(part):.2f})" if part else "-"

    answered = sum(not o["declined"] for o in answerable)
    return (f"| {name} | {frac('answer_correct', answerable)} | {frac('citation_correct', answerable)} | "
            f"{answered}/{len(answerable)} | {frac('declined', negatives)} |")


def main():
    extractive = load(sys.argv[1])
    print("| answers | correct | citation correct | answered | negatives declined |")
    print("|---|---|---|---|---|")
    print(row("extractive", list(extractive.values())))
    for path in sys.argv[2:]:
        model = load(path)
        ids = [i for i in extractive if i in model]
        style = next((o.get("prompt_style", "") for o in model.values() if o.get("prompt_style")), "?")
        flagged = [i for i in ids if model[i].get("grounding_action") == "flagged"]
        served = [extractive[i] if i in flagged else model[i] for i in ids]
        generated = [i for i in ids if model[i]["mode"] == "generative"]
        print(row(f"model, {style} prompt", [model[i] for i in ids]))
        print(row(f"model, {style} prompt, + fallback (replace)", served))
        print(f"<!-- {path}: {len(ids)} questions, {len(generated)} generated, {len(flagged)} flagged -->")


if __name__ == "__main__":
    main()
