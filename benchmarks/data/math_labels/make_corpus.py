"""Build the labelled math-answer corpus: dev.jsonl and heldout.jsonl (see RULE.md).

Run: python benchmarks/data/math_labels/make_corpus.py
Deterministic (fixed seeds). Labels come from the construction: each builder knows whether the
answer it writes is the gold in some form (true) or a named mistake / no single answer (false).
math-verify is run afterwards only to fill the `mv` column; where it disagrees with the label the
reason says so. Dev and heldout use different seeds, golds and phrasings.
"""

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus_pools as pools  # noqa: E402
import corpus_text as tx  # noqa: E402
import corpus_values as cv  # noqa: E402

CATEGORIES = ["boxed", "fbox", "nested_boxed", "minerva_final_answer", "the_answer_is", "bold_answer",
              "display_math", "inline_math", "think_tail", "answer_tags", "gsm8k_hash", "thousands_separators",
              "matrices", "units_text", "fractions_decimals", "radicals_pi", "expressions", "equations",
              "intervals", "sets_tuples", "multiple_choice", "text_answers", "hedging_several",
              "wrong_answers", "malformed"]
PER_CATEGORY = {"dev": 46, "heldout": 17}
SEEDS = {"dev": 20261207, "heldout": 77031}
FORMAT_STYLE = {"boxed": "boxed", "fbox": "fbox", "minerva_final_answer": "minerva", "the_answer_is": "answer_is",
                "bold_answer": "bold", "display_math": "display", "inline_math": "inline",
                "answer_tags": "tags"}
POOLS = {"expressions": pools.EXPRESSIONS, "equations": pools.EQUATIONS, "intervals": pools.INTERVALS,
         "sets_tuples": pools.SETS_TUPLES, "multiple_choice": pools.MULTIPLE_CHOICE,
         "text_answers": pools.TEXT_ANSWERS, "units_text": pools.UNITS_TEXT, "radicals_pi": pools.RADICALS_PI}
GENERATED = {"thousands_separators": cv.thousands_item, "fractions_decimals": cv.fraction_decimal_item,
             "matrices": cv.matrix_item}
# Share of true labels where a category is mostly about refusing (RULE.md section 1).
TRUE_SHARE = {"hedging_several": 0.25, "wrong_answers": 0.25, "malformed": 0.25}


def pool_groups(pool, split):
    """Every fourth gold group goes to heldout, the rest to dev: no gold is in both files."""
    return [g for i, g in enumerate(pool) if (i % 4 == 3) == (split == "heldout")]


def fresh(rng, make, want_true, forbid):
    """A generated item whose gold is not reserved for the other split."""
    for _ in range(1000):
        item = make(rng, want_true)
        if item[0] not in forbid:
            return item
    raise RuntimeError("could not draw a gold outside the other split's golds")


def pair(gold, completion, label, reason):
    return {"gold": gold, "completion": completion, "label": label, "reason": reason}


def verdict(pred, gold, label, why, where="the final answer"):
    rel = "equals" if label else "does not equal"
    return f"{where} `{pred}` {rel} the gold `{gold}`: {why}"


def twin(rng, forbid):
    """One numeric gold with both a correct and a wrong prediction for it.

    The item builders draw the gold before looking at `want_true`, so two builders fed the same
    seed produce the same gold; the assertion guards that assumption.
    """
    while True:
        seed = rng.random()
        g1, good, _, why_good = cv.number_item(random.Random(seed), True)
        g2, bad, _, why_bad = cv.number_item(random.Random(seed), False)
        assert g1 == g2, (g1, g2)
        if g1 not in forbid:
            return g1, good, why_good, bad, why_bad


