"""A small LaTeX -> sympy parser for scalar answers (runs only inside a bounded worker process).

Written for answers, not documents: implicit multiplication (`2\\sqrt3 x`), `\\frac43`, `i` as the
imaginary unit, `e` as Euler's number, `°` and `%` kept as marker symbols so the comparison can read them
either way. Numeric blow-ups (`9^{9^{9^9}}`, `10^6!`) are refused with `TooLarge` before sympy evaluates them.
"""

from __future__ import annotations

import re

import sympy as sp

DEG = sp.Symbol("DEGREE_MARK")
PCT = sp.Symbol("PERCENT_MARK")
MAX_RESULT_DIGITS = 20_000
MAX_FACTORIAL = 3_000
MAX_TOKENS = 600


class TooLarge(ArithmeticError):
    """Evaluating the answer exactly would take unbounded time or memory."""


class LatexError(ValueError):
    """Not a scalar LaTeX expression this parser understands."""


_TOKEN = re.compile(
    r"(?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+(?![a-zA-Z]))?)"
    r"|(?P<cmd>\\[a-zA-Z]+|\\[{}])"
    r"|(?P<letter>[a-zA-Z])"
    r"|(?P<op>[-+*/^_!()\[\]{}|,'°%:])"
    r"|(?P<ws>\s+)"
)

_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
    "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega",
    "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega",
}
_FUNCS = {
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "cot": sp.cot, "sec": sp.sec, "csc": sp.csc,
    "arcsin": sp.asin, "arccos": sp.acos, "arctan": sp.atan, "arccot": sp.acot, "arcsec": sp.asec,
    "arccsc": sp.acsc, "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "coth": sp.coth, "exp": sp.exp,
    "ln": sp.log, "log": sp.log, "lg": lambda x: sp.log(x, 10),
}
_INVERSE = {"sin": sp.asin, "cos": sp.acos, "tan": sp.atan, "cot": sp.acot, "sec": sp.asec, "csc": sp.acsc}
_CONST = {"pi": sp.pi, "infty": sp.oo, "infinity": sp.oo, "imath": sp.I}
_MULT = {"*", "\\cdot", "\\times", "\\ast"}
_DIV = {"/", "\\div"}
_CLOSE = {")": "(", "]": "[", "}": "{"}


