"""What goods a text names, and how a request expands: pure lexicon look-ups.

The search index stores each listing's canonical goods (product, specialty base,
category path) so synonyms and categories match without long OR queries.
"""
from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from nlp import segment
from nlp.lexicon import Cut, lexicon, pinyin_of, words
from nlp.normalize import simplified
from nlp.numbers import canonical_unit


_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_LONGEST = 8


@dataclass
class _RunGoods:
    """What one run of a title (a stretch of Chinese between spaces, digits, marks) is."""
    product: str | None         # canonical product, None for an unknown compound
    surface: str                # as written
    kinds: list[str]            # generic products it is a kind of
    path: str | None            # its category path
    elided: bool = False        # read as a name whose generic was dropped (冰糖心)


def _is_noise(word: str) -> bool:
    """Words a title may put after the goods without changing what they are (新鲜, 包邮)."""
    lex = lexicon()
    return word in lex.attributes or word in lex.regions or word in _stopwords()


def _stopwords() -> frozenset[str]:
    return words("stopwords.txt")


def _run_goods(run: str, imported: list[str]) -> _RunGoods | None:
    """The goods a run names. Compounds put the head last (head-final): 定西马铃薯粉条 is
    粉条, 冰糖心苹果 is 苹果, 潮汕牛肉丸 is no 牛肉, and 开州春橙, a word the lexicon lacks,
    is still an 橙子 through its head character."""
    lex = lexicon()
    tokens = segment.words(run)
    while len(tokens) > 1 and _is_noise(tokens[-1]):
        tokens.pop()
    body = "".join(tokens)
    ends = set(itertools.accumulate(len(t) for t in tokens))
    found = _product_ending(body, len(body), ends)
    if found is None and body and body[-1] in lex.heads:
        kinds = _generics(body, None, imported)
        if kinds:
            return _RunGoods(None, tokens[-1], kinds, lex.category_of.get(kinds[0]))
        if len(tokens[-1]) == 1:
            return None  # 小米蕉 cut 小米 / 蕉 is a kind of 蕉, never 小米
    if found is None and len(body) > 1 and body[-1] in lex.meat:
        animal = _animal_meat(body)  # 冷吃兔 is 兔肉, 黑山羊 羊肉: an animal read as its meat
        if animal and _fits(animal, imported):
            # and what that meat is a kind of on the tree: 牦牛 is 牦牛肉, so 牛肉 too
            return _RunGoods(None, tokens[-1], [animal, *generics_of(animal)],
                             lex.category_of.get(animal))
    if found is not None:
        found = _variety_before(body[:-len(found)], found) or found
    elided = False
    if found is None:
        found = _elided(body, ends, imported)
        elided = found is not None
    if found is None:
        dropped = _head_dropped(tokens[-1], imported)
        if dropped:
            return dropped
    if found is None:
        found = next((f for end in sorted(ends, reverse=True)[1:]
                      for f in [_product_ending(body, end, ends, 2)] if f), None)
        if found and not _fits(lex.products[found], imported):
            return None  # 阿克苏冰糖心 in 生鲜水果 is no 冰糖
    if found is None:
        return None
    product = lex.products[found]
    if _contradicted(product, imported):
        return None
    return _RunGoods(product, found, _kinds(product, found, imported), lex.category_of.get(product),
                     elided)


def _variety_before(modifier: str, head: str) -> str | None:
    """红富士苹果, 紫皮大蒜: a variety named before its generic is that variety, written
    whole (红富士 + 苹果) or sharing the generic's last character (紫皮 + 蒜 is 紫皮蒜, a
    kind of 大蒜), so that a buyer naming the variety finds the title."""
    lex = lexicon()
    generic = lex.products[head]
    for start in range(max(0, len(modifier) - _LONGEST), len(modifier) - 1):
        stem = modifier[start:]
        for name in (stem, *(stem + head[k:] for k in range(1, len(head)))):
            if name in lex.products and lex.products[name] != generic and (
                    generic in generics_of(name)):
                return name
    return None


# jieba's corpus must know a word with its head this often, and more often than without it.
_KNOWN_WITH_HEAD = 10


def _head_dropped(word: str, imported: list[str]) -> _RunGoods | None:
    """龙胆石斑: a word the lexicon lacks that jieba's corpus knows better with a head
    character after it (石斑鱼 against 石斑) is that head's goods, the head dropped, when
    the listing's own category holds them (水产: a 鱼); without a category, nothing says
    the seller dropped a head."""
    lex = lexicon()
    if len(word) < 2 or not tops_of(imported) or not _CJK_RUN.fullmatch(word):
        return None
    alone = segment.frequency(word)
    for char, head in lex.heads.items():
        generics = head.of(known=True)
        if not generics or segment.frequency(word + char) <= max(alone, _KNOWN_WITH_HEAD):
            continue
        if _fits(generics[0], imported):
            return _RunGoods(None, word, [generics[0], *generics_of(generics[0])],
                             lex.category_of.get(generics[0]))
    return None


def head_dropped_wording(word: str) -> str | None:
    """石斑鱼 as a title may write it, its head dropped (龙胆石斑), when jieba's corpus knows
    the word with its head better than without (the reading `_head_dropped` gives titles)."""
    lex = lexicon()
    root = word[:-1]
    if (len(root) < 2 or word[-1] not in lex.heads or not lex.heads[word[-1]].of(known=True)
            or segment.frequency(word) <= max(segment.frequency(root), _KNOWN_WITH_HEAD)):
        return None
    return root


