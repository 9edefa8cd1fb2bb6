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
    for kind in sorted({r["relation"] for r in labels} & set(EXPECTED_RELATION)):
        rows = [r for r in labels if r["relation"] == kind]
        hits = [r for r in rows if pred[r["id"]] == pred[original_of_cluster[r["cluster"]]]]
        recall_by[kind] = round(len(hits) / len(rows), 4)
        found += len(hits)
        right_rel += sum(1 for r in hits if by_id[r["id"]].relation == EXPECTED_RELATION[kind])
    versions = [r for r in labels if r["relation"] == "version"]
    joined = sum(1 for r in versions if pred[r["id"]] == pred.get(r.get("original_id", ""), ""))
    singles = [r["id"] for r in labels if r["relation"] == "singleton"]
    return {
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
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--out", type=Path, help="also write the scores into this markdown file (docs/benchmarks.md)"
    )
    args = ap.parse_args(argv)
    articles, labels_csv = args.data / "articles.jsonl.gz", args.data / "labels.csv"
    if not articles.exists() or not labels_csv.exists():
        print(f"skip: no labelled set at {args.data}", file=sys.stderr)
        return 0
    from dedup.engine import deduplicate
    from dedup.inputs import load_docs

    docs = load_docs(str(articles))
    with open(labels_csv, newline="", encoding="utf-8") as fh:
        labels = list(csv.DictReader(fh))
    t0 = time.perf_counter()
    result = deduplicate(docs)
    elapsed = time.perf_counter() - t0
    out = score(labels, result.assignments)
    out["seconds"] = round(elapsed, 2)
    hard_docs = harden(docs)
    hard = score(labels, deduplicate(hard_docs).assignments)
    never = DedupParams(match=replace(MatchParams(), boilerplate_min_texts=len(docs) + 1))
    unstripped = score(labels, deduplicate(hard_docs, never).assignments)
    if args.json:
        print(json.dumps({"dev": out, "hardened": hard, "hardened_unstripped": unstripped}))
    else:
        for key, value in out.items():
            print(f"{key}: {value}")
        print(f"hardened set: {hard}")
        print(f"hardened set, boilerplate not stripped: F1 {unstripped['f1']}")
    if args.out:
        replace_section(args.out, HEADING, render(out, hard, unstripped, args.data))
    return 0


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


HEADING = "## Dedup quality (`make eval`)"


def render(out: dict[str, object], hard: dict[str, object], unstripped: dict[str, object], data: Path) -> str:
    """The scores as a markdown section, beside the baselines measured on the same set."""
    by, hard_by = out["recall_by_relation"], hard["recall_by_relation"]
    assert isinstance(by, dict) and isinstance(hard_by, dict)
    rows = "\n".join(f"| recall: {kind} | {value:.4f} | {hard_by[kind]:.4f} |" for kind, value in by.items())

    def row(name: str, key: str, fmt: str = "{}") -> str:
        return f"| {name} | {fmt.format(out[key])} | {fmt.format(hard[key])} |\n"

    return (
        f"{HEADING}\n\n"
        f"`copydesk dedup {data}/articles.jsonl.gz` scored against `labels.csv`, on commit `{commit()}`, "
        f"{time.strftime('%Y-%m-%d')}; the reference scorer (../shared/eval/score_clusters.py) gives the "
        "same figures on the same output.\n\n"
        "| measure | Copydesk | the same set hardened |\n|---|---|---|\n"
        + row("pairwise precision", "precision", "{:.4f}")
        + row("pairwise recall", "recall", "{:.4f}")
        + row("pairwise F1", "f1", "{:.4f}")
        + row("adjusted Rand index", "ari", "{:.4f}")
        + f"{rows}\n"
        + row("relation right, of the copies found", "relation_accuracy")
        + row("updates (`version`) joined to their original", "versions_joined_to_original")
        + row("unrelated stories wrongly joined", "singletons_wrongly_joined")
        + f"| seconds for {out['articles']} articles | {out['seconds']} | - |\n\n"
        "*Hardened* (`benches.dedup_quality.harden`) is the same set with what the held-out sets are said to "
        "have and the dev set lacks: every source prints a ~90-word footer of its own under each "
        'article, and each article carries an ad line and two "Related:" headlines inside its body. '
        "With boilerplate stripping off (`boilerplate_min_texts` above any source's size) the hardened "
        f"set scores F1 {unstripped['f1']:.4f}: the footers hide copies across sources.\n\n"
        "Baselines on the same set (../shared/data/README.md): datasketch MinHashLSH at threshold "
        "0.8 on word 5-grams, F1 0.30; text-dedup's news setting (threshold 0.45, word 2-grams, "
        "256 permutations), F1 0.83, 37% of the expanded-and-edited copies found, 7 of the 40 "
        "updates joined to their original.\n"
    )


if __name__ == "__main__":
    raise SystemExit(main())
