"""Placement and failures on a real multi-node Ray cluster on one machine (`ray.cluster_utils.Cluster`).

GPUs are declared, not physical: Ray schedules `num_gpus` all the same, which is what placement
needs. The scripted engine is deterministic per (prompt, sample, seed), so a run that loses an
actor or a node must store exactly what an undisturbed run stores.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import duckdb
import pytest
import ray
from ray.cluster_utils import Cluster

from tests.conftest import DATA, THINKBENCH, recorded_workers, run_cli

# Detect a removed node in seconds, yet not mistake a busy 2-core machine for a dead node.
FAST_HEALTH = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 1000,
               "health_check_failure_threshold": 5}


@pytest.fixture
def cluster():
    if ray.is_initialized():
        ray.shutdown()
    # Loopback only: the test cluster's nodes talk over 127.0.0.1.
    c = Cluster(initialize_head=True, connect=True,
                head_node_args={"num_cpus": 2, "node_ip_address": "127.0.0.1", "_system_config": FAST_HEALTH,
                                "include_dashboard": False, "include_log_monitor": False})
    yield c
    ray.shutdown()
    c.shutdown()


def _cfg(tmp_path, **engine) -> str:
    body = {"engine": {"kind": "scripted", **engine}, "commit_every": 2, "max_inflight": 6}
    path = tmp_path / f"cfg-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(body))  # JSON is YAML
    return str(path)


def _manifest(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return json.loads(con.execute("SELECT manifest FROM runs").fetchone()[0])
    finally:
        con.close()


def _snapshot(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return (con.execute("SELECT problem_id, final_answer, correct, generated_tokens FROM attempts ORDER BY 1")
                .fetchall(),
                con.execute("SELECT problem_id, sample_idx, text FROM samples ORDER BY 1, 2").fetchall())
    finally:
        con.close()


def _count(db) -> int:
    try:
        con = duckdb.connect(str(db), read_only=True)
        try:
            return con.execute("SELECT count(*) FROM attempts").fetchone()[0]
        finally:
            con.close()
    except duckdb.Error:
        return 0


ARGS = ["run", "--suite", "arith:digits=1-2,n=40,seed=21", "--strategy", "self_consistency", "--n", "4",
        "--max-tokens", "40"]


def test_placement_one_actor_per_gpu_and_per_tp_group(cluster, tmp_path):
    for _ in range(2):
        cluster.add_node(num_cpus=2, num_gpus=2, node_ip_address="127.0.0.1")
    cluster.wait_for_nodes()
    gpu_nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get("GPU")}

    dry = run_cli(*ARGS, "--config", _cfg(tmp_path, gpus_per_worker=2, tensor_parallel_size=2), "--ray-address",
                  cluster.address, "--dry-run", "--db", str(tmp_path / "d.duckdb"), cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "cluster: 3 node(s), CPU=6, GPU=4" in dry.stdout, dry.stdout
    assert dry.stdout.count("placement group of 2 bundles") == 2 and "STRICT_PACK, TP=2" in dry.stdout
    assert not (tmp_path / "d.duckdb").exists() or _count(tmp_path / "d.duckdb") == 0

    tp_db = tmp_path / "tp.duckdb"
    tp = run_cli(*ARGS, "--config", _cfg(tmp_path, gpus_per_worker=2, tensor_parallel_size=2),
                 "--ray-address", cluster.address, "--db", str(tp_db), cwd=tmp_path)
    assert tp.returncode == 0, tp.stderr
    workers = _manifest(tp_db)["workers"]
    # Each TP group's bundles are packed on one node, and a 2-GPU node holds one group: two distinct GPU nodes.
    assert {w["node_id"] for w in workers} == gpu_nodes

    one_db = tmp_path / "one.duckdb"
    one = run_cli(*ARGS, "--config", _cfg(tmp_path, gpus_per_worker=1), "--ray-address", cluster.address,
                  "--db", str(one_db), cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    workers = _manifest(one_db)["workers"]
    assert len(workers) == 4, "one engine actor per GPU"
    assert len({(w["node_id"], tuple(w["accelerator_ids"])) for w in workers}) == 4
    assert all(len(w["accelerator_ids"]) == 1 for w in workers)
    stats = _manifest(one_db)["worker_stats"]
    assert sum(s["problems"] for s in stats) == 40 and all(s["problems"] > 0 for s in stats), "queue feeds every actor"

    too_big = run_cli(*ARGS, "--config", _cfg(tmp_path, gpus_per_worker=4), "--ray-address", cluster.address,
                      "--dry-run", "--db", str(tmp_path / "x.duckdb"), cwd=tmp_path)
    assert too_big.returncode == 2 and "GPUs" in too_big.stderr


def _worker_record(db, worker: str) -> dict:
    """Where the run says its engine actor `worker` lives, once its engines started."""
    records = [w for w in recorded_workers(db) if w["worker"] == worker]
    assert records, f"run never recorded its actor {worker}"
    return records[0]


def _actor(db, worker: str):
    return ray.get_actor(_worker_record(db, worker)["actor_name"], namespace="thinkbench")


def _run_with_disturbance(tmp_path, cluster, cfg: str, disturb) -> tuple[subprocess.CompletedProcess, str]:
    db = tmp_path / "disturbed.duckdb"
    env = {**os.environ, "THINKBENCH_DATA_DIR": str(DATA)}
    proc = subprocess.Popen([THINKBENCH, *ARGS, "--config", cfg, "--ray-address", cluster.address, "--db", str(db)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Disturb once w0's engine is up and generating: after 4 problems stored, or 2 s into generation, whichever
    # comes first (on a loaded machine grading can lag generation so far that nothing is stored until it ends).
    _worker_record(db, "w0")
    deadline = time.time() + 2
    while time.time() < deadline and _count(db) < 4 and proc.poll() is None:
        time.sleep(0.3)
    assert proc.poll() is None, "the run finished before it could be disturbed"
    disturb(db)
    assert _count(db) < 40, "the disturbance must land while work remains"
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), str(db)


def _reference(tmp_path, cluster, cfg):
    ref_db = tmp_path / "ref.duckdb"
    ref = run_cli(*ARGS, "--config", cfg, "--ray-address", cluster.address, "--db", str(ref_db), cwd=tmp_path)
    assert ref.returncode == 0, ref.stderr
    return _snapshot(ref_db)


def _events(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT kind FROM run_events").fetchall()]
    finally:
        con.close()


def test_killed_engine_actor_is_restarted_and_its_problems_retried(cluster, tmp_path):
    cluster.add_node(num_cpus=2, node_ip_address="127.0.0.1")
    cluster.wait_for_nodes()
    expected = _reference(tmp_path, cluster, _cfg(tmp_path))  # latency is not part of the run's identity

    def kill_w0(db) -> None:
        ray.kill(_actor(db, "w0"), no_restart=False)

    proc, db = _run_with_disturbance(tmp_path, cluster, _cfg(tmp_path, seconds_per_token=0.15), kill_w0)
    assert proc.returncode == 0, proc.stderr
    assert _snapshot(db) == expected
    events = _events(db)
    assert "actor_error" in events and "worker_recovered" in events
    stats = {s["worker"]: s for s in _manifest(db)["worker_stats"]}
    assert stats["w0"]["failures"] >= 1 and stats["w0"]["recoveries"] == 1


def test_lost_node_work_moves_to_the_others(cluster, tmp_path):
    nodes = [cluster.add_node(num_cpus=1, num_gpus=1, node_ip_address="127.0.0.1") for _ in range(3)]
    cluster.wait_for_nodes()
    expected = _reference(tmp_path, cluster, _cfg(tmp_path, gpus_per_worker=1))
    by_id = {n.node_id: n for n in nodes}

    def remove_w0_node(db) -> None:
        node_id = _worker_record(db, "w0")["node_id"]
        cluster.remove_node(by_id[node_id], allow_graceful=False)

    proc, db = _run_with_disturbance(tmp_path, cluster, _cfg(tmp_path, seconds_per_token=0.15, gpus_per_worker=1),
                                     remove_w0_node)
    assert proc.returncode == 0, proc.stderr
    assert _snapshot(db) == expected
    assert "actor_error" in _events(db)