def _contradicted(product: str, imported: list[str]) -> bool:
    """The listing's exported category arbitrates between a name's readings: a listing
    exported only as fresh produce is no prepared goods of the same name (博罗 糯米糍 in
    鲜果 is a lychee, not the snack), though it may be any other category's goods (柿饼 in
    水果, 干辣椒 in 调味品: a category holds goods dried or kept as well)."""
    lex = lexicon()
    tops = tops_of(imported)
    top = lex.category_of.get(product, "").partition("/")[0]
    return bool(tops) and all(t in lex.fresh for t in tops) and top in lex.prepared


def tops_of(imported: list[str]) -> list[str]:
    """The listing's own top categories on our tree (virtual ones such as 年货 aside)."""
    return [c for c in imported if c not in lexicon().virtual]


def _category_headed(title: str, imported: list[str]) -> list[_RunGoods]:
    """A title nothing reads whose head word ends in a category word (硒砂瓜: 瓜 is 瓜类) is
    of that category, never a product its other characters suggest (砂 of 砂糖橘)."""
    for run in _CJK_RUN.findall(title):
        tokens = [t for t in segment.words(run) if not _is_noise(t)]
        headed = _category_word_end(tokens[-1], imported) if tokens else None
        if headed:
            return [headed]
    return []


def _category_word_end(word: str, imported: list[str]) -> _RunGoods | None:
    lex = lexicon()
    for start in range(1, len(word)):
        path = lex.categories.get(word[start:])
        if path:
            top = path.partition("/")[0]
            tops = tops_of(imported)
            if not tops or top in tops:
                return _RunGoods(None, word, [], path)
            return None
    return None


def _animal_meat(word: str) -> str | None:
    """The meat an animal the lexicon lacks is sold as (滩羊 → 羊肉, 香猪 → 猪肉), or the
    bird itself when it is sold whole."""
    lex = lexicon()
    generic = lex.products.get(word + "肉") or lex.whole.get(word[-1]) or lex.meat[word[-1]]
    return generic if generic in lex.products else None


def _elided(body: str, ends: set[int], imported: list[str]) -> str | None:
    """阿克苏冰糖心, 温县铁棍: sellers drop the generic after a distinctive modifier. The end of
    a run (from a word boundary) that only one product name of the listing's own category
    begins with, the rest of that name being what it is a kind of (冰糖心苹果 = 冰糖心 +
    苹果; 牦牛 is no 牦牛肉干, 肉干 being no generic of it)."""
    lex = lexicon()
    for start in sorted({0, *ends} - {len(body)}):
        part = body[start:]
        if len(part) < 2 or _is_noise(part):
            continue  # 阿克苏 alone is a place, not 阿克苏苹果
        names = {name for name in _elisions().get(part, ())
                 if _fits(lex.products[name], imported)}
        if len({lex.products[name] for name in names}) == 1:
            return names.pop()
    return None


def load() -> None:
    _elisions()


def elided(start: str) -> str | None:
    """The one product a name beginning so is, its generic dropped (冰糖心 → 冰糖心苹果)."""
    names = {lexicon().products[name] for name in _elisions().get(start, ())}
    return names.pop() if len(names) == 1 else None


@cache
def _elisions() -> dict[str, tuple[str, ...]]:
    """Product names by each beginning whose rest is a generic of theirs: 冰糖心 → 冰糖心苹果."""
    lex = lexicon()
    found: dict[str, list[str]] = {}
    for name in lex.products:
        for cut in range(2, len(name) - 1):
            rest = lex.products.get(name[cut:])
            if rest and rest in generics_of(name):
                found.setdefault(name[:cut], []).append(name)
    return {start: tuple(names) for start, names in found.items()}


def _fits(product: str, imported: list[str]) -> bool:
    """Whether a product sits under the listing's own category (any, when it has none)."""
    lex = lexicon()
    tops = [c for c in imported if c not in lex.virtual]
    top = lex.category_of.get(product, "").partition("/")[0]
    return not tops or not top or top in tops


def _fits_path(path: str | None, imported: list[str]) -> bool:
    tops = tops_of(imported)
    return not tops or not path or path.partition("/")[0] in tops


def _by_distinctive_character(title: str, imported: list[str]) -> list[_RunGoods]:
    """A title nothing else reads (文昌椰青): its head words may hold a character that, among
    the goods of the listing's own category, only one product's names have (椰: 椰子)."""
    lex = lexicon()
    tops = {c for c in imported if c not in lex.virtual}
    if not tops:
        return []
    # A head word ending in a category word bounds the reading to it: 硒砂瓜 is a 瓜, so
    # 砂 (of 砂糖橘) says nothing, while 网 of 蜜瓜 网纹 names 网纹瓜.
    headed = _category_headed(title, imported)
    within = headed[0].path if headed else ""
    named: set[str] = set()
    for run in _CJK_RUN.findall(title):
        tokens = [t for t in segment.words(run) if not _is_noise(t)]
        if tokens and len(tokens[-1]) > 1:
            for char in tokens[-1]:
                # Canonical names only: 苏 of 落苏, a dialect name of 茄子, makes no 紫苏 茄子.
                having = {p for p in lex.by_char.get(char, ()) if char in p
                          and lex.category_of.get(p, "").partition("/")[0] in tops}
                having = {p for p in having if not having & set(generics_of(p))}
                if len(having) == 1:
                    named |= {p for p in having if lex.category_of.get(p, "").startswith(within)}
    if len(named) != 1:
        return []
    product = named.pop()
    return [_RunGoods(product, product, _kinds(product, product, imported),
                      lex.category_of.get(product))]


