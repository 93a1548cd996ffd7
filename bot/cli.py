"""`python -m bot VERB`: serve, import, chat, logs, report, backup, admin, listings, orders,
menu push, bench."""
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
from typing import TYPE_CHECKING, Any

from bot import config as configuration
from bot.config import Config, ConfigError

if TYPE_CHECKING:
    from db import Database
    from db.messages import LogFilter, LogRow

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
    if not config.wechat.token:
        raise CliError("wechat.token: is empty; set it in bot.toml or BOT_WECHAT_TOKEN")
    if args.workers < 1:
        raise CliError("--workers: at least 1")
    config = configuration.with_link_secret(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    demo_admin = _ensure_demo_admin(config) if config.demo else None
    _print_banner(config, demo_admin)
    if args.workers == 1:
        _listen(config, reuse_port=False)
        return 0
    return _supervise(config, args.workers)


def _listen(config: Config, reuse_port: bool) -> None:
    from bot.server import serve

    try:
        asyncio.run(serve(config, reuse_port=reuse_port))
    except OSError as exc:
        raise CliError(f"cannot listen on {config.server.host}:{config.server.port}: {exc.strerror}")


RESTART_LIMIT = 3  # worker crashes within RESTART_WINDOW before the whole server gives up
RESTART_WINDOW = 30.0


def _worker(config: Config, core: int | None) -> None:
    """One of N processes: out of the terminal's process group, so a Ctrl-C reaches the
    parent alone and each worker hears one SIGTERM, then drains like a single server.
    Kept on one core when there is a core for each worker."""
    os.setpgrp()
    if core is not None:
        os.sched_setaffinity(0, {core})
    try:
        _listen(config, reuse_port=True)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


def _supervise(config: Config, workers: int) -> int:
    """`serve --workers N`: N forked processes share the port through SO_REUSEPORT and
    the database file (WAL, busy timeout). The parent migrates once and loads the
    lexicons before forking, forwards SIGTERM and SIGINT, and restarts a crashed worker."""
    import multiprocessing
    import signal
    from multiprocessing.connection import wait

    from db import Database, listings, schema
    from nlp import segment

    _check_port_free(config)
    segment.load()  # forked workers share it instead of loading N copies
    db = Database(config.db.path)
    try:  # once here, so the workers find nothing left to do at start-up
        db.call(schema.migrate)
        db.call(listings.reindex_stale)
    finally:
        db.close()
    context = multiprocessing.get_context("fork")
    running: dict[int, Any] = {}
    slots: dict[int, int] = {}  # sentinel -> the worker's slot, kept across a restart
    stopping = False
    crashes: list[float] = []
    cores = worker_cores(workers)

    def start(slot: int) -> None:
        process = context.Process(target=_worker, args=(config, cores[slot]),
                                  name="bot-worker")
        process.start()
        running[process.sentinel] = process
        slots[process.sentinel] = slot

    def forward(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for process in running.values():
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for slot in range(workers):
        start(slot)
    print(f"  workers: {workers} processes on port {config.server.port} (SO_REUSEPORT)",
          flush=True)
    while running:
        for sentinel in wait(list(running), timeout=1.0):
            process = running.pop(sentinel)  # type: ignore[call-overload]
            slot = slots.pop(sentinel)  # type: ignore[call-overload]
            process.join()
            if stopping:
                continue
            now = time.monotonic()
            crashes[:] = [at for at in crashes if now - at < RESTART_WINDOW] + [now]
            logging.getLogger("bot.cli").error("worker %s exited with %s; starting another",
                                               process.pid, process.exitcode)
            if len(crashes) > RESTART_LIMIT:
                forward(signal.SIGTERM, None)
                raise CliError(f"workers keep exiting ({len(crashes)} in {RESTART_WINDOW:.0f} s);"
                               " see the log above")
            start(slot)
    return 0


def worker_cores(workers: int) -> list[int | None]:
    """A core of its own for each worker while there are enough: a worker moved between
    cores, or sharing one with another worker, does the same work with colder caches
    (issue 13 measured 2 workers on 2 cores at 1.07x one worker unpinned, 1.25x pinned).
    More workers than cores are left to the scheduler."""
    allowed = sorted(os.sched_getaffinity(0))
    if workers > len(allowed):
        return [None] * workers
    return list(allowed[:workers])


def _check_port_free(config: Config) -> None:
    """Fail in the parent, with one message, when something else holds the port."""
    import socket

    probe = socket.socket(socket.AF_INET6 if ":" in config.server.host else socket.AF_INET)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((config.server.host, config.server.port))
    except OSError as exc:
        raise CliError(f"cannot listen on {config.server.host}:{config.server.port}:"
                       f" {exc.strerror}") from None
    finally:
        probe.close()


DEMO_ADMIN = "admin"


def _ensure_demo_admin(config: Config) -> tuple[str, str]:
    """The demo's console operator, created on the first start with the password kept
    in data/demo.toml; returns (name, password) for the banner."""
    from db import Database, operators, schema

    password = configuration.demo_secrets(Path(config.db.path).parent)["admin_password"]
    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        db.call(operators.ensure, DEMO_ADMIN, "admin", password)
    finally:
        db.close()
    return DEMO_ADMIN, password


def _print_banner(config: Config, demo_admin: tuple[str, str] | None = None) -> None:
    host = "127.0.0.1" if config.server.host in ("0.0.0.0", "::", "") else config.server.host
    local = f"http://{host}:{config.server.port}"
    print("农货通 is starting" + (" (demo)" if config.demo else ""), flush=True)
    if config.simulator_on:
        print(f"  simulator (open in a browser): {local}/simulator", flush=True)
    if demo_admin:
        print(f"  operator console: {local}/admin  user: {demo_admin[0]}  "
              f"password: {demo_admin[1]}", flush=True)
    else:
        print(f"  operator console: {local}/admin  (python -m bot admin add-user NAME "
              "--role admin)", flush=True)
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


def _cli_operator() -> str:
    """Who the audit trail names for a change made on the command line."""
    import getpass

    return f"cli:{getpass.getuser()}"


def _listings_decide(db: Any, listing_id: int, approve: bool, reason: str) -> int:
    from handlers.notices import moderate

    if not approve and not reason.strip():
        raise CliError("reject: --reason TEXT is required; the seller is told why")
    verdict = db.call(moderate, listing_id, approve, reason.strip(), _cli_operator())
    if verdict.outcome == "missing":
        raise CliError(f"listing {listing_id}: no such listing")
    if verdict.outcome == "not pending":
        raise CliError(f"listing {listing_id}: not waiting for review")
    review = verdict.listing
    told = "; the seller is notified" if review and review.openid else "; the seller has no chat"
    print(f"listing {listing_id} {verdict.outcome}: {one_line(review.title if review else '')}"
          f"{told}")
    if verdict.alerts:
        print(f"{verdict.alerts} restock alert(s) queued for buyers waiting for it")
    return 0


def _order_services(db: Any, config: Config) -> Any:
    """What the order notices need: the buyer's link is signed with the server's secret
    (kept beside the database), so it opens on the running server."""
    from handlers.context import Services

    config = configuration.with_link_secret(config)
    return Services(db, config.server.public_url, config.server.link_secret,
                    orders=config.orders)


def cmd_orders(args: argparse.Namespace, config: Config) -> int:
    from db import Database, schema

    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        if args.orders_verb == "list":
            return _orders_list(db, args)
        order = _one_order(db, args.order_no)
        if args.orders_verb == "show":
            return _orders_show(db, order)
        return _orders_set_status(db, config, order, args)
    finally:
        db.close()


def _one_order(db: Any, number: str) -> Any:
    from db import orders

    found = db.call(orders.by_number, number)
    if not found:
        raise CliError(f"order {one_line(number, 40)}: no such order")
    if len(found) > 1:
        numbers = ", ".join(o.order_no for o in found)
        raise CliError(f"order {one_line(number, 40)}: several orders share this code ({numbers});"
                       " give the whole number")
    return found[0]


def _orders_list(db: Any, args: argparse.Namespace) -> int:
    from bot import term
    from db import orders
    from handlers.order_notices import mask_name, mask_phone
    from handlers.notices import yuan

    since = parse_since(args.since) if args.since else None
    if not 1 <= args.limit <= 1000:
        raise CliError("--limit: between 1 and 1000")
    rows, _ = db.call(orders.browse, orders.OrderFilter(status=args.status, since=since), None,
                      args.limit)
    if not rows:
        print("no orders match")
        return 0
    table = [[o.order_no, dt.datetime.fromtimestamp(o.created_at).strftime("%m-%d %H:%M"),
              o.status, o.title, f"{o.quantity}{o.unit}", yuan(o.total_fen), o.seller_name,
              mask_name(o.name) or "-", mask_phone(o.phone) or "-"] for o in rows]
    headers = ["order", "placed", "status", "title", "qty", "total", "seller", "to", "phone"]
    for line in term.table(headers, table, right=(5,)):
        print(line)
    return 0


def _orders_show(db: Any, order: Any) -> int:
    from db import orders
    from handlers.notices import yuan
    from handlers.order_notices import mask_address, mask_name, mask_phone

    def when(at: float) -> str:
        return dt.datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M:%S")

    facts = [("order", order.order_no), ("status", f"{order.status} ({order.label})"),
             ("listing", f"#{order.listing_id} {order.title}"),
             ("amount", f"{order.quantity}{order.unit} x {yuan(order.price_fen)} ="
                        f" {yuan(order.total_fen)}"),
             ("seller", order.seller_name + ("" if order.seller_openid else " (no chat)")),
             ("buyer", order.buyer + (" (unsubscribed)" if order.buyer_left else "")),
             ("receiver", " ".join(p for p in (mask_name(order.name), mask_phone(order.phone),
                                               mask_address(order.address)) if p) or "-"),
             ("note", order.note or "-"), ("placed", when(order.created_at))]
    if order.carrier or order.tracking_no:
        facts.append(("shipment", f"{order.carrier or ''} {order.tracking_no or ''}".strip()))
    for name, value in facts:
        print(f"{name + ':':<10}{one_line(value)}")
    print("history:")
    for row in db.call(orders.history, order.id):
        actor = row["actor"] + (f" {row['actor_name']}" if row["actor_name"] else "")
        change = f"{row['from_status'] or '-'} -> {row['to_status']}"
        print(f"  {when(row['at'])}  {change:<22} {one_line(actor, 30):<20}"
              f" {one_line(row['reason'] or '')}")
    return 0


def _orders_set_status(db: Any, config: Config, order: Any, args: argparse.Namespace) -> int:
    from db import orders
    from handlers.order_notices import composer

    reason = " ".join((args.reason or "").split())
    if not reason:
        raise CliError("set-status: --reason TEXT is required; both sides are told why")
    if args.status not in orders.operator_targets(order.status):
        allowed = ", ".join(orders.operator_targets(order.status)) or "none: it is closed"
        raise CliError(f"order {order.order_no} is {order.status}; an operator may set: {allowed}")
    result = db.call(orders.change_as_operator, order.id, args.status, _cli_operator(), reason,
                     "", time.time(), composer(_order_services(db, config)), args.carrier,
                     args.tracking)
    if isinstance(result, orders.Refused):
        why = {"shipment": "shipped needs --carrier (自送 for own delivery) or --tracking",
               "status": f"it changed meanwhile, now {result.order.status if result.order else '?'}",
               "reason": "--reason TEXT is required"}.get(result.why, result.why)
        raise CliError(f"order {order.order_no}: {why}")
    after = result.order
    told = [who for who, openid in (("buyer", None if after.buyer_left else after.buyer),
                                    ("seller", after.seller_openid)) if openid]
    print(f"order {order.order_no}: {result.before} -> {result.order.status}; recorded in the"
          f" audit trail; told: {', '.join(told) or 'nobody (no chat to reach)'}")
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


def _log_filter(args: argparse.Namespace) -> "LogFilter":
    from db.messages import LogFilter

    if args.grep is not None and not args.grep.strip():
        raise CliError("--grep: give the words to look for")
    return LogFilter(since=parse_since(args.since) if args.since else None, openid=args.user,
                     intent=args.intent, outcome=args.outcome, text=args.grep)


def _print_log_row(row: "LogRow", as_json: bool, width: int) -> None:
    import json

    from bot import term

    if as_json:
        data = row.as_json()
        data["at"] = dt.datetime.fromtimestamp(row.at).isoformat(timespec="milliseconds")
        print(json.dumps(data, ensure_ascii=False, default=str), flush=True)
        return
    when = dt.datetime.fromtimestamp(row.at).strftime("%Y-%m-%d %H:%M:%S")
    head = (f"{when}  {row.outcome:<9} {row.latency_ms or 0:>5}ms  "
            f"{term.pad(term.safe(row.openid or '-'), 18)}  "
            f"{term.pad(term.safe(f'{row.msg_type}/{row.intent or chr(45)}'), 16)}  ")
    print(head + term.clip(term.safe(row.text), max(width - term.width(head), 10)), flush=True)
    if row.reply:
        lead = "    → "
        offers = f" [offers {','.join(str(i) for i in row.offers)}]" if row.offers else ""
        print(lead + term.clip(term.safe(row.reply) + offers, max(width - term.width(lead), 10)),
              flush=True)


def cmd_logs(args: argparse.Namespace, config: Config) -> int:
    from bot import term
    from db import Database, messages, schema

    filters = _log_filter(args)
    width = term.columns()
    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        if filters.text:
            from nlp import segment

            segment.load()  # the words are segmented as the index was
            db.call(messages.backfill_index)
        # Read before the page: a message logged between the two reads is then followed,
        # not skipped.
        newest = _newest_id(db) if args.follow else 0
        rows = db.call(messages.page, filters, None, args.limit).rows
        for row in reversed(rows):
            _print_log_row(row, args.json, width)
        if not rows and not args.follow and not args.json:
            print("no messages match")
        if args.follow:
            _follow(db, filters, rows[0].id if rows else newest, args.json, width)
    finally:
        db.close()
    return 0


def _newest_id(db: "Database") -> int:
    from db import messages

    newest = db.call(messages.page, messages.LogFilter(), None, 1).rows
    return newest[0].id if newest else 0


def _follow(db: "Database", filters: "LogFilter", last: int, as_json: bool, width: int) -> None:
    """Print new matching messages as they are logged, until interrupted."""
    from db import messages

    while True:
        for row in db.call(messages.newer, filters, last, 500):
            _print_log_row(row, as_json, width)
            last = row.id
        time.sleep(FOLLOW_SECONDS)


FOLLOW_SECONDS = 0.5


def cmd_report_demand(args: argparse.Namespace, config: Config) -> int:
    from bot import term
    from db import Database, demand, schema

    if not 1 <= args.days <= 366:
        raise CliError("--days: between 1 and 366")
    by = tuple(part for part in args.by.split(",") if part)
    if not by or any(part not in demand.DIMENSIONS for part in by):
        raise CliError(f"--by: a comma-separated choice of {', '.join(demand.DIMENSIONS)}")
    today = dt.date.today()
    days = [(today - dt.timedelta(days=n)).isoformat() for n in range(args.days - 1, -1, -1)]
    since = dt.datetime.fromisoformat(days[0]).timestamp()
    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        groups = db.call(demand.groups, since, time.time() + 1, by, args.limit)
    finally:
        db.close()
    if args.csv:
        sys.stdout.write(demand.to_csv(groups, days))
        return 0
    labels = {"product": "product", "region": "wanted from", "city": "buyer in",
              "band": "price band"}
    shown = [d for d in demand.DIMENSIONS if d in by]
    headers = [*(labels[d] for d in shown), "requests", "buyers", "waiting", f"daily ({days[0]}..)",
               "last"]
    rows = [[*(getattr(g, d) for d in shown), g.requests, g.buyers,
             g.waiting if "product" in by else "-",
             term.spark([g.trend.get(day, 0) for day in days]),
             dt.datetime.fromtimestamp(g.last_at).strftime("%m-%d %H:%M")] for g in groups]
    print(f"unmet demand, {days[0]} to {days[-1]}: {sum(g.requests for g in groups)} requests")
    if not groups:
        print("nothing went unfound")
        return 0
    count = len(shown)
    for line in term.table(headers, rows, right=(count, count + 1, count + 2)):
        print(line)
    return 0


def cmd_backup(args: argparse.Namespace, config: Config) -> int:
    import sqlite3

    from db import Database
    from db.database import backup

    source, target = Path(config.db.path), Path(args.path)
    if not source.exists():
        raise CliError(f"db.path: no database at {source}")
    if target.exists() and not args.force:
        raise CliError(f"{target}: already exists; choose another path or pass --force")
    if target.exists() and target.resolve() == source.resolve():
        raise CliError(f"{target}: is the live database itself")
    if not target.parent.is_dir():
        raise CliError(f"{target.parent}: no such folder")
    db = Database(source)
    try:
        db.call(backup, target)
    except sqlite3.Error as exc:
        raise CliError(f"backup failed: {exc}") from None
    finally:
        db.close()
    copy = sqlite3.connect(str(target))
    try:
        version = copy.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in copy.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        counts = {name: copy.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                  for name in ("message_log", "listings") if name in tables}
    finally:
        copy.close()
    size = target.stat().st_size / 2 ** 20
    detail = ", ".join(f"{n} {name}" for name, n in counts.items())
    print(f"backed up {source} to {target}: {size:.1f} MiB, schema v{version}"
          + (f", {detail}" if detail else ""))
    return 0


def _read_password(args: argparse.Namespace) -> str:
    import getpass

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("--password-stdin: no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the password; pipe it in with --password-stdin")
    password = getpass.getpass("password: ")
    if getpass.getpass("again: ") != password:
        raise CliError("the two passwords differ; nothing was changed")
    return password


def cmd_admin_add_user(args: argparse.Namespace, config: Config) -> int:
    from db import Database, audit, operators, schema
    from db.database import transaction

    password = _read_password(args)
    try:
        operators.validate(args.name, args.role, password)
    except operators.OperatorError as exc:
        raise CliError(str(exc)) from None
    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        operator = db.call(operators.add, args.name, args.role, password, args.replace)
        def note(conn: object) -> None:
            with transaction(conn):
                audit.record(conn, _cli_operator(),
                             "operator.replace" if args.replace else "operator.add", "operator",
                             operator.id, "", {"name": operator.name, "role": operator.role})
        db.call(note)
    except operators.OperatorError as exc:
        raise CliError(str(exc)) from None
    finally:
        db.close()
    print(f"operator {operator.name} ({operator.role}) {'updated' if args.replace else 'created'};"
          f" sign in at {config.server.public_url.rstrip('/')}/admin")
    return 0


def cmd_admin_list_users(args: argparse.Namespace, config: Config) -> int:
    from bot import term
    from db import Database, operators, schema

    db = Database(config.db.path)
    try:
        db.call(schema.migrate)
        found = db.call(operators.names)
    finally:
        db.close()
    if not found:
        print("no operators yet: python -m bot admin add-user NAME --role admin")
        return 0
    for line in term.table(["name", "role"], [[o.name, o.role] for o in found]):
        print(line)
    return 0


def one_line(text: str, width: int = 160) -> str:
    """User text on one terminal line, at most `width` columns: newlines, escape codes
    and bidi controls cannot forge output (see bot/term.py)."""
    from bot import term

    return term.clip(term.safe(text), width)


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
    from bench.webhook import Plan, run_against, run_compare

    for name in ("listings", "workers", "concurrency", "messages", "rounds"):
        if getattr(args, name) < 1:
            raise CliError(f"--{name}: at least 1")
    if args.duration <= 0 or (args.rate is not None and args.rate <= 0):
        raise CliError("--duration and --rate: must be positive")
    if args.url:
        return asyncio.run(run_against(args.url, load_config(args), args.messages,
                                       args.concurrency))
    return run_compare(Plan(listings=args.listings, workers=args.workers,
                            concurrency=args.concurrency, duration=args.duration, rate=args.rate,
                            compare_bare=args.compare_bare, messages=args.messages,
                            rounds=args.rounds))


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


def cmd_bench_console(args: argparse.Namespace, config: Config) -> int:
    from bench.console import run_console_bench

    if args.messages < 1000:
        raise CliError("--messages: at least 1000")
    if args.orders is not None and args.orders < 1:
        raise CliError("--orders: at least 1")
    return run_console_bench(args.messages, Path(args.db) if args.db else None, args.samples,
                             args.orders)


def cmd_bench_chaos(args: argparse.Namespace, config: Config) -> int:
    from bench.chaos import run_chaos

    if args.kills < 1 or args.interval <= 0:
        raise CliError("--kills must be at least 1 and --interval above 0")
    return run_chaos(args.kills, args.seed, args.interval)


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
    serve.add_argument("--workers", type=int, default=1,
                       help="processes sharing the port (SO_REUSEPORT) and the database"
                            " (default 1)")
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
    logs.add_argument("--intent", help="only this intent (search, choose, help ...)")
    logs.add_argument("--outcome", choices=["answered", "no_match", "error", "deadline", "rejected"])
    logs.add_argument("--grep", metavar="TEXT",
                      help="only messages whose text or reply has these words (full-text)")
    logs.add_argument("--follow", "-f", action="store_true",
                      help="keep printing new matching messages until Ctrl-C")
    logs.add_argument("--json", action="store_true", help="one JSON object per line")
    logs.add_argument("--limit", type=int, default=50)
    _config_options(logs)
    logs.set_defaults(func=cmd_logs)

    report = verbs.add_parser("report", help="reports for operators")
    report_verbs = report.add_subparsers(dest="report_verb", required=True, metavar="NAME")
    demand = report_verbs.add_parser("demand", help="what buyers asked for and nobody sells")
    demand.add_argument("--days", type=int, default=7, help="window ending today (default 7)")
    demand.add_argument("--by", default="product,region,city,band",
                        help="grouping: a comma-separated choice of product, region (wanted "
                             "from), city (where the buyer is), band (price)")
    demand.add_argument("--limit", type=int, default=200, help="at most this many groups")
    demand.add_argument("--csv", action="store_true", help="CSV (with a column per day)")
    _config_options(demand)
    demand.set_defaults(func=cmd_report_demand)

    backup = verbs.add_parser("backup", help="an online copy of the SQLite database")
    backup.add_argument("path", metavar="PATH", help="the file to write")
    backup.add_argument("--force", action="store_true", help="replace PATH if it exists")
    _config_options(backup)
    backup.set_defaults(func=cmd_backup)

    admin = verbs.add_parser("admin", help="operator accounts for the console at /admin")
    admin_verbs = admin.add_subparsers(dest="admin_verb", required=True, metavar="ACTION")
    add_user = admin_verbs.add_parser("add-user", help="create an operator (password prompted)")
    add_user.add_argument("name", metavar="NAME")
    add_user.add_argument("--role", choices=["admin", "viewer"], required=True,
                          help="admin: may edit and reveal; viewer: reads, phones masked")
    add_user.add_argument("--password-stdin", action="store_true",
                          help="read the password from the first line of standard input")
    add_user.add_argument("--replace", action="store_true",
                          help="reset an existing operator's role and password")
    _config_options(add_user)
    add_user.set_defaults(func=cmd_admin_add_user)
    list_users = admin_verbs.add_parser("list-users", help="the operators and their roles")
    _config_options(list_users)
    list_users.set_defaults(func=cmd_admin_list_users)

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

    order_cmd = verbs.add_parser("orders", help="orders: list, show ORDER_NO, set-status")
    order_verbs = order_cmd.add_subparsers(dest="orders_verb", required=True, metavar="ACTION")
    order_list = order_verbs.add_parser("list", help="newest first, phones masked")
    order_list.add_argument("--status", choices=["placed", "confirmed", "shipped", "completed",
                                                 "cancelled"])
    order_list.add_argument("--since", help="placed within 30m, 2h, 7d, or since a date")
    order_list.add_argument("--limit", type=int, default=50)
    _config_options(order_list)
    show = order_verbs.add_parser("show", help="one order with its status history")
    show.add_argument("order_no", metavar="ORDER_NO", help="the whole number or its 6-letter code")
    _config_options(show)
    set_status = order_verbs.add_parser(
        "set-status", help="change an order's status as an operator (the transition table"
                           " decides); both sides are told, the audit trail records it")
    set_status.add_argument("order_no", metavar="ORDER_NO")
    set_status.add_argument("status", metavar="STATUS",
                            choices=["confirmed", "shipped", "completed", "cancelled"])
    set_status.add_argument("--reason", required=True, metavar="TEXT",
                            help="why, in Chinese: the buyer and the seller read it")
    set_status.add_argument("--carrier", help="for shipped: 顺丰, 邮政 ... or 自送")
    set_status.add_argument("--tracking", help="for shipped: the tracking number")
    _config_options(set_status)
    for sub in (order_list, show, set_status):
        sub.set_defaults(func=cmd_orders)

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
    webhook = bench_verbs.add_parser(
        "webhook", help="signed safe-mode buyer queries against `serve` in its own process")
    webhook.add_argument("--compare-bare", action="store_true",
                         help="also drive a bare aiohttp + wechatpy endpoint on the same core")
    webhook.add_argument("--listings", type=int, default=10_000,
                         help="listings imported through `import` first (default 10000)")
    webhook.add_argument("--workers", type=int, default=1, help="`serve --workers N` (default 1)")
    webhook.add_argument("--concurrency", type=int, default=32,
                         help="connections of the closed loop (default 32)")
    webhook.add_argument("--duration", type=float, default=10.0,
                         help="seconds of each closed and open loop (default 10)")
    webhook.add_argument("--rate", type=float,
                         help="open-loop requests/s (default: 80%% of the closed-loop peak)")
    webhook.add_argument("--messages", type=int, default=60_000,
                         help="distinct messages sealed before the run (default 60000)")
    webhook.add_argument("--rounds", type=int, default=1,
                         help="closed loops of the pipeline and the bare endpoint, alternated; "
                              "the ratio printed is their median (default 1)")
    webhook.add_argument("--url", help="drive a running server's /wechat instead, closed loop "
                                       "over --messages (with --config or --demo for its "
                                       "credentials)")
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
    console = bench_verbs.add_parser("console", help="console log pages at scale (p50/p99)")
    console.add_argument("--messages", type=int, default=100_000,
                         help="log rows to generate (e.g. 1000000)")
    console.add_argument("--db", metavar="PATH",
                         help="keep the generated database here (reused when it has enough rows)")
    console.add_argument("--samples", type=int, default=200, help="timed requests per page kind")
    console.add_argument("--orders", type=int,
                         help="orders to generate with their histories (default: a tenth of"
                              " --messages)")
    console.set_defaults(func=cmd_bench_console, needs_config=False)
    order_bench = bench_verbs.add_parser("orders", help="order page submits that take stock")
    order_bench.add_argument("--orders", type=int, default=500)
    order_bench.add_argument("--concurrency", type=int, default=20)
    order_bench.add_argument("--stock", type=int, help="units on sale (default: one per order)")
    order_bench.set_defaults(func=cmd_bench_orders, needs_config=False)
    chaos = bench_verbs.add_parser("chaos", help="SIGKILL the server at fault points and at "
                                                 "random under load, then count rows")
    chaos.add_argument("--kills", type=int, default=20)
    chaos.add_argument("--seed", type=int, help="random seed (default: a random one, printed)")
    chaos.add_argument("--interval", type=float, default=5.0,
                       help="seconds between WeChat's tries of an unanswered message")
    chaos.set_defaults(func=cmd_bench_chaos, needs_config=False)
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