def _tokenize(s: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m:
            raise LatexError(f"unexpected character {s[pos]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append((kind, m.group()))
        if len(out) > MAX_TOKENS:
            raise TooLarge("answer has too many tokens")
    return out


def _digits(x: sp.Expr) -> float:
    """Decimal digits of an exact rational (from bit lengths: cheap even for huge numbers)."""
    if x.is_Integer:
        return max(1.0, int(abs(x)).bit_length() * 0.30103)
    if x.is_Rational:
        return _digits(sp.Integer(x.p)) + _digits(sp.Integer(x.q))
    return 0.0


def safe_pow(base: sp.Expr, exp: sp.Expr) -> sp.Expr:
    """base**exp, refusing exact results too large to build (exponent towers)."""
    if exp.is_Integer and base.is_number and not base.is_zero:
        e = abs(int(exp)) if abs(exp) < 10**12 else None
        if e is None:
            if not (base == 1 or base == -1):
                raise TooLarge("exponent too large")
        elif e > 64:
            b = base if base.is_Rational else None
            size = _digits(b) if b is not None and b not in (1, -1) else (1.0 if b is not None else 0.0)
            if b is None:
                try:
                    mag = abs(complex(base.evalf(15)))
                except (TypeError, ValueError):
                    mag = 10.0
                size = abs(float(sp.log(mag, 10))) if mag not in (0.0, 1.0) else 0.0
            if e * size > MAX_RESULT_DIGITS:
                raise TooLarge(f"power too large (~{e * size:.0f} digits)")
    if exp.is_number and not exp.is_Integer and base.is_number:
        try:
            mag = abs(complex(exp.evalf(15)))
        except (TypeError, ValueError):
            mag = 0.0
        if mag > 10**6 and abs(complex(base.evalf(15))) not in (0.0, 1.0):
            raise TooLarge("exponent too large")
    return sp.Pow(base, exp)


class _Parser:
    def __init__(self, text: str):
        self.toks = _tokenize(text)
        self.i = 0
        self.abs_depth = 0

    def peek(self, k: int = 0) -> tuple[str, str]:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ("eof", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok[1] != text:
            raise LatexError(f"expected {text!r}, got {tok[1]!r}")

    def parse(self) -> sp.Expr:
        e = self.expr()
        if self.peek()[0] != "eof":
            raise LatexError(f"unexpected {self.peek()[1]!r}")
        return e

    def expr(self) -> sp.Expr:
        left = self.term()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            right = self.term()
            left = left + right if op == "+" else left - right
        return left

    def _starts_atom(self) -> bool:
        kind, text = self.peek()
        if kind in ("num", "letter"):
            return True
        if kind == "cmd":
            name = text[1:]
            return name not in ("cdot", "times", "div", "ast", "right", "rfloor", "rceil", "}") and text != "\\}"
        return text in ("(", "[", "{") or (text == "|" and self.abs_depth == 0)

    def term(self) -> sp.Expr:
        left = self.unary()
        while True:
            text = self.peek()[1]
            if text in _MULT:
                self.take()
                left = left * self.unary()
            elif text in _DIV:
                self.take()
                left = left / self.unary()
            elif self._starts_atom():
                if self.peek()[0] == "num" and self.toks[self.i - 1][0] == "num":
                    raise LatexError("two numbers side by side")  # `2\\quad 3` is not 6, nor 23
                left = left * self.power()
            else:
                return left

    def unary(self) -> sp.Expr:
        text = self.peek()[1]
        if text == "-":
            self.take()
            return -self.unary()
        if text == "+":
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> sp.Expr:
        base = self.postfix()
        if self.peek()[1] == "^":
            self.take()
            exp = self.script()
            base = safe_pow(base, exp)
            return self.postfix_ops(base)
        return base

    def script(self) -> sp.Expr:
        """The argument of ^: a braced group, or one token (a whole number, unlike TeX's single digit)."""
        kind, text = self.peek()
        if text == "{":
            return self.group()
        if text in ("-", "+"):
            self.take()
            v = self.script()
            return -v if text == "-" else v
        if kind == "num":
            self.take()
            return self.number(text)
        return self.atom()

    def postfix(self) -> sp.Expr:
        return self.postfix_ops(self.atom())

    def postfix_ops(self, value: sp.Expr) -> sp.Expr:
        while True:
            text = self.peek()[1]
            if text == "!":
                self.take()
                if value.is_number:
                    if not value.is_Integer or value < 0:
                        raise LatexError("factorial of a non-natural number")
                    if value > MAX_FACTORIAL:
                        raise TooLarge(f"factorial of {value} is too large")
                value = sp.factorial(value)
            elif text == "°":
                self.take()
                value = value * DEG
            elif text == "%":
                self.take()
                value = value * PCT
            else:
                return value

    def group(self) -> sp.Expr:
        self.expect("{")
        e = self.expr()
        self.expect("}")
        return e

    def arg(self) -> sp.Expr:
        """A macro argument: `{...}`, or a single character as TeX reads it (`\\frac43`)."""
        kind, text = self.peek()
        if text == "{":
            return self.group()
        if kind == "num":
            self.take()
            if len(text) > 1 and text[0].isdigit():
                self.toks.insert(self.i, ("num", text[1:]))
                return sp.Integer(int(text[0]))
            return self.number(text)
        if kind == "letter":
            self.take()
            return self.symbol(text)
        if kind == "cmd":
            return self.atom()
        raise LatexError(f"bad macro argument {text!r}")

    def number(self, text: str) -> sp.Expr:
        if len(text) > 1000:
            raise TooLarge("numeral too long")
        if "e" in text or "E" in text:
            mant, _, exp = text.replace("E", "e").partition("e")
            if abs(int(exp)) > 1000:
                raise TooLarge("scientific exponent too large")
            value = sp.Rational(mant) * sp.Integer(10) ** int(exp)
        else:
            value = sp.Rational(text)
        if self.peek() == ("cmd", "\\overline") and text.count(".") == 1:
            self.take()
            rep = self.group_digits()
            fixed = text.split(".")[1]
            value = value + sp.Rational(int(rep), (10 ** len(rep) - 1) * 10 ** len(fixed))
        return value

    def group_digits(self) -> str:
        if self.peek()[1] == "{":
            self.take()
            kind, text = self.take()
            self.expect("}")
        else:
            kind, text = self.take()
            text = text[:1]
        if kind != "num" or not text.isdigit():
            raise LatexError("bad repeating digits")
        return text

    def symbol(self, name: str) -> sp.Expr:
        if name == "i":
            return sp.I
        if name == "e":
            return sp.E
        return sp.Symbol(name)

    def subscript(self) -> str:
        self.expect("_")
        if self.peek()[1] == "{":
            self.take()
            parts = []
            while self.peek()[1] != "}":
                if self.peek()[0] == "eof":
                    raise LatexError("unclosed subscript")
                parts.append(self.take()[1])
            self.take()
            return "".join(parts)
        return self.take()[1]

    def atom(self) -> sp.Expr:
        kind, text = self.take()
        if kind == "num":
            return self.number(text)
        if kind == "letter":
            if self.peek()[1] == "_":
                return sp.Symbol(f"{text}_{self.subscript()}")
            return self.symbol(text)
        if text in ("(", "[", "{"):
            e = self.expr()
            close = self.take()[1]
            if close not in _CLOSE or (text == "{" and close != "}"):
                raise LatexError("unbalanced brackets")
            return e
        if text == "|":
            self.abs_depth += 1
            e = self.expr()
            self.expect("|")
            self.abs_depth -= 1
            return sp.Abs(e)
        if kind == "cmd":
            return self.command(text[1:])
        raise LatexError(f"unexpected {text!r}")

    def command(self, name: str) -> sp.Expr:
        if name == "frac":
            num = self.arg()
            den = self.arg()
            return num / den
        if name == "binom":
            n, k = self.arg(), self.arg()
            if n.is_Integer and n > 10**5:
                raise TooLarge("binomial too large")
            return sp.binomial(n, k)
        if name == "sqrt":
            index = None
            if self.peek()[1] == "[":
                self.take()
                index = self.expr()
                self.expect("]")
            radicand = self.arg()
            return sp.sqrt(radicand) if index is None else safe_pow(radicand, 1 / index)
        if name in _CONST:
            return _CONST[name]
        if name in _GREEK:
            return sp.Symbol(name)
        if name in ("lfloor", "lceil"):
            e = self.expr()
            self.expect("\\rfloor" if name == "lfloor" else "\\rceil")
            return sp.floor(e) if name == "lfloor" else sp.ceiling(e)
        if name == "text":
            self.expect("{")
            words = []
            while self.peek()[1] != "}":
                if self.peek()[0] == "eof":
                    raise LatexError("unclosed \\text")
                words.append(self.take()[1])
            self.take()
            body = "".join(words)
            if re.fullmatch(r"\d+(\.\d+)?", body):
                return sp.Rational(body)
            if len(body) != 1:  # words are not a factor (`\text{not } 0` is not 0); an empty \text is nothing
                raise LatexError(f"text in a value: {body!r}")
            return sp.Symbol(body)
        if name in _FUNCS:
            return self.function(name)
        if name == "overline":
            raise LatexError("repeating digits without a number")
        raise LatexError(f"unknown command \\{name}")

    def function(self, name: str) -> sp.Expr:
        fn = _FUNCS[name]
        power = None
        base = None
        if name == "log" and self.peek()[1] == "_":
            self.take()
            base = self.script()
        if self.peek()[1] == "^":
            self.take()
            power = self.script()
            if power == -1 and name in _INVERSE:
                fn, power = _INVERSE[name], None
        if self.peek()[1] in ("(", "{", "["):
            argument = self.atom()
        else:
            argument = self.unary_product()
        value = sp.log(argument, base) if base is not None else fn(argument)
        return value if power is None else safe_pow(value, power)

    def unary_product(self) -> sp.Expr:
        """`\\sin 2x` takes `2x` as its argument; stops before the next function or an operator."""
        value = self.power()
        while self._starts_atom() and not (self.peek()[0] == "cmd" and self.peek()[1][1:] in _FUNCS):
            value = value * self.power()
        return value


def parse_latex(text: str) -> sp.Expr:
    """sympy value of one scalar answer (already `normalize.clean`ed)."""
    text = text.replace("\\infty", "\\infty ")
    text = re.sub(r"(?<![a-zA-Z\\])(?:inf|infinity)(?![a-zA-Z])", r"\\infty ", text)
    text = re.sub(r"(?<![a-zA-Z\\])(pi|sqrt|sin|cos|tan|ln|log|exp)(?![a-zA-Z])", r"\\\1 ", text)
    text = text.replace("**", "^")
    if not text.strip():
        raise LatexError("empty")
    return _Parser(text).parse()
