"""nlp/seller.py: listing messages, commands, edits, phones and codes; the seller eval."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp import understand
from nlp.evaluate import LISTING_FIELDS, evaluate_listings
from nlp.seller import (claim_code, field_edit, mask_phone, origin_text, parse_command,
                        parse_listing, phone_number, place_of, unit_of)
from tests.conftest import DATA, cpu_seconds
from tests.test_import import run_cli


@pytest.mark.parametrize("text, title, price, unit, stock, origin", [
    ("我要卖赣南脐橙，三块五一斤，有300斤，江西赣州寻乌县的", "赣南脐橙", "3.5", "斤", "300",
     "江西省 赣州市 寻乌县"),
    ("我想卖自家散养的土鸡蛋，一块五一个，有两百来个", "自家散养土鸡蛋", "1.5", "个", "200", ""),
    ("卖苹果 一箱20块 有50箱 老家在洛川", "苹果", "20", "箱", "50", "陕西省 延安市 洛川县"),
    ("我想卖红薯 一公斤四块 有2吨", "红薯", "4", "公斤", "2000", ""),
    ("我要卖橘子 十块钱三斤 有两三千斤", "橘子", "3.33", "斤", "2000", ""),
    ("我要卖明前龙井，八百块一斤，有二十斤，杭州西湖区的", "明前龙井", "800", "斤", "20",
     "浙江省 杭州市 西湖区"),  # 西湖区 is Hangzhou's here, not Nanchang's
])
def test_one_shot_listing_fields(text, title, price, unit, stock, origin) -> None:
    said = parse_listing(text)
    assert (said.title, said.price, said.unit, said.stock, origin_text(said.origin)) == (
        title, Decimal(price), unit, Decimal(stock), origin)


def test_a_form_answer_and_a_stock_in_another_weight() -> None:
    assert parse_listing("野生竹荪").title == "野生竹荪"  # known goods name themselves
    assert parse_listing("手工布鞋", anywhere=True).title == "手工布鞋"
    assert parse_listing("手工布鞋").title is None  # unknown goods without a sell cue
    assert parse_listing("我要卖手工布鞋，五十块一双").title == "手工布鞋"
    assert parse_listing("300公斤", unit="斤").stock == Decimal(600)
    assert parse_listing("50箱", unit="斤").stock is None
    assert unit_of("按斤卖") == "斤" and unit_of("三斤") is None


@pytest.mark.parametrize("text, action, index, price, stock", [
    ("改价 2 12元", "reprice", 2, "12", None),
    ("改价 2 12", "reprice", 2, "12", None),
    ("2号改价九块五", "reprice", 2, "9.5", None),
    ("补货 2 100", "restock", 2, None, "100"),
    ("库存 2 0", "set_stock", 2, None, "0"),
    ("下架 2", "delist", 2, None, None),
    ("上架 3", "relist", 3, None, None),
    ("给2号加图", "photo", 2, None, None),
    ("把脐橙的价格改成九块", "reprice", None, "9", None),
    ("脐橙卖完了", "sold_out", None, None, None),
    ("鸡蛋又有200个了", "set_stock", None, None, "200"),
    ("补货 100", "restock", None, None, "100"),
])
def test_management_commands(text, action, index, price, stock) -> None:
    command = parse_command(text)
    assert command is not None
    assert (command.action, command.index) == (action, index)
    assert command.price == (Decimal(price) if price else None)
    assert command.stock == (Decimal(stock) if stock else None)


@pytest.mark.parametrize("text, intent", [
    ("下架 2", "update_listing"), ("上架 2", "update_listing"), ("给2号加图", "update_listing"),
    ("库存 2 100", "update_listing"), ("鸡蛋又有200个了", "update_listing"),
    ("2号 三斤", "choose"), ("要第2个", "choose"), ("2号没货了吗", "choose"),
    ("有没有脐橙", "search"), ("我要卖脐橙", "sell"),
])
def test_numbered_commands_are_not_choices(text, intent) -> None:
    assert understand(text).intent == intent


def test_edits_phones_and_codes() -> None:
    assert field_edit("修改 价格 4元") == ("price", "4元")
    assert field_edit("价格改成4块") == ("price", "4块")
    assert field_edit("产地是赣州的") == ("origin", "赣州的")
    assert field_edit("四块一斤")[0] is None
    assert phone_number("138 0013 8000") == ("13800138000", True)
    assert phone_number("电话 12345678901") == (None, True)
    assert phone_number("老刘") == (None, False)
    assert mask_phone("13800138000") == "138****8000"
    assert claim_code("认领 k7p3qx") == "K7P3QX"
    assert claim_code("认领码：AAA2BB") == "AAA2BB"
    assert claim_code("我要认领") is None
    assert place_of("江西南昌") == {"province": "江西省", "city": "南昌市"}


def test_the_seller_eval_meets_its_target() -> None:
    examples = [json.loads(line) for line in (DATA / "seller_eval.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    assert len(examples) >= 150 and len({e["text"] for e in examples}) == len(examples)
    report = evaluate_listings(examples)
    for name in LISTING_FIELDS:
        assert report.accuracy(name) >= 0.95, name


def test_nlu_eval_seller_prints_accuracy_per_field() -> None:
    done = run_cli("nlu-eval", "--seller")
    assert done.returncode == 0, done.stderr
    for name in LISTING_FIELDS:
        assert f"\n{name}" in done.stdout
    assert "listing messages" in done.stdout and "failures" in done.stdout


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2500))
def test_seller_parsing_never_raises_and_is_fast(text: str) -> None:
    def parse_all() -> None:
        parse_listing(text)
        parse_listing(text, anywhere=True, unit="斤")
        parse_command(text)
        field_edit(text)

    assert cpu_seconds(parse_all) < 0.1


@pytest.mark.parametrize("text", ["我要卖" * 700, "我要卖" + "我这有" * 600 + "土豆",
                                  "改价 " + "2 " * 900, "卖" + "有机" * 900, "1号" * 700])
def test_pathological_seller_messages_stay_fast(text: str) -> None:
    assert cpu_seconds(lambda: (parse_listing(text), parse_command(text))) < 0.1
