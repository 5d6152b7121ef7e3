#!/usr/bin/env python3
"""Writes a KAITO RAGEngine FAISS index of pre-computed vectors, with RAGEngine's own code, in its persist format.

    $RAGENGINE_VENV/bin/python bench/ragengine_index_builder.py TEXTS.jsonl VECTORS.f32 PERSIST_DIR [--name big]

Run by bench/ragengine_100k.py in RAGEngine's benchmark venv with PYTHONPATH=<dir holding presets/ragengine>.
TEXTS.jsonl has one {"text"} per line and VECTORS.f32 the matching float32 rows (the texts and random unit
vectors of our 100k-chunk collection, in its chunk order). Each line becomes one RAGEngine document, indexed by RAGEngine's FaissVectorStoreHandler
(`index_documents` → its SentenceSplitter transform → LlamaIndex VectorStoreIndex over IndexIDMap(IndexFlatL2))
with an embedding object that answers each document text with its given vector instead of running MiniLM:
ingesting 100k chunks through the API would take ≈2.2 h. The vectors are random, so this index is for
latency only. Then `persist` writes LlamaIndex's StorageContext files, which the real server's POST /load reads.
Prints one JSON line: documents, nodes, texts answered with their own vector vs by a hashed fallback, seconds.
"""
import argparse
import asyncio
import hashlib
import json
import sys
import time

import numpy as np
from pydantic import PrivateAttr

from ragengine.embedding.base import BaseEmbeddingModel
from ragengine.models import Document
from ragengine.vector_store.faiss_store import FaissVectorStoreHandler


class GivenVectors(BaseEmbeddingModel):
    """Answers a text with its pre-computed vector. A text the splitter changed (whitespace) gets a unit
    vector seeded by its hash, counted in `fallbacks`, so latency stays representative either way."""

    _rows: dict = PrivateAttr()
    _vectors: object = PrivateAttr()
    _dimension: int = PrivateAttr()
    _fallbacks: int = PrivateAttr(default=0)

    def __init__(self, texts, vectors):
        super().__init__(model_name="given-vectors", embed_batch_size=1000)
        self._rows = {t: i for i, t in enumerate(texts)}
        self._vectors, self._dimension = vectors, vectors.shape[1]

    def get_embedding_dimension(self):
        return self._dimension

    def _lookup(self, text):
        row = self._rows.get(text, self._rows.get(text.strip()))
        if row is not None:
            return self._vectors[row].tolist()
        self._fallbacks += 1
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self._dimension)
        return (v / np.linalg.norm(v)).tolist()

    def _get_text_embedding(self, text):
        return self._lookup(text)

    def _get_text_embeddings(self, texts):
        return [self._lookup(t) for t in texts]

    async def _aget_text_embeddings(self, texts):
        return self._get_text_embeddings(texts)

    def _get_query_embedding(self, query):
        raise RuntimeError("the builder embeds documents only; queries go to the real server")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("texts")
    ap.add_argument("vectors")
    ap.add_argument("persist_dir")
    ap.add_argument("--name", default="big")
    a = ap.parse_args()
    started = time.monotonic()
    with open(a.texts) as f:
        texts = [json.loads(line)["text"] for line in f]
    vectors = np.fromfile(a.vectors, dtype="<f4").reshape(len(texts), -1)
    embedder = GivenVectors(texts, vectors)
    handler = FaissVectorStoreHandler(embedder)
    documents = [Document(text=t, metadata={}) for t in texts]
    async def build():  # one event loop: the handler's reader/writer lock binds to the first loop it sees
        await handler.index_documents(a.name, documents)
        indexed = time.monotonic() - started
        await handler.persist(a.name, a.persist_dir)
        return indexed

    indexed_s = asyncio.run(build())
    index = handler.index_map[a.name]
    print(json.dumps({"documents": len(documents), "unique_texts": len(set(texts)),
                      "nodes": len(index.docstore.docs), "dimension": vectors.shape[1],
                      "own_vector": len(index.docstore.docs) - embedder._fallbacks,
                      "hashed_fallback": embedder._fallbacks, "index_s": round(indexed_s, 1),
                      "total_s": round(time.monotonic() - started, 1)}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
