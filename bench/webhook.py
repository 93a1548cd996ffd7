"""Webhook throughput and latency: the real server against a bare wechatpy endpoint.

The listings are imported through `python -m bot import`; the server runs as
`python -m bot serve` (its own process, pinned to the first core or, with several
workers, to as many cores); the bare endpoint (bench/bare.py) runs on the same core.
This process drives both from the last core with pre-encrypted, signed, safe-mode
buyer queries: distinct message ids, many openids, every query text of the relevance
sets. Closed loop: C connections each sending as soon as its reply arrives. Open loop:
requests scheduled at a fixed rate, latency counted from the scheduled time.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from bot import wire
from bot.config import Config, from_mapping, new_aes_key

ROOT = Path(__file__).resolve().parent.parent
RELEVANCE_SETS = [ROOT / "tests" / "data",
                  *(p for p in sorted((ROOT / "tests" / "data" / "heldout").glob("**/"))
                    if (p / "catalogue.json").exists())]
CACHE = Path(tempfile.gettempdir()) / "nonghuo-bench"
OPENIDS = 2_000
WARM_SECONDS = 2.0
TOKEN = "benchtoken"
APP_ID = "wx0123456789abcdef"


# -- the texts and the catalogue --------------------------------------------

def query_texts() -> list[str]:
    """Every distinct buyer query of the relevance sets, in a fixed order."""
    texts: dict[str, None] = {}
    for folder in RELEVANCE_SETS:
        for name in ("search_eval.jsonl", "queries.jsonl"):
            path = folder / name
            if path.exists():
                for line in path.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        texts.setdefault(json.loads(line)["text"], None)
    return list(texts)


def _catalogue_rows(count: int) -> list[dict[str, object]]:
    """The relevance sets' listings (so their queries find what they expect) plus
    synthetic listings up to `count`."""
    from bench.search import synthetic_rows

    rows: list[dict[str, object]] = []
    for n, folder in enumerate(RELEVANCE_SETS):
        for row in json.loads((folder / "catalogue.json").read_text(encoding="utf-8")):
            rows.append({**row, "sku": f"R{n}-{row['sku']}"})
    for row in synthetic_rows(max(count - len(rows), 0)):
        rows.append({"sku": row.sku, "title": row.title, "category": row.category,
                     "price": row.price_fen / 100, "unit": row.unit, "stock": row.stock,
                     "origin": row.origin, "seller": row.seller, "description": row.description,
                     "tags": list(row.tags), "assisted": row.assisted})
    return rows


def _code_version() -> str:
    """What an imported database was made by: the schema and index versions."""
    from db.listings import INDEX_VERSION
    from db.schema import CURRENT_VERSION

    return f"schema{CURRENT_VERSION}-index{INDEX_VERSION}"


def imported_database(count: int, target: Path) -> float:
    """Copy a database with `count` listings imported through `python -m bot import` to
    target; the import runs once per schema version, index version and size. Returns the
    import's seconds (0 when reused)."""
    CACHE.mkdir(exist_ok=True)
    cached = CACHE / f"listings-{count}-{_code_version()}.db"
    spent = 0.0
    if not cached.exists():
        with tempfile.TemporaryDirectory() as folder:
            catalogue = Path(folder) / "catalogue.json"
            catalogue.write_text(json.dumps(_catalogue_rows(count), ensure_ascii=False),
                                 encoding="utf-8")
            config = write_config(Path(folder), Path(folder) / "import.db", 8080)
            began = time.perf_counter()
            subprocess.run([sys.executable, "-m", "bot", "import", str(catalogue), "--config",
                            str(config)], check=True, stdout=subprocess.DEVNULL)
            spent = time.perf_counter() - began
            shutil.copy(Path(folder) / "import.db", cached.with_suffix(".partial"))
            cached.with_suffix(".partial").replace(cached)
    shutil.copy(cached, target)
    return spent