def _described(title: str, description: str, imported: list[str]) -> list[_RunGoods]:
    """A title nothing reads (丹阳 封缸酒) whose description names, at the head of a run, a
    product with the same head character as a head word of the title (糯米酿的甜黄酒: 黄酒
    and 封缸酒 both end in 酒): the description says what kind of goods the name is."""
    heads = {body[-1] for run in _CJK_RUN.findall(title)
             for body in ["".join(t for t in segment.words(run) if not _is_noise(t))]
             if len(body) > 1}
    described = [g for g in (_run_goods(run, imported) for run in _CJK_RUN.findall(description))
                 if g and g.product and g.surface[-1] in heads]
    return described[:1]


def _evidenced(category: str, tags: Sequence[str], description: str,
               imported: list[str]) -> list[_RunGoods]:
    """A title nothing reads (萧县 醉金香, a grape variety): the one product of the listing's
    own category that its exported category and tags (水果/葡萄, a 葡萄 tag) or, asked
    last, its description (巨峰葡萄的近亲) name says what the goods are."""
    lex = lexicon()
    if not tops_of(imported):
        return []
    named = [lex.products[w] for text in (category, *tags)
             for w in segment.search_terms(simplified(text)) if w in lex.products]
    if description:
        named = [g.product for g in (_run_goods(run, imported)
                                     for run in _CJK_RUN.findall(description)) if g and g.product]
    fitting = list(dict.fromkeys(p for p in named if _fits(p, imported)
                                 and lex.category_of.get(p)))
    if len(fitting) != 1:
        return []
    product = fitting[0]
    return [_RunGoods(product, product, _kinds(product, product, imported),
                      lex.category_of.get(product))]


def _product_ending(body: str, end: int, ends: set[int], shortest: int = 1) -> str | None:
    """The longest product name ending at `end`, if `end` is a word boundary."""
    if end not in ends:
        return None
    products = lexicon().products
    for start in range(max(0, end - _LONGEST), end - shortest + 1):
        if body[start:end] in products:
            return body[start:end]
    return None


def _generics(word: str, path: str | None, imported: list[str]) -> list[str]:
    """The generic products a word is a kind of by its head character. A known word must
    share the generic's category path (核桃 is no 桃子); an unknown one takes the generic
    whose category the listing's own category agrees with."""
    lex = lexicon()
    head = lex.heads.get(word[-1]) if word else None
    if head is None or any(word.endswith(e) for e in head.exceptions):
        return []
    generics = [g for g in head.of(known=path is not None)
                if g != word and not _owned_by_another(word, g)]
    if path is not None:
        return [g for g in generics if lex.category_of.get(g) in (None, path)]
    # The listing's own category decides between generics, and rules out one it contradicts
    # (哈密 西州蜜 in 生鲜水果 is no 蜂蜜); a generic outside the tree (蘑菇) fits any.
    tops = [c for c in imported if c not in lex.virtual]
    agreeing = [g for g in generics if g not in lex.category_of
                or lex.category_of[g].partition("/")[0] in tops]
    return (agreeing if tops else generics)[:1]


def _owned_by_another(word: str, generic: str) -> bool:
    """A generic named after its owner (鸡蛋 is the 鸡's 蛋) does not take words naming
    another owner of its kind: 鹅蛋 and 鹌鹑蛋 are no 鸡蛋, but 乌鸡蛋 is."""
    lex = lexicon()
    owner = generic[:-1]
    if not owner or owner not in lex.products or generic[-1] != word[-1]:
        return False
    modifier = word[:-1]
    named = next((modifier[start:] for start in range(len(modifier))
                  if modifier[start:] in lex.products), None)
    if named is None:
        return False
    canonical = lex.products[named]
    return (lex.category_of.get(canonical) == lex.category_of.get(lex.products[owner])
            and lex.products[owner] not in (canonical, *kinds_of(named)))


def _kinds(product: str, surface: str, imported: list[str]) -> list[str]:
    lex = lexicon()
    kinds: list[str] = []
    if product in lex.specialties:
        kinds.append(lex.specialties[product].base)
    for name in dict.fromkeys((product, surface, *kinds)):
        if lex.products.get(name, name) in lex.varieties:  # 蛇果 is an 苹果
            kinds.append(lex.varieties[lex.products.get(name, name)])
        kinds.extend(kinds_of(name))
        kinds.extend(_generics(name, lex.category_of.get(lex.products.get(name, name)), imported))
        kinds.extend(_kept_form_of(lex.products.get(name, name)))
    return [k for k in dict.fromkeys(kinds) if k != product]


def _kept_form_of(product: str) -> list[str]:
    """A product named as another with a keeping form after it, when one umbrella covers
    both (猴头菇干 and 竹荪干 in 干货/菌菇, 猴头菇 and 竹荪 in 蔬菜/鲜菌: all 蘑菇), is that
    other one dried: a buyer of 猴头菇 takes it. Without the umbrella a form makes other
    goods (葡萄干 is no 葡萄, 牛肉干 no 牛肉)."""
    lex = lexicon()
    base = lex.products.get(product[:-1]) if len(product) > 2 and product[-1] in lex.forms else None
    if base is None or base == product:
        return []
    umbrella = lex.umbrellas.get(lex.category_of.get(product, ""))
    return [base] if umbrella and umbrella == lex.umbrellas.get(lex.category_of.get(base, "")) else []


