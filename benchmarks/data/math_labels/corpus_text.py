"""Model-style text for the math corpus: reasoning with intermediate numbers and answer endings.

Every phrasing list is split by position: even entries are used for dev, odd entries for heldout,
so the held-out file is written with endings and reasoning sentences the dev file never uses.
Reasoning never contains a box, an answer tag, an answer line or a closing formula, so the only
final answer of a completion is the one its ending puts there (RULE.md section 1).
"""


def pick(rng, options, split):
    """One phrasing from the split's half of `options` (dev: even positions, heldout: odd)."""
    half = options[0::2] if split == "dev" else options[1::2]
    return rng.choice(half or options)


def math(ans):
    return "$" + ans + "$"


def plain_or_math(ans):
    """Chat models write plain text and numbers bare and LaTeX in dollars."""
    return math(ans) if any(c in ans for c in "\\^_{") else ans


_STEP = [
    "First, we compute ${a} + {b} = {s}$.",
    "We start from ${a} \\cdot {b} = {p}$.",
    "Note that ${p} - {a} = {d}$, which we will need below.",
    "Multiplying out gives ${a} \\times {b} = {p}$.",
    "Adding the two parts, ${a} + {b} = {s}$.",
    "The first condition gives $n = {a}$ and the second gives $m = {b}$.",
    "Substituting ${a}$ into the second equation yields ${s}$ on the left-hand side.",
    "Since the total is ${s}$, each of the ${a}$ groups contributes a share of it.",
    "Squaring, we find ${a}^2 = {q}$.",
    "The difference of the two terms is ${d}$.",
]

_OPEN = {
    "qwen": ["To solve this problem, let's work through it step by step.",
             "Let's break the problem into smaller steps.",
             "We need to find the requested quantity. Let's proceed carefully.",
             "I'll solve this step by step."],
    "minerva": ["We have the following.", "Solution:", "Let us set up the computation.", "Observe the following."],
    "llama": ["## Step 1: Understand the problem", "## Step 1: Identify what is given",
              "## Step 1: Set up the equations", "## Step 1: Restate the question"],
    "chat": ["Sure! Let's work it out.", "Here's how to approach it:", "Great question. Let's compute.",
             "Let me walk through it."],
    "think": ["Okay, so I need to figure this out. Let me start by writing down what I know.",
              "Alright, let me think about this problem.", "Hmm, let me see. First I should set up the numbers.",
              "Let me try to understand what's being asked here."],
}

_CHECK = ["Wait, let me double-check that step. Yes, it holds.", "Hmm, that seems right.",
          "Let me verify: the numbers are consistent.", "Okay, that checks out."]


def _numbers(rng):
    a, b = rng.randint(2, 40), rng.randint(2, 40)
    return {"a": a, "b": b, "s": a + b, "p": a * b, "d": a * b - a, "q": a * a}


def reasoning(rng, split, family="qwen", steps=None):
    """A few sentences of working with intermediate results that are never the final answer."""
    steps = steps or rng.randint(2, 4)
    nums = _numbers(rng)
    lines = [pick(rng, _OPEN[family], split)]
    half = _STEP[0::2] if split == "dev" else _STEP[1::2]
    for i in range(steps):
        sentence = rng.choice(half).format(**nums)
        if family == "llama" and i > 0:
            lines.append(f"## Step {i + 1}: Continue the computation")
        lines.append((f"{i + 1}. " if family == "qwen" and rng.random() < 0.5 else "") + sentence)
        nums = _numbers(rng)
    if family == "think":
        lines.append(pick(rng, _CHECK, split))
    return "\n\n".join(lines)


# Endings: each takes the answer (LaTeX) and returns the closing text that commits to it.
BOXED = [lambda a: f"Therefore, the final answer is $\\boxed{{{a}}}$.",
         lambda a: f"So the answer is $\\boxed{{{a}}}$.",
         lambda a: f"Putting it all together:\n\n\\[\n\\boxed{{{a}}}\n\\]",
         lambda a: f"Hence the result is $\\boxed{{{a}}}$.",
         lambda a: f"**Final Answer**\n\\[ \\boxed{{{a}}} \\]",
         lambda a: f"Thus, the value is $\\boxed{{{a}}}$."]
