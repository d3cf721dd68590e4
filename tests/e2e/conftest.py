"""E2E harness: a real dagster-webserver on a throw-away instance, driven over GraphQL, and
headless Chromium pointed at its pages. Every process started here is stopped by its pid.

Fixtures: `chromium` (installs Debian's chromium when absent), `e2e_sample` (a small generated
MPD sample), `webserver` (module scope; one instance shared by the tests of a module).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = "__repository__"
ASSET_JOB = "__ASSET_JOB"
CHROMIUM = Path("/usr/bin/chromium")
# The flags that let Chromium run headless, as root, on a machine with a closed network.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)
DAGSTER_YAML = """\
run_coordinator:
  module: dagster.core.run_coordinator
  class: DefaultRunCoordinator
telemetry:
  enabled: false
"""


# ------------------------------------------------------------------------------------ processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process_tree(proc: subprocess.Popen[Any], grace_s: float = 15.0) -> list[int]:
    """SIGTERM the process group of `proc`, then SIGKILL every survivor by pid.

    Descendants are listed before the signal (runs launched by the webserver are grandchildren
    and may have left the group); returns the pids that needed SIGKILL.
    """
    try:
        tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    for p in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    _, alive = psutil.wait_procs(tree, timeout=grace_s)
    killed = []
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
            killed.append(p.pid)
    psutil.wait_procs(alive, timeout=5)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    return killed


# -------------------------------------------------------------------------------------- GraphQL


class GraphQLError(AssertionError):
    """The server answered with `errors` or an unexpected union member; the message has it."""


@dataclass
class RunOutcome:
    run_id: str
    status: str
    materialized: list[tuple[str, str | None]]  # (asset key, partition) per materialization
    failures: list[str] = field(default_factory=list)


ASSET_NODES = """
query AssetNodes {
  assetNodes {
    assetKey { path }
    groupName
    opVersion
    isPartitioned
    isMaterializable
    staleStatus
    staleCauses { key { path } reason category dependency { path } }
    dependencyKeys { path }
    assetChecksOrError {
      __typename
      ... on AssetChecks {
        checks {
          name
          blocking
          executionForLatestMaterialization { status runId evaluation { success } }
        }
      }
    }
  }
}
"""

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PipelineNotFoundError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { invalidOutputName }
    ... on RunConflict { message }
    ... on UnauthorizedError { message }
    ... on PresetNotFoundError { message }
    ... on ConflictingExecutionParamsError { message }
    ... on NoModeProvidedError { message }
  }
}
"""

RUN = """
query Run($id: ID!) {
  runOrError(runId: $id) {
    __typename
    ... on Run {
      status
      assetMaterializations { assetKey { path } partition }
    }
    ... on PythonError { message }
    ... on RunNotFoundError { message }
  }
}
"""

RUN_FAILURES = """
query RunLogs($id: ID!) {
  logsForRun(runId: $id, limit: 5000) {
    __typename
    ... on EventConnection {
      events {
        __typename
        ... on ExecutionStepFailureEvent { stepKey error { message } }
        ... on RunFailureEvent { message }
        ... on EngineEvent { message error { message } }
      }
    }
  }
}
"""

PARTITION_STATUS = """
query Partitions($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    __typename
    ... on AssetNode {
      assetPartitionStatuses {
        __typename
        ... on DefaultPartitionStatuses { materializedPartitions failedPartitions }
      }
    }
  }
}
"""

ASSET_MATERIALIZATIONS = """
query Mats($key: AssetKeyInput!) {
  assetOrError(assetKey: $key) {
    __typename
    ... on Asset { assetMaterializations(limit: 1000) { runId partition } }
  }
}
"""

WORKSPACE = """
query Workspace {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        locationOrLoadError {
          __typename
          ... on PythonError { message stack }
        }
      }
    }
  }
}
"""

RELOAD = """
mutation Reload($name: String!) {
  reloadRepositoryLocation(repositoryLocationName: $name) {
    __typename
    ... on WorkspaceLocationEntry {
      locationOrLoadError { __typename ... on PythonError { message } }
    }
  }
}
"""

_FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