def _meat(title: str) -> list[str]:
    """The meat a title sells: a cut of an animal is that animal's meat (红原牦牛 牛腱子 is
    牦牛肉 and 牛肉; 巴马香猪 五花 is 猪肉 and 五花肉), and whole poultry is its meat."""
    lex = lexicon()
    tokens = [t for run in _CJK_RUN.findall(title) for t in segment.words(run)]
    terms: list[str] = []
    animal: str | None = None
    for token in tokens:
        cuts = lex.cuts.get(token) or (lex.cuts.get(token[1:]) if token[0] in lex.meat else None)
        beast = animal or (only_animal(cuts) if cuts else None)
        if cuts and token[0] in lex.meat and not (animal and animal[-1] == token[0]):
            beast = token[0]  # 牛腱子 names its animal; after 牦牛 it is still 牦牛's
        if cuts and beast:
            fitting = [c for c in cuts if beast[-1] in c.animals]
            if fitting:
                terms.extend(_meat_of(beast))
                terms.extend(c.product for c in fitting if c.product)
        if token[-1] in lex.meat and token not in lex.cuts:
            animal = token
    return list(dict.fromkeys(terms))


def only_animal(cuts: Sequence[Cut]) -> str | None:
    """The animal a cut names without saying it, when it is sold for one only (肘子 and
    蹄髈 are a pig's, 羊蝎子 a sheep's; 腱子 may be any of four)."""
    animals = {a for cut in cuts for a in cut.animals}
    return animals.pop() if len(animals) == 1 else None


def _meat_of(animal: str) -> list[str]:
    """牦牛 → 牦牛肉 and 牛肉; 羔羊 → 羊肉."""
    lex = lexicon()
    specific = lex.products.get(animal + "肉")
    return [t for t in (specific, lex.meat[animal[-1]]) if t]


def imported_categories(category: str, tags: Sequence[str] = ()) -> list[str]:
    """A listing's own category and tags on our category tree: 生鲜水果 → 水果, 休闲零食 →
    零食, 肉禽蛋 → 肉类 and 禽蛋, a 年货 tag → 年货 (top levels and virtual categories)."""
    lex = lexicon()
    found: list[str] = []
    for text in (category, *tags):
        text = text.strip()
        pieces = [text] if text in lex.categories else segment.search_terms(text)
        read = [lex.categories[w].partition("/")[0] for w in pieces
                if w in lex.categories and w not in lex.products]
        # Another platform's name our tree lacks is read by its head (茗茶 is a 茶, 中外名酒
        # a 酒, 禽肉蛋品 肉 and 蛋): only when no piece of it is a category word of ours.
        found.extend(read or [top for w in pieces for top in [_category_by_head(w)] if top])
        found.extend(_sub_category_tops(text))
    return list(dict.fromkeys(found))


def _sub_category_tops(text: str) -> list[str]:
    """A level of the exported category that is one of our sub-categories' own names puts the
    listing under that sub-category's top as well: 蔬菜·豆制品 holds 豆腐 (加工食品/豆制品),
    which the 蔬菜 level alone would contradict."""
    subs = _sub_categories()
    return [subs[level] for level in _LEVEL_BREAK.split(simplified(text)) if level in subs]


@cache
def _sub_categories() -> dict[str, str]:
    """Our tree's sub-category names that belong to one top only, each to that top; one that
    is a product's name too (黑茶, 猪肉) is left to the product reading."""
    lex = lexicon()
    tops: dict[str, set[str]] = {}
    for path in set(lex.category_of.values()):
        top, _, sub = path.partition("/")
        if len(sub) > 1 and sub not in lex.products:
            tops.setdefault(sub, set()).add(top)
    return {sub: next(iter(t)) for sub, t in tops.items() if len(t) == 1}


def shelf_text(category: str) -> str:
    """A listing's exported category as the words it is indexed under. A level naming
    several goods of ours (禽蛋-鸡鸭鹅, 调味-酱油醋, 零食-肉干肉松) says what shelf the
    listing is on, not what it is: its goods words are left out (a duck under 鸡鸭鹅 is no
    鹅), its category words kept. A level naming one product (水果/葡萄) stays whole."""
    lex = lexicon()
    kept: list[str] = []
    for level in _LEVEL_BREAK.split(simplified(category)):
        terms = segment.search_terms(level) if level else []
        goods = {lex.products[w] for w in terms if w in lex.products and w not in lex.categories}
        if len(goods) > 1 and level not in lex.products:
            kept.extend(w for w in terms if w not in lex.products or w in lex.categories)
        elif level:
            kept.append(level)
    return " ".join(kept)


_LEVEL_BREAK = re.compile(r"[\s\-/>|,，、·_]+")


_GENERIC_SUFFIXES = ("制品", "产品", "类", "品")  # 蛋品, 酒类: the head is before them


def _category_by_head(word: str) -> str | None:
    """The top category a word the tree lacks is headed by: its longest ending that is a
    category word, bare or with 类 (蛋 → 蛋类), after a generic suffix (品, 类) is dropped.
    A product name is left to the product reading (黑茶 names goods, not a category)."""
    lex = lexicon()
    if word in lex.products:
        return None
    root = next((word[:-len(s)] for s in _GENERIC_SUFFIXES
                 if word.endswith(s) and len(word) > len(s)), word)
    for start in range(len(root)):
        for name in (root[start:], root[start:] + "类"):
            path = lex.categories.get(name)
            if path and name not in lex.products:
                return path.partition("/")[0]
    return None


