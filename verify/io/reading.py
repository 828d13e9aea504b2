"""The rules every JSON reader of the toolkit follows (network formats, certificates).

A file is read as it was written, or refused with one line naming the file and the place:

* numbers are read exactly from their text (``0.1`` is 1/10); ``NaN``, ``Infinity``, exponents above
  :data:`verify.numbers.MAX_EXPONENT` and more than :data:`verify.numbers.MAX_DIGITS` digits are refused;
  digits are ASCII only (``"١"`` and ``"１"`` are not numbers, although Python's ``int`` reads them);
* a key given twice in one object is refused (Python's ``json`` silently keeps the last one, so the file
  would mean something other than what a reader of the first occurrence sees);
* every object has a closed set of keys (:func:`check_keys`): an unknown key is refused rather than
  ignored, since a ``"bias"`` on a ``relu`` node, say, was meant to mean something;
* ids the format reserves (:func:`check_id`) are refused with the reason;
* a message shows values as they appear in the file (:func:`show`: ``3/2``, ``"abc"``, ``null``), never
  as Python objects (``Fraction(3, 2)``).

References
----------
T. Bray (ed.), "The JavaScript Object Notation (JSON) Data Interchange Format", RFC 8259 (2017), section
4: "The names within an object SHOULD be unique"; implementations differ on duplicates, hence the refusal.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from typing import Any, Iterable

from ..errors import NetworkFormatError
from ..numbers import check_digits, parse_rational, to_text

__all__ = ["load_json", "show", "check_keys", "check_id", "RESERVED_ID", "place"]

# Inputs are x0, x1, ... and outputs y0, y1, ... in the graph the reader builds.
RESERVED_ID = re.compile(r"[xy][0-9]+", re.ASCII)


class _Reject(ValueError):
    pass


class _Duplicate(dict):
    """An object that had a key twice (found by the walk after parsing, which knows the place)."""

    duplicate: str = ""


def _pairs(pairs: list) -> dict:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    marked, seen = _Duplicate(out), set()
    for k, _ in pairs:
        if k in seen:
            marked.duplicate = k
            break
        seen.add(k)
    return marked


def _reject_constant(name: str):
    raise _Reject(f"{name} is not allowed (only finite numbers)")


def _parse_float_text(text: str) -> Fraction:
    try:
        return parse_rational(text)
    except ValueError as exc:
        raise _Reject(str(exc)) from None


def _parse_int_text(text: str) -> int:
    try:
        check_digits(text)
    except ValueError as exc:
        raise _Reject(str(exc)) from None
    return int(text)


def place(path: Iterable) -> str:
    """The place of a value given by its path of keys and indices, in the words of the formats:
    ``["layers", 1, "weights", 0]`` -> ``"layer 2, row 1"``; ``["nodes", 2]`` -> ``"node 3"``."""
    words = []
    path = list(path)
    k = 0
    while k < len(path):
        key = path[k]
        nxt = path[k + 1] if k + 1 < len(path) else None
        if key in ("layers", "nodes", "windows", "outputs", "queries", "terms", "blocks", "generators") and isinstance(nxt, int):
            words.append(f"{key[:-1] if key != 'queries' else 'query'} {nxt + 1}")
            k += 2
        elif key == "weights" and isinstance(nxt, int):
            words.append(f"row {nxt + 1}")
            k += 2
        elif isinstance(key, int):
            words.append(f"entry {key + 1}")
            k += 1
        else:
            words.append(f"key {show(key)}")
            k += 1
    return ", ".join(words) if words else "top level"


def _find_duplicate(data: Any, path: list) -> tuple[list, str] | None:
    if isinstance(data, _Duplicate):
        return path, data.duplicate
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        items = enumerate(data)
    else:
        return None
    for k, v in items:
        if isinstance(v, (dict, list)):
            found = _find_duplicate(v, path + [k])
            if found:
                return found
    return None


def load_json(text: str, source: str | None = None, *, error: type = NetworkFormatError,
              no_fractions: str | None = None) -> Any:
    """Parse JSON text by the rules of the module; raise ``error`` (a :class:`NetworkFormatError` by
    default) naming the place. ``no_fractions``: a format whose bare JSON numbers must be integers gives
    the message refusing ``1.5`` or ``1.0`` (non-integers are then written as strings)."""
    def integers_only(text: str):
        raise _Reject(f"{text} {no_fractions}")

    parse_float = _parse_float_text if no_fractions is None else integers_only
    try:
        data = json.loads(text, parse_float=parse_float, parse_int=_parse_int_text,
                          parse_constant=_reject_constant, object_pairs_hook=_pairs)
    except _Reject as exc:
        raise error(str(exc), source=source) from None
    except json.JSONDecodeError as exc:
        raise error(f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
                    source=source) from None
    except RecursionError:
        raise error("JSON nested too deeply", source=source) from None
    try:
        found = _find_duplicate(data, [])
    except RecursionError:  # pragma: no cover - json's own limit is lower than this walk's
        raise error("JSON nested too deeply", source=source) from None
    if found:
        path, key = found
        raise error(f"key {show(key)} is given twice (a JSON object's keys must be unique)",
                    where=place(path), source=source)
    return data


def show(value: Any) -> str:
    """A value as a message shows it: as the file wrote it, never a Python repr.

    >>> show(Fraction(3, 2)), show("3/2"), show(None), show(True), show([1, 2]), show({"a": 1})
    ('3/2', "'3/2'", 'null', 'true', 'a list', 'an object')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, Fraction)):
        return to_text(value)
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return repr(text)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a value of type {type(value).__name__}"  # pragma: no cover - JSON has no other types


def check_keys(obj: dict, allowed: Iterable[str], where: str | None, what: str = "") -> None:
    """Refuse keys of ``obj`` outside ``allowed`` (one line: the unknown keys and the allowed ones)."""
    allowed = tuple(allowed)
    unknown = sorted(k for k in obj if k not in allowed)
    if unknown:
        owner = f" ({what} has {', '.join(allowed)})" if what else f" (allowed: {', '.join(allowed)})"
        raise NetworkFormatError(f"unknown key(s) {unknown}{owner}", where=where)


def check_id(nid: str, where: str) -> None:
    """Refuse node ids the graph format reserves: ``x0, x1, ...`` name the inputs, ``y0, y1, ...`` the outputs."""
    if RESERVED_ID.fullmatch(nid):
        role = "inputs" if nid[0] == "x" else "outputs"
        raise NetworkFormatError(f"the id {nid!r} is reserved for the {role} (inputs are x0, x1, ..., outputs "
                                 f"y0, y1, ...); rename the node", where=where)
