"""`python -m bot VERB`: serve, import, chat, logs, menu push, bench."""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot import config as configuration
from bot.config import Config, ConfigError

Command = Callable[[argparse.Namespace, Config], int]
ROOT = Path(__file__).resolve().parent.parent
NLU_EVAL = ROOT / "tests" / "data" / "nlu.jsonl"
SELLER_EVAL = ROOT / "tests" / "data" / "seller_eval.jsonl"


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 1."""


def load_config(args: argparse.Namespace) -> Config:
    if getattr(args, "demo", False):
        return configuration.load_demo()
    return configuration.load(args.config)


def _config_options(parser: argparse.ArgumentParser, nested: bool = False) -> None:
    """--config and --demo; a nested parser must not reset what its parent parsed."""
    keep = {"default": argparse.SUPPRESS} if nested else {}
    parser.add_argument("--config", metavar="PATH", **keep,
                        help="config file (default: $BOT_CONFIG, then ./bot.toml)")
    parser.add_argument("--demo", action="store_true", **keep,
                        help="use the embedded demo: credentials and SQLite under data/")


def cmd_serve(args: argparse.Namespace, config: Config) -> int:
    from aiohttp import web

    from bot.server import create_app

    if not config.wechat.token:
        raise CliError("wechat.token: is empty; set it in bot.toml or BOT_WECHAT_TOKEN")
    config = configuration.with_link_secret(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _print_banner(config)
    try:
        web.run_app(create_app(config), host=config.server.host, port=config.server.port,
                    print=None, access_log=None)
    except OSError as exc:
        raise CliError(f"cannot listen on {config.server.host}:{config.server.port}: {exc.strerror}")
    return 0


def _print_banner(config: Config) -> None:
    host = "127.0.0.1" if config.server.host in ("0.0.0.0", "::", "") else config.server.host
    local = f"http://{host}:{config.server.port}"
    print("农货通 is starting" + (" (demo)" if config.demo else ""), flush=True)
    if config.simulator_on:
        print(f"  simulator (open in a browser): {local}/simulator", flush=True)
    print(f"  webhook URL: {local}/wechat", flush=True)
    if config.server.public_url.rstrip("/") != local:
        print(f"  public webhook URL: {config.server.public_url.rstrip('/')}/wechat", flush=True)
    print(f"  token: {config.wechat.token}", flush=True)
    mode = "safe mode (AES)" if config.safe_mode else "plain mode"
    print(f"  message mode: {mode}; app id: {config.wechat.app_id or '-'}", flush=True)
    print(f"  database: {config.db.path}", flush=True)


def cmd_import(args: argparse.Namespace, config: Config) -> int:
    from db import Database, listings, schema, sellers
    from db.catalogue import CatalogueError, read
    from nlp import segment

    try:
        rows = read(Path(args.file))
    except CatalogueError as exc:
        raise CliError(str(exc)) from None
    segment.load()
    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        db.call(listings.reindex_stale)
        result = db.call(listings.import_rows, rows, args.replace,
                         _progress if len(rows) >= 1000 else None, os.cpu_count() or 1)
        codes = db.call(sellers.issue_claim_codes)
    finally:
        db.close()
    print(f"imported {len(rows)} rows: {result.created} new, {result.updated} updated, "
          f"{result.delisted} delisted")
    if codes:
        print("claim codes for new sellers (each seller sends 认领 CODE to take over their"
              " listings; python -m bot sellers codes lists the unclaimed ones):")
        _print_codes(codes)
    return 0


def _print_codes(codes: Sequence[Any]) -> None:
    from nlp.seller import mask_phone

    for code in codes:
        phone = mask_phone(code.phone) or "no phone"
        print(f"  {code.code}  {one_line(code.name, 40)}  {phone}  {code.listings} listings")


def cmd_sellers_codes(args: argparse.Namespace, config: Config) -> int:
    from db import Database, schema, sellers

    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        db.call(sellers.issue_claim_codes)  # sellers loaded another way (the demo) get one too
        codes = db.call(sellers.unclaimed_codes)
    finally:
        db.close()
    if not codes:
        print("no unclaimed claim codes")
    _print_codes(codes)
    return 0


def cmd_listings(args: argparse.Namespace, config: Config) -> int:
    from db import Database, schema

    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        if args.listings_verb == "pending":
            return _listings_pending(db)
        return _listings_decide(db, args.id, args.listings_verb == "approve", args.reason or "")
    finally:
        db.close()


def _listings_pending(db: Any) -> int:
    from db import moderation

    rows = db.call(moderation.pending)
    if not rows:
        print("no listings waiting for review")
    for r in rows:
        when = dt.datetime.fromtimestamp(r.updated_at).strftime("%Y-%m-%d %H:%M")
        price = f"¥{r.price_fen // 100}.{r.price_fen % 100:02d}/{one_line(r.unit, 8)}"
        print(f"{r.id:>6}  {when}  {one_line(r.title, 60)}  {price}  stock {r.stock}"
              f"  {one_line(r.origin, 40) or '-'}  {'photo' if r.photo else 'no photo'}"
              f"  seller {one_line(r.seller, 40)}")
    return 0


def _listings_decide(db: Any, listing_id: int, approve: bool, reason: str) -> int:
    from db import moderation, restock
    from handlers.notices import restock_notice, review_notice

    if not approve and not reason.strip():
        raise CliError("reject: --reason TEXT is required; the seller is told why")
    outcome, review = db.call(moderation.decide, listing_id, approve, reason.strip(),
                              review_notice, time.time())
    if outcome == "missing":
        raise CliError(f"listing {listing_id}: no such listing")
    if outcome == "not pending":
        raise CliError(f"listing {listing_id}: not waiting for review")
    told = "; the seller is notified" if review and review.openid else "; the seller has no chat"
    print(f"listing {listing_id} {outcome}: {one_line(review.title if review else '')}{told}")
    if approve:
        alerts = db.call(restock.notify_due, restock_notice)
        if alerts:
            print(f"{alerts} restock alert(s) queued for buyers waiting for it")
    return 0


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // total
    end = "\n" if done == total else ""
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end=end,
          file=sys.stderr, flush=True)


_SINCE = re.compile(r"^(\d+)\s*([smhd])$")


def parse_since(text: str, now: float | None = None) -> float:
    """'30m', '2h', '1d', or an ISO date/time, as a Unix time."""
    now = time.time() if now is None else now
    match = _SINCE.match(text.strip())
    if match:
        seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
        return now - int(match.group(1)) * seconds
    try:
        return dt.datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise CliError(f"--since: expected 30m, 2h, 1d or a date like 2026-11-28, got {text!r}")


def cmd_logs(args: argparse.Namespace, config: Config) -> int:
    from db import Database, messages, schema

    since = parse_since(args.since) if args.since else None
    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        rows = db.call(messages.recent, since, args.user, args.outcome, args.limit)
    finally:
        db.close()
    for row in reversed(rows):
        when = dt.datetime.fromtimestamp(row["at"]).strftime("%Y-%m-%d %H:%M:%S")
        reply = (row["reply"] or "").replace("\n", " ⏎ ")
        print(f"{when}  {row['outcome']:<9} {row['latency_ms'] or 0:>5}ms  {row['openid'] or '-'}"
              f"  [{row['msg_type']}/{row['intent'] or '-'}] {row['text'] or ''}")
        if reply:
            print(f"    → {reply[:160]}")
    if not rows:
        print("no messages match")
    return 0


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str, width: int = 160) -> str:
    """User text on one terminal line: newlines and escape codes cannot forge output."""
    flat = _CONTROL.sub(lambda m: "⏎" if m.group() == "\n" else f"\\x{ord(m.group()):02x}",
                        text)
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def cmd_outbox(args: argparse.Namespace, config: Config) -> int:
    from db import Database, outbox, schema

    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        if args.outbox_verb == "retry":
            return _outbox_retry(db, args.id)
        rows = db.call(outbox.listing, args.state, args.kind, args.user, args.limit)
    finally:
        db.close()
    if not rows:
        print("no messages")
    for m in rows:
        when = dt.datetime.fromtimestamp(m.created_at).strftime("%Y-%m-%d %H:%M:%S")
        how = m.channel or m.reason or ""
        print(f"{m.id:>6}  {when}  {m.state:<7} {m.kind:<14} {m.openid}  tries {m.attempts}"
              f"  {how}")
        print(f"        {one_line(m.text) or '(text erased)'}")
        if m.last_error:
            print(f"        last error: {one_line(m.last_error)}")
    return 0


def _outbox_retry(db: Any, message_id: int) -> int:
    from db import outbox

    result = db.call(outbox.retry, message_id, time.time())
    if result != "queued":
        why = {"missing": "no such message", "not dropped": "only dropped messages can be retried",
               "erased": "the user unsubscribed and the text was erased"}[result]
        raise CliError(f"outbox message {message_id}: {why}")
    print(f"outbox message {message_id} queued again; a running server sends it within seconds")
    return 0


def cmd_menu_push(args: argparse.Namespace, config: Config) -> int:
    from bot.wechat_api import WeChatAPI, WeChatAPIError
    from db import Database, schema

    if not (config.wechat.app_id and config.wechat.app_secret):
        raise CliError("wechat.app_id and wechat.app_secret: both are needed to push the menu")

    async def push() -> None:
        db = Database(config.db.path)
        db.call(schema.migrate)
        api = WeChatAPI(config, db)
        try:
            await api.create_menu(config.menu.buttons)
        finally:
            await api.close()
            db.close()

    try:
        asyncio.run(push())
    except WeChatAPIError as exc:
        raise CliError(f"menu push refused: errcode {exc.errcode} {exc.errmsg}")
    names = "、".join(button["name"] for button in config.menu.buttons)
    print(f"menu pushed: {names}")
    return 0


def cmd_chat(args: argparse.Namespace, config: Config) -> int:
    from bot.chat import run_chat

    url = args.url or f"http://127.0.0.1:{config.server.port}/wechat"
    return asyncio.run(run_chat(config, url, args.openid))


def cmd_bench(args: argparse.Namespace, config: Config) -> int:
    from bench.webhook import run_webhook_bench

    target = load_config(args) if args.url else None
    return asyncio.run(run_webhook_bench(args.messages, args.concurrency, args.url, target))


def cmd_bench_nlu(args: argparse.Namespace, config: Config) -> int:
    from bench.nlu import run_nlu_bench

    return run_nlu_bench(args.messages)


def cmd_bench_search(args: argparse.Namespace, config: Config) -> int:
    from bench.search import run_search_bench

    try:
        sizes = [int(size) for size in args.listings.split(",") if size.strip()]
    except ValueError:
        raise CliError(f"--listings: expected sizes like 1000,10000, got {args.listings!r}")
    return run_search_bench(sizes, args.queries)


def cmd_bench_orders(args: argparse.Namespace, config: Config) -> int:
    from bench.orders import run_orders_bench

    return asyncio.run(run_orders_bench(args.orders, args.concurrency, args.stock))


def cmd_nlu_eval(args: argparse.Namespace, config: Config) -> int:
    import json

    from nlp import load
    from nlp.evaluate import evaluate, evaluate_listings, render, render_listings

    path = Path(args.file or (SELLER_EVAL if args.seller else NLU_EVAL))
    try:
        examples = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                    if line.strip()]
    except (OSError, ValueError) as exc:
        raise CliError(f"{path}: cannot read the labelled set ({exc})") from None
    load()
    if args.seller:
        print(render_listings(evaluate_listings(examples), args.max_errors))
    else:
        print(render(evaluate(examples), args.max_errors))
    return 0


def cmd_search_eval(args: argparse.Namespace, config: Config) -> int:
    import json
    import tempfile

    from db import Database, listings, schema
    from db.catalogue import CatalogueError, read
    from handlers.search_eval import evaluate, render
    from nlp import load

    path = Path(args.file)
    try:
        cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
        rows = read(Path(args.catalogue))
    except (OSError, ValueError) as exc:
        raise CliError(f"{path}: cannot read the relevance set ({exc})") from None
    except CatalogueError as exc:
        raise CliError(str(exc)) from None
    load()
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "eval.db")
        try:
            db.call(schema.migrate)
            db.call(listings.import_rows, rows)
            print(render(db.call(evaluate, cases)))
        finally:
            db.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="农货通 WeChat bot")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    serve = verbs.add_parser("serve", help="run the webhook server")
    _config_options(serve)
    serve.set_defaults(func=cmd_serve)

    imp = verbs.add_parser("import", help="import a catalogue (.json or .csv), all or nothing")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--replace", action="store_true",
                     help="delist listings that are absent from the file")
    _config_options(imp)
    imp.set_defaults(func=cmd_import)

    chat = verbs.add_parser("chat", help="talk to a running server as a WeChat user")
    chat.add_argument("--openid", default="chat_user", help="the simulated user's openid")
    chat.add_argument("--url", help="webhook URL (default: http://127.0.0.1:PORT/wechat)")
    _config_options(chat)
    chat.set_defaults(func=cmd_chat)

    logs = verbs.add_parser("logs", help="recent messages from the message log")
    logs.add_argument("--since", help="30m, 2h, 1d, or a date/time like 2026-11-28T09:00")
    logs.add_argument("--user", help="only this openid (or pseudonym)")
    logs.add_argument("--outcome", choices=["answered", "no_match", "error", "deadline", "rejected"])
    logs.add_argument("--limit", type=int, default=50)
    _config_options(logs)
    logs.set_defaults(func=cmd_logs)

    menu = verbs.add_parser("menu", help="the Official Account menu")
    menu_verbs = menu.add_subparsers(dest="menu_verb", required=True, metavar="ACTION")
    push = menu_verbs.add_parser("push", help="create the menu from bot.toml through the API")
    _config_options(push)
    push.set_defaults(func=cmd_menu_push)

    out = verbs.add_parser("outbox", help="messages the bot sends on its own: list, retry")
    out.add_argument("--state", choices=["queued", "pending", "sent", "shown", "dropped"])
    out.add_argument("--kind", help="late_reply, restock, order_new, order_status, ...")
    out.add_argument("--user", metavar="OPENID", help="only this recipient")
    out.add_argument("--limit", type=int, default=50)
    _config_options(out)
    out.set_defaults(func=cmd_outbox, outbox_verb=None)
    out_verbs = out.add_subparsers(dest="outbox_verb", metavar="ACTION")
    retry = out_verbs.add_parser("retry", help="queue a dropped message again")
    retry.add_argument("id", type=int, metavar="ID")
    _config_options(retry, nested=True)

    seller_cmd = verbs.add_parser("sellers", help="sellers: unclaimed claim codes")
    seller_verbs = seller_cmd.add_subparsers(dest="sellers_verb", required=True, metavar="ACTION")
    codes = seller_verbs.add_parser("codes", help="claim codes not used yet, one per imported seller")
    _config_options(codes)
    codes.set_defaults(func=cmd_sellers_codes)

    listing_cmd = verbs.add_parser("listings", help="moderation: pending, approve ID, reject ID")
    listing_verbs = listing_cmd.add_subparsers(dest="listings_verb", required=True,
                                               metavar="ACTION")
    pending = listing_verbs.add_parser("pending", help="listings waiting for review, oldest first")
    _config_options(pending)
    approve = listing_verbs.add_parser("approve", help="put a pending listing live; tells the seller")
    approve.add_argument("id", type=int, metavar="ID")
    _config_options(approve)
    reject = listing_verbs.add_parser("reject", help="turn a pending listing down with a reason")
    reject.add_argument("id", type=int, metavar="ID")
    reject.add_argument("--reason", required=True, metavar="TEXT",
                        help="why, in Chinese: the seller reads it")
    _config_options(reject)
    for sub in (pending, approve, reject):
        sub.set_defaults(func=cmd_listings, reason=None, id=0)

    nlu_eval = verbs.add_parser("nlu-eval", help="measure understanding on a labelled set")
    nlu_eval.add_argument("file", nargs="?", metavar="FILE",
                          help="JSON lines of {text, intent, slots} (default tests/data/nlu.jsonl);"
                               " with --seller {text, title, price, unit, stock, origin}"
                               " (default tests/data/seller_eval.jsonl)")
    nlu_eval.add_argument("--seller", action="store_true",
                          help="one-shot listing messages: accuracy per field and the failures")
    nlu_eval.add_argument("--max-errors", type=int, default=100)
    nlu_eval.set_defaults(func=cmd_nlu_eval, needs_config=False)

    search_eval = verbs.add_parser("search-eval", help="measure buyer search on a relevance set")
    search_eval.add_argument("file", nargs="?", metavar="FILE",
                             default=str(ROOT / "tests" / "data" / "search_eval.jsonl"))
    search_eval.add_argument("--catalogue", metavar="FILE",
                             default=str(ROOT / "db" / "demo_catalogue.json"))
    search_eval.set_defaults(func=cmd_search_eval, needs_config=False)

    bench = verbs.add_parser("bench", help="benchmarks that print figures")
    bench_verbs = bench.add_subparsers(dest="bench_verb", required=True, metavar="NAME")
    webhook = bench_verbs.add_parser("webhook", help="signed safe-mode buyer queries")
    webhook.add_argument("--messages", type=int, default=500)
    webhook.add_argument("--concurrency", type=int, default=20)
    webhook.add_argument("--url", help="a running server's /wechat (with --config or --demo "
                                       "for its credentials); default: an in-process demo server")
    _config_options(webhook)
    webhook.set_defaults(func=cmd_bench, needs_config=False)
    nlu = bench_verbs.add_parser("nlu", help="understand() speed and lexicon start-up time")
    nlu.add_argument("--messages", type=int, default=10_000)
    nlu.set_defaults(func=cmd_bench_nlu, needs_config=False)
    search = bench_verbs.add_parser("search", help="import and query synthetic catalogues")
    search.add_argument("--listings", default="1000,10000,100000",
                        help="comma-separated catalogue sizes (e.g. 1000,10000,100000,1000000)")
    search.add_argument("--queries", type=int, default=1000)
    search.set_defaults(func=cmd_bench_search, needs_config=False)
    order_bench = bench_verbs.add_parser("orders", help="order page submits that take stock")
    order_bench.add_argument("--orders", type=int, default=500)
    order_bench.add_argument("--concurrency", type=int, default=20)
    order_bench.add_argument("--stock", type=int, help="units on sale (default: one per order)")
    order_bench.set_defaults(func=cmd_bench_orders, needs_config=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args) if getattr(args, "needs_config", True) else Config()
        return args.func(args, config)
    except (ConfigError, CliError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, CliError) else 2
    except KeyboardInterrupt:
        return 130