@dataclass
class Webserver:
    """A running dagster-webserver and the folders of its throw-away instance."""

    url: str
    proc: subprocess.Popen[Any]
    dagster_home: Path
    twotower_home: Path
    log_path: Path
    location: str = ""  # read from the workspace once the server is up

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError as exc:
            return f"(no webserver log: {exc})"

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        resp = requests.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": dict(variables or {})},
            timeout=120,
        )
        if resp.status_code != 200:
            raise GraphQLError(f"GraphQL HTTP {resp.status_code}: {resp.text[:2000]}")
        body = resp.json()
        if body.get("errors"):
            raise GraphQLError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    # --- reading the graph

    def loaded_location(self) -> str:
        """The one code location's name; fails with the load error when it did not load."""
        entries = self.graphql(WORKSPACE)["workspaceOrError"]["locationEntries"]
        assert len(entries) == 1, f"expected one code location, found {entries}"
        loaded = entries[0]["locationOrLoadError"] or {}
        if loaded.get("__typename") != "RepositoryLocation":
            raise GraphQLError(f"code location {entries[0]['name']!r} did not load: {loaded}")
        return entries[0]["name"]

    def asset_nodes(self) -> dict[str, dict[str, Any]]:
        """Asset nodes by their user string ("a/b" for prefixed keys)."""
        nodes = self.graphql(ASSET_NODES)["assetNodes"]
        return {"/".join(n["assetKey"]["path"]): n for n in nodes}

    def stale_statuses(self) -> dict[str, str]:
        return {k: n["staleStatus"] for k, n in self.asset_nodes().items()}

    def materialized_partitions(self, asset: str) -> list[str]:
        data = self.graphql(PARTITION_STATUS, {"key": {"path": asset.split("/")}})
        node = data["assetNodeOrError"]
        if node["__typename"] != "AssetNode":
            raise GraphQLError(f"asset {asset!r}: {node}")
        statuses = node["assetPartitionStatuses"]
        if statuses["__typename"] != "DefaultPartitionStatuses":
            raise GraphQLError(f"asset {asset!r}: unexpected partition statuses {statuses}")
        return sorted(statuses["materializedPartitions"])

    def materialization_count(self, asset: str) -> int:
        data = self.graphql(ASSET_MATERIALIZATIONS, {"key": {"path": asset.split("/")}})
        node = data["assetOrError"]
        if node["__typename"] == "AssetNotFoundError":
            return 0
        return len(node["assetMaterializations"])

    def reload(self) -> None:
        data = self.graphql(RELOAD, {"name": self.location})["reloadRepositoryLocation"]
        loaded = data.get("locationOrLoadError") or {}
        if data["__typename"] != "WorkspaceLocationEntry" or loaded.get("__typename") != (
            "RepositoryLocation"
        ):
            raise GraphQLError(f"reload of {self.location!r} failed: {data}")

    # --- running

    def launch(
        self,
        assets: Sequence[str],
        partition: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Launch the implicit asset job on `assets` (all their checks run too); the run id."""
        run_tags = dict(tags or {})
        if partition is not None:
            run_tags["dagster/partition"] = partition
        params: dict[str, Any] = {
            "selector": {
                "repositoryLocationName": self.location,
                "repositoryName": REPOSITORY,
                "jobName": ASSET_JOB,
                "assetSelection": [{"path": a.split("/")} for a in assets],
            },
            "mode": "default",
            "runConfigData": {},
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in run_tags.items()]},
        }
        result = self.graphql(LAUNCH, {"params": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise GraphQLError(f"launch of {list(assets)} (partition {partition}) failed: {result}")
        return result["run"]["runId"]

    def run_failures(self, run_id: str) -> list[str]:
        data = self.graphql(RUN_FAILURES, {"id": run_id})["logsForRun"]
        out = []
        for ev in data.get("events", []):
            kind = ev["__typename"]
            if kind == "ExecutionStepFailureEvent":
                out.append(f"step {ev['stepKey']}: {(ev.get('error') or {}).get('message')}")
            elif kind == "RunFailureEvent":
                out.append(f"run: {ev.get('message')}")
            elif kind == "EngineEvent" and ev.get("error"):
                out.append(f"engine: {ev['error']['message']}")
        return out

    def wait_for_run(self, run_id: str, timeout_s: float) -> RunOutcome:
        deadline = time.monotonic() + timeout_s
        status = "UNKNOWN"
        while time.monotonic() < deadline:
            run = self.graphql(RUN, {"id": run_id})["runOrError"]
            if run["__typename"] != "Run":
                raise GraphQLError(f"run {run_id}: {run}")
            status = run["status"]
            if status in _FINISHED:
                mats = [
                    ("/".join(m["assetKey"]["path"]), m["partition"])
                    for m in run["assetMaterializations"]
                ]
                failures = [] if status == "SUCCESS" else self.run_failures(run_id)
                return RunOutcome(run_id, status, mats, failures)
            time.sleep(1.0)
        raise TimeoutError(
            f"run {run_id} still {status} after {timeout_s:.0f}s; webserver log tail:\n"
            f"{self.log_tail()}"
        )

    def run_to_success(
        self, assets: Sequence[str], partition: str | None = None, timeout_s: float = 600
    ) -> RunOutcome:
        outcome = self.wait_for_run(self.launch(assets, partition), timeout_s)
        assert outcome.status == "SUCCESS", (
            f"run {outcome.run_id} of {list(assets)} (partition {partition}) ended "
            f"{outcome.status}:\n" + "\n".join(outcome.failures)
        )
        return outcome


def start_webserver(
    module: str,
    workdir: Path,
    env_overrides: Mapping[str, str],
    startup_timeout_s: float = 180,
) -> Webserver:
    """Start `python -m dagster_webserver -m MODULE` on a free port and wait on /server_info."""
    dagster_home = Path(env_overrides["DAGSTER_HOME"])
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(DAGSTER_YAML)
    port = free_port()
    env = {**os.environ, **env_overrides, "TF_USE_LEGACY_KERAS": "1", "PYTHONUNBUFFERED": "1"}
    log_path = dagster_home / "webserver.log"
    log = log_path.open("wb")
    cmd = [sys.executable, "-m", "dagster_webserver", "-m", module]
    cmd += ["-h", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(
        cmd,
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: one killpg reaches its children
    )
    log.close()
    server = Webserver(
        url=f"http://127.0.0.1:{port}",
        proc=proc,
        dagster_home=dagster_home,
        twotower_home=Path(env_overrides.get("TWOTOWER_HOME", dagster_home)),
        log_path=log_path,
    )
    deadline = time.monotonic() + startup_timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"dagster-webserver exited with {proc.returncode} before serving:\n"
                f"{server.log_tail()}"
            )
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{server.url}/server_info", timeout=2).ok:
                server.location = server.loaded_location()
                return server
        time.sleep(0.5)
    stop_process_tree(proc)
    raise TimeoutError(
        f"dagster-webserver not serving /server_info after {startup_timeout_s:.0f}s:\n"
        f"{server.log_tail()}"
    )


# ------------------------------------------------------------------------------------- Chromium


@dataclass
class Chromium:
    """Headless Chromium, one fresh profile folder per call."""

    binary: Path
    scratch: Path

    def _run(self, args: Sequence[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
        profile = self.scratch / f"profile-{time.monotonic_ns()}"
        profile.mkdir(parents=True)
        cmd = [str(self.binary), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            stop_process_tree(proc, grace_s=5)
            raise
        finally:
            if proc.poll() is None:
                stop_process_tree(proc, grace_s=5)
            shutil.rmtree(profile, ignore_errors=True)
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)

    def dump_dom(self, url: str, budget_ms: int = 20000, timeout_s: float = 120) -> str:
        done = self._run(
            ["--window-size=1920,1200", f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
            timeout_s,
        )
        if done.returncode != 0:
            raise RuntimeError(f"chromium --dump-dom {url} exited {done.returncode}: {done.stderr}")
        return done.stdout

    def screenshot(
        self, url: str, path: Path, budget_ms: int = 20000, timeout_s: float = 120
    ) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        done = self._run(
            [
                "--window-size=1920,1200",
                f"--virtual-time-budget={budget_ms}",
                f"--screenshot={path}",
                url,
            ],
            timeout_s,
        )
        if done.returncode != 0 or not path.exists():
            raise RuntimeError(
                f"chromium --screenshot {url} exited {done.returncode}, no {path}: {done.stderr}"
            )
        return path


def ensure_chromium() -> Path:
    """Debian's chromium; installed with apt-get when absent (the test set-up runs as root)."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0:
        pytest.fail(f"{CHROMIUM} is absent and installing it needs root (apt-get install chromium)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr[-2000:]}")
    if not CHROMIUM.exists():
        pytest.fail(f"apt-get install chromium succeeded but {CHROMIUM} is still absent")
    return CHROMIUM


# ------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Kept after the run (git-ignored): screenshots and DOM dumps to look at."""
    path = REPO_ROOT / "test-artifacts" / "e2e"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Chromium:
    return Chromium(ensure_chromium(), tmp_path_factory.mktemp("chromium"))


# Two slice files: "0-999" (1,000 playlists) and "1000-1999" (the generator's last slice holds
# the remainder, 100 here), enough for every asset and quick to ingest.
E2E_PLAYLISTS = 1100
E2E_SLICE_KEYS = ("0-999", "1000-1999")


@pytest.fixture(scope="module")
def e2e_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated MPD sample: two slice files (E2E_SLICE_KEYS)."""
    try:
        from twotower_assets.mpd.generate import generate_mpd
    except ImportError as exc:  # the generator is part of the graph; no sample, no e2e
        pytest.fail(f"twotower_assets.mpd.generate.generate_mpd is not importable: {exc}")
    out = tmp_path_factory.mktemp("mpd")
    generate_mpd(out, playlists=E2E_PLAYLISTS, seed=7, workers=1)
    slices = sorted(p.name for p in out.glob("mpd.slice.*.json"))
    expected = sorted(f"mpd.slice.{key}.json" for key in E2E_SLICE_KEYS)
    assert slices == expected, f"generate_mpd wrote {slices} in {out}, expected {expected}"
    return out


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory, e2e_sample: Path) -> Iterator[Webserver]:
    base = tmp_path_factory.mktemp("instance")
    env = {
        "DAGSTER_HOME": str(base / "dagster_home"),
        "TWOTOWER_HOME": str(base / "home"),
        "TWOTOWER_MPD_DIR": str(e2e_sample),
        "TWOTOWER_PROFILE": "local",
    }
    Path(env["TWOTOWER_HOME"]).mkdir(parents=True)
    server = start_webserver("twotower_assets.definitions", REPO_ROOT, env)
    try:
        yield server
    finally:
        stop_process_tree(server.proc)
