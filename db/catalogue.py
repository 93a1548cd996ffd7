"""Reading and validating catalogue files (.json list or .csv with a header).

No SQL here: this turns a file into clean rows, or one error naming the row.
"""
from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

REQUIRED = ("sku", "title", "category", "price", "unit", "stock", "origin", "seller")
OPTIONAL = ("seller_phone", "description", "tags", "assisted")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")
_TRUE = {"true", "1", "yes", "y", "是"}
_FALSE = {"false", "0", "no", "n", "否", ""}
MAX_PRICE_FEN = 100_000_000


class CatalogueError(Exception):
    """A bad file or row; the message names the row and field."""


@dataclass(frozen=True)
class CatalogueRow:
    sku: str
    title: str
    category: str
    price_fen: int
    unit: str
    stock: int
    origin: str
    seller: str
    seller_phone: str | None
    description: str
    tags: tuple[str, ...]
    assisted: bool


def read(path: Path) -> list[CatalogueRow]:
    """All rows of the file, validated; raises CatalogueError on the first bad one."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        records, label = _read_json(path), "row {n}"
    elif suffix == ".csv":
        records, label = _read_csv(path), "row {n} (line {line})"
    else:
        raise CatalogueError(f"{path}: expected a .json or .csv file")
    rows, seen = [], {}
    for n, record in enumerate(records, 1):
        where = f"{path.name}: " + label.format(n=n, line=n + 1)
        row = _row(record, where)
        if row.sku in seen:
            raise CatalogueError(f"{where}, field sku: duplicate of row {seen[row.sku]}")
        seen[row.sku] = n
        rows.append(row)
    return rows


def _read_json(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"{path}: cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise CatalogueError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(data, list):
        raise CatalogueError(f"{path}: expected a JSON list of objects")
    return data


def _read_csv(path: Path) -> list[Any]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            records = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CatalogueError(f"{path}: cannot read CSV ({exc})") from None
    if reader.fieldnames is None:
        raise CatalogueError(f"{path}: empty file, expected a header row")
    for n, record in enumerate(records, 1):
        if None in record:
            raise CatalogueError(f"{path.name}: row {n} (line {n + 1}): more cells than the header")
    return records


def _row(record: Any, where: str) -> CatalogueRow:
    if not isinstance(record, dict):
        raise CatalogueError(f"{where}: expected an object")
    unknown = sorted(set(record) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise CatalogueError(f"{where}, field {unknown[0]}: unknown field")
    for name in REQUIRED:
        if record.get(name) is None:
            raise CatalogueError(f"{where}, field {name}: missing")
    return CatalogueRow(
        sku=_text(record, "sku", where, 1, 64),
        title=_text(record, "title", where, 1, 60),
        category=_text(record, "category", where, 1, 20),
        price_fen=_price(record["price"], f"{where}, field price"),
        unit=_text(record, "unit", where, 1, 8),
        stock=_stock(record["stock"], f"{where}, field stock"),
        origin=_text(record, "origin", where, 0, 60),
        seller=_text(record, "seller", where, 1, 40),
        seller_phone=_phone(record.get("seller_phone"), f"{where}, field seller_phone"),
        description=_text(record, "description", where, 0, 1000),
        tags=_tags(record.get("tags"), f"{where}, field tags"),
        assisted=_bool(record.get("assisted"), f"{where}, field assisted"),
    )


def _text(record: dict[str, Any], name: str, where: str, low: int, high: int) -> str:
    value = record.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise CatalogueError(f"{where}, field {name}: expected text")
    value = " ".join(value.split())
    if not low <= len(value) <= high:
        raise CatalogueError(f"{where}, field {name}: must be {low} to {high} characters")
    return value


def _price(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise CatalogueError(f"{where}: expected a number of yuan")
    if isinstance(value, float) and not math.isfinite(value):
        raise CatalogueError(f"{where}: expected a number of yuan")
    try:
        yuan = Decimal(str(value).strip().lstrip("¥"))
    except InvalidOperation:
        raise CatalogueError(f"{where}: {value!r} is not a number of yuan") from None
    if not yuan.is_finite() or yuan < 0:
        raise CatalogueError(f"{where}: must be zero or more yuan")
    fen = int((yuan * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if fen > MAX_PRICE_FEN:
        raise CatalogueError(f"{where}: too large")
    return fen


def _stock(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise CatalogueError(f"{where}: expected a whole number")
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        value = int(value)
    if not isinstance(value, int) or value < 0:
        raise CatalogueError(f"{where}: expected a whole number, zero or more")
    return value


def _phone(value: Any, where: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, (str, int)) or not _PHONE.match(str(value).strip()):
        raise CatalogueError(f"{where}: not a phone number")
    return re.sub(r"[ -]", "", str(value).strip())


def _tags(value: Any, where: str) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        value = value.split(";")
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise CatalogueError(f"{where}: expected a list of text, or ';'-joined text")
    return tuple(tag.strip() for tag in value if tag.strip())


def _bool(value: Any, where: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise CatalogueError(f"{where}: expected true or false")


_EDITABLE = {
    "title": lambda value, where: _text({"title": value}, "title", where, 1, 60),
    "price": _price,
    "stock": _stock,
}


def clean_field(name: str, value: Any, where: str = "edit") -> Any:
    """One editable field (title, price → fen, stock) checked by the import's rules."""
    return _EDITABLE[name](value, where)