FBOX = [lambda a: f"Therefore the answer is $\\fbox{{{a}}}$.",
        lambda a: f"So we get $\\fbox{{{a}}}$.",
        lambda a: f"The final result is\n\\[\\fbox{{{a}}}\\]",
        lambda a: f"Hence, $\\fbox{{{a}}}$."]
MINERVA = [lambda a: f"Final Answer: The final answer is ${a}$. I hope it is correct.",
           lambda a: f"Final Answer: The final answer is ${a}$. I hope it is correct."]
ANSWER_IS = [lambda a: f"The answer is {a}.",
             lambda a: f"The final answer is: $\\boxed{{{a}}}$",
             lambda a: f"The answer is ${a}$.",
             lambda a: f"Therefore, the final answer is: $\\boxed{{{a}}}$",
             lambda a: f"The answer is \\[{a}\\]",
             lambda a: f"So, the answer is ${a}$"]
BOLD = [lambda a: f"**Answer:** {plain_or_math(a)}",
        lambda a: f"**Final answer**: {math(a)}",
        lambda a: f"**Answer**: \\({a}\\)",
        lambda a: f"**Final Answer:** {plain_or_math(a)}"]
DISPLAY = [lambda a: f"Therefore, the result is\n\\[\n{a}\n\\]",
           lambda a: f"So we conclude\n$${a}$$",
           lambda a: f"Collecting everything, we obtain\n\\[ {a} \\]",
           lambda a: f"This gives\n$$\n{a}\n$$"]
INLINE = [lambda a: f"So the quantity we want is ${a}$.",
          lambda a: f"Hence, the value is ${a}$.",
          lambda a: f"Therefore the result equals ${a}$.",
          lambda a: f"This gives us ${a}$."]
HASH = [lambda a: f"#### {a}", lambda a: f"#### {a}"]

FAMILY = {"boxed": "qwen", "fbox": "qwen", "minerva": "minerva", "answer_is": "llama", "bold": "chat",
          "display": "qwen", "inline": "minerva"}
ENDINGS = {"boxed": BOXED, "fbox": FBOX, "minerva": MINERVA, "answer_is": ANSWER_IS, "bold": BOLD,
           "display": DISPLAY, "inline": INLINE}


def complete(rng, split, style, ans):
    """Reasoning in the style's model family followed by its ending around `ans`."""
    if style == "think":
        tail = pick(rng, BOXED + ANSWER_IS[:3] + BOLD[:2], split)(ans)
        return "<think>\n{}\n</think>\n\n{}".format(reasoning(rng, split, "think"), tail)
    if style == "tags":
        inner = rng.choice([ans, math(ans), f"\\boxed{{{ans}}}"])
        if rng.random() < 0.5:
            return "<think>\n{}\n</think>\n<answer>{}</answer>".format(reasoning(rng, split, "think"), inner)
        return "{}\n\n<answer>\n{}\n</answer>".format(reasoning(rng, split, "qwen"), inner)
    if style == "hash":
        return gsm8k_reasoning(rng, split) + "\n" + HASH[0](ans)
    return reasoning(rng, split, FAMILY[style]) + "\n\n" + pick(rng, ENDINGS[style], split)(ans)


def gsm8k_reasoning(rng, split):
    """GSM8K-style working with calculator annotations (<<a*b=c>>c)."""
    who = pick(rng, ["Natalia", "James", "The bakery", "Maria", "The farmer", "Tom"], split)
    lines = []
    for _ in range(rng.randint(2, 3)):
        a, b = rng.randint(2, 60), rng.randint(2, 12)
        op, val = rng.choice([("*", a * b), ("+", a + b), ("-", a - b)])
        lines.append(f"{who} has {a} {op} {b} = <<{a}{op}{b}={val}>>{val} items.")
    return "\n".join(lines)


# Styles used to wrap the content categories (the convention under test is the answer itself).
CONTENT_STYLES = ["boxed", "minerva", "answer_is", "bold", "think", "boxed"]