def goods_terms(title: str, category: str = "", tags: Sequence[str] = (),
                description: str = "") -> list[str]:
    """Canonical goods of a listing, its head product first: the head of each part of its
    title (when they agree on a category), the generic products those are kinds of, the
    meat a cut is, the category path, and its own category and tags on our tree."""
    lex = lexicon()
    imported = imported_categories(category, tags)
    title, description = simplified(title), simplified(description)  # 蒜薹 is read as 蒜苔
    runs = [run for run in _runs(title) if not _names_an_extra(run)]
    found = [g for g in (_run_goods(run, imported) for run in runs if not _names_a_use(run))
             if g] or [g for g in (_run_goods(run, imported) for run in runs) if g]
    meat = _meat(title)
    if found and not meat and not any(_fits_path(g.path, imported) for g in found):
        # A title read only as goods the listing's own category contradicts (凤县 大红袍 in
        # 调味品 is no 大红袍 tea): what its category, tags or description name in that
        # category says what the name is here (花椒颗粒大); with no such evidence the
        # title's reading stands (柿饼 in 水果: a category holds goods dried or kept too).
        found = _evidenced(category, tags, "", imported) or _evidenced(
            "", (), description, imported) or found
    if not found and not meat:  # a cut names its goods (花猪 前腿肉 is no 五花肉)
        # The most specific evidence first: what the exported category or tags name, a
        # character only one product has, a description naming goods of the title's head;
        # only then the bare category a head word names (硒砂瓜: 瓜类).
        found = _evidenced(category, tags, "", imported) or _by_distinctive_character(
            title, imported) or _described(title, description, imported) or _category_headed(
            title, imported) or _evidenced("", (), description, imported)
    if found and any(g.path for g in found):
        # Parts of a title that disagree: the category most of them name; on a tie the one
        # a part names in full (薄皮 in 沃柑 … 薄皮 纯甜 is a marketing word, not 薄皮甜瓜 with
        # its generic dropped) and as a product rather than by a head character (热干面
        # against 碱水面, a 面 of some kind), then the one the listing's own category
        # agrees with, else the last.
        votes = Counter(g.path for g in found if g.path)
        best = max(votes.values())
        tied = [g.path for g in found if g.path and votes[g.path] == best]
        tied = [g.path for g in found if g.path in tied and not g.elided] or tied
        tied = [g.path for g in found if g.path in tied and g.product] or tied
        # The goods the exported category names as a level (速食冻品 > 粽子) are what the
        # listing is; the others are what it holds (咸蛋黄 in a 粽子 is no 鸭蛋).
        shelved = _shelved_products(category)
        tied = [g.path for g in found if g.path in tied and g.product in shelved] or tied
        agreeing = [p for p in tied if p.partition("/")[0] in imported]
        chosen = (agreeing or tied)[-1]
        found = [g for g in found if g.path == chosen or g.path is None]
    terms: list[str] = []
    for goods in found:
        if goods.product:
            terms.append(goods.product)
        elif not goods.kinds and goods.path:  # a word headed by a category word (硒砂瓜)
            terms.extend(reversed(goods.path.split("/")))
        terms.extend(goods.kinds)
    for product in [t for t in terms if t in lex.whole.values()]:
        terms.extend(lex.meat[k] for k, whole in lex.whole.items() if whole == product)
    terms.extend(meat)
    for product in list(terms):
        path = lex.category_of.get(product, "")
        terms.extend(part for part in path.split("/") if part)
        if path in lex.umbrellas:  # 松茸 is in 鲜菌, so it is a 蘑菇 (菌子) too
            terms.append(lex.umbrellas[path])
    # A category naming several of ours (肉禽蛋) counts for the ones the title agrees with.
    tops = [c for c in imported if c not in lex.virtual]
    own = {t for t in terms if t in tops}
    terms.extend(c for c in imported if c in lex.virtual or len(tops) == 1 or not own or c in own)
    return list(dict.fromkeys(terms))


def _names_an_extra(run: str) -> bool:
    """A run that begins with 配, 送 or 赠 (`extras` in data/seller.json) names what comes
    with the goods, not the goods: 热干面 … 配芝麻酱 is noodles, 送开瓶器 no goods at all."""
    tokens = segment.words(run)
    return len(tokens) > 1 and tokens[0] in _extras()


def _shelved_products(category: str) -> frozenset[str]:
    """Products an exported category names as one of its levels (糕点 > 面包, 粽子)."""
    lex = lexicon()
    return frozenset(lex.products[level] for level in _LEVEL_BREAK.split(simplified(category))
                     if level in lex.products)


def _names_a_use(run: str) -> bool:
    """A run that begins with a verb of use (`uses` in data/seller.json) says what the goods
    are for, when another run names them: 大豆 … 打豆浆 发豆芽 is soybeans, no 豆芽."""
    tokens = segment.words(run)
    return len(tokens) > 1 and tokens[0] in _uses()


@cache
def _uses() -> frozenset[str]:
    from nlp.lexicon import table
    return frozenset(table("seller.json").get("uses", ()))


@cache
def _extras() -> frozenset[str]:
    from nlp.lexicon import table
    return frozenset(table("seller.json").get("extras", ()))


def _runs(title: str) -> list[str]:
    """A title's runs, two runs a space splits read as one where the joined form names
    goods across the space (六安 瓜片 is 六安瓜片; 赣南 脐橙 stays two runs, 脐橙 being
    named within the second)."""
    matches = list(_CJK_RUN.finditer(title))
    runs: list[str] = []
    i = 0
    while i < len(matches):
        run = matches[i].group()
        if i + 1 < len(matches) and not title[matches[i].end():matches[i + 1].start()].strip():
            after = matches[i + 1].group()
            joined = run + after
            name = _product_ending(joined, len(joined), {len(joined)}, len(after) + 1)
            if name is not None and _product_ending(joined, len(joined), {len(joined)},
                                                    len(after)) == name:
                runs.append(joined)
                i += 2
                continue
        runs.append(run)
        i += 1
    return runs


