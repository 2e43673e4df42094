"""The DAG on a real SLURM scheduler: a one-node cluster on this machine, every job through sbatch.

Needs root on Debian (tests/cluster/start_slurm.sh installs and starts slurmctld, slurmd and munge);
skipped otherwise, with the reason. Outputs must equal those of a local run of the same target.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from hmr.io.manifest import read_manifest
from hmr.io.sequence import read_sequence

TINY = REPO / "tests" / "configs" / "tiny.yaml"
START = REPO / "tests" / "cluster" / "start_slurm.sh"
TARGETS = ("data/synthetic/manifest.csv", "results/synthetic/preview.png")
# one-node test cluster without slurmdbd: poll squeue, not sacct (which would never answer)
SLURM_ARGS = ("--workflow-profile", str(REPO / "profiles" / "slurm"), "--slurm-status-command", "squeue",
              "--slurm-init-seconds-before-status-checks", "1", "--slurm-no-account",
              "--default-resources", "slurm_partition=debug", "runtime=30", "mem_mb=1500",
              "--latency-wait", "5", "--retries", "0", "--jobs", "4")


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "SLURM test needs root (it installs and starts slurmctld/slurmd/munge)"
    if not Path("/etc/debian_version").exists():
        return "SLURM test needs Debian (apt-get installs the daemons)"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    state = tmp_path_factory.mktemp("slurm_state")
    # OMP_NUM_THREADS=1 as the test suite sets it: the node must still get every CPU (CI's jobs
    # once stayed pending for ever on a 1-CPU node, because nproc honours that variable)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(["bash", str(START), str(state)], capture_output=True, text=True, timeout=300, env=env)
    if run.returncode == 3:  # apt-get could not reach the Debian mirror: not our code's fault
        pytest.skip(f"could not install SLURM: {run.stderr.strip()}")
    if run.returncode == 5:  # a real SLURM installation's config: left alone
        pytest.skip(run.stderr.strip())
    assert run.returncode == 0, run.stderr
    assert shutil.which("sbatch")
    cpus = subprocess.run(["sinfo", "-h", "-N", "-o", "%c"], capture_output=True, text=True, timeout=30).stdout
    assert int(cpus.split()[0]) == len(os.sched_getaffinity(0)), f"the test node has {cpus.strip()} CPUs"
    yield state
    subprocess.run(["bash", str(START), "--stop", str(state)], timeout=60)


def snakemake(workdir: Path, *args: str, config: Path = TINY) -> subprocess.CompletedProcess:
    cmd = ["timeout", "-k", "10", "600", sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"),
           "--directory", str(workdir), "--configfile", str(config), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=660)


def cluster_state(workdir: Path) -> str:
    """What the scheduler says, for a failure message: queue, node state, controller log, job logs."""
    parts = []
    for cmd in (["squeue", "-a", "-o", "%i %j %T %r"], ["sinfo", "-N", "-o", "%N %T %E"]):
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        parts.append(f"$ {' '.join(cmd)}\n{out.stdout}{out.stderr}")
    log = Path("/var/log/slurm/slurmctld.log")
    if log.exists():
        parts.append("slurmctld.log:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
    for job_log in sorted((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))[:3]:
        parts.append(f"{job_log}:\n{job_log.read_text(errors='replace')[-800:]}")
    return "\n".join(parts)


def test_tiny_dag_through_slurm_equals_local_run(cluster, tmp_path):
    slurm_dir, local_dir = tmp_path / "slurm", tmp_path / "local"
    run = snakemake(slurm_dir, *SLURM_ARGS, *TARGETS)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:] + "\n" + cluster_state(slurm_dir)
    out = run.stdout + run.stderr
    # every job ran through sbatch: each finished job was submitted with a SLURM job id
    submitted = set(re.findall(r"Job (\d+) has been submitted with SLURM jobid \d+", out))
    finished = set(re.findall(r"Finished jobid: (\d+) \(Rule: (\w+)\)", out))
    assert {j for j, _ in finished} == submitted
    rules = {re.sub(r"_synthetic_\d{3}$", "", rule) for _, rule in finished}
    assert rules == {"build_body_model", "synthesize", "synthetic_manifest", "preview"}

    local = snakemake(local_dir, "--cores", "2", *TARGETS)
    assert local.returncode == 0, local.stderr[-3000:]
    a, b = read_manifest(slurm_dir / TARGETS[0]), read_manifest(local_dir / TARGETS[0])
    assert a.equals(b)
    for seq in a.seq:
        x = read_sequence(slurm_dir / f"data/synthetic/{seq}.h5", load_frames=True)
        y = read_sequence(local_dir / f"data/synthetic/{seq}.h5", load_frames=True)
        np.testing.assert_array_equal(x.frames, y.frames)
        for key in x.arrays:
            np.testing.assert_array_equal(x.arrays[key], y.arrays[key])
    assert (slurm_dir / TARGETS[1]).read_bytes() == (local_dir / TARGETS[1]).read_bytes()


def test_failing_job_on_slurm_fails_the_run_and_names_the_log(cluster, tmp_path):
    data = tmp_path / "bad_data"
    data.mkdir()
    (data / "broken.h5").write_bytes(b"this is not an HDF5 file")
    (data / "manifest.csv").write_text("seq,split,n_frames,fps,has_gt\nbroken,test,10,30,False\n")
    config = tmp_path / "bad.yaml"
    config.write_text(TINY.read_text().replace("preview:\n  dataset: synthetic",
                                               "preview:\n  dataset: bad")
                      + "\n# a folder dataset whose only sequence file is corrupt\n")
    text = config.read_text().replace("datasets:\n", f"datasets:\n  bad:\n    type: sequences\n    path: {data}\n", 1)
    config.write_text(text)
    run = snakemake(tmp_path / "work", *SLURM_ARGS, "results/bad/preview.png", config=config)
    assert run.returncode not in (0, 124, 137), ("the failed job must fail the run, not hang\n"
                                                 + cluster_state(tmp_path / "work"))
    out = run.stdout + run.stderr
    assert "Error in rule preview" in out
    assert "logs/preview/bad.log" in out
