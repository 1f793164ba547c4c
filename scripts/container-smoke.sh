#!/usr/bin/env bash
# Build the cnkg image from a freshly built wheel with podman, run it, ask it a query, stop it, and record the
# image size, the time from start to a healthy /healthz, and the time `podman stop` takes (with its exit code) in
# bench/results/container.md.
#
#   scripts/container-smoke.sh                 # base image: $PYTHON_IMAGE (default: the Containerfile's)
#   OFFLINE_BASE=1 scripts/container-smoke.sh  # no image registry reachable: make a Debian bookworm base with
#                                              # python3 offline (mmdebstrap from the Debian mirror, podman import)
#
# Environment: PODMAN_ARGS (default "--runtime runc": crun cannot run in some sandboxes), RUN_ARGS (default
# "--ulimit nofile=4096:4096 --ulimit nproc=1000:1000": a sandbox's own limits may not be raised), CA_BUNDLE (a
# certificate bundle pip should trust while building, passed as a build secret), NO_RECORD=1 (print only).
set -euo pipefail
checkout="$(cd "$(dirname "$0")/.." && pwd)"
command -v podman >/dev/null || { echo "podman is not installed (Debian: apt-get install podman runc)" >&2; exit 2; }
read -r -a podman_args <<< "${PODMAN_ARGS:---runtime runc}"
read -r -a run_args <<< "${RUN_ARGS:---ulimit nofile=4096:4096 --ulimit nproc=1000:1000}"
podman() { command podman "${podman_args[@]}" "$@"; }
tag="localhost/cnkg:smoke"
name="cnkg-smoke-$$"
work="$(mktemp -d)"
trap 'podman rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

base_args=()
if [[ "${OFFLINE_BASE:-}" == 1 ]]; then
    base="localhost/cnkg-base:bookworm"
    if ! podman image exists "$base"; then
        command -v mmdebstrap >/dev/null || { echo "OFFLINE_BASE=1 needs mmdebstrap (apt-get install mmdebstrap)" >&2; exit 2; }
        echo "making $base with mmdebstrap (Debian bookworm, python3, python3-venv, ca-certificates)"
        mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates \
            --aptopt='Acquire::Check-Valid-Until "false"' bookworm "$work/base.tar"
        podman import --change 'CMD ["python3"]' "$work/base.tar" "$base" >/dev/null
        rm "$work/base.tar"
    fi
    base_args=(--build-arg "PYTHON_IMAGE=$base")
elif [[ -n "${PYTHON_IMAGE:-}" ]]; then
    base_args=(--build-arg "PYTHON_IMAGE=$PYTHON_IMAGE")
fi
secret_args=()
if [[ -n "${CA_BUNDLE:-}" ]]; then
    secret_args=(--secret "id=ca,src=$CA_BUNDLE")
fi

echo "building the wheel"
mkdir "$work/context"
python3 -m pip wheel --quiet --no-deps --wheel-dir "$work/context" "$checkout"
echo "building $tag"
started=$(date +%s.%N)
# docker format: OCI images have no HEALTHCHECK
podman build --quiet --format docker "${run_args[@]}" "${base_args[@]}" "${secret_args[@]}" \
    -f "$checkout/Containerfile" -t "$tag" "$work/context" >/dev/null
build_s=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.0f}')" "$started" "$(date +%s.%N)")
size_bytes=$(podman image inspect --format '{{.Size}}' "$tag")

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
started=$(date +%s.%N)
# (podman without systemd complains that it cannot set a timer for the health check: kept out of sight, in podman.log;
# the check is run by hand below)
podman run -d --name "$name" "${run_args[@]}" -p "127.0.0.1:$port:8000" "$tag" >/dev/null 2>>"$work/podman.log"
python3 - "$port" "$started" > "$work/answers" <<'PY'
import json, sys, time, urllib.parse, urllib.request
port, started = sys.argv[1], float(sys.argv[2])
base = f"http://127.0.0.1:{port}"
for _ in range(600):
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
            health = json.loads(r.read())
            break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("the container did not answer /healthz within 30 s")
ready = time.time() - started
query = "SELECT ?a WHERE { id:jaeger cnkg:hasAncestor ?a }"
request = urllib.request.Request(base + "/sparql", data=urllib.parse.urlencode({"query": query}).encode(),
                                 headers={"Accept": "application/sparql-results+json"})
with urllib.request.urlopen(request, timeout=30) as r:
    names = sorted(b["a"]["value"].rsplit("/", 1)[-1] for b in json.loads(r.read())["results"]["bindings"])
assert "dapper" in names, names
with urllib.request.urlopen(base + "/", timeout=10) as r:
    page = r.read().decode()
print(json.dumps({"ready_s": round(ready, 2), "triples": health["triples"], "ancestors": names,
                  "yasgui": "yasgui.min.js" in page}))
PY
cat "$work/answers"
user=$(podman exec "$name" id -u)
health=$(podman healthcheck run "$name" >/dev/null 2>&1 && echo healthy || echo unhealthy)
started=$(date +%s.%N)
podman stop -t 15 "$name" >/dev/null 2>>"$work/podman.log"
stop_s=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$started" "$(date +%s.%N)")
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
logs=$(podman logs "$name" 2>&1 | grep -v '^{' || true)
echo "image $tag: $(( (size_bytes + 500000) / 1000000 )) MB, built in ${build_s} s; user $user; health check: $health"
echo "podman stop -t 15: ${stop_s} s, exit code $exit_code"
echo "$logs"
[[ "$exit_code" == 0 && "$user" != 0 && "$health" == healthy ]] || {
    echo "smoke test failed; podman said:" >&2; cat "$work/podman.log" >&2; exit 1; }

[[ "${NO_RECORD:-}" == 1 ]] && exit 0
python3 - "$checkout/bench/results/container.md" "$work/answers" "$size_bytes" "$build_s" "$stop_s" "$exit_code" \
    "$user" "$(command podman --version)" "${OFFLINE_BASE:-0}" "$logs" <<'PY'
import json, platform, sys, time
path, answers, size, build_s, stop_s, code, user, version, offline, logs = sys.argv[1:]
a = json.loads(open(answers).read())
base = ("a Debian bookworm base with python3 3.11, made offline with mmdebstrap (minbase) and `podman import`"
        if offline == "1" else "the Containerfile's PYTHON_IMAGE")
text = f"""# The container image

Run: `{'OFFLINE_BASE=1 ' if offline == '1' else ''}scripts/container-smoke.sh` on {time.strftime('%Y-%m-%d')}, \
{platform.machine()}, {version}, `podman --runtime runc`, run with `--ulimit nofile=4096:4096 --ulimit \
nproc=1000:1000`. Base: {base}. The image holds the wheel installed in a virtual environment and the article graph \
built at image build time.

| what | figure |
|---|---|
| image size (`podman image inspect`) | {int(size) / 1e6:.0f} MB |
| image build (wheel installed from PyPI, graph built) | {build_s} s |
| `podman run` to the first healthy `/healthz` | {a['ready_s']} s |
| `podman stop -t 15` (SIGTERM to `cnkg serve` as PID 1, nothing in flight) | {stop_s} s, exit code {code} |
| user inside the container | {user} (not root) |
| graph served | {a['triples']} triples; Jaeger's ancestors {', '.join(a['ancestors'])} |
| `/` serves the YASGUI editor from the package | {'yes' if a['yasgui'] else 'no'} |

What `cnkg serve` wrote to standard error (the access log's JSON lines left out):

```
{logs.strip()}
```
"""
open(path, "w").write(text)
print(f"recorded in {path}")
PY
