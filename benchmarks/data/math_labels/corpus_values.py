"""Generated golds for the math corpus, each with a prediction whose label is known by construction.

Every function returns `(gold, prediction, label, why)`: `label` is True only when the prediction
was built as the gold's value in another (or the same) form, and False when it was built by one
named mistake (off by one, reciprocal, rounding, transpose...). Exact arithmetic uses Fraction.
"""

from fractions import Fraction
from math import gcd

SQUAREFREE = [2, 3, 5, 6, 7, 10, 11, 13, 14, 15, 17, 19, 21]


def frac_tex(fr, cmd="frac"):
    """MATH-style fraction: `-\\frac{3}{4}`, `\\dfrac{5}{2}`, `3/4` (cmd="slash"), integers bare."""
    sign = "-" if fr < 0 else ""
    p, q = abs(fr.numerator), fr.denominator
    if q == 1:
        return sign + str(p)
    if cmd == "slash":
        return f"{sign}{p}/{q}"
    return f"{sign}\\{cmd}{{{p}}}{{{q}}}"


def terminates(fr):
    q = fr.denominator
    for f in (2, 5):
        while q % f == 0:
            q //= f
    return q == 1


def decimal(fr):
    """Exact decimal text of a terminating fraction (`0.375`), else None."""
    if not terminates(fr):
        return None
    k = 0
    while (fr * 10**k).denominator != 1:
        k += 1
    n = abs(fr.numerator * 10**k // fr.denominator)
    digits = str(n).rjust(k + 1, "0")
    text = digits[:-k] + "." + digits[-k:] if k else digits
    return ("-" if fr < 0 else "") + text


def rounded(value, places):
    """Decimal text of `value` rounded to `places`; callers use it only where it cannot be exact."""
    return f"{value:.{places}f}"


def integer_item(rng, want_true):
    n = rng.randint(-60, -1) if rng.random() < 0.2 else rng.randint(1, 999)
    gold = str(n)
    if want_true:
        if rng.random() < 0.1:
            return gold, f"{n}.0", True, f"{n}.0 is the integer {n}"
        return gold, gold, True, "same integer"
    pred, why = rng.choice([(n + 1, "off by one"), (n - 1, "off by one"), (-n, "sign flipped"),
                            (2 * n, "twice the gold"), (n + 10, "off by ten")])
    return gold, str(pred), False, why


def fraction_item(rng, want_true):
    while True:
        q = rng.randint(2, 12)
        p = rng.randint(1, 3 * q)
        if gcd(p, q) == 1:
            break
    fr = Fraction(p, q) * (-1 if rng.random() < 0.2 else 1)
    gold = frac_tex(fr, rng.choice(["frac", "frac", "frac", "dfrac"]))
    if want_true:
        forms = [(frac_tex(fr), "same fraction"), (frac_tex(fr, "dfrac"), "\\dfrac is \\frac"),
                 (frac_tex(fr, "slash"), "slash fraction, same value"),
                 (("-" if fr < 0 else "") + f"\\frac{{{2 * p}}}{{{2 * q}}}", "unreduced, same value")]
        if decimal(fr):
            forms += [(decimal(fr), "exact decimal of the fraction")] * 2
        pred, why = rng.choice(forms)
        return gold, pred, True, why
    mistakes = [(frac_tex(1 / fr), "reciprocal of the gold"),
                (frac_tex(fr + Fraction(1, q) * (1 if fr > 0 else -1)), "numerator off by one"),
                (frac_tex(-fr), "sign flipped")]
    if not decimal(fr):
        places = rng.choice([2, 3])
        mistakes += [(rounded(float(fr), places), f"a rounding of {gold}, not exact")] * 2
    pred, why = rng.choice(mistakes)
    return gold, pred, False, why


def radical_item(rng, want_true):
    a, b = rng.randint(2, 9), rng.choice(SQUAREFREE)
    gold = f"{a}\\sqrt{{{b}}}"
    if want_true:
        pred, why = rng.choice([(gold, "same radical"),
                                (f"\\sqrt{{{a * a * b}}}", f"sqrt({a * a * b}) = {a} sqrt({b})"),
                                (f"{a} \\sqrt{{{b}}}", "spacing only")])
        return gold, pred, True, why
    mistakes = [(f"{a + 1}\\sqrt{{{b}}}", "coefficient off by one"),
                (f"\\sqrt{{{a * b}}}", "sqrt(ab) is not a sqrt(b)"),
                (rounded(a * b**0.5, 2), "a rounding of an irrational number")]
    if a != b:
        mistakes.append((f"{b}\\sqrt{{{a}}}", "coefficient and radicand swapped"))
    pred, why = rng.choice(mistakes)
    return gold, pred, False, why


def pi_item(rng, want_true):
    while True:
        k, m = rng.randint(1, 11), rng.randint(2, 12)
        if gcd(k, m) == 1:
            break
    kp = "\\pi" if k == 1 else f"{k}\\pi"
    gold = f"\\frac{{{kp}}}{{{m}}}"
    if want_true:
        pred, why = rng.choice([(gold, "same value"), (f"\\frac{{{k}}}{{{m}}}\\pi", "same value"),
                                (f"{kp}/{m}", "slash fraction, same value")])
        return gold, pred, True, why
    mp = f"{m}\\pi"
    pred, why = rng.choice([(mp if k == 1 else f"\\frac{{{mp}}}{{{k}}}", "coefficient inverted"),
                            (f"\\frac{{{kp}}}{{{m + 1}}}", "denominator off by one"),
                            (rounded(k * 3.141592653589793 / m, 3), "a rounding of a multiple of pi")])
    return gold, pred, False, why


def number_item(rng, want_true):
    """A MATH-style numeric gold of a random kind, with a correct or a wrong prediction."""
    kind = rng.choice([integer_item, integer_item, fraction_item, radical_item, pi_item])
    return kind(rng, want_true)


SEPARATORS = {"plain": "", "comma": ",", "math": ",\\!", "brace": "{,}", "thin": "\\,"}


def grouped(n, style):
    text = f"{n:,}"
    return text.replace(",", SEPARATORS[style])


def thousands_item(rng, want_true):
    n = rng.randint(1000, 9_999_999) if rng.random() < 0.8 else rng.randint(1, 99) * 1000
    gold_style = rng.choice(["math"] * 6 + ["brace", "comma", "plain", "plain"])
    pred_styles = [s for s in SEPARATORS if gold_style != "plain" or s != "plain"]
    pred_style = rng.choice(pred_styles)
    gold = grouped(n, gold_style)
    if want_true:
        pred = grouped(n, pred_style)
        why = "same number, same writing" if pred == gold else "same number, thousands separators written differently"
        return gold, pred, True, why
    digits = str(n)
    mistakes = [(n + 1, "off by one"), (n * 10, "ten times the gold"), (n // 10, "last digit dropped"),
                (n + 1000, "thousands digit off by one")]
    swaps = [i for i in range(len(digits) - 1) if digits[i] != digits[i + 1] and (i > 0 or digits[1] != "0")]
    if swaps:
        i = rng.choice(swaps)
        mistakes.append((int(digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]), "two digits swapped"))
    m, why = rng.choice(mistakes)
    return gold, grouped(m, pred_style), False, why


def fraction_decimal_item(rng, want_true):
    """Fractions against decimals: exact decimals are equal, roundings of repeating ones are not."""
    while True:
        q = rng.choice([2, 4, 5, 8, 10, 16, 20, 25, 40, 3, 6, 7, 9, 11, 12, 15])
        p = rng.randint(1, 2 * q)
        if gcd(p, q) == 1 and p != q:
            break
    fr = Fraction(p, q) * (-1 if rng.random() < 0.15 else 1)
    exact = decimal(fr)
    if exact and rng.random() < 0.3:
        gold = exact  # a decimal gold answered with a fraction
        if want_true:
            return gold, frac_tex(fr, rng.choice(["frac", "dfrac", "slash"])), True, "the fraction equals the decimal"
        wrong = [(frac_tex(1 / fr), "reciprocal"), (frac_tex(fr + Fraction(1, q)), "numerator off by one")]
        pred, why = rng.choice(wrong)
        return gold, pred, False, why
    gold = frac_tex(fr, rng.choice(["frac", "frac", "dfrac"]))
    if want_true:
        forms = [(exact, "exact decimal")] * 3 if exact else []
        forms += [(frac_tex(fr, "slash"), "slash fraction"), (frac_tex(fr, "tfrac"), "\\tfrac is \\frac")]
        if fr < 0:
            forms.append((f"\\frac{{-{p}}}{{{q}}}", "minus sign in the numerator"))
        pred, why = rng.choice(forms)
        return gold, pred, True, why
    if exact:
        k = len(exact.split(".")[1]) if "." in exact else 0
        wrong = [(frac_tex(1 / fr), "reciprocal"), (frac_tex(-fr), "sign flipped")]
        if k >= 2:
            wrong.append((rounded(float(fr), k - 1), f"decimal rounded to {k - 1} places, not exact"))
        pred, why = rng.choice(wrong)
        return gold, pred, False, why
    places = rng.choice([1, 2, 2, 3])
    return gold, rounded(float(fr), places), False, f"repeating decimal rounded to {places} places, not exact"


def matrix_tex(rows, env="pmatrix", compact=False):
    amp, br = ("&", "\\\\") if compact else (" & ", " \\\\ ")
    body = br.join(amp.join(r) for r in rows)
    return "\\begin{{{}}}{}{}{}\\end{{{}}}".format(env, "" if compact else " ", body, "" if compact else " ", env)


def matrix_item(rng, want_true):
    shape = rng.choice([(2, 2), (2, 2), (2, 3), (3, 2), (3, 3), (2, 1), (3, 1)])
    while True:
        vals = [[rng.randint(-9, 12) for _ in range(shape[1])] for _ in range(shape[0])]
        square = shape[0] == shape[1]
        transposed = [list(c) for c in zip(*vals, strict=False)]
        if (not square or vals != transposed) and len({tuple(r) for r in vals}) == shape[0]:
            break
    half = rng.random() < 0.2 and shape[1] > 1
    rows = [[str(v) for v in r] for r in vals]
    if half:  # one fraction entry, as MATH golds often have
        rows[0][0] = frac_tex(Fraction(2 * vals[0][0] + 1, 2))
    gold = matrix_tex(rows)
    if want_true:
        forms = [(matrix_tex(rows, compact=True), "same matrix without spaces"),
                 (matrix_tex(rows, "bmatrix"), "bmatrix is the same matrix"),
                 (matrix_tex(rows).replace(" \\\\ ", "\\\\\n"), "same matrix, rows on new lines"),
                 (gold, "same matrix")]
        if half:
            alt = [r[:] for r in rows]
            alt[0][0] = decimal(Fraction(2 * vals[0][0] + 1, 2))
            forms.append((matrix_tex(alt), "entry written as an exact decimal"))
        pred, why = rng.choice(forms)
        return gold, pred, True, why
    mistakes = []
    if shape[1] > 1:
        trows = [list(c) for c in zip(*rows, strict=False)]
        mistakes += [(matrix_tex(trows), "the transpose of the gold")] * 3
        mistakes.append((matrix_tex(trows, compact=True), "the transpose of the gold, compact"))
    bad = [r[:] for r in rows]
    i, j = rng.randrange(shape[0]), rng.randrange(shape[1])
    if not (half and (i, j) == (0, 0)):
        bad[i][j] = str(vals[i][j] + 1)
        mistakes.append((matrix_tex(bad), "one entry off by one"))
    mistakes.append((matrix_tex(rows[::-1]), "rows in the wrong order"))
    pred, why = rng.choice(mistakes)
    return gold, pred, False, why

