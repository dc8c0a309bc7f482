#!/usr/bin/env bash
# Checks Examples/kubernetes/encode-job.yaml: validates it against the Kubernetes API schema offline
# (kubernetes-validate from PyPI, which ships the schemas; --strict, so a misspelt field fails), then runs
# its container command once per completion index as an Indexed Job's pods would — JOB_COMPLETION_INDEX set
# as Kubernetes sets it, the manifest's own env (JOB_COMPLETIONS) — with its volume mount paths mapped to
# local folders (the image fixtures and the tiny Hugging Face model of the tests), merges the index and
# checks that every image is listed exactly once and that every index wrote its own shard. Seconds.
# Creates .venv-kubernetes (ignored by git) on first use.
# Usage: Scripts/check-kubernetes.sh [VITREOUS]   (default .build/debug/vitreous)
set -euo pipefail
cd "$(dirname "$0")/.."
vitreous=$(realpath "${1:-.build/debug/vitreous}")
[[ -x $vitreous ]] || { echo "check-kubernetes: $vitreous is not an executable" >&2; exit 1; }
venv=.venv-kubernetes
if ! "$venv/bin/python" -c "import kubernetes_validate, yaml" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check kubernetes-validate==1.37.0
fi
manifest=Examples/kubernetes/encode-job.yaml
"$venv/bin/kubernetes-validate" --strict --quiet "$manifest"
echo "check-kubernetes: $manifest is a valid batch/v1 Job (Kubernetes 1.37 schema, strict)"
work=$(mktemp -d "${TMPDIR:-/tmp}/vitreous-kubernetes.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$venv/bin/python" - "$manifest" "$vitreous" "$work" <<'EOF'
import json, os, shutil, subprocess, sys, yaml
manifest, vitreous, work = sys.argv[1:]
job = yaml.safe_load(open(manifest))
spec = job["spec"]
assert spec["completionMode"] == "Indexed", "--shard auto needs JOB_COMPLETION_INDEX, set only in Indexed mode"
container = spec["template"]["spec"]["containers"][0]
env = {e["name"]: e["value"] for e in container.get("env", [])}
assert int(env["JOB_COMPLETIONS"]) == spec["completions"], (env["JOB_COMPLETIONS"], spec["completions"])
# The volumes, mounted where the pod sees them: the images and the model under the first, the output under the second.
mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
command = container["command"]
assert command[0] == "vitreous" and "--dataset" in command and command[command.index("--shard") + 1] == "auto", command
images, model, out = command[2], command[command.index("--model") + 1], command[command.index("--out") + 1]
local = lambda path: next(os.path.join(work, name) + path[len(mount):] for name, mount in mounts.items()
                          if path.startswith(mount + "/"))
shutil.copytree("Tests/VitreousImageTests/Fixtures/images", local(images))
shutil.copytree("Tests/VitreousModelTests/Fixtures/tiny/hf", local(model))
count = len(os.listdir(local(images)))
args = [vitreous] + [local(a) if a.startswith("/") else a for a in command[1:]]
for index in range(spec["completions"]):
    run = subprocess.run(args, env=dict(os.environ, **env, JOB_COMPLETION_INDEX=str(index)), capture_output=True, text=True)
    assert run.returncode == 0, (index, run.stderr[-2000:])
    assert f"shard {index}/{spec['completions']}" in run.stdout, run.stdout
merge = subprocess.run([vitreous, "index", "merge", local(out), "--json"], capture_output=True, text=True)
assert merge.returncode == 0, merge.stderr
merged = [json.loads(line) for line in open(os.path.join(local(out), "index.jsonl"))]
sources = [e["source"] for e in merged]
assert len(sources) == count and len(set(sources)) == count, (len(sources), len(set(sources)), count)
shards = sorted(f for f in os.listdir(local(out)) if f.startswith("index-"))
assert shards == [f"index-{i:05d}.jsonl" for i in range(spec["completions"])], shards
print(f"check-kubernetes: {spec['completions']} completion indexes, JOB_COMPLETION_INDEX → --shard auto: "
      f"{count} images, each once in the merged index")
EOF
