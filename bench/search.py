"""Search at scale: synthetic listings from the lexicons, imported through the real
import path, then realistic queries timed end to end (understand → find → rank)."""
from __future__ import annotations

import os
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

from db import Database, listings, schema
from db.catalogue import CatalogueRow

UNITS = ("斤", "斤", "斤", "箱", "袋", "盒", "公斤")
QUERY_TEMPLATES = ("我想买{p}", "有没有{r}的{p}", "{p}{n}块以内", "{a}的{p}", "{p}", "{r}{p}一斤{n}块以内")


def _zipf_products(rng: random.Random) -> tuple[list[str], list[float]]:
    from nlp.lexicon import lexicon

    products = sorted({p for p in lexicon().products.values() if p in lexicon().category_of})
    rng.shuffle(products)
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(products))]  # a few very common
    return products, weights


def synthetic_rows(count: int, seed: int = 11, first: int = 0) -> list[CatalogueRow]:
    """Listings with a skewed product mix, real places and plausible prices."""
    from nlp.lexicon import lexicon

    rng = random.Random(seed)
    lex = lexicon()
    products, weights = _zipf_products(rng)
    counties = sorted({r for rs in lex.regions.values() for r in rs if r.level == "county"},
                      key=lambda r: r.name)
    attributes = sorted(set(lex.attributes.values()))
    picks = rng.choices(products, weights, k=count)
    rows = []
    for n, product in enumerate(picks, first):
        place = rng.choice(counties)
        short = lex.short.get(place.name, place.name)
        tags = tuple(rng.sample(attributes, rng.randint(0, 2)))
        unit = rng.choice(UNITS)
        rows.append(CatalogueRow(
            sku=f"S{n:07d}", title=f"{short}{product} {''.join(tags[:1])} {rng.randint(1, 20)}斤装",
            category=lex.category_of[product].split("/")[0],
            price_fen=rng.randint(150, 20000) if unit in ("斤", "公斤") else rng.randint(1000, 50000),
            unit=unit, stock=0 if rng.random() < 0.05 else rng.randint(1, 5000),
            origin=" ".join(x for x in (place.province, place.city, place.name) if x),
            seller=f"{short}农户{n // rng.randint(1, 5)}", seller_phone=None,
            description=f"{place.province}{short}的{product}，{'、'.join(tags) or '农家自产'}。",
            tags=tags, assisted=rng.random() < 0.3))
    return rows


COMMON = 20  # the head of the product mix: each is several % of all listings


def common_products() -> set[str]:
    products, _ = _zipf_products(random.Random(11))
    return set(products[:COMMON])


def queries(count: int, seed: int = 5) -> list[str]:
    from nlp.lexicon import lexicon

    rng = random.Random(seed)
    lex = lexicon()
    products, weights = _zipf_products(random.Random(11))
    provinces = sorted({r.province for rs in lex.regions.values() for r in rs if r.province})
    attributes = sorted(set(lex.attributes.values()))
    seen: set[str] = set()
    while len(seen) < count:
        # Half from the common head of the mix, half uniformly: rare products too.
        product = rng.choices(products, weights)[0] if rng.random() < 0.5 else rng.choice(products)
        seen.add(rng.choice(QUERY_TEMPLATES).format(
            p=product, r=lex.short.get(rng.choice(provinces), "云南"), a=rng.choice(attributes),
            n=rng.randint(5, 200)))
    return sorted(seen)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed_queries(db: Database, texts: list[str]) -> dict[str, tuple[float, float, float]]:
    """p50, p99 and max in ms: over all queries, and for common and rare products."""
    from handlers import ranking
    from handlers.search_eval import offers
    from nlp import understand

    weights = ranking.Weights()
    common = common_products()
    timings: dict[str, list[float]] = {"all": [], "common": [], "rare": []}
    for text in texts:
        started = time.perf_counter()
        db.call(offers, text, weights, time.time())
        elapsed = (time.perf_counter() - started) * 1000
        product = understand(text).slots.get("product")
        timings["all"].append(elapsed)
        timings["common" if product in common else "rare"].append(elapsed)
    return {name: _cuts(values) for name, values in timings.items() if len(values) > 1}


def _cuts(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100)
    return cuts[49], cuts[98], max(values)


def _import(db: Database, size: int, batch: int = 100_000) -> float:
    """Seconds to import `size` listings through the real import path, one file's worth
    (at most `batch` rows) at a time, as a seller cooperative would upload them."""
    elapsed = 0.0
    for start in range(0, size, batch):
        rows = synthetic_rows(min(batch, size - start), seed=11 + start, first=start)
        began = time.perf_counter()
        db.call(listings.import_rows, rows, False, None, os.cpu_count() or 1)
        elapsed += time.perf_counter() - began
    return elapsed


def run_search_bench(sizes: list[int], query_count: int) -> int:
    from nlp import load

    load()
    texts = queries(query_count)
    print(f"search bench: {len(texts)} distinct queries per size")
    print(f"{'listings':>10} {'import s':>9} {'db MB':>7} {'peak RSS MB':>12} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'common p99':>11} {'rare p99':>9}")
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.db"
            db = Database(path)
            try:
                db.call(schema.migrate)
                imported = _import(db, size)
                figures = _timed_queries(db, texts)
                size_mb = sum(f.stat().st_size for f in Path(folder).iterdir()) / 2**20
            finally:
                db.close()
        p50, p99, worst = figures["all"]
        print(f"{size:>10} {imported:>9.1f} {size_mb:>7.1f} {_peak_rss_mb():>12.0f} "
              f"{p50:>7.2f} {p99:>7.2f} {worst:>7.1f} {figures['common'][1]:>11.2f} "
              f"{figures['rare'][1]:>9.2f}", flush=True)
    return 0