def format_pair(rng, split, cat, want_true, forbid):
    gold, pred, label, why = fresh(rng, cv.number_item, want_true, forbid)
    style = FORMAT_STYLE[cat]
    if cat == "display_math" and rng.random() < 0.4:  # an earlier display holds an intermediate value
        w = twin(rng, forbid)[3] if label else gold
        body = tx.reasoning(rng, split, "qwen") + f"\n\nAt this point\n\\[ {w} \\]\nbut we are not done."
        comp = body + "\n\n" + tx.pick(rng, tx.DISPLAY, split)(pred)
        return pair(gold, comp, label, verdict(pred, gold, label, why, "the last display (which ends the text)"))
    if cat == "answer_tags" and rng.random() < 0.3:  # a tentative box inside the think block does not count
        other = gold if not label else twin(rng, forbid)[3]
        comp = "<think>\n{}\nMaybe it is $\\boxed{{{}}}$? Let me recheck.\n</think>\n<answer>{}</answer>".format(
            tx.reasoning(rng, split, "think"), other, pred)
        return pair(gold, comp, label, verdict(pred, gold, label, why, "the <answer> tag (the box inside <think> "
                                                                          "does not count)"))
    return pair(gold, tx.complete(rng, split, style, pred), label, verdict(pred, gold, label, why))


def think_pair(rng, split, want_true, forbid):
    gold, good, why_good, wrong, why_bad = twin(rng, forbid)
    pred, label, why = (good, True, why_good) if want_true else (wrong, False, why_bad)
    think = tx.reasoning(rng, split, "think")
    kind = rng.random()
    if label and kind < 0.5:  # a wrong tentative answer inside the trace, the right one after it
        think += f"\n\nSo maybe the answer is $\\boxed{{{wrong}}}$... no wait, I made an arithmetic slip."
        why += "; the box inside <think> does not count"
    elif not label and kind < 0.3:  # the right value only inside the trace, nothing after it
        think += f"\n\nSo the answer should be $\\boxed{{{gold}}}$."
        tail = tx.pick(rng, ["I hope this helps!", "Let me know if you have questions.",
                             "That was a fun problem.", "Feel free to ask for more detail."], split)
        return pair(gold, f"<think>\n{think}\n</think>\n\n{tail}", False,
                    f"the gold `{gold}` is boxed only inside <think>; the text after </think> gives no final answer")
    elif not label and kind < 0.6:
        think += f"\n\nI think it's ${gold}$."
        why += "; the gold appears only inside <think>, which does not count"
    tail = tx.pick(rng, tx.BOXED + tx.ANSWER_IS[:3] + tx.BOLD[:2], split)(pred)
    return pair(gold, f"<think>\n{think}\n</think>\n\n{tail}", label,
                verdict(pred, gold, label, why, "the answer after </think>"))


def gsm8k_pair(rng, split, want_true, forbid):
    def item(r, t):
        if r.random() < 0.25:  # GSM8K golds are bare integers; models sometimes group thousands
            n = r.randint(1000, 99999)
            return (str(n), f"{n:,}", True, "same number with a thousands comma") if t else \
                (str(n), f"{n + r.choice([1, -1, 100]):,}", False, "a different number")
        return cv.integer_item(r, t)
    gold, pred, label, why = fresh(rng, item, want_true, forbid)
    comp = tx.gsm8k_reasoning(rng, split) + "\n#### " + pred
    return pair(gold, comp, label, verdict(pred, gold, label, why, "the `####` answer"))


def nested_pair(rng, split, want_true, forbid):
    gold, pred, label, why = fresh(rng, cv.number_item, want_true, forbid)
    body = tx.reasoning(rng, split, "qwen")
    kind = rng.randrange(3)
    if kind == 0:
        end = f"Therefore the answer is $\\boxed{{\\boxed{{{pred}}}}}$."
        where = "the doubly boxed answer"
    elif kind == 1:
        end = f"We get $\\boxed{{{pred}}}$.\n\nDouble-checking each step confirms it.\n\n**Final Answer**\n\\[\\boxed{{{pred}}}\\]"
        where = "the answer boxed twice with the same value"
    else:
        end = f"\\[\n\\boxed{{\\displaystyle {pred}}}\n\\]"
        where = "the boxed answer (with \\displaystyle)"
    return pair(gold, body + "\n\n" + end, label, verdict(pred, gold, label, why, where))


