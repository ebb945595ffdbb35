"""Document corpora for the search env: generated from a knowledge graph or read from JSONL.

A corpus is a tuple of `Document(id, title, text)` indexed with Okapi BM25 (the `bm25s`
library, k1=1.5, b=0.75, in Lucene's form: idf log(1 + (N - n + 0.5) / (n + 0.5)), always
positive, and term weight tf / (tf + k1 * (1 - b + b * dl / avgdl)), which leaves out the
constant (k1 + 1) factor, so rankings are Okapi's). Tokens are casefolded runs of letters and
digits, title and text together. `Corpus.search` ranks by score and breaks ties by document id
(a stable sort on (-score, id)), so the same query always gives the same ranking; documents with
score 0 (no query word) are never returned.

`kg_documents` turns a generated graph into one document per entity (title: the name; text: its
facts as sentences, `entity_sentences`) plus distractor documents about entities of a second
graph whose names share no word with the first, so that relation words ("born in", "capital")
match many documents while only the path's documents hold the facts asked about.

>>> corpus = Corpus([Document("d2", "Same", "red fox"), Document("d1", "Same", "red fox"),
...                  Document("d3", "Other", "blue whale")])
>>> [hit.doc_id for hit in corpus.search("red", 5)]
['d1', 'd2']
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np

from rlvr.envs.knowledge.graph import FIXED_WORDS, entity_sentences, generate_graph

BM25_K1, BM25_B = 1.5, 0.75
SNIPPET_CHARS = 160
MAX_QUERY_CHARS = 1_000
MAX_K = 50
MAX_DOCUMENTS = 200_000
MAX_DOCUMENT_CHARS = 50_000
MAX_LINE_CHARS = 2 * MAX_DOCUMENT_CHARS
_TOKEN = re.compile(r"[^\W_]+")


def _bm25():
    """The `bm25s` module, imported when a corpus is first built (it is an optional dependency)."""
    try:
        import bm25s
    except ImportError as exc:
        raise ImportError("the search env needs the BM25 library: pip install 'rlvr[search]' (or bm25s)") from exc
    return bm25s


def tokenize(text: str) -> list[str]:
    """Casefolded runs of letters and digits.

    >>> tokenize("Kobo's MAYOR, born_in!")
    ['kobo', 's', 'mayor', 'born', 'in']
    """
    return _TOKEN.findall(text.casefold())


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Hit:
    """One search result."""

    doc_id: str
    title: str
    snippet: str
    score: float


class Corpus:
    """Documents with a BM25 index; `search` and `get` are what the env's tools call."""

    def __init__(self, documents: Iterable[Document]) -> None:
        self.documents = tuple(documents)
        if not self.documents:
            raise ValueError("a corpus needs at least one document, got none")
        self.by_id = {doc.id: doc for doc in self.documents}
        if len(self.by_id) != len(self.documents):
            seen: set[str] = set()
            twice = next(doc.id for doc in self.documents if doc.id in seen or seen.add(doc.id))
            raise ValueError(f"document ids must be unique; {twice!r} occurs more than once")
        # rank of each document's id among all ids: the tie-breaker of `search`
        order = sorted(range(len(self.documents)), key=lambda i: self.documents[i].id)
        self._id_rank = np.empty(len(order), dtype=np.int64)
        self._id_rank[order] = np.arange(len(order))
        self._index = _bm25().BM25(k1=BM25_K1, b=BM25_B)
        self._index.index([tokenize(f"{doc.title} {doc.text}") for doc in self.documents], show_progress=False)

    def __reduce__(self):
        # rebuilt from the documents: the index is derived data and need not travel in a pickle
        return (Corpus, (self.documents,))

    def __len__(self) -> int:
        return len(self.documents)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document (in corpus order) for `query`; zeros when no word is known."""
        tokens = tokenize(query[:MAX_QUERY_CHARS])
        if not tokens:
            return np.zeros(len(self.documents))
        return np.asarray(self._index.get_scores(tokens), dtype=np.float64)

    def search(self, query: str, k: int) -> list[Hit]:
        """The top `k` (1..MAX_K) documents with a positive score, best first, ties by id."""
        k = max(1, min(int(k), MAX_K))
        scores = self.scores(query)
        ranking = np.lexsort((self._id_rank, -scores))  # last key sorts first
        hits = []
        for index in ranking[:k].tolist():
            if scores[index] <= 0.0:
                break
            doc = self.documents[index]
            hits.append(Hit(doc.id, doc.title, doc.text[:SNIPPET_CHARS], float(scores[index])))
        return hits

    def get(self, doc_id: str) -> Document | None:
        return self.by_id.get(doc_id)


# ---------------------------------------------------------------------- generated corpora
def _own_words(name: str) -> set[str]:
    return {w for w in name.casefold().split() if w not in FIXED_WORDS}


def kg_documents(rng: np.random.Generator, graph: nx.MultiDiGraph, distractors: int,
                 entities_per_type: int) -> list[tuple[str, str]]:
    """(title, text) of one document per entity of `graph`, then up to `distractors` documents
    about entities of a second graph (drawn from `rng`) that share no name word with `graph`."""
    documents = [(entity, " ".join(entity_sentences(graph, entity))) for entity in graph.nodes]
    if distractors <= 0:
        return documents
    taken = set().union(*(_own_words(entity) for entity in graph.nodes))
    other = generate_graph(rng, entities_per_type)
    clashing = {entity for entity in other.nodes if _own_words(entity) & taken}
    candidates = []
    for entity in other.nodes:
        if entity in clashing:
            continue
        # only facts whose both entities are clash-free, so no sentence names a real entity
        facts = [e for e in (*other.out_edges(entity, keys=True), *other.in_edges(entity, keys=True))
                 if e[0] not in clashing and e[1] not in clashing]
        if facts:
            # built edge by edge: networkx's edge_subgraph view iterates a set of nodes, whose
            # order changes with the interpreter's string hashing, and so would the sentences
            keep = nx.MultiDiGraph()
            keep.add_nodes_from((node, other.nodes[node]) for node in other.nodes
                                if any(node in fact[:2] for fact in facts))
            keep.add_edges_from((u, v, key, other.edges[u, v, key]) for u, v, key in facts)
            candidates.append((entity, " ".join(entity_sentences(keep, entity))))
    picks = rng.permutation(len(candidates))[:distractors].tolist()
    return documents + [candidates[i] for i in sorted(picks)]


def number_documents(titled: Sequence[tuple[str, str]], rng: np.random.Generator) -> list[Document]:
    """Shuffle the documents and name them doc_0, doc_1, ... (zero-padded, so id order is number order)."""
    width = len(str(max(len(titled) - 1, 0)))
    order = rng.permutation(len(titled)).tolist()
    return [Document(f"doc_{n:0{width}d}", *titled[i]) for n, i in enumerate(order)]


# ---------------------------------------------------------------------- user files
def read_jsonl(path: str | Path, limit: int, what: str) -> list[dict]:
    """Objects of a JSONL file (blank lines skipped), at most `limit`, each line bounded."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(iter(lambda: handle.readline(MAX_LINE_CHARS + 1), ""), 1):
            if len(line) > MAX_LINE_CHARS:
                raise ValueError(f"{path}:{number}: line longer than {MAX_LINE_CHARS} characters")
            if not line.strip():
                continue
            if len(records) >= limit:
                raise ValueError(f"{path}: more than {limit} {what}; split the file or raise the limit")
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: expected a JSON object, got invalid JSON ({exc})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
            records.append(record)
    return records


def load_corpus(path: str | Path, max_documents: int = MAX_DOCUMENTS) -> Corpus:
    """A corpus from a JSONL file of {"id", "title", "text"} objects (title optional)."""
    documents = []
    for number, record in enumerate(read_jsonl(path, max_documents, "documents"), 1):
        doc_id, title, text = record.get("id"), record.get("title", ""), record.get("text")
        if not isinstance(doc_id, str) or not doc_id or not isinstance(text, str) or not isinstance(title, str):
            raise ValueError(f"{path}: document {number} needs a non-empty string 'id', a string 'text' and an "
                             f"optional string 'title', got keys {sorted(record)}")
        if len(text) > MAX_DOCUMENT_CHARS:
            raise ValueError(f"{path}: document {doc_id!r} has {len(text)} characters, more than {MAX_DOCUMENT_CHARS}")
        documents.append(Document(doc_id, title, text))
    return Corpus(documents)
