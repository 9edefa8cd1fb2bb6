"""`make eval`: score the dedup engine on a labelled syndication set (../shared/data/syndication-dev).

Pairwise precision, recall and F1 over same-cluster pairs, the adjusted Rand index, recall for each
kind of copy (a copy counts as found when it lands in its original's cluster), updates (`version`)
joined to their original, and the share of found copies whose relation is right. The definitions
follow the reference scorer in ../shared/eval/score_clusters.py.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import replace
from math import comb
from pathlib import Path

from benches.sections import commit, replace_section
from dedup.params import DedupParams, MatchParams
from dedup.records import EXCERPT, EXPANDED, NEAR_DUPLICATE, Assignment, Doc

#: How the labels' kinds of copy map onto Copydesk's relations.
EXPECTED_RELATION = {
    "near_duplicate": NEAR_DUPLICATE,
    "spun": NEAR_DUPLICATE,
    "expanded": EXPANDED,
    "expanded_spun": EXPANDED,
    "excerpt": EXCERPT,
}


#: Label relations that are not copies of a cluster's original.
NOT_COPIES = {"original", "singleton", "version"}
#: Kinds of the negatives of syndication-dev2 (`kind` column): texts that must join no cluster.
NEGATIVES = ("quote_share", "digest", "distractor")


def _pairs(groups: Mapping[str, list[str]]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for members in groups.values():
        m = sorted(members)
        out.update((m[i], m[j]) for i in range(len(m)) for j in range(i + 1, len(m)))
    return out


def adjusted_rand(truth: Mapping[str, str], pred: Mapping[str, str]) -> float:
    ids = list(truth)
    cont = Counter((truth[i], pred[i]) for i in ids)
    sum_ij = sum(comb(n, 2) for n in cont.values())
    sum_a = sum(comb(n, 2) for n in Counter(truth.values()).values())
    sum_b = sum(comb(n, 2) for n in Counter(pred[i] for i in ids).values())
    expected = sum_a * sum_b / comb(len(ids), 2)
    maximum = (sum_a + sum_b) / 2
    return (sum_ij - expected) / (maximum - expected) if maximum != expected else 1.0


def score(labels: list[dict[str, str]], assignments: list[Assignment]) -> dict[str, object]:
    """Scores of `assignments` against label rows (id, cluster, relation, original_id)."""
    by_id = {a.article_id: a for a in assignments}
    truth = {r["id"]: r["cluster"] for r in labels}
    pred = {i: by_id[i].cluster_id if i in by_id else f"missing:{i}" for i in truth}
    tg: dict[str, list[str]] = defaultdict(list)
    pg: dict[str, list[str]] = defaultdict(list)
    for i in truth:
        tg[truth[i]].append(i)
        pg[pred[i]].append(i)
    tp_set, pp_set = _pairs(tg), _pairs(pg)
    tp = len(tp_set & pp_set)
    precision = tp / len(pp_set) if pp_set else 1.0
    recall = tp / len(tp_set) if tp_set else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    original_of_cluster = {r["cluster"]: r["id"] for r in labels if r["relation"] == "original"}
    recall_by: dict[str, float] = {}
    right_rel = found = 0
    for kind in sorted({r["relation"] for r in labels} - NOT_COPIES):
        rows = [r for r in labels if r["relation"] == kind]
        hits = [r for r in rows if pred[r["id"]] == pred[original_of_cluster[r["cluster"]]]]
        recall_by[kind] = round(len(hits) / len(rows), 4)
        if kind in EXPECTED_RELATION:
            found += len(hits)
            right_rel += sum(1 for r in hits if by_id[r["id"]].relation == EXPECTED_RELATION[kind])
    versions = [r for r in labels if r["relation"] == "version"]
    joined = sum(1 for r in versions if pred[r["id"]] == pred.get(r.get("original_id", ""), ""))
    singles = [r["id"] for r in labels if r["relation"] == "singleton"]
    negatives = {
        kind: f"{sum(1 for r in labels if r.get('kind') == kind and len(pg[pred[r['id']]]) > 1)}/"
        f"{sum(1 for r in labels if r.get('kind') == kind)}"
        for kind in NEGATIVES
        if any(r.get("kind") == kind for r in labels)
    }
    return {
        "negatives_joined": negatives,
        "articles": len(truth),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "ari": round(adjusted_rand(truth, pred), 4),
        "recall_by_relation": recall_by,
        "relation_accuracy": round(right_rel / found, 4) if found else None,
        "versions_joined_to_original": f"{joined}/{len(versions)}",
        "singletons_wrongly_joined": sum(1 for i in singles if len(pg[pred[i]]) > 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, nargs="?", default=Path("../shared/data/syndication-dev"))
    ap.add_argument(
        "--dev2", type=Path, default=None, help="syndication-dev2 (default: beside DATA), scored as well"
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--out", type=Path, help="also write the scores into this markdown file (docs/benchmarks.md)"
    )
    args = ap.parse_args(argv)
    loaded = _load(args.data)
    if loaded is None:
        print(f"skip: no labelled set at {args.data}", file=sys.stderr)
        return 0
    from dedup.engine import deduplicate

    docs, labels = loaded
    t0 = time.perf_counter()
    result = deduplicate(docs)
    elapsed = time.perf_counter() - t0
    out = score(labels, result.assignments)
    out["seconds"] = round(elapsed, 2)
    hard_docs = harden(docs)
    hard = score(labels, deduplicate(hard_docs).assignments)
    never = DedupParams(
        match=replace(MatchParams(), boilerplate_min_texts=len(docs) + 1, wire_min_texts=len(docs) + 1)
    )
    unstripped = score(labels, deduplicate(hard_docs, never).assignments)
    wired = _wire_scores(docs, labels)
    dev2: dict[str, object] | None = None
    loaded2 = _load(args.dev2 or args.data.parent / "syndication-dev2")
    if loaded2 is not None:
        t0 = time.perf_counter()
        dev2 = score(loaded2[1], deduplicate(loaded2[0]).assignments)
        dev2["seconds"] = round(time.perf_counter() - t0, 2)
        wired.update({f"dev2 {k}": v for k, v in _wire_scores(*loaded2).items()})
    if args.json:
        print(
            json.dumps(
                {
                    "dev": out,
                    "hardened": hard,
                    "hardened_unstripped": unstripped,
                    "dev2": dev2,
                    "wire_lined": wired,
                }
            )
        )
    else:
        for key, value in out.items():
            print(f"{key}: {value}")
        print(f"hardened set: {hard}")
        print(f"hardened set, boilerplate not stripped: F1 {unstripped['f1']}")
        print(f"syndication-dev2: {dev2}")
        print(f"wire-lined: {wired}")
    if args.out:
        replace_section(args.out, HEADING, render(out, hard, unstripped, dev2, wired, args.data))
    return 0


def _wire_scores(docs: list[Doc], labels: list[dict[str, str]]) -> dict[str, float]:
    """F1 of the set `wire_lined`, with the lines many sources print learned and without."""
    from dedup.engine import deduplicate

    lined = wire_lined(docs)
    without = DedupParams(match=replace(MatchParams(), wire_min_texts=len(docs) + 1))
    out = {}
    for name, params in (("learned", DedupParams()), ("not learned", without)):
        f1 = score(labels, deduplicate(lined, params).assignments)["f1"]
        assert isinstance(f1, float)
        out[name] = f1
    return out


def _load(data: Path) -> tuple[list[Doc], list[dict[str, str]]] | None:
    """The articles and label rows of a labelled set, or None where it is absent."""
    articles, labels_csv = data / "articles.jsonl.gz", data / "labels.csv"
    if not articles.exists() or not labels_csv.exists():
        return None
    from dedup.inputs import load_docs

    with open(labels_csv, newline="", encoding="utf-8") as fh:
        return load_docs(str(articles)), list(csv.DictReader(fh))


_FILLER = (
    "independent community journalism readers members support local coverage newsroom reporting trusted "
    "award winning regional daily editors policy corrections privacy terms subscribe digital access "
    "unlimited newsletter morning briefing alerts app download weekend edition print archive"
).split()


def harden(docs: list[Doc], seed: int = 5) -> list[Doc]:
    """The same articles made harder the way real pages are: each source prints a long footer of its
    own (an "About us" block and a subscription plug, ~90 words) under every article, and every
    article carries an ad line and two "Related:" lines (headlines of other articles of its source)
    inside its body. The labels stay those of the plain set."""
    rng = random.Random(seed)
    footers: dict[str | None, list[str]] = {}
    for source in sorted({d.source or "" for d in docs}):
        r = random.Random(source)
        footers[source] = [
            f"About {source}: " + " ".join(r.choice(_FILLER) for _ in range(60)) + ".",
            f"Subscribe to {source} for " + " ".join(r.choice(_FILLER) for _ in range(25)) + ".",
        ]
    titles: dict[str, list[str]] = defaultdict(list)
    for d in docs:
        titles[d.source or ""].append(d.title or "More news")
    out = []
    for d in docs:
        paras = [p for p in d.text.split("\n") if p.strip()]
        for at in (5, 2):
            if len(paras) > at:
                paras.insert(at, "Related: " + rng.choice(titles[d.source or ""]))
        if len(paras) > 3:
            paras.insert(3, "ADVERTISEMENT")
        out.append(replace(d, text="\n".join([*paras, *footers[d.source or ""]])))
    return out


#: Two lines a wire prints under its stories, of no form that dedup.nontext knows.
WIRE_LINES = (
    "Meridian Wire material is licensed to its subscribers for a single edition, and resale or reuse in "
    "any other form is not permitted.",
    "Questions about this report go to the Meridian desk in Denver, which files the service around the "
    "clock.",
)


def wire_lined(docs: list[Doc], seed: int = 7, per_outlet: int = 4) -> list[Doc]:
    """The same articles as a one-event sample of many small outlets prints them: spread over
    outlets of about `per_outlet` texts each (too few for lines of their own to count as
    boilerplate), half of them under a wire's two lines (`WIRE_LINES`). The labels stay those of
    the plain set."""
    rng = random.Random(seed)
    outlets = max(1, len(docs) // per_outlet)
    out = []
    for d in docs:
        text = d.text + "\n\n" + "\n\n".join(WIRE_LINES) if rng.random() < 0.5 else d.text
        out.append(replace(d, text=text, source=f"outlet-{rng.randrange(outlets)}"))
    return out


HEADING = "## Dedup quality (`make eval`)"


def render(
    out: dict[str, object],
    hard: dict[str, object],
    unstripped: dict[str, object],
    dev2: dict[str, object] | None,
    wired: Mapping[str, float],
    data: Path,
) -> str:
    """The scores as a markdown section, the three sets side by side, beside the baselines."""
    sets = [out, hard, dev2 or {}]

    def cell(d: dict[str, object], key: str, fmt: str) -> str:
        return fmt.format(d[key]) if key in d else "-"

    def row(name: str, key: str, fmt: str = "{}") -> str:
        return f"| {name} | " + " | ".join(cell(d, key, fmt) for d in sets) + " |\n"

    kinds: list[str] = []
    for d in sets:
        by = d.get("recall_by_relation", {})
        assert isinstance(by, dict)
        kinds += [k for k in by if k not in kinds]

    def recall(d: dict[str, object], kind: str) -> str:
        by = d.get("recall_by_relation", {})
        assert isinstance(by, dict)
        return f"{by[kind]:.4f}" if kind in by else "-"

    rows = "".join(f"| recall: {k} | " + " | ".join(recall(d, k) for d in sets) + " |\n" for k in kinds)
    negatives = dev2.get("negatives_joined", {}) if dev2 else {}
    assert isinstance(negatives, dict)
    neg_rows = "".join(f"| {kind} joined to a cluster | - | - | {n} |\n" for kind, n in negatives.items())
    return (
        f"{HEADING}\n\n"
        f"`copydesk dedup` of `{data}/articles.jsonl.gz`, of the same set hardened, and of "
        f"`{data.parent}/syndication-dev2`, each scored against its `labels.csv`, on commit `{commit()}`, "
        f"{time.strftime('%Y-%m-%d')}; the reference scorer (../shared/eval/score_clusters.py) gives the "
        "same figures on the same output.\n\n"
        "| measure | syndication-dev | dev hardened | syndication-dev2 |\n|---|---|---|---|\n"
        + row("pairwise precision", "precision", "{:.4f}")
        + row("pairwise recall", "recall", "{:.4f}")
        + row("pairwise F1", "f1", "{:.4f}")
        + row("adjusted Rand index", "ari", "{:.4f}")
        + rows
        + row("relation right, of the copies found (dev kinds)", "relation_accuracy")
        + row("updates (`version`) joined to their original", "versions_joined_to_original")
        + row("unrelated stories wrongly joined", "singletons_wrongly_joined")
        + neg_rows
        + row("seconds", "seconds")
        + "\n*Hardened* (`benches.dedup_quality.harden`) is the dev set with what the held-out sets "
        "are said to have and the dev set lacks: every source prints a ~90-word footer of its own under each "
        'article, and each article carries an ad line and two "Related:" headlines inside its body. '
        "With boilerplate stripping off (`boilerplate_min_texts` and `wire_min_texts` above any source's "
        f"size) the hardened set scores F1 {unstripped['f1']:.4f}.\n\n"
        "*Wire-lined* (`benches.dedup_quality.wire_lined`) is a set as a one-event sample of many small "
        "outlets prints it: its texts spread over outlets of about 4 texts each, too few for their "
        "repeated lines to count as their own boilerplate, and half of them under a wire's two lines of "
        "no form the engine knows. With the lines that many sources print under different stories "
        f"learned as boilerplate, syndication-dev scores F1 {wired['learned']:.4f} "
        f"({wired['not learned']:.4f} without: `wire_min_texts` above the set's size)"
        + (
            f" and syndication-dev2 {wired['dev2 learned']:.4f} ({wired['dev2 not learned']:.4f} without)"
            if "dev2 learned" in wired
            else ""
        )
        + ".\n\n"
        "Where syndication-dev's labels and the judging rules of DESIGN.md part (measured on the texts "
        "with difflib, paragraph by paragraph, and by the engine's word counts): of the 4 updates "
        "(`version`) joined, dev-01130 and dev-01152 are made only of their original's paragraphs and "
        "dev-00382 keeps all but 12-14% of it: included, so copies by the rules; dev-01096 keeps 66% of "
        "its original but holds 84% of dev-01092, a spun copy that drops 16% of the original: a copy of "
        "a copy, which the rules put in the cluster (these 4 make all 26 wrongly joined pairs). Of the 9 "
        "`expanded_spun` copies missed, 7 drop 23-30% of the original's words (dev-00653, dev-00720, "
        "dev-00685, dev-01105, dev-01032, dev-00894, dev-00269): not included by the rules (about 80% "
        "must be there); dev-00475 drops 20% and copy-edits what it keeps until 64% of the rest is found "
        "by paragraph; dev-00539 writes ~760 words of its own on top of the original's lede, "
        "copy-edited and found at 57% of its anchors, as a write-through's new lede over a partly "
        "kept old one does (dev2's versions, not joined, keep 44-67% of the old lede). Two copies the "
        "rewritten-lede rule called versions are copies now: the `spun` dev-00562 (90% and 82% found "
        "both ways; its misspelt lede kept 1 of 3 sampled runs), since a version needs substantial text "
        "of its own on both sides, and dev-00826 (its lede misspelt twice, alone above what it shares), "
        "since one paragraph on top that is partly the other's lede is that lede under edits. "
        "What F1 0.99 on syndication-dev would cost, measured on these sets: counting 76% found as "
        "included (`own_max` 0.24 instead of 0.225) gives dev 0.9885 and joins a dev2 digest and a "
        "distractor (a 56-word brief of which a digest runs all but its last line, 77%: the same "
        "boundary, labelled the other way); `holds_inside` 0.6 gives dev 0.9860 and joins 2 of dev2's "
        "48 versions; without the rewritten-lede rule dev is 0.9867 and 6 versions, 2 digests and 2 "
        "distractors of dev2 join. The engine stays at the rules. "
        "The own share is counted in words (each paragraph key carries "
        "its words of text), not on the quarter sample of anchors, which measured it to about +-7% "
        "on a 40-anchor text: dev2's two digests had joined a short story of which they ran one "
        "paragraph of two, and dev copies that drop a paragraph of 17-20% of the words holding 21-25% "
        "of the anchors were missed. Of syndication-dev2's 9 misses, dev2-00725 (drops a 47-word paragraph, "
        "about a quarter of the original) and dev2-00207 (a truncated copy with 24% of another "
        "story's text appended): not included by the rules.\n\n"
        "Baselines (../shared/data/README.md). syndication-dev: datasketch MinHashLSH at threshold 0.8 "
        "on word 5-grams, F1 0.30; text-dedup's news setting (threshold 0.45, word 2-grams, 256 "
        "permutations), F1 0.83. syndication-dev2: MinHashLSH 0.8, F1 0.130 (P 1.000, R 0.070); "
        "text-dedup's news setting, F1 0.848 (P 0.965, R 0.756); Copydesk before issue 9 (ab3c7de), "
        "F1 0.715 (P 0.992, R 0.559), live snapshots found at 10%, interleaved at 49%, previews at 72%.\n"
    )


if __name__ == "__main__":
    raise SystemExit(main())
