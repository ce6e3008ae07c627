"""``affectlab ablate``: what each change of the model buys and costs, claim by claim.

Every variant of :func:`affect.versions.variants` (version 1, each mechanism alone on top
of it, the current version, and the current version with each rejected mechanism) runs
the online experiments (``paralysis``, ``gambling``) on the development seeds, and each
run's claims are checked as ``affectlab run`` checks them. The result is one table:
``ablation.csv`` (variant, claim, kind, estimate, passed) and ``ablation.md`` (claims
down, variants across). The experiments trained with PPO (foraging, loops, social) read
none of the constants a variant changes (:mod:`affect.versions`), so they are the same in
every variant and are not rerun; the table says so.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import pandas as pd

from affect.versions import MECHANISMS, MODEL_VERSION, split, variants
from experiments.analysis.tables import replace_between
from experiments.runner.run import run_experiment
from experiments.tasks import get_task

BEGIN, END = "<!-- ablation:begin -->", "<!-- ablation:end -->"
"""The markers of the section ``--docs`` replaces in a page."""
ONLINE = ("paralysis", "gambling")
"""The experiments whose agents read the mechanisms' constants."""
PPO = ("foraging", "loops", "social")


def ablate(out: str | Path, quick: bool = True, workers: int | None = None,
           only: list[str] | None = None, progress: bool = True,
           docs: str | Path | None = None) -> pd.DataFrame:
    """Run every variant (or those named in ``only``) of the online experiments into
    ``out/<variant>/<experiment>`` (a finished run is reused, an interrupted one resumed)
    and write ``out/ablation.csv`` and ``out/ablation.md`` (and, with ``docs``, the
    table between the ablation markers of that page); returns the table."""
    out = Path(out)
    if docs is not None:  # before any run: a page without the markers is refused
        replace_between(Path(docs).read_text(), "", BEGIN, END)
    table = variants()
    if only:
        unknown = [v for v in only if v not in table]
        if unknown:
            raise KeyError(f"unknown variant(s) {unknown}; known: {', '.join(table)}")
        table = {k: v for k, v in table.items() if k in only}
    rows = []
    for name, overrides in table.items():
        for experiment in ONLINE:
            spec = get_task(experiment).spec(quick)
            delib, agent = split(overrides)
            spec = dataclasses.replace(spec, deliberation=delib,
                                       agent=dataclasses.replace(spec.agent, **agent))
            folder = out / _slug(name) / experiment
            t0 = time.perf_counter()
            if progress:
                print(f"[ablate] {name}: {experiment}", file=sys.stderr)
            run_experiment(spec, folder, workers=workers, progress=False)
            claims = pd.read_csv(folder / "claims.csv")
            for _, c in claims.iterrows():
                rows.append({"variant": name, "experiment": experiment, "id": c["id"],
                             "kind": c["kind"], "estimate": c["estimate"],
                             "passed": bool(c["passed"]),
                             "wall_s": round(time.perf_counter() - t0, 1)})
    df = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "ablation.csv", index=False)
    text = markdown(df, quick)
    (out / "ablation.md").write_text(text)
    if docs is not None:
        page = Path(docs)
        page.write_text(replace_between(page.read_text(), text, BEGIN, END))
    return df


def _slug(name: str) -> str:
    return name.replace("+", "plus-") if name.startswith("+") else name.replace("+", "-plus-")


def markdown(df: pd.DataFrame, quick: bool) -> str:
    """The table in Markdown: one row per claim (confirmatory first), one column per
    variant, each cell the estimate and whether the claim passed."""
    order = list(dict.fromkeys(df["variant"]))
    kinds = {"confirmatory": 0, "exploratory": 1, "control": 2}
    claims = df.drop_duplicates("id")[["id", "kind", "experiment"]].copy()
    claims["rank"] = claims["kind"].map(kinds)
    claims = claims.sort_values(["experiment", "rank"], kind="stable", ascending=[False, True])
    cell = {(r.variant, r.id): f"{r.estimate:.3g} {'pass' if r.passed else 'FAIL'}"
            for r in df.itertuples()}
    lines = ["| claim | kind | " + " | ".join(order) + " |",
             "|---|---|" + "---|" * len(order)]
    for c in claims.itertuples():
        lines.append(f"| {c.id} | {c.kind[:5]} | "
                     + " | ".join(cell.get((v, c.id), "") for v in order) + " |")
    passed = df[df["kind"] == "confirmatory"].groupby("variant", sort=False)["passed"]
    lines.append("| **confirmatory passed** | | "
                 + " | ".join(f"**{int(passed.sum()[v])}/{int(passed.count()[v])}**"
                              for v in order) + " |")
    mech = "\n".join(f"- `+{m.describe()}`{'' if m.adopted else ' (not adopted)'}: "
                     f"{m.source}" for m in MECHANISMS)
    return (f"Ablation of model v{MODEL_VERSION} ({'quick' if quick else 'full'} sizes, "
            "development seeds). Each cell: the claim's estimate, and whether it passed "
            "(confirmatory claims Holm-adjusted within their experiment, not over the whole "
            "catalogue).\n\n"
            + "\n".join(lines) + "\n\nVariants: `v1` the model of version 1; `+name` one "
            "mechanism on top of v1; `v" + MODEL_VERSION + "` every adopted mechanism; `v"
            + MODEL_VERSION + "+name` the current model with a mechanism that was not "
            "adopted.\n\n" + mech + "\n\nThe PPO experiments (" + ", ".join(PPO)
            + ") read none of these constants and are the same in every variant.\n")