@lru_cache(maxsize=65_536)
def _run_words(run: str) -> tuple[str, ...]:
    # Titles come back in query after query; segmenting each again cost most of a
    # fallback search's time.
    return tuple(segment.words(run))


def names_as_head(title: str, surfaces: Sequence[str]) -> bool:
    """Whether a title is about one of these names, not merely mentions it: 德宏古法红糖 is
    红糖, but 糯米甜酒 is no 糯米 and 潮汕牛肉丸 no 牛肉 (the head comes last)."""
    for run in _CJK_RUN.findall(title):
        tokens = list(_run_words(run))
        while len(tokens) > 1 and _is_noise(tokens[-1]):
            tokens.pop()
        body = "".join(tokens)
        if any(surface and body.endswith(surface) for surface in surfaces):
            return True
    return False


def titled_as_said(title: str, said: str) -> bool:
    """Whether a title is about the goods as a buyer wrote them, spaces aside: a run of it,
    or two runs sellers spaced apart (侗家 酸鱼), ends with them, or with them dried (禾花鱼
    in 禾花鱼干) or with what they name at the head (列巴 in 大列巴), or names them before a
    product they are a kind of (金帅 in 金帅苹果), or their head is a product's last
    character (薰衣草蜜 in 薰衣草蜂蜜)."""
    chunks = title.split()
    # Every way below needs the words as said, or all but their head, in a run.
    if (said[:-1] if len(said) > 2 else said) not in "".join(chunks):
        return False
    runs = [*chunks, *(a + b for a, b in zip(chunks, chunks[1:]))]
    return any(names_as_head(run, (said, said + "干")) or _before_generic(run, said)
               or _head_shortened(run, said) for run in runs)


def _head_shortened(run: str, said: str) -> bool:
    """薰衣草蜜 in 薰衣草蜂蜜: the modifier as written, then a product whose name ends in
    the buyer's last character (蜜 for 蜂蜜): the product named by its head alone."""
    modifier, head = said[:-1], said[-1]
    at = run.find(modifier) if len(modifier) > 1 else -1
    if at < 0:
        return False
    tail = run[at + len(modifier):]
    return any(tail[:k] in lexicon().products and tail[:k].endswith(head)
               for k in range(2, min(len(tail), 4) + 1))


def _before_generic(run: str, said: str) -> bool:
    """金帅 in 金帅苹果: a name the lexicon lacks written before the product it is a kind
    of; goods before goods are an ingredient (糯米 in 糯米甜酒 is no 糯米)."""
    lex = lexicon()
    at = run.find(said)
    if at < 0 or run[at + len(said):] not in lex.products:
        return False
    return not any(said[i:j] in lex.products for i in range(len(said))
                   for j in range(i + 2, len(said) + 1))


def known_goods(word: str) -> bool:
    """A word the lexicon reads as goods whole (糯米, 水果): its reading is no misreading."""
    lex = lexicon()
    return word in lex.products or word in lex.categories


def generics_of(product: str) -> list[str]:
    """The generic products a product is a kind of: 滩羊肉 → 羊肉, 蛇果 → 苹果, 椪柑 → 橘子."""
    lex = lexicon()
    if product not in lex.products:
        return []
    return _kinds(lex.products[product], product, [])


def widened(product: str) -> list[str]:
    """What a product is a kind of, for offering in its place when it is sold out: its
    generics, else the product its sub-category is named after (六安瓜片 sits in
    茶叶/绿茶, so it is a 绿茶; 五花肉 in 肉类/猪肉 a 猪肉)."""
    lex = lexicon()
    generics = generics_of(product)
    if generics or product not in lex.products:
        return generics
    path = lex.category_of.get(lex.products[product], "")
    namesake = lex.products.get(path.partition("/")[2])
    if namesake is None or namesake == lex.products[product]:
        return []
    return [namesake] if lex.category_of.get(namesake) == path else []


def animal_meat(product: str) -> list[str]:
    """A cut named with its animal is that animal's meat (羊腿, 羊排 → 羊肉; 牛尾 → 牛肉): what
    to offer when it is sold out."""
    lex = lexicon()
    meat = lex.meat.get(product[:1])
    if meat is None or meat == product or not lex.category_of.get(product, "").startswith("肉类"):
        return []
    return [meat]