def write_config(folder: Path, db_path: Path, port: int, aes_key: str | None = None) -> Path:
    """A safe-mode bot.toml for the bench."""
    key = aes_key or new_aes_key()
    path = folder / "bot.toml"
    path.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\npublic_url = "http://127.0.0.1:{port}"\n'
        f'[wechat]\ntoken = "{TOKEN}"\napp_id = "{APP_ID}"\nencoding_aes_key = "{key}"\n'
        f'[db]\npath = "{db_path}"\n', encoding="utf-8")
    return path


def bench_config(aes_key: str) -> Config:
    return from_mapping({"wechat": {"token": TOKEN, "app_id": APP_ID,
                                    "encoding_aes_key": aes_key}})


# -- requests ----------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    raw: bytes          # the whole HTTP request, ready to write


def sealed_requests(config: Config, host: str, path: str, count: int,
                    texts: list[str]) -> list[Request]:
    """`count` distinct signed, encrypted text messages, spread over many buyers and
    cycling through every query text."""
    made = []
    now = int(time.time())
    for n in range(count):
        openid = f"bench_buyer_{n % OPENIDS:04d}"
        xml = wire.text_xml(openid, texts[n % len(texts)], msg_id=10**12 + n, created_at=now)
        query, body = wire.seal(config, xml, openid, timestamp=str(now), nonce=str(n))
        head = (f"POST {path}?{urlencode(query)} HTTP/1.1\r\nHost: {host}\r\n"
                f"Content-Type: text/xml\r\nContent-Length: {len(body)}\r\n\r\n")
        made.append(Request(head.encode() + body))
    return made


