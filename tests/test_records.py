"""The committed records of the confirmatory run (``records/confirmatory``, written by
``affectlab archive``) are of the catalogue's confirmatory specs, and its claims can be
checked on them."""

from pathlib import Path

import pytest

from experiments.archive import archived_claims
from experiments.catalogue import catalogue_item
from experiments.runner.store import fingerprint, manifest_spec
from experiments.suites import SUITES

RECORDS = Path(__file__).resolve().parents[1] / "records" / "confirmatory"
PARTS = sorted(p.parent.relative_to(RECORDS).as_posix()
               for p in RECORDS.rglob("manifest.json")) if RECORDS.is_dir() else []


def _spec(part: str):
    name, _, label = part.partition("/")
    item = catalogue_item(name, quick=False)
    if name in SUITES and label:
        return dict(item.members)[label]
    return None if name in SUITES else item


@pytest.mark.parametrize("part", PARTS)
def test_each_record_is_of_the_catalogued_confirmatory_spec(part):
    """A record of another spec (a catalogue changed after the run, or a record edited by
    hand) would check the claims on runs the catalogue no longer describes."""
    expected = _spec(part)
    if expected is None:  # a whole suite's record: its manifest lists its members
        pytest.skip("a suite's own manifest is checked through its members")
    recorded = manifest_spec(RECORDS / part)
    assert recorded is not None, f"{part}: no readable spec in its manifest"
    assert fingerprint(recorded) == fingerprint(expected), part
    assert (RECORDS / part / "values.csv").is_file()


def test_the_claims_of_every_recorded_experiment_are_measured():
    if not PARTS:
        pytest.skip("no records committed")
    table, missing = archived_claims(RECORDS)
    recorded = {p.split("/")[0] for p in PARTS if "/" not in p}
    assert recorded and recorded.isdisjoint(missing)
    mine = table[table["experiment"].isin(recorded)]
    assert len(mine) and not mine["measured"].str.startswith("not measured").any()