def also_sought(product: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Other goods a request for the product takes, each with the categories it must sit
    in (none: any): a product named by a head character alone is every generic of that
    head (枣 is 枣 and 红枣, so 乐陵小枣 finds dried dates), and a product that is another
    with a form before it is that other within its own top category (鲜枣 is 枣 among
    水果, 干辣椒 辣椒 among 干货)."""
    lex = lexicon()
    found: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    head = lex.heads.get(product) if len(product) == 1 else None
    for generic in head.generics if head else ():
        if generic != product:
            found.append((tuple(product_surfaces(generic)), ()))
    top = lex.category_of.get(product, "").partition("/")[0]
    for surface in product_surfaces(product):
        base = lex.products.get(surface[1:])
        if top and surface[0] in lex.forms and base and base != product:
            found.append((tuple(product_surfaces(base)), (top,)))
    return list(dict.fromkeys(found))


def qualifier_wordings(qualifier: str) -> tuple[str, ...]:
    """A word the offers' titles must show, and the other wordings of the same cut of
    meat, which say the same (腱子 is also written 牛腱, 腱子肉), or the word with its head
    dropped (石斑鱼: 龙胆石斑)."""
    lex = lexicon()
    # A cut's qualifier is kept without its 肉 (松板 of 松板肉): its wordings are the cut's.
    cuts = lex.cuts.get(qualifier) or lex.cuts.get(qualifier + "肉", ())
    same = [wording for cut in cuts if cut.product is None for wording in cut.wordings]
    dropped = head_dropped_wording(qualifier)  # 石斑鱼 is titled 龙胆石斑 too
    # A kind named by its head (银鱼, a 鱼) is sold dried under the same name with 干 after
    # it (银鱼干), one word in the title's index.
    dried = [qualifier + "干"] if len(qualifier) > 1 and qualifier[-1] in lex.heads else []
    return tuple(dict.fromkeys((qualifier, *same, *_named_before_category(qualifier),
                                *([dropped] if dropped else []), *dried)))


def _named_before_category(qualifier: str) -> list[str]:
    """A name written onto a category word (杜康酒: 酒) is also written without it, the
    category being the goods (a title says 杜康 50度); a stem of one character says
    nothing alone (黄茶 keeps 黄茶)."""
    lex = lexicon()
    for start in range(2, len(qualifier)):
        ending = qualifier[start:]
        if ending in lex.categories and ending not in lex.products:
            return [qualifier[:start]]
    return []


def kinds_of(product: str) -> list[str]:
    """Shorter products that end this one and share its category: 薄皮核桃 → 核桃,
    红心猕猴桃 → 猕猴桃, 香醋 → 醋, but 黄花菜 is no 花菜 and 西红柿 no 柿子. A product of one
    character must be named so itself (醋), not be a short name of another (蛋 is 鸡蛋, so
    鹅蛋 is none)."""
    lex = lexicon()
    path = lex.category_of.get(lex.products.get(product, product))
    return [lex.products[product[k:]] for k in range(1, len(product))
            if product[k:] in lex.products and _ends_as_kind(product, k, path)]


def _ends_as_kind(product: str, k: int, path: str | None) -> bool:
    lex = lexicon()
    ending = lex.products[product[k:]]
    if len(product) - k == 1:  # 香醋 is a 醋 (a form is no kind: 干枣 is no fresh 枣)
        return ending == product[k:] and path is not None and lex.category_of.get(ending) == path
    return path is None or product[:k] in lex.forms or lex.category_of.get(ending) in (None, path)


def may_be(indexed: str | None, product: str) -> bool:
    """Whether a listing indexed as `indexed` (None: goods we could not read) may be the
    product: both sit under the same top category, either is outside the tree, or it is
    the product kept another way (笋干 is 笋 dried). 延边辣白菜 read as 泡菜 is no 白菜."""
    lex = lexicon()
    if not indexed:
        return True
    tops = [lex.category_of.get(lex.products.get(name, name), "").partition("/")[0]
            for name in (indexed, product)]
    return not all(tops) or tops[0] == tops[1] or _form_of(indexed, product)


def _form_of(indexed: str, product: str) -> bool:
    """干辣椒 and 笋干 are forms of 辣椒 and 竹笋 (笋): a form written before or after it."""
    lex = lexicon()
    names = product_surfaces(lex.products.get(product, product))
    return any(surface in (form + name, name + form) for surface in
               product_surfaces(lex.products.get(indexed, indexed))
               for form in lex.forms for name in names)


def search_parts(product: str) -> list[str]:
    """The parts of a compound product name, for titles that spell it apart: its dictionary
    parts and whatever they leave over (文昌鸡 = 文昌 鸡, so 文昌椰青 is no 文昌鸡)."""
    parts = [part for part in segment.search_terms(product) if part != product]
    if not parts:
        return []
    covered = {i for part in parts for start in _occurrences(product, part)
               for i in range(start, start + len(part))}
    rest = "".join(char if i not in covered else " " for i, char in enumerate(product))
    return parts + rest.split()


def _occurrences(text: str, part: str) -> list[int]:
    return [i for i in range(len(text) - len(part) + 1) if text.startswith(part, i)]


def weight_factor(unit: str) -> Decimal | None:
    """斤 per unit for weight units (公斤 → 2), None for counted units (箱, 个 ...)."""
    canonical, factor = canonical_unit(unit.strip())
    return factor if canonical == "斤" else None


def product_surfaces(product: str) -> list[str]:
    lex = lexicon()
    return sorted(lex.surfaces.get(product, {product}), key=lambda s: (s != product, s))


def sound_twins(product: str) -> list[str]:
    """Other products with a name of two characters or more said exactly as one of this
    one's (竹笋 and 竹荪 are both zhusun): a typo or pinyin read as one may mean the other."""
    sounds = {pinyin_of(s) for s in product_surfaces(product) if len(s) > 1}
    by_sound = _products_by_sound()
    return list(dict.fromkeys(p for sound in sorted(sounds) for p in by_sound.get(sound, ())
                              if p != product))


@cache
def _products_by_sound() -> dict[str, tuple[str, ...]]:
    """Canonical products by the toneless pinyin of each of their names of two characters
    or more."""
    found: dict[str, list[str]] = {}
    for surface, canonical in lexicon().products.items():
        if len(surface) > 1:
            found.setdefault(pinyin_of(surface), []).append(canonical)
    return {sound: tuple(dict.fromkeys(names)) for sound, names in found.items()}


def said_alike_in(word: str, title: str) -> str | None:
    """The word of a title said exactly as a buyer's word that it does not show (原蘑 in
    阿尔山 元蘑: yuanmo), or None. Chinese words of two characters or more only."""
    if len(word) < 2 or not _CJK_RUN.fullmatch(word):
        return None
    sound = pinyin_of(word)
    for run in _CJK_RUN.findall(title):
        for start in range(len(run) - len(word) + 1):
            window = run[start:start + len(word)]
            if window != word and pinyin_of(window) == sound:
                return window
    return None


def written_alike_in(word: str, title: str) -> str | None:
    """The word of a title a buyer's word was meant as, one character written or said
    alike apart and the one clear best (唐归 in 岷县 当归: 唐 for 当), or None. A word read
    as a kind of the goods may be a name of its own (啤酒 among 酒): only a likeness of two
    or more makes it a typo (黄酒 is no 啤酒)."""
    from nlp.shapes import meant_among

    if len(word) < 2 or not _CJK_RUN.fullmatch(word):
        return None
    windows = [run[start:start + len(word)] for run in _CJK_RUN.findall(title)
               for start in range(len(run) - len(word) + 1)]
    return meant_among(word, windows, least=2)


def dried_forms(product: str) -> list[str]:
    """Products that are this one kept dry (杏子 → 杏干, 荔枝 → 荔枝干): a buyer whose fresh
    goods are sold out may take them instead, told so."""
    lex = lexicon()
    return list(dict.fromkeys(lex.products[surface + "干"] for surface in product_surfaces(product)
                              if surface + "干" in lex.products
                              and lex.products[surface + "干"] != product))


def specialty_origin(product: str) -> tuple[str, list[str]] | None:
    """(base product, place names) for a regional specialty like 赣南脐橙."""
    lex = lexicon()
    specialty = lex.specialties.get(product)
    if specialty is None:
        return None
    regions = lex.regions.get(specialty.origin, [])
    return specialty.base, list(regions[0].names()) if regions else [specialty.origin]


def category_terms(category: str) -> list[str]:
    """The words a category matches in the index; a virtual one (年货) its parts, and itself:
    a listing whose own exported category is that virtual category (休闲零食 → 零食) is one."""
    lex = lexicon()
    if category in lex.virtual:  # an occasion's parts may be virtual too (下酒菜: 熟食)
        return list(dict.fromkeys([*(term for part in lex.virtual[category]
                                     for term in (category_terms(part) if part in lex.virtual
                                                  else [part.rpartition("/")[2]])),
                                   category]))
    return [category]


def attribute_surfaces(attribute: str) -> list[str]:
    lex = lexicon()
    return sorted(surface for surface, canonical in lex.attributes.items()
                  if canonical == attribute and len(surface) > 1 or surface == attribute)


def region_names(origin: dict[str, Any]) -> list[str]:
    """Place names that a listing's origin text shows for an origin slot."""
    if origin.get("places"):
        return list(origin["places"])
    if origin.get("county"):
        return [origin["county"]]
    if origin.get("cities"):
        return list(origin["cities"])
    if origin.get("city") and origin.get("city") != origin.get("province"):
        return [origin["city"]]
    if origin.get("provinces"):
        return list(origin["provinces"])
    return [origin["province"]] if origin.get("province") else []


def short_place(name: str) -> str:
    """云南省 → 云南, 凉山彝族自治州 → 凉山: how people say it."""
    return lexicon().short.get(name, name)


def origin_label(origin: dict[str, Any]) -> str:
    """A short name for replies: 云南, 赣州, 寻乌."""
    return "、".join(short_place(name) for name in region_names(origin)[:3])


# Ways a Chinese phrase says a thing is absent (不加碘, 未加碘, 无碘, 无添加, 零添加).
_NEGATIONS = ("不", "无", "未", "没", "零", "非", "免")
_LONG_NEGATIONS = ("没有", "不要", "不含")
_NEGATED_VERBS = ("添加", "加", "含", "放", "带")


def negated_wordings(phrase: str) -> tuple[str, ...]:
    """The wordings of a phrase that says something is absent, any negation for any other
    (不加碘: 未加碘, 无碘 …); () for a phrase that negates nothing. 加碘 alone is none of
    them, so a listing saying 加碘 never holds 不加碘."""
    negation = _negation(phrase)
    thing = phrase[len(negation):] if negation else ""
    if not thing or negation == "非" and len(thing) < 2:
        return ()
    verb = next((v for v in _NEGATED_VERBS if thing.startswith(v) and len(thing) > len(v)), "")
    bare = thing[len(verb):]
    forms = {n + thing for n in _NEGATIONS} | ({n + bare for n in ("无", "不含", "零")}
                                                if verb else set())
    return tuple(sorted(forms, key=lambda f: (-len(f), f)))


def absent_thing(phrase: str) -> str:
    """What a negated phrase says is absent, as a listing would say it is there (不加碘:
    加碘; 没有添加剂: 添加剂)."""
    return phrase[len(_negation(phrase)):]


def _negation(phrase: str) -> str:
    """The negation a phrase opens with, the longest first; '' for none."""
    return next((n for n in (*_LONG_NEGATIONS, *_NEGATIONS) if phrase.startswith(n)), "")


def described_wordings(phrase: str) -> tuple[str, ...]:
    """A describing word as listings may show it: whole, or its two-character parts
    (凉拌菜: 凉拌), 现 and 鲜 being one (现剥, 鲜剥)."""
    forms = [phrase, *(p for p in search_parts(phrase) if len(p) >= 2)]
    forms += [f.replace("现", "鲜") for f in forms if "现" in f]
    return tuple(dict.fromkeys(forms))
