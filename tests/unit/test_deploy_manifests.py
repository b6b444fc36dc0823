"""The container image and the Kubernetes manifests (deploy/k8s, kustomize): every resource kustomize
would emit is checked against Kubernetes' own schemas (kubernetes-validate), and the pieces fit together
(the StatefulSet's Service and ConfigMap, the ports the inventory gives devices, the image's user and
health check). No cluster or Docker engine runs here."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from emulator.fleet.inventory import load_inventory

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30"


def kustomize_resources() -> list[dict]:
    """What `kustomize build deploy/k8s` emits, less the name hash: the resources, the generated ConfigMap,
    the common labels (selectors included) and the image tag."""
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kust["apiVersion"] == "kustomize.config.k8s.io/v1beta1" and kust["kind"] == "Kustomization"
    docs = []
    for name in kust["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    for gen in kust.get("configMapGenerator", []):
        data = {Path(f).name: (K8S / f).read_text() for f in gen["files"]}
        docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": gen["name"]}, "data": data})
    labels = {}
    for entry in kust.get("labels", []):
        labels.update(entry["pairs"])
    images = {i["name"]: i for i in kust.get("images", [])}
    for doc in docs:
        doc["metadata"].setdefault("labels", {}).update(labels)
        if doc["kind"] == "StatefulSet":
            doc["spec"]["selector"]["matchLabels"].update(labels)
            doc["spec"]["template"]["metadata"]["labels"].update(labels)
            for c in doc["spec"]["template"]["spec"]["containers"]:
                if c["image"] in images:
                    c["image"] = f"{c['image']}:{images[c['image']]['newTag']}"
        if doc["kind"] == "Service":
            doc["spec"]["selector"].update(labels)
    return docs


def test_every_manifest_validates_against_the_kubernetes_schemas():
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    docs = kustomize_resources()
    assert sorted(d["kind"] for d in docs) == ["ConfigMap", "Service", "StatefulSet"]
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_a_broken_manifest_is_caught_by_the_validator():
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    [sts] = [d for d in kustomize_resources() if d["kind"] == "StatefulSet"]
    sts["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(sts, KUBERNETES_VERSION, strict=True)


def test_the_pieces_fit_together():
    docs = {d["kind"]: d for d in kustomize_resources()}
    sts, svc, cm = docs["StatefulSet"], docs["Service"], docs["ConfigMap"]
    assert svc["spec"]["clusterIP"] == "None"                                # headless
    assert sts["spec"]["serviceName"] == svc["metadata"]["name"]
    pod = sts["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    [volume] = [v for v in pod["volumes"] if "configMap" in v]
    assert volume["configMap"]["name"] == cm["metadata"]["name"]
    [claim] = sts["spec"]["volumeClaimTemplates"]
    [container] = pod["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == "/var/lib/slpemu"              # state on the PVC
    args = container["args"]
    assert args[args.index("--shard") + 1] == "$(POD_NAME)"                   # stable shard identity
    assert args[args.index("--single-address") + 1] == "$(POD_IP)"            # per-device port ranges on the pod IP
    assert {e["name"] for e in container["env"]} == {"POD_NAME", "POD_IP"}
    # the inventory in the ConfigMap is valid, gives each shard distinct hostnames and serials
    inv = K8S / "inventory.yaml"
    a = load_inventory(inv, shard="slpemu-0", address="10.0.0.5")
    b = load_inventory(inv, shard="slpemu-1", address="10.0.0.6")
    assert a.addressing == "single-address" and a.management_port == 29999
    assert {d.ports.ssh for d in a.devices} == {30000 + 3 * i for i in range(len(a.devices))}
    assert not {d.id for d in a.devices} & {d.id for d in b.devices}
    assert not {d.serial for d in a.devices} & {d.serial for d in b.devices}
    assert [d.serial for d in load_inventory(inv, shard="slpemu-0").devices] == [d.serial for d in a.devices]
    ports = {p["port"] for p in svc["spec"]["ports"]}
    assert {29999, 30000, 30001, 30002} <= ports


def test_the_dockerfile_runs_unprivileged_with_state_on_a_volume_and_a_health_check():
    lines = [ln.strip() for ln in (ROOT / "Dockerfile").read_text().splitlines()]
    instructions = [ln.split()[0] for ln in lines if ln and not ln.startswith("#") and ln.split()[0].isupper()]
    assert lines[[i for i, ln in enumerate(lines) if ln.startswith("FROM")][0]].endswith("-slim")
    assert "USER" in instructions and "HEALTHCHECK" in instructions and "VOLUME" in instructions
    user = next(ln for ln in lines if ln.startswith("USER")).split()[1]
    assert not user.startswith(("root", "0"))
    assert any(ln.startswith("VOLUME") and "/var/lib/slpemu" in ln for ln in lines)
    assert any("fleet" in ln and "serve" in ln for ln in lines if ln.startswith("ENTRYPOINT"))
    copied = [ln.split()[1] for ln in lines if ln.startswith("COPY")]
    for src in copied:
        assert (ROOT / src).exists(), src