class Connection:
    """One keep-alive HTTP/1.1 connection sending one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        return cls(*await asyncio.open_connection(host, port))

    async def send(self, request: Request) -> tuple[int, bytes]:
        self.writer.write(request.raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its descendants so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += cpu_seconds(int(child))
    except (OSError, IndexError, ValueError):
        pass  # the process has gone
    return total


@dataclass
class Figures:
    label: str
    sent: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    cpu: float = 0.0    # server CPU seconds spent meanwhile: robust when the cores are shared

    @property
    def throughput(self) -> float:
        return self.sent / self.elapsed if self.elapsed else 0.0

    def percentile(self, share: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(int(share * len(ordered)), len(ordered) - 1)] * 1000

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.sent * 1000 if self.sent else float("nan")

    def line(self) -> str:
        return (f"  {self.label:<26} {self.throughput:6.0f} req/s  p50 {self.percentile(0.5):6.1f}"
                f"  p95 {self.percentile(0.95):6.1f}  p99 {self.percentile(0.99):6.1f} ms"
                f"  server CPU {self.cpu_ms:5.2f} ms/req  errors {self.errors}/{self.sent}")


def _good(status: int, body: bytes) -> bool:
    return status == 200 and body.startswith(b"<xml>")


async def closed_loop(label: str, host: str, port: int, requests: Iterator[Request],
                      concurrency: int, seconds: float) -> Figures:
    """`concurrency` connections, each sending the next request as its reply arrives."""
    figures = Figures(label)
    connections = [await Connection.open(host, port) for _ in range(concurrency)]
    began = time.perf_counter()
    stop = began + seconds

    async def worker(connection: Connection) -> None:
        while time.perf_counter() < stop:
            request = next(requests, None)
            if request is None:
                return
            sent = time.perf_counter()
            try:
                status, body = await connection.send(request)
            except (OSError, asyncio.IncompleteReadError):
                figures.errors += 1
                figures.sent += 1
                return
            figures.latencies.append(time.perf_counter() - sent)
            figures.sent += 1
            figures.errors += not _good(status, body)

    await asyncio.gather(*(worker(c) for c in connections))
    figures.elapsed = time.perf_counter() - began
    for connection in connections:
        connection.close()
    return figures


async def open_loop(label: str, host: str, port: int, requests: Iterator[Request],
                    rate: float, seconds: float, connections: int = 256) -> Figures:
    """Requests scheduled every 1/rate s whatever happens; each waits for a free
    connection, and its latency runs from the scheduled time, so queueing counts."""
    figures = Figures(label)
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(await Connection.open(host, port))
    total = int(rate * seconds)
    began = time.perf_counter()

    async def one(request: Request, due: float) -> None:
        connection = await idle.get()
        try:
            status, body = await connection.send(request)
        except (OSError, asyncio.IncompleteReadError):
            figures.errors += 1
            idle.put_nowait(await Connection.open(host, port))
            return
        figures.latencies.append(time.perf_counter() - due)
        figures.errors += not _good(status, body)
        idle.put_nowait(connection)

    tasks = []
    for n in range(total):
        request = next(requests, None)
        if request is None:
            break
        due = began + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(request, due)))
        figures.sent += 1
    await asyncio.gather(*tasks)
    figures.elapsed = time.perf_counter() - began
    while not idle.empty():
        idle.get_nowait().close()
    return figures


# -- processes ---------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_pinned(argv: list[str], cores: set[int], log: Path) -> subprocess.Popen[bytes]:
    """A child process (and any it forks) confined to `cores`."""
    out = log.open("wb")
    return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                            preexec_fn=lambda: os.sched_setaffinity(0, cores),
                            start_new_session=True)


def wait_ready(port: int, process: subprocess.Popen[bytes], log: Path,
               timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the process exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"not ready after {timeout:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the run -----------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    listings: int = 10_000
    workers: int = 1
    concurrency: int = 32
    duration: float = 10.0
    rate: float | None = None       # None: 80 % of the pipeline's closed-loop peak
    compare_bare: bool = False
    messages: int = 60_000          # distinct messages for the pipeline
    rounds: int = 1                 # closed loops of pipeline and bare, alternated


def _cores(workers: int) -> tuple[set[int], set[int]]:
    """(server cores, load generator cores): the generator takes the last core."""
    available = sorted(os.sched_getaffinity(0))
    server = set(available[:max(workers, 1)])
    return server, {available[-1]}


def _cycle(requests: list[Request]) -> Iterator[Request]:
    while True:
        yield from requests


async def _closed(plan: Plan, label: str, port: int, pid: int,
                  requests: Iterator[Request]) -> Figures:
    await closed_loop("warm-up", "127.0.0.1", port, requests, plan.concurrency, WARM_SECONDS)
    before = cpu_seconds(pid)
    closed = await closed_loop(f"{label} closed C={plan.concurrency}", "127.0.0.1", port,
                               requests, plan.concurrency, plan.duration)
    closed.cpu = cpu_seconds(pid) - before
    return closed


async def _open(plan: Plan, label: str, port: int, pid: int, requests: Iterator[Request],
                rate: float) -> Figures:
    before = cpu_seconds(pid)
    opened = await open_loop(f"{label} open {rate:.0f}/s", "127.0.0.1", port, requests,
                             rate, plan.duration)
    opened.cpu = cpu_seconds(pid) - before
    return opened


def run_compare(plan: Plan) -> int:
    server_cores, load_cores = _cores(plan.workers)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        aes_key = new_aes_key()
        port, bare_port = free_port(), free_port()
        db_path = folder / "bench.db"
        spent = imported_database(plan.listings, db_path)
        config_path = write_config(folder, db_path, port, aes_key)
        config = bench_config(aes_key)
        texts = query_texts()
        os.sched_setaffinity(0, load_cores)
        print(f"webhook bench: {plan.listings} listings"
              f" ({f'imported in {spent:.0f} s' if spent else 'import reused from ' + str(CACHE)}),"
              f" {len(texts)} distinct query texts, {OPENIDS} openids, safe mode;"
              f" server workers {plan.workers} on cores {sorted(server_cores)},"
              f" load on core {sorted(load_cores)}; {os.cpu_count()} cores", flush=True)
        began = time.perf_counter()
        requests = sealed_requests(config, f"127.0.0.1:{port}", "/wechat", plan.messages, texts)
        print(f"  sealed {len(requests)} distinct messages in {time.perf_counter() - began:.1f} s",
              flush=True)
        server_log, bare_log = folder / "server.log", folder / "bare.log"
        server = start_pinned([sys.executable, "-m", "bot", "serve", "--config", str(config_path),
                               *(["--workers", str(plan.workers)] if plan.workers > 1 else [])],
                              server_cores, server_log)
        bare = None
        try:
            wait_ready(port, server, server_log)
            if plan.compare_bare:
                bare = start_pinned([sys.executable, "-m", "bench.bare", str(config_path),
                                     str(bare_port)], {min(server_cores)}, bare_log)
                wait_ready(bare_port, bare, bare_log)
            results = asyncio.run(_run_all(plan, (port, server.pid),
                                           (bare_port, bare.pid) if bare else None, requests))
        finally:
            stop(server)
            if bare is not None:
                stop(bare)
    return _report(results)


@dataclass
class Results:
    rounds: list[tuple[Figures, Figures | None]]   # (pipeline, bare) closed loops
    opened: list[Figures]                          # pipeline's open loop, then bare's


async def _run_all(plan: Plan, server: tuple[int, int], bare: tuple[int, int] | None,
                   requests: list[Request]) -> Results:
    """Closed loops alternate pipeline and bare, so a drift of the machine's speed
    touches both sides of each round's ratio; then the open loops at one rate."""
    fresh = iter(requests)  # the pipeline never sees a message twice
    results = Results([], [])
    for _ in range(plan.rounds):
        closed = await _closed(plan, "pipeline", *server, fresh)
        bare_closed = await _closed(plan, "bare", *bare, _cycle(requests)) if bare else None
        results.rounds.append((closed, bare_closed))
    peak = statistics.median(closed.throughput for closed, _ in results.rounds)
    opened = await _open(plan, "pipeline", *server, fresh, plan.rate or 0.8 * peak)
    results.opened.append(opened)
    if bare is not None:
        results.opened.append(await _open(plan, "bare", *bare, _cycle(requests),
                                          opened.sent / plan.duration))
    if next(fresh, None) is None:
        print("  note: ran out of distinct messages; raise --messages", flush=True)
    return results


