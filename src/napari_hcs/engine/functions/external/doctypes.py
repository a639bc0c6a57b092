"""Parameter types read from numpydoc type strings, as JSON descriptors and as annotations.

A *descriptor* is what the function index stores for one parameter type (JSON, so the index can
be read without importing anything): a list of alternatives, each an atom
(`"int"`, `"float"`, `"bool"`, `"str"`, `"none"`, `"array"`, `"callable"`, `"dtype"`, `"dict"`,
`"any"`), `{"choice": [values]}` or `{"seq": alternative}`. `annotation()` turns a descriptor
into the annotation that the parameter forms and `compiler/validate.py` read: `int`, `float`,
`Literal[...]`, `tuple[int, ...]`, unions with `None`, and `numpy.ndarray` (which validation
trusts) for arrays.

Only what scikit-image's and scipy's docstrings actually write is understood (`scalar or
sequence of scalars`, `{'reflect', 'constant'}`, `int or None`, `(M, N) ndarray`, `tuple of
int`, ...); anything else becomes `"any"` and the default value's own type fills in.
"""

from __future__ import annotations

import ast
import math
import re
import typing
from typing import Any

Alternative = Any  # str | {"choice": [...]} | {"seq": Alternative}

_ATOMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # order matters: "array of int" is an array, "int" is an int
    ("callable", ("callable", "function", "lowlevelcallable", "scipy.lowlevelcallable")),
    ("dtype", ("dtype", "data-type", "type", "numpy.dtype")),
    ("array", ("ndarray", "ndarrays", "array", "array_like", "array-like", "arrays", "image",
               "masked")),
    ("seq", ("tuple", "sequence", "list", "iterable", "2-tuple", "3-tuple")),
    ("int", ("int", "ints", "integer", "integers", "uint", "unsigned", "py_ssize_t")),
    ("float", ("float", "floats", "scalar", "scalars", "double", "number", "real")),
    ("bool", ("bool", "boolean", "bools")),
    ("str", ("str", "string", "strings")),
    ("none", ("none",)),
    ("dict", ("dict",)),
)
#: How scipy.ndimage lists its modes in a description: `'reflect' (d c b a | a b c d | d c b a)`.
#: Its synonyms follow on lines of their own (`'grid-wrap'`).
_QUOTED_CHOICE = re.compile(r"^\s*['\"]([\w-]+)['\"]\s*(\(|$)", re.MULTILINE)


def _strip_balanced(text: str, open_: str, close: str) -> tuple[str, list[str]]:
    """`text` without its top-level `open_ ... close` groups, and those groups' contents."""
    out, groups, depth, start = [], [], 0, 0
    for i, ch in enumerate(text):
        if ch == open_:
            if depth == 0:
                start = i + 1
            depth += 1
        elif ch == close and depth:
            depth -= 1
            if depth == 0:
                groups.append(text[start:i])
                continue
        if depth == 0:
            out.append(ch)
    return "".join(out), groups


def _choice_values(inner: str) -> list[Alternative]:
    """`'reflect', 'constant', None` -> one choice; unquoted words (`int`) -> their atoms."""
    values: list[Any] = []
    others: list[Alternative] = []
    for item in re.split(r"[,|]", inner):
        item = item.strip().strip("`").replace("‘", "'").replace("’", "'")
        if not item:
            continue
        try:
            value = ast.literal_eval(item)
        except (ValueError, SyntaxError):
            others.extend(_word(item))
            continue
        if value is None:
            others.append("none")
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            values.append(value)
    return ([{"choice": values}] if values else []) + others


def _word(word: str) -> list[Alternative]:
    """One alternative of a type string (`tuple of int`, `2-D array`, `float`)."""
    text = word.strip().strip("`").lower()
    text = re.sub(r"^\(.*?\)\s*", "", text)  # a leading shape, e.g. "(M, N) ndarray"
    if not text:
        return []
    generic = re.match(r"^(tuple|list|sequence|iterable)\s*\[\s*(\w+)", text)
    if generic:
        return [{"seq": _atom(generic.group(2)) or "any"}]
    tokens = re.findall(r"[\w.\-]+", text)
    kind = next((k for t in tokens for k, names in _ATOMS if t in names), None)
    if kind == "seq" or (kind is None and re.search(r"length-\d+|\d-tuple", text)):
        of = re.search(r"\bof\s+(?:\w+\s+)?(\w+)", text)
        element = _atom(of.group(1)) if of else None
        return [{"seq": element or "any"}]
    return [kind] if kind else ["any"]


def _atom(token: str) -> str | None:
    token = token.lower()
    kind = next((k for k, names in _ATOMS if token in names), None)
    return kind if kind in ("int", "float", "bool", "str") else None


