"""Shared helpers of the scripts in this directory (run by hand, not by CI).

- `find_nnc()`: the `nnc` command to run (env `NNC`, a built binary in one of
  the workspace's target directories, or `cargo run -q -p nnc --`).
- `nnc_weights(file, network)`: the weight names and shapes that `nnc` reports
  for an example, from `nnc graph FILE --format json`.
- `nnc_analyze(file, network)`: the JSON of `nnc analyze --format json`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


def find_nnc() -> list[str]:
    """Returns the argv prefix that runs nnc."""
    env = os.environ.get("NNC")
    if env:
        return env.split()
    candidates = []
    for tdir in sorted(REPO.glob("target*")):
        for profile in ("release", "debug"):
            exe = tdir / profile / "nnc"
            if exe.is_file() and os.access(exe, os.X_OK):
                candidates.append(exe)
    if candidates:
        # the most recently built binary
        newest = max(candidates, key=lambda p: p.stat().st_mtime)
        return [str(newest)]
    if shutil.which("nnc"):
        return ["nnc"]
    return ["cargo", "run", "-q", "--release", "-p", "nnc", "--"]


class NncError(RuntimeError):
    """nnc failed or printed something this script cannot read."""


def run_nnc(args: list[str], check: bool = True) -> subprocess.CompletedProcess:
    """Runs nnc with `args`, from the repository root; raises NncError on a
    non-zero exit when `check`."""
    cmd = find_nnc() + [str(a) for a in args]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise NncError(
            f"`{' '.join(cmd)}` exited with {proc.returncode}:\n{proc.stderr.strip()}"
        )
    return proc


def _network_args(network: str | None) -> list[str]:
    return ["--network", network] if network else []


def _weights_of_node(node: dict) -> dict[str, list[int]]:
    """Reads a node's weights from the graph JSON. Accepted shapes of the
    field (the CLI contract only says "weight shapes if present"):
    `"weights": [{"key": full_name, "shape": [...]}, ...]` (nnc graph's),
    `"weights": [{"name": full_or_suffix, "shape": [...]}, ...]`,
    `"weights": {suffix_or_full: [...]}`."""
    out: dict[str, list[int]] = {}
    base = node.get("name", "")
    w = node.get("weights")
    if w is None:
        return out

    def full(key: str) -> str:
        return key if key.startswith(base + ".") else f"{base}.{key}"

    if isinstance(w, dict):
        for k, v in w.items():
            shape = v.get("shape") if isinstance(v, dict) else v
            out[full(k)] = list(shape)
    elif isinstance(w, list):
        for item in w:
            if "key" in item:  # the full weight name (nnc graph's format)
                out[item["key"]] = list(item["shape"])
                continue
            key = item.get("name") or item.get("suffix")
            if key is None:
                raise NncError(f"unreadable weight entry {item!r} in node {base}")
            out[full(key)] = list(item["shape"])
    else:
        raise NncError(f"unreadable `weights` field in node {base}: {w!r}")
    return out


def nnc_graph_nodes(file: Path, network: str | None = None) -> list[dict]:
    """The node list of `nnc graph FILE --format json`."""
    proc = run_nnc(["graph", file, "--format", "json"] + _network_args(network))
    try:
        graph = json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        raise NncError(f"`nnc graph --format json` did not print JSON: {e}") from e
    return graph.get("nodes", []) if isinstance(graph, dict) else graph


def nnc_weights(file: Path, network: str | None = None, nodes: list[dict] | None = None) -> dict[str, list[int]]:
    """Weight name -> shape, as the compiler sees the network."""
    if nodes is None:
        nodes = nnc_graph_nodes(file, network)
    weights: dict[str, list[int]] = {}
    for node in nodes:
        for k, shape in _weights_of_node(node).items():
            if k in weights:
                raise NncError(f"weight {k} reported twice")
            weights[k] = shape
    return weights


def nnc_layer_attrs(nodes: list[dict]) -> dict[str, dict]:
    """Weight name of each conv2d / batchnorm node -> its attributes, read
    from the `attrs` field of the graph JSON (the serialized IR op:
    `{"Conv2d": {...}}`, `{"BatchNorm": {"eps": ...}}`, possibly wrapped in
    `{"Fused": {"base": ...}}`). Nodes without `attrs` are skipped."""
    out: dict[str, dict] = {}
    for n in nodes:
        a = n.get("attrs")
        while isinstance(a, dict) and "Fused" in a:
            a = a["Fused"].get("base")
        if isinstance(a, dict) and "Conv2d" in a:
            c = a["Conv2d"]
            out[n["name"]] = {
                "kind": "conv2d",
                "stride": list(c["stride"]),
                "pad": list(c["pad"]),
                "dilation": list(c["dilation"]),
                "groups": c["groups"],
            }
        elif isinstance(a, dict) and "BatchNorm" in a:
            out[n["name"]] = {"kind": "batchnorm", "eps": float(a["BatchNorm"]["eps"])}
    return out


def nnc_analyze(file: Path, network: str | None = None) -> dict:
    """The JSON object of `nnc analyze --format json`."""
    proc = run_nnc(["analyze", file, "--format", "json"] + _network_args(network))
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        raise NncError(f"`nnc analyze --format json` did not print JSON: {e}") from e


def eprint(*args) -> None:
    print(*args, file=sys.stderr)