def hedging_pair(rng, split, want_true, forbid):
    gold, good, _, bad, _ = twin(rng, forbid)
    body = tx.reasoning(rng, split, "qwen")
    if want_true:
        same = [(f"Thus $\\boxed{{{gold}}}$, and restating, the answer is $\\boxed{{{good}}}$.",
                 f"the same value `{gold}` boxed twice (as `{gold}` and `{good}`) is one answer"),
                (f"So $\\boxed{{{good}}}$.\n\nThe answer is {good}.",
                 f"the box and the answer line agree on `{good}`, equal to the gold")]
        end, reason = rng.choice(same)
        return pair(gold, body + "\n\n" + end, True, reason)
    a, b = (good, bad) if rng.random() < 0.5 else (bad, good)
    hedges = [(f"The answer is ${a}$ or ${b}$.", f"hedges between `{a}` and `{b}`"),
              (f"It could be either $\\boxed{{{a}}}$ or $\\boxed{{{b}}}$.", "two boxes with different values"),
              (f"So the answer is $\\boxed{{{a}}}$.\n\nWait, let me recheck the second step. Actually the answer is "
               f"$\\boxed{{{b}}}$.", "two boxes with different values (a self-correction still leaves two "
                                         "different final answers, RULE.md 1.3)"),
              (f"$\\boxed{{{a}}}$\n\nHmm, on reflection, the answer is {b}.",
               "a box and a later answer line with different values"),
              (f"The answer is $\\boxed{{{a} \\text{{ or }} {b}}}$.", "one box holding two alternatives"),
              (f"**Answer:** {a} (or possibly {b})", "answer line hedged between two values")]
    end, why = tx.pick(rng, hedges, split) if rng.random() < 0.5 else rng.choice(hedges)
    return pair(gold, body + "\n\n" + end, False,
                f"several different final answers ({why}); one of them equals the gold `{gold}` but the completion does "
                "not commit to a single answer")


def wrong_pair(rng, split, want_true, forbid, groups):
    if not want_true and rng.random() < 0.4:  # a structural near miss from the tuple/interval pools
        gold, pred, why = rng.choice([(g, p, w) for g, preds in groups for p, lab, w in preds if not lab])
        style = rng.choice(tx.CONTENT_STYLES)
        return pair(gold, tx.complete(rng, split, style, pred), False, verdict(pred, gold, False, why))
    gold, good, why_good, wrong, why_bad = twin(rng, forbid)
    pred, label, why = (good, True, why_good) if want_true else (wrong, False, why_bad)
    if label:  # a tempting wrong value in the working, the correct value as the final answer
        body = tx.reasoning(rng, split, "qwen") + f"\n\nA quick guess would give ${wrong}$, but that ignores a case."
        end = tx.pick(rng, tx.BOXED, split)(pred)
        return pair(gold, body + "\n\n" + end, True,
                    verdict(pred, gold, True, why + f"; the near miss `{wrong}` appears only in the working"))
    style = rng.choice(["boxed", "minerva", "answer_is", "bold"])
    return pair(gold, tx.complete(rng, split, style, pred), False, verdict(pred, gold, False, why))


def malformed_pair(rng, split, want_true, forbid):
    gold, good = twin(rng, forbid)[:2]
    body = tx.reasoning(rng, split, "qwen")
    if want_true:
        ends = [(f"$\\boxed{{{good}}}$<|im_end|>", "a chat end token after the box is not part of the answer"),
                (f"The final answer is: $\\boxed{{{good}}}$<|eot_id|>", "end token after the box"),
                (f"So the answer is $\\boxed{{{good}}}$.</s>", "end-of-sequence marker after the box"),
                (f"Therefore $\\boxed{{{good}}}$.\n\nLet me double-check: $3 \\times",
                 "the output is cut off after the box, which is still the one final answer")]
        end, why = rng.choice(ends)
        return pair(gold, body + "\n\n" + end, True, f"boxed `{good}` equals the gold: {why}")
    cases = [(body + f"\n\nThus we obtain \\boxed{{{good}", "the box is never closed (truncated output)"),
             (body + f"\n\nTherefore\n\\[\n\\boxed{{{good}", "box and display never closed (truncated)"),
             (body + "\n\nSo the answer is $\\boxed{}$.", "the box is empty"),
             (body + f"\n\nNow we substitute ${good}$ into $3 \\times",
              "truncated before any final answer (the gold value appears only in the working)"),
             (body + f"\n\n<answer>{good}", "the <answer> tag is never closed"),
             (f"<think>\n{body}\n\nSo it is $\\boxed{{{good}}}$. Let me verify once more by",
              "the <think> block is never closed (truncated trace): no final answer"),
             (f"<think>\n{body}\n\nThe answer is $\\boxed{{{good}}}$.\n</think>\n",
              "nothing after </think>; the box inside the trace does not count"),
             ("", "empty completion"), ("   \n\n", "whitespace only"),
             (body, "reasoning with no final answer at all")]
    comp, why = rng.choice(cases)
    return pair(gold, comp, False, "no final answer: " + why)


