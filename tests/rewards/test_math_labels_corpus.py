"""The labelled math-answer corpus (benchmarks/data/math_labels) is well formed.

Checks only the data against its own rule file: schema, ids, categories, sizes, reasons. It
never calls the project's reward (the corpus exists to judge that reward from outside).
"""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "math_labels"
FIELDS = {"id": str, "category": str, "gold": str, "completion": str, "label": bool, "reason": str, "mv": bool}
MIN_PAIRS = {"dev": 1000, "heldout": 300}
# Heldout is the smaller, once-only file; dev alone carries the per-category minimum of 30.
MIN_PER_CATEGORY = {"dev": 30, "heldout": 10}


def rule_categories():
    """Category ids from the table in RULE.md section 3 (rows like "| boxed | ... |")."""
    text = (DIR / "RULE.md").read_text(encoding="utf-8")
    section = text.split("## 3. Categories", 1)[1].split("\n## ", 1)[0]
    ids = re.findall(r"^\| ([a-z0-9_]+) \|", section, flags=re.M)
    return [i for i in ids if i != "id"]


def load(split):
    rows = []
    for n, line in enumerate((DIR / f"{split}.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"{split}.jsonl line {n}: expected a JSON object, got an empty line"
        rows.append(json.loads(line))
    return rows


@pytest.fixture(scope="module", params=["dev", "heldout"])
def split_rows(request):
    return request.param, load(request.param)


def test_rule_lists_the_required_categories():
    cats = rule_categories()
    required = {"boxed", "fbox", "nested_boxed", "minerva_final_answer", "the_answer_is", "bold_answer",
                "display_math", "inline_math", "think_tail", "answer_tags", "gsm8k_hash", "thousands_separators",
                "matrices", "units_text", "fractions_decimals", "radicals_pi", "expressions", "equations",
                "intervals", "sets_tuples", "multiple_choice", "text_answers", "hedging_several", "wrong_answers",
                "malformed"}
    assert required <= set(cats), f"RULE.md lacks categories {sorted(required - set(cats))}"
    assert len(cats) == len(set(cats)), f"RULE.md lists a category twice: {cats}"


def test_schema(split_rows):
    split, rows = split_rows
    for r in rows:
        assert set(r) == set(FIELDS), f"{r.get('id')}: expected fields {sorted(FIELDS)}, got {sorted(r)}"
        for key, typ in FIELDS.items():
            assert type(r[key]) is typ, f"{r['id']}: {key} should be {typ.__name__}, got {r[key]!r}"
        assert re.fullmatch(rf"{split}-\d{{4}}", r["id"]), f"expected an id like {split}-0001, got {r['id']!r}"
        assert r["gold"].strip(), f"{r['id']}: empty gold"


def test_ids_unique_within_and_across_files():
    ids = [r["id"] for split in ("dev", "heldout") for r in load(split)]
    dupes = [i for i, c in Counter(ids).items() if c > 1]
    assert not dupes, f"duplicate ids: {dupes[:10]}"


def test_sizes_and_categories(split_rows):
    split, rows = split_rows
    cats = set(rule_categories())
    assert len(rows) >= MIN_PAIRS[split], f"{split}: expected >= {MIN_PAIRS[split]} pairs, got {len(rows)}"
    counts = Counter(r["category"] for r in rows)
    unknown = set(counts) - cats
    assert not unknown, f"{split}: categories not in RULE.md: {sorted(unknown)}"
    missing = cats - set(counts)
    assert not missing, f"{split}: RULE.md categories with no pairs: {sorted(missing)}"
    small = {c: n for c, n in counts.items() if n < MIN_PER_CATEGORY[split]}
    assert not small, f"{split}: expected >= {MIN_PER_CATEGORY[split]} pairs per category, got {small}"
    labels = Counter((r["category"], r["label"]) for r in rows)
    one_sided = [c for c in cats if not labels[(c, True)] or not labels[(c, False)]]
    assert not one_sided, f"{split}: categories with only one label: {one_sided}"


def test_labels_roughly_balanced(split_rows):
    split, rows = split_rows
    share = sum(r["label"] for r in rows) / len(rows)
    assert 0.35 <= share <= 0.65, f"{split}: expected 35-65% true labels, got {share:.1%}"


def test_reasons_where_required(split_rows):
    split, rows = split_rows
    for r in rows:
        if not r["label"] or r["mv"] != r["label"]:
            assert len(r["reason"].strip()) >= 10, f"{r['id']}: a false label or an mv disagreement needs a reason"
        if r["mv"] != r["label"]:
            assert "math-verify" in r["reason"], f"{r['id']}: the reason should say why math-verify is overruled"


def test_heldout_golds_unseen_in_dev():
    dev_golds = {r["gold"] for r in load("dev")}
    shared = {r["gold"] for r in load("heldout")} & dev_golds
    assert not shared, f"heldout golds also in dev: {sorted(shared)[:10]}"