def parse_type(text: str | None, description: str = "") -> list[Alternative]:
    """The alternatives of a numpydoc type string (empty when there is none)."""
    if not text:
        return []
    text = re.sub(r"\(default[^)]*\)", "", text)
    text = re.sub(r",?\s*\boptional\b.*$", "", text, flags=re.IGNORECASE | re.DOTALL)
    rest, groups = _strip_balanced(text, "{", "}")
    alternatives: list[Alternative] = []
    for inner in groups:
        alternatives.extend(_choice_values(inner))
    # "str, {'low', 'high'}" and "string in {...}" say the same thing as the braces alone
    only_names_choice = bool(groups)
    for part in re.split(r",|\bor\b|\|", rest):
        part = part.strip()
        if not part or part in ("in", "string in", "str in"):
            continue
        parsed = _word(part)
        if only_names_choice and parsed == ["str"]:
            continue
        alternatives.extend(parsed)
    if "str" in alternatives and not any(isinstance(a, dict) and "choice" in a
                                         for a in alternatives):
        found = _QUOTED_CHOICE.findall(description or "")
        named = list(dict.fromkeys(word for word, _ in found))
        if len(named) >= 2 and any(paren for _, paren in found):
            alternatives[alternatives.index("str")] = {"choice": named}
    return _unique(alternatives)


def _unique(alternatives: list[Alternative]) -> list[Alternative]:
    out: list[Alternative] = []
    for alt in alternatives:
        if alt == "any" and len(alternatives) > 1:
            continue
        if alt not in out:
            out.append(alt)
    return out


def describe(alternatives: list[Alternative]) -> str:
    """In words, for messages: `a float or a sequence of float`."""
    words = []
    for alt in alternatives:
        if isinstance(alt, dict):
            words.append("a choice" if "choice" in alt else f"a sequence of {alt['seq']}")
        else:
            words.append({"array": "an array", "callable": "a function", "dtype": "a dtype",
                          "int": "an int", "float": "a float", "bool": "a bool",
                          "str": "a string", "none": "None", "dict": "a dict"}.get(alt, alt))
    return " or ".join(words) or "a value of unknown type"


def fits(value: Any, alternatives: list[Alternative]) -> bool:
    """Whether a JSON-decoded value fits one of the alternatives (what validation will say)."""
    return any(_fits_one(value, alt) for alt in alternatives)


def _fits_one(value: Any, alt: Alternative) -> bool:
    if isinstance(alt, dict):
        if "choice" in alt:
            return any(value == v and type(value) is type(v) for v in alt["choice"])
        return isinstance(value, (tuple, list)) and all(_fits_one(v, alt["seq"]) for v in value)
    if alt == "none":
        return value is None
    if alt == "bool":
        return isinstance(value, bool)
    if alt == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if alt == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if alt == "str":
        return isinstance(value, str)
    if alt == "array":
        return isinstance(value, (list, tuple))
    return alt == "any"


def of_value(value: Any) -> Alternative:
    """The alternative a plain default value belongs to."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (tuple, list)):
        kinds = {of_value(v) for v in value}
        return {"seq": kinds.pop() if len(kinds) == 1 else "any"}
    return "any"


def complete(alternatives: list[Alternative], default: Any, has_default: bool) -> list[Alternative]:
    """The documented alternatives, widened so that the function's own default fits them.

    Docstrings are sometimes narrower than the code (`int` with a default of None, a mode list
    that forgets the default): validation must never refuse a function's own default.
    """
    alts = [a for a in alternatives if a != "any"] or []
    if not has_default:
        return alts or ["any"]
    if not alts:
        return [of_value(default)]
    if fits(default, alts):
        return alts
    if isinstance(default, str):
        for alt in alts:
            if isinstance(alt, dict) and "choice" in alt:
                alt["choice"].append(default)
                return alts
    return alts + [of_value(default)]


def annotation(alternatives: list[Alternative]) -> Any:
    """The Python annotation of a descriptor (first alternative first, None last)."""
    members = [_annotation(a) for a in alternatives if a != "none"]
    if any(m is Any for m in members):
        return Any
    if "none" in alternatives:
        members.append(type(None))
    members = list(dict.fromkeys(members))
    if not members:
        return Any
    return members[0] if len(members) == 1 else typing.Union[tuple(members)]  # noqa: UP007


def _annotation(alt: Alternative) -> Any:
    if isinstance(alt, dict):
        if "choice" in alt:
            return typing.Literal[tuple(alt["choice"])]
        inner = _annotation(alt["seq"])
        return tuple if inner is Any else tuple[inner, ...]
    if alt == "array":
        import numpy as np

        return np.ndarray
    return {"int": int, "float": float, "bool": bool, "str": str}.get(alt, Any)


def encode_default(value: Any) -> tuple[bool, Any]:
    """`(True, json_value)` for a default that can be written as JSON, else `(False, None)`.

    Tuples are kept apart from lists (`{"tuple": [...]}`) so that they read back equal;
    non-finite floats are written as strings, since strict JSON has no Infinity.
    """
    if value is None or isinstance(value, (bool, str)):
        return True, value
    if isinstance(value, int) or type(value).__name__.startswith(("int", "uint")):
        try:
            return True, int(value)
        except (TypeError, ValueError):
            return False, None
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        number = float(value)
        return True, number if math.isfinite(number) else {"float": repr(number)}
    if isinstance(value, (tuple, list)):
        items = [encode_default(v) for v in value]
        if all(ok for ok, _ in items):
            encoded = [v for _, v in items]
            return True, {"tuple": encoded} if isinstance(value, tuple) else encoded
    return False, None


def decode_default(value: Any) -> Any:
    if isinstance(value, dict):
        if "tuple" in value:
            return tuple(decode_default(v) for v in value["tuple"])
        if "float" in value:
            return float(value["float"])
        raise ValueError(f"unknown encoded default {value!r}")
    if isinstance(value, list):
        return [decode_default(v) for v in value]
    return value