def content_pairs(rng, split, cat, n, forbid):
    """n pairs from the split's gold groups (hand pools) or from a generator, half true, half false."""
    out = []
    if cat in GENERATED:
        for i in range(n):
            gold, pred, label, why = fresh(rng, GENERATED[cat], i % 2 == 0, forbid)
            style = rng.choice(tx.CONTENT_STYLES)
            out.append(pair(gold, tx.complete(rng, split, style, pred), label, verdict(pred, gold, label, why)))
        return out
    combos = [(g, p, lab, w) for g, preds in pool_groups(POOLS[cat], split) for p, lab, w in preds]
    trues = [c for c in combos if c[2]]
    falses = [c for c in combos if not c[2]]
    rng.shuffle(trues)
    rng.shuffle(falses)
    for i in range(n):
        src = trues if i % 2 == 0 else falses
        gold, pred, label, why = src[(i // 2) % len(src)]
        style = rng.choice(tx.CONTENT_STYLES)
        out.append(pair(gold, tx.complete(rng, split, style, pred), label, verdict(pred, gold, label, why)))
    return out


def build(split, forbid):
    rng = random.Random(SEEDS[split])
    n = PER_CATEGORY[split]
    struct = pool_groups(pools.SETS_TUPLES, split) + pool_groups(pools.INTERVALS, split)
    rows = []
    for cat in CATEGORIES:
        share = TRUE_SHARE.get(cat, 0.5)
        wants = [i < round(n * share) for i in range(n)]
        rng.shuffle(wants)
        if cat in FORMAT_STYLE:
            made = [format_pair(rng, split, cat, w, forbid) for w in wants]
        elif cat == "think_tail":
            made = [think_pair(rng, split, w, forbid) for w in wants]
        elif cat == "gsm8k_hash":
            made = [gsm8k_pair(rng, split, w, forbid) for w in wants]
        elif cat == "nested_boxed":
            made = [nested_pair(rng, split, w, forbid) for w in wants]
        elif cat == "hedging_several":
            made = [hedging_pair(rng, split, w, forbid) for w in wants]
        elif cat == "wrong_answers":
            made = [wrong_pair(rng, split, w, forbid, struct) for w in wants]
        elif cat == "malformed":
            made = [malformed_pair(rng, split, w, forbid) for w in wants]
        else:
            made = content_pairs(rng, split, cat, n, forbid)
        for p in made:
            p["category"] = cat
        rows += made
    return rows


def add_math_verify(rows):
    """Fill `mv` (main thread: math-verify's timeouts use signals) and explain every disagreement."""
    from math_verify import parse, verify

    for r in rows:
        try:
            mv = bool(verify(parse("$" + r["gold"] + "$"), parse(r["completion"])))
        except Exception:  # a crash inside math-verify counts as "not verified"
            mv = False
        r["mv"] = mv
        if mv != r["label"]:
            r["reason"] += (" [math-verify says %s; the label follows RULE.md, see the reason]"
                            % ("equal" if mv else "not equal"))


def write(rows, split):
    path = HERE / (f"{split}.jsonl")
    with path.open("w", encoding="utf-8") as f:
        for i, r in enumerate(rows, 1):
            rec = {"id": f"{split}-{i:04d}", "category": r["category"], "gold": r["gold"],
                   "completion": r["completion"], "label": r["label"], "reason": r["reason"], "mv": r["mv"]}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def main():
    reserved = {g for pool in POOLS.values() for g, _ in pool_groups(pool, "heldout")}
    dev = build("dev", reserved)
    dev_golds = {r["gold"] for r in dev}
    held = build("heldout", dev_golds)
    for rows, split in ((dev, "dev"), (held, "heldout")):
        add_math_verify(rows)
        path = write(rows, split)
        agree = sum(r["mv"] == r["label"] for r in rows)
        n_true = sum(r["label"] for r in rows)
        print(f"{path.name}: {len(rows)} pairs, {n_true} true, math-verify agrees on {agree}")


if __name__ == "__main__":
    main()
