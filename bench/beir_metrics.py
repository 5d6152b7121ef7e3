"""A BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv) and the retrieval metrics of
../shared/eval/README.md (nDCG@10, Recall@5/10/100, MRR@10, mean over judged queries): shared by the
bench scripts so every table is scored by the same code. Standard library only."""
import json
import math
from pathlib import Path


def load(beir: Path):
    """(corpus rows, {query id: text}, {query id: set of relevant doc ids})."""
    corpus = [json.loads(l) for l in (beir / "corpus.jsonl").read_text().splitlines() if l.strip()]
    queries = {q["_id"]: q["text"] for q in map(json.loads, (beir / "queries.jsonl").read_text().splitlines())}
    relevant = {}
    for i, line in enumerate((beir / "qrels" / "test.tsv").read_text().splitlines()):
        if i == 0 and line.startswith("query-id"):
            continue
        q, d, s = line.split("\t")
        if float(s) > 0:
            relevant.setdefault(q, set()).add(d)
    return corpus, queries, relevant


def score(run, relevant):
    """Mean metrics of `run` ({query id: ranked doc ids}) over every judged query."""
    totals = dict(ndcg10=0.0, r5=0.0, r10=0.0, r100=0.0, mrr10=0.0)
    for q, rel in relevant.items():
        ranked = run.get(q, [])
        dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ranked[:10]) if d in rel)
        idcg = sum(1 / math.log2(i + 2) for i in range(min(len(rel), 10)))
        totals["ndcg10"] += dcg / idcg
        for k, name in ((5, "r5"), (10, "r10"), (100, "r100")):
            totals[name] += len(rel & set(ranked[:k])) / len(rel)
        first = next((i for i, d in enumerate(ranked[:10]) if d in rel), None)
        totals["mrr10"] += 0 if first is None else 1 / (first + 1)
    return {k: v / len(relevant) for k, v in totals.items()}
