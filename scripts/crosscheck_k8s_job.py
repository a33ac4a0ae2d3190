"""The Kubernetes Indexed Job of scripts/k8s/ (grid-job.yaml, merge-job.yaml), parsed with PyYAML
and checked for what the shards and the merge rely on: an Indexed Job whose --shard-count is its
completions, each pod writing its own shard directory on the shared volume, and a merge Job that
names every shard. Then the pods are run here as the kubelet would run them (JOB_COMPLETION_INDEX
set, $(VAR) expanded from the container's env, /results on a temporary directory; --epochs 3
appended to keep it short), the merge Job's command after them, and the merged files and table
must be byte-identical to the same grid run on one machine.

    python scripts/crosscheck_k8s_job.py --binary target/release/precision-audit
"""

import argparse
import filecmp
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHORT = ["--epochs", "3"]


def load(name):
    with open(os.path.join(ROOT, "scripts", "k8s", name)) as f:
        documents = [d for d in yaml.safe_load_all(f) if d is not None]
    assert len(documents) == 1, f"{name}: one document"
    job = documents[0]
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job", f"{name}: a batch/v1 Job"
    spec = job["spec"]
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never", f"{name}: a failed pod is not restarted in place"
    (container,) = pod["containers"]
    assert container["command"] == ["precision-audit"], f"{name}: runs precision-audit"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]}
    assert set(mounts) == set(claims), f"{name}: every mount is a volume claim"
    return job, spec, container, mounts


def expand(text, env):
    """$(VAR) as Kubernetes expands it in args: from the container's env, else left as is."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), text)


def run(binary, args, env, out):
    result = subprocess.run([binary, *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"FAIL `precision-audit {' '.join(args)}`: {result.stderr}", file=sys.stderr)
        sys.exit(1)
    if out is not None:
        with open(out, "w") as f:
            f.write(result.stdout)
    return result.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    binary = os.path.abspath(parser.parse_args().binary)

    _, spec, shard, shard_mounts = load("grid-job.yaml")
    _, _, merger, merge_mounts = load("merge-job.yaml")
    assert spec["completionMode"] == "Indexed", "the grid is an Indexed Job"
    completions = spec["completions"]
    args = [str(a) for a in shard["args"]]
    count = args[args.index("--shard-count") + 1]
    assert int(count) == completions, f"--shard-count {count} is the Job's completions {completions}"
    env_names = [e["name"] for e in shard["env"]]
    assert "JOB_COMPLETION_INDEX" in env_names, "the index is declared for $(…) in args"
    field = shard["env"][env_names.index("JOB_COMPLETION_INDEX")]["valueFrom"]["fieldRef"]["fieldPath"]
    assert "job-completion-index" in field, field
    csv = args[args.index("--csv") + 1]
    assert "$(JOB_COMPLETION_INDEX)" in csv, "each pod writes its own shard directory"
    (mount,) = shard_mounts.values()
    assert csv.startswith(mount + "/"), "shards go to the shared volume"
    assert list(merge_mounts.values()) == [mount], "the merge mounts the same volume"
    merge_args = [str(a) for a in merger["args"]]
    assert merge_args[0] == "merge"
    named = [a for a in merge_args[1:] if a.startswith(mount + "/shard-")]
    expected = [csv.replace("$(JOB_COMPLETION_INDEX)", str(i)) for i in range(completions)]
    assert named == expected, f"the merge names every shard: {named} != {expected}"

    with tempfile.TemporaryDirectory() as tmp:
        local = lambda a: a.replace(mount, tmp)
        base = {k: v for k, v in os.environ.items()
                if not k.startswith("SLURM_ARRAY_") and k != "JOB_COMPLETION_INDEX"}
        for index in range(completions):
            env = dict(base, JOB_COMPLETION_INDEX=str(index))
            pod_args = [local(expand(a, env)) for a in args] + SHORT
            run(binary, pod_args, env, None)
        merged_report = run(binary, [local(a) for a in merge_args], base, None)
        merged_dir = local(merge_args[merge_args.index("--csv") + 1])
        single_args = list(args)
        at = single_args.index("--shard-count")
        del single_args[at:at + 2]
        single_args[single_args.index("--csv") + 1] = os.path.join(tmp, "single")
        single_report = run(binary, single_args + SHORT, base, None)
        single_dir = os.path.join(tmp, "single")
        comparison = filecmp.dircmp(single_dir, merged_dir)
        _, mismatch, errors = filecmp.cmpfiles(single_dir, merged_dir, comparison.common_files,
                                               shallow=False)
        if comparison.left_only or comparison.right_only or mismatch or errors:
            print(f"FAIL: merged files differ: only single {comparison.left_only}, only merged "
                  f"{comparison.right_only}, different {mismatch}, unreadable {errors}")
            sys.exit(1)
        if merged_report != single_report:
            print("FAIL: the merge Job's table differs from the single-machine run's")
            sys.exit(1)
        print(f"crosscheck_k8s_job: {completions} pods of the Indexed Job and the merge Job, run "
              f"locally: {len(comparison.common_files)} files byte-identical to one machine")


if __name__ == "__main__":
    main()
