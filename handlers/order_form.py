"""The order form behind a 下单 link: what it accepts, and placing the order.

Validation is on the server and every error is said in the form with the values
kept: a mainland mobile number, a whole quantity from 1 to the stock left, an
address of 5–120 characters, a name, an optional note.
"""
from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from db import orders
from db.orders import Gone, NewOrder, Placed, SoldOut
from handlers.context import Services
from handlers.links import LinkClaims
from handlers.notices import stock_out_notice
from handlers.order_notices import composer
from nlp.goods import weight_factor

FIELDS = ("quantity", "name", "phone", "address", "note")
MOBILE = re.compile(r"^1[3-9]\d{9}$")
_PHONE_NOISE = re.compile(r"[\s\-()]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
NAME_MAX = 20
ADDRESS_MIN, ADDRESS_MAX = 5, 120
NOTE_MAX = 100


@dataclass
class Checked:
    values: dict[str, str]                  # as typed (trimmed), to show again
    errors: dict[str, str] = field(default_factory=dict)
    quantity: int = 0
    phone: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    value = value if isinstance(value, str) else ""
    return _CONTROL.sub(" ", unicodedata.normalize("NFKC", value)).strip()


def whole_number(text: str) -> int | None:
    """Digits only, and few enough that int() is cheap (huge inputs are refused)."""
    return int(text) if text.isdecimal() and len(text) <= 9 else None


def mobile(raw: str) -> str | None:
    """A mainland mobile number, written any usual way (+86, spaces, dashes), or None."""
    digits = _PHONE_NOISE.sub("", raw)
    digits = re.sub(r"^(?:\+?86)(?=1\d{10}$)", "", digits)
    return digits if MOBILE.match(digits) else None


def check(form: Mapping[str, Any], stock: int, unit: str) -> Checked:
    checked = Checked({name: _text(form, name) for name in FIELDS})
    values, errors = checked.values, checked.errors
    quantity = whole_number(values["quantity"])
    if quantity is None or quantity < 1:
        errors["quantity"] = f"请填写购买数量（整数，单位：{unit}）"
    elif quantity > stock:
        errors["quantity"] = f"库存不足：最多还能买{stock}{unit}"
    else:
        checked.quantity = quantity
    if not values["name"]:
        errors["name"] = "请填写收货人姓名"
    elif len(values["name"]) > NAME_MAX:
        errors["name"] = f"姓名最多{NAME_MAX}个字"
    phone = mobile(values["phone"])
    if phone is None:
        errors["phone"] = "请填写11位手机号，比如13812345678"
    else:
        checked.phone = phone
    if not ADDRESS_MIN <= len(values["address"]) <= ADDRESS_MAX:
        errors["address"] = f"请填写详细地址（{ADDRESS_MIN}到{ADDRESS_MAX}个字）"
    if len(values["note"]) > NOTE_MAX:
        errors["note"] = f"备注最多{NOTE_MAX}个字"
    return checked


def link_quantity(slots: Mapping[str, Any], unit: str) -> int | None:
    """The amount a buyer asked for in chat (三斤, 2箱), in the listing's own units,
    when it is a whole number of them; None otherwise."""
    amount = slots.get("quantity")
    if not isinstance(amount, Decimal) or amount <= 0:
        return None
    asked = slots.get("unit")
    if asked and asked != unit:
        per_unit = weight_factor(unit)  # 斤 in one of the listing's units (公斤 → 2)
        if asked != "斤" or per_unit is None:  # chat amounts by weight are always in 斤
            return None
        amount = amount / per_unit
    return int(amount) if amount == amount.to_integral_value() and amount <= 100_000 else None


async def place(services: Services, claims: LinkClaims, form_key: str,
                checked: Checked) -> Placed | SoldOut | Gone:
    """Create the order (or find the one this form already created), with its notices."""
    new = NewOrder(listing_id=claims.listing_id, buyer=claims.openid,
                   quantity=checked.quantity, name=checked.values["name"], phone=checked.phone,
                   address=checked.values["address"], note=checked.values["note"],
                   form_key=form_key)
    result = await services.db.run(orders.place, new, time.time(), composer(services),
                                   stock_out_notice)
    if isinstance(result, Placed) and result.fresh:
        services.wake_outbox()
    return result
