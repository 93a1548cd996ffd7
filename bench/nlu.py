"""understand() speed over generated messages, and lexicon start-up time."""
from __future__ import annotations

import itertools
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATES = ["我想买{p}", "有没有{r}的{p}", "{p}{n}块以内", "来{q}斤{r}{p}", "嗯那个{p}多少钱一斤",
             "我要卖{p}，{n}块一斤，有{k}斤", "{r}{p}有吗 要{a}的", "把{p}改成{n}块", "要第{i}个",
             "还有便宜点的{p}吗", "{p} {n}到{m}元", "预算{k}买点{p}", "有没有{a}{p}"]
_STARTUP = "import time; t = time.perf_counter(); import nlp; nlp.load(); print(time.perf_counter() - t)"


def messages(count: int, seed: int = 7) -> list[str]:
    """Distinct messages, combined from the lexicons."""
    from nlp.lexicon import lexicon

    lex = lexicon()
    rng = random.Random(seed)
    products = sorted(lex.products)
    regions = sorted(r for r in lex.regions if len(r) >= 2)
    attributes = sorted(set(lex.attributes.values()))
    seen: set[str] = set()
    for _ in itertools.count():
        text = rng.choice(TEMPLATES).format(
            p=rng.choice(products), r=rng.choice(regions), a=rng.choice(attributes),
            n=rng.randint(1, 99), m=rng.randint(100, 200), q=rng.randint(1, 30),
            k=rng.randint(50, 3000), i=rng.randint(1, 5))
        seen.add(text)
        if len(seen) >= count:
            return sorted(seen)
    return []


def startup_seconds() -> tuple[float, float]:
    """Cold: jieba must rebuild its dictionary cache; warm: the cache is there."""
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "TMPDIR": folder}  # jieba keeps its cache in the temp dir
        timings = [float(subprocess.run([sys.executable, "-c", _STARTUP], env=env, check=True,
                                        capture_output=True, text=True,
                                        cwd=Path(__file__).resolve().parent.parent).stdout)
                   for _ in range(2)]
    return timings[0], timings[1]


def run_nlu_bench(count: int) -> int:
    from nlp import load, understand

    cold, warm = startup_seconds()
    load()
    texts = messages(count)
    timings = []
    for text in texts:
        started = time.perf_counter_ns()
        understand(text)
        timings.append((time.perf_counter_ns() - started) / 1000)
    cuts = statistics.quantiles(timings, n=100)
    print(f"nlu bench: {len(texts)} distinct generated messages")
    print(f"  understand(): p50 {cuts[49]:.0f} µs, p99 {cuts[98]:.0f} µs, max {max(timings):.0f} µs")
    print(f"  start-up with all lexicons: cold {cold:.2f} s, warm {warm:.2f} s")
    return 0
