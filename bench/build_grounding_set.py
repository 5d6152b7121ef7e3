#!/usr/bin/env python3
"""Builds the labelled grounding set (tests/fixtures/eval/grounding-pubmedqa.jsonl) from pubmedqa-dev.

The file starts with the abstracts, one a line ({"source": "s001", "text": ...}); then each line is
one answer sentence with the ids of the sources it is checked against and a label:
  supported    a sentence of the cited abstract as a model would restate it (verbatim, cut to its
               main clause, or with a lead-in such as "According to the study, ...")
  unsupported  the same sentence deliberately corrupted: a number changed ("number"), a term swapped
               for one from another abstract ("entity"), a negation added or removed ("negation"),
               or a sentence from an abstract that is not among the sources ("other_doc")
Every item cites source [1] (the abstract it came from) among three sources (two distractors),
so "cited the wrong source" is covered by other_doc. Abstracts alternate between the
"calibration" split (thresholds and weights are chosen there) and "held" (reported only).

Usage: build_grounding_set.py ../shared/eval/pubmedqa-dev/corpus.jsonl OUT.jsonl [--abstracts 120]
Deterministic (seeded): rerunning gives the same file.
"""
import argparse
import collections
import json
import random
import re

LEADS = ["According to the study, ", "The abstract reports that ", "The authors found that ", ""]
NEGATABLE = re.compile(r"\b(is|are|was|were|did|does|do|has|have|had|can|could|may|might|should|will|would)\b ")
NEGATED = re.compile(r"\b(not|no)\b ", re.I)
NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
TERM = re.compile(r"\b[a-z]{7,}\b")


def sentences(text):
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9(])", text.strip())
    return [p for p in parts if 8 <= len(p.split()) <= 45]


def change_number(sentence, rng):
    numbers = list(NUMBER.finditer(sentence))
    if not numbers:
        return None
    m = rng.choice(numbers)
    value = m.group(0)
    if "." in value:
        new = f"{float(value) * rng.choice([1.5, 2, 0.5]) + 1:.{len(value.split('.')[1])}f}"
    else:
        new = str(int(value) + rng.choice([1, 2, 3, 7, 10, 12]) * (1 if int(value) < 5 else rng.choice([1, -1])))
    if new == value or new.startswith("-"):
        new = str(int(float(value)) + 13)
    return sentence[:m.start()] + new + sentence[m.end():]


def flip_negation(sentence):
    m = NEGATED.search(sentence)
    if m:
        return sentence[:m.start()] + sentence[m.end():]
    m = NEGATABLE.search(sentence)
    if m:
        return sentence[:m.end()] + "not " + sentence[m.end():]
    return None


def swap_term(sentence, other_text, rng):
    ours = [m for m in TERM.finditer(sentence)]
    theirs = sorted(set(TERM.findall(other_text)) - set(TERM.findall(sentence)))
    if not ours or not theirs:
        return None
    m = rng.choice(ours)
    return sentence[:m.start()] + rng.choice(theirs) + sentence[m.end():]


def cut(sentence, rng):
    """A model's restatement may keep only the main clause (before the first comma)."""
    if rng.random() < 0.3 and ", " in sentence:
        head = sentence.split(", ")[0]
        if len(head.split()) >= 6:
            return head.rstrip(".") + "."
    return sentence


def lead_in(body, rng):
    lead = rng.choice(LEADS)
    if not lead:
        return body
    return lead + body[0].lower() + body[1:] if not body[:2].isupper() else lead + body


def restate(sentence, rng):
    """A supported restatement: verbatim, a lead-in, or the main clause only."""
    return lead_in(cut(sentence, rng), rng)


def corrupt(sentence, kind, rng, other_text):
    """The sentence cut as a restatement would be, then corrupted: the change is always in the part
    that is kept (the lead-in is added after the check). None when impossible (no number, no verb
    to negate, no term to swap)."""
    body = cut(sentence, rng)
    if kind == "number":
        return change_number(body, rng)
    if kind == "negation":
        return flip_negation(body)
    return swap_term(body, other_text, rng)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--abstracts", type=int, default=120)
    args = ap.parse_args()
    rng = random.Random(20261201)
    abstracts = collections.OrderedDict()
    for line in open(args.corpus, encoding="utf-8"):
        row = json.loads(line)
        abstracts.setdefault(row["metadata"]["pmid"], []).append(row["text"])
    texts = [" ".join(parts) for parts in abstracts.values()]
    texts = [t for t in texts if len(sentences(t)) >= 3][: args.abstracts + 40]
    pool, spare = texts[: args.abstracts], texts[args.abstracts:]
    items = []
    ids = {}

    def source_id(text):
        return ids.setdefault(text, f"s{len(ids) + 1:03d}")

    for i, text in enumerate(pool):
        split = "calibration" if i % 2 == 0 else "held"
        others = rng.sample([t for j, t in enumerate(pool) if j != i], 2)
        sources = [text, *others]
        cands = sentences(text)
        rng.shuffle(cands)

        def add(sentence, label, kind):
            items.append({"id": f"g{len(items) + 1:04d}", "split": split, "label": label, "kind": kind,
                          "sentence": sentence.rstrip() + " [1]", "sources": [source_id(t) for t in sources]})

        for s in cands[:2]:
            add(restate(s, rng), "supported", "restated")
        def first_corruption(kind, order):
            for s in order:
                changed = corrupt(s, kind, rng, spare[i % len(spare)])
                # A label must be true: a "corruption" the source still states is no corruption.
                if changed and changed.rstrip(".").lower() not in text.lower():
                    return lead_in(changed, rng)
            return None

        corruptions = [("number", first_corruption("number", cands)),
                       ("negation", first_corruption("negation", cands)),
                       ("entity", first_corruption("entity", cands[1:2])),
                       ("other_doc", rng.choice(sentences(spare[(i * 7 + 3) % len(spare)])))]
        for kind, sentence in corruptions:
            if sentence:
                add(sentence, "unsupported", kind)
    with open(args.out, "w", encoding="utf-8") as f:
        for text, sid in ids.items():
            f.write(json.dumps({"source": sid, "text": text}, ensure_ascii=False) + "\n")
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    counts = collections.Counter((i["split"], i["label"]) for i in items)
    print(args.out, len(items), dict(counts))


if __name__ == "__main__":
    main()