def _report(results: Results) -> int:
    every = [f for pair in results.rounds for f in pair if f is not None] + results.opened
    for figures in every:
        print(figures.line())
    pairs = [(mine, bare) for mine, bare in results.rounds if bare is not None and bare.throughput]
    if pairs:
        ratios = [mine.throughput / bare.throughput for mine, bare in pairs]
        cpu = [bare.cpu_ms / mine.cpu_ms for mine, bare in pairs if mine.cpu_ms]
        rounds = f" in {len(pairs)} rounds: {', '.join(f'{r:.3f}' for r in ratios)}" \
            if len(pairs) > 1 else ""
        print(f"  pipeline / bare: throughput (closed loop) {statistics.median(ratios):.3f}"
              f"{' (median)' if len(pairs) > 1 else ''}, server CPU per request"
              f" {statistics.median(cpu):.3f}{rounds}")
    return 0 if all(f.errors == 0 for f in every) else 1


async def run_against(url: str, config: Config, messages: int, concurrency: int) -> int:
    """A running server: closed loop over `messages` distinct queries."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = sealed_requests(config, parts.netloc, parts.path or "/wechat", messages,
                               query_texts())
    figures = await closed_loop(f"{url} C={concurrency}", host, port, iter(requests),
                                concurrency, 3600.0)
    mode = "safe" if config.safe_mode else "plain"
    print(f"webhook bench: {messages} messages, concurrency {concurrency}, {mode} mode")
    print(figures.line())
    return 0 if figures.errors == 0 else 1
