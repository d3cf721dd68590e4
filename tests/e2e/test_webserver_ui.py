"""The UI as a person uses it: a real dagster-webserver over our definitions, driven over GraphQL
(list, launch one slice, launch the rest, read checks and staleness), then the asset graph page
in headless Chromium. One webserver per module; the tests run in file order on its instance.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from twotower_assets.partitions import slice_keys

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The contract of docs/architecture.md: every asset and its group.
CONTRACT_GROUPS = {
    "playlists": "ingest",
    "tracks": "warehouse",
    "training_pairs": "warehouse",
    "holdout_playlists": "warehouse",
    "holdout_seeds": "warehouse",
    "holdout_hidden": "warehouse",
    "train_tfrecords": "tfrecords",
    "valid_tfrecords": "tfrecords",
    "candidate_tfrecords": "tfrecords",
    "vocabulary": "features",
    "two_tower_model": "model",
    "candidate_embeddings": "serving",
    "retrieval_metrics": "evaluation",
}
# The assets that have landed in twotower_assets and that these tests require by name; a
# missing one fails the listing test instead of shrinking what the other tests cover.
REQUIRED = [
    "playlists",
    "tracks",
    "training_pairs",
    "holdout_playlists",
    "holdout_seeds",
    "holdout_hidden",
    "train_tfrecords",
    "valid_tfrecords",
    "candidate_tfrecords",
    "vocabulary",
    "two_tower_model",
    "candidate_embeddings",
    "retrieval_metrics",
]
SLICE = "0-999"
RUN_TIMEOUT_S = 1500


def _ancestors(nodes: dict[str, dict], key: str) -> set[str]:
    seen: set[str] = set()
    todo = [key]
    while todo:
        for dep in nodes[todo.pop()]["dependencyKeys"]:
            name = "/".join(dep["path"])
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def _downstream_of_ingest(nodes: dict[str, dict]) -> list[str]:
    """Materializable assets below the ingest whose every ancestor is materializable too (an
    asset still reading a not-yet-landed table cannot run; REQUIRED names what must)."""
    return sorted(
        k
        for k, n in nodes.items()
        if n["isMaterializable"]
        and k != "playlists"
        and all(nodes[a]["isMaterializable"] for a in _ancestors(nodes, k))
    )


def test_lists_assets_with_their_groups(webserver) -> None:
    every = webserver.asset_nodes()
    # A name only referenced by `deps=` shows up as a non-materializable stub: not landed.
    nodes = {k: n for k, n in every.items() if n["isMaterializable"]}
    missing = [a for a in REQUIRED if a not in nodes]
    assert not missing, f"assets missing from the webserver's graph: {missing}; has {sorted(nodes)}"
    unknown = sorted(set(nodes) - set(CONTRACT_GROUPS))
    assert not unknown, f"assets not in docs/architecture.md: {unknown}"
    wrong = {
        k: (n["groupName"], CONTRACT_GROUPS[k])
        for k, n in nodes.items()
        if n["groupName"] != CONTRACT_GROUPS[k]
    }
    assert not wrong, f"asset groups differ from the contract (found, expected): {wrong}"
    # The slice partitions are the static MPD keys; everything else is unpartitioned.
    assert nodes["playlists"]["isPartitioned"] is True
    partitioned = sorted(k for k, n in nodes.items() if n["isPartitioned"])
    assert partitioned == ["playlists"], f"only playlists is partitioned, found {partitioned}"
    without_version = sorted(k for k, n in nodes.items() if not n["opVersion"])
    assert not without_version, f"assets without a code_version: {without_version}"
    # Nothing has run on this fresh instance.
    assert webserver.materialized_partitions("playlists") == []
    never_run = {k: n["staleStatus"] for k, n in nodes.items() if not n["isPartitioned"]}
    assert all(a in never_run for a in REQUIRED if a != "playlists"), never_run
    assert all(s == "MISSING" for s in never_run.values()), never_run


def test_one_slice_then_the_downstream_graph(webserver) -> None:
    nodes = webserver.asset_nodes()
    assert "0-999" in slice_keys() and "1000-1999" in slice_keys()

    ingest = webserver.run_to_success(["playlists"], partition=SLICE, timeout_s=RUN_TIMEOUT_S)
    assert ingest.materialized == [("playlists", SLICE)], ingest
    assert webserver.materialized_partitions("playlists") == [SLICE]

    downstream = _downstream_of_ingest(nodes)
    if downstream:
        run = webserver.run_to_success(downstream, timeout_s=RUN_TIMEOUT_S)
        got = sorted(key for key, _ in run.materialized)
        assert got == downstream, f"run {run.run_id} materialized {got}, expected {downstream}"
        # The slice was not ingested again by the downstream run.
        assert webserver.materialized_partitions("playlists") == [SLICE]
        assert webserver.materialization_count("playlists") == 1

    ran = {"playlists", *downstream}
    missing = sorted(set(REQUIRED) - ran)
    assert not missing, f"required assets that could not run (an ancestor is missing): {missing}"
    nodes = {k: n for k, n in webserver.asset_nodes().items() if k in ran}
    # Every asset carries at least one check, and every check of the graph ran and passed.
    no_checks = sorted(k for k, n in nodes.items() if not n["assetChecksOrError"].get("checks"))
    assert not no_checks, f"assets without an asset check: {no_checks}"
    results = {
        f"{k}:{c['name']}": c["executionForLatestMaterialization"]
        for k, n in nodes.items()
        for c in n["assetChecksOrError"]["checks"]
    }
    not_passed = {
        name: ex
        for name, ex in results.items()
        if ex is None or ex["status"] != "SUCCEEDED" or not (ex["evaluation"] or {}).get("success")
    }
    assert not not_passed, f"checks that did not pass on their latest materialization: {not_passed}"

    # Staleness: the ingested slice and every downstream asset are up to date.
    stale = {k: (n["staleStatus"], n["staleCauses"]) for k, n in nodes.items()}
    not_fresh = {k: v for k, v in stale.items() if v[0] != "FRESH"}
    assert not not_fresh, f"assets not FRESH after the full run: {not_fresh}"
    slice_status = webserver.graphql(
        """query($p: String) { assetNodes(assetKeys: [{path: ["playlists"]}]) {
             staleStatus(partition: $p) } }""",
        {"p": SLICE},
    )["assetNodes"][0]["staleStatus"]
    assert slice_status == "FRESH"


def _sinks(nodes: dict[str, dict]) -> list[str]:
    parents = {dep["path"][-1] for n in nodes.values() for dep in n["dependencyKeys"]}
    return sorted(k for k in nodes if k not in parents)


def test_asset_graph_in_chromium(webserver, chromium, artifacts_dir: Path) -> None:
    # What a person's "Skip" on the first-visit community dialog does, so it hides nothing.
    assert webserver.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True
    nodes = {k: n for k, n in webserver.asset_nodes().items() if n["isMaterializable"]}
    for sink in _sinks(nodes):
        # The lineage tab of a final asset, all upstream levels: the whole graph behind it.
        url = f"{webserver.url}/assets/{sink}?view=lineage&lineageScope=upstream&lineageDepth=20"
        dom = chromium.dump_dom(url)
        (artifacts_dir / f"lineage-{sink}.html").write_text(dom)
        assert re.search(rf"\b{re.escape(sink)}\b", dom), f"{sink} not on its own lineage page"
        shot = chromium.screenshot(url, artifacts_dir / f"lineage-{sink}.png")
        assert shot.stat().st_size > 20_000, f"{shot} is {shot.stat().st_size} bytes: blank page?"

    # Each group's lineage page draws its assets at full size (the whole-graph view shortens
    # long names at its zoom level): every asset name appears on its group's page.
    missing: dict[str, list[str]] = {}
    for group in sorted({n["groupName"] for n in nodes.values()}):
        url = f"{webserver.url}/locations/{webserver.location}/asset-groups/{group}"
        dom = chromium.dump_dom(url)
        (artifacts_dir / f"group-{group}.html").write_text(dom)
        members = sorted(k for k, n in nodes.items() if n["groupName"] == group)
        absent = [k for k in members if not re.search(rf"\b{re.escape(k)}\b", dom)]
        if absent:
            missing[group] = absent
    assert not missing, f"asset names not on their group's lineage page: {missing}"

    # The global lineage page lists our groups.
    dom = chromium.dump_dom(f"{webserver.url}/asset-groups")
    (artifacts_dir / "asset-groups.html").write_text(dom)
    chromium.screenshot(f"{webserver.url}/asset-groups", artifacts_dir / "asset-groups.png")
    groups = {n["groupName"] for n in nodes.values()}
    absent = sorted(g for g in groups if not re.search(rf"\b{g}\b", dom))
    assert not absent, f"groups not on /asset-groups: {absent}"
