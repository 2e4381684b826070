"""The deployment files cannot run here (no cluster, no Dapr CLI): their structure is
checked against the demo's manifests instead, so they cannot drift apart."""

import json
import os
import re

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
APPS = ["web", "grayscale", "classify", "events"]


def manifest(app):
    with open(os.path.join(ROOT, "demo", f"{app}.yaml")) as f:
        return yaml.safe_load(f)


def port_of(m):
    return int(m["listen"].rsplit(":", 1)[1])


def load_all(*path):
    with open(os.path.join(ROOT, *path)) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def test_kubernetes_deployments_match_the_apps():
    docs = load_all("deploy", "kubernetes", "demo.yaml")
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert sorted(deployments) == sorted(APPS)
    for app, d in deployments.items():
        m = manifest(app)
        pod = d["spec"]["template"]
        assert d["spec"]["selector"]["matchLabels"] == pod["metadata"]["labels"]
        a = pod["metadata"]["annotations"]
        assert a["dapr.io/enabled"] == "true"
        assert a["dapr.io/app-id"] == m["app_id"] == app
        assert int(a["dapr.io/app-port"]) == port_of(m)
        assert a["dapr.io/app-protocol"] == "http"
        assert a["dapr.io/app-health-check-path"] == "/healthz"
        (c,) = pod["spec"]["containers"]
        assert c["args"][-1] == f"demo/{app}.yaml" and c["args"][:2] == ["--address", "0.0.0.0"]
        assert c["ports"][0]["containerPort"] == port_of(m)
        assert c["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": port_of(m)}
        assert c["securityContext"]["runAsNonRoot"] is True
    services = [d for d in docs if d["kind"] == "Service"]
    assert (
        services[0]["spec"]["selector"] == {"app": "web"}
        and services[0]["spec"]["ports"][0]["targetPort"] == 8080
    )


def test_kubernetes_components():
    docs = load_all("deploy", "kubernetes", "components.yaml")
    names = {d["metadata"]["name"]: d for d in docs}
    assert names["statestore"]["spec"]["type"] == "state.redis"
    assert names["pubsub"]["spec"]["type"] == "pubsub.redis"
    assert names["edgecar"]["kind"] == "Configuration"
    configs = {
        d["spec"]["template"]["metadata"]["annotations"]["dapr.io/config"]
        for d in load_all("deploy", "kubernetes", "demo.yaml")
        if d["kind"] == "Deployment"
    }
    assert configs == {"edgecar"}


def test_image_holds_what_the_manifests_use():
    dockerfile = open(os.path.join(ROOT, "deploy", "kubernetes", "Dockerfile")).read()
    script = open(os.path.join(ROOT, "deploy", "kubernetes", "build-image.sh")).read()
    copies = re.findall(r"^COPY (\S+) (\S+)$", dockerfile, re.M)
    staged = dict(copies)
    for src in ["bin/edgecar", "lib/", "build/functions/", "demo/", "web/"]:
        assert src in staged, src
    for app in APPS:
        m = manifest(app)
        for f in m.get("functions", []):
            # Manifests resolve ../build/functions/X.wasm from /opt/edgecar/demo.
            assert f["module"].startswith("../build/functions/")
            assert (
                os.path.isfile(
                    os.path.join(
                        ROOT,
                        "functions",
                        os.path.basename(f["module"])[:-5],
                        os.path.basename(f["module"])[:-5] + ".cpp",
                    )
                )
                or "-rs" in f["module"]
            )
            for spec in f.get("nn_preload", []):
                # The model ships in the repository (demo/models/), inside the image's demo/.
                model = spec.split(":", 3)[3]
                assert not model.startswith("../"), model
                assert os.path.isfile(os.path.join(ROOT, "demo", model)), model
            for d in f.get("dirs", []):
                assert os.path.isdir(os.path.join(ROOT, "demo", d.split(":")[0])), d
    assert (
        "shared" not in script and "shared" not in dockerfile
    )  # nothing from beside the repository
    assert "EDGECAR_LITERT_LIBRARY=/opt/edgecar/lib/libLiteRt.so" in dockerfile


def test_multi_app_run_file():
    (doc,) = load_all("dapr.yaml")
    apps = {a["appID"]: a for a in doc["apps"]}
    assert sorted(apps) == sorted(APPS)
    for app, a in apps.items():
        assert a["appPort"] == port_of(manifest(app))
        assert a["command"] == ["build/edgecar", "serve", f"demo/{app}.yaml"]
    for p in doc["common"]["resourcesPaths"]:
        assert os.path.isdir(os.path.join(ROOT, p))
    assert os.path.isfile(os.path.join(ROOT, doc["common"]["configFilePath"]))


def test_local_components():
    for path in [
        "redis/statestore.yaml",
        "redis/pubsub.yaml",
        "sqlite/statestore.yaml",
        "sqlite/pubsub.yaml",
        "common/secretstore.yaml",
        "common/cron.yaml",
        "common/files.yaml",
    ]:
        (d,) = load_all("deploy", "components", *path.split("/"))
        assert d["apiVersion"] == "dapr.io/v1alpha1" and d["kind"] == "Component"
        assert d["spec"]["type"].split(".")[0] in ("state", "pubsub", "secretstores", "bindings")
    (config,) = load_all("deploy", "config.yaml")
    assert config["spec"]["nameResolution"]["component"] == "sqlite"


SEED_APPS = {  # app id: (module, app port, the Dapr HTTP port compiled into it)
    "image-api-grayscale": ("image-api-grayscale.wasm", 9005, 3503),
    "image-api-classify": ("wasmedge_hyper_server_tflite.wasm", 9006, 3504),
    "events-service": ("events_service.wasm", 9007, 3505),
}


def test_seed_services_on_kubernetes():
    """deploy/kubernetes/seed-services.yaml runs deploy/kubernetes/seed/APP.yaml per pod
    (ctest seed_services runs those manifests beside real daprds): app ids and ports
    agree, the compiled-in Dapr port goes to the sidecar's 3500, health is the port, and
    only the events service's sidecar reads the mounted secrets file."""
    docs = load_all("deploy", "kubernetes", "seed-services.yaml")
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(SEED_APPS) <= set(deployments)
    for app, (module, port, dapr_port) in SEED_APPS.items():
        (m,) = load_all("deploy", "kubernetes", "seed", app + ".yaml")
        assert (
            m["app_id"] == app and m["server"]["module"] == module and m["server"]["port"] == port
        )
        assert m["server"]["network"]["redirect"] == [
            f"127.0.0.1:{dapr_port}=127.0.0.1:3500",
            f"[::1]:{dapr_port}=[::1]:3500",
        ]
        pod = deployments[app]["spec"]["template"]
        a = pod["metadata"]["annotations"]
        assert (a["dapr.io/app-id"], int(a["dapr.io/app-port"]), a["dapr.io/config"]) == (
            app,
            port,
            "edgecar",
        )
        (c,) = pod["spec"]["containers"]
        assert c["args"] == [f"seed/{app}.yaml"] and c["ports"][0]["containerPort"] == port
        assert c["readinessProbe"] == {"tcpSocket": {"port": port}} == c["livenessProbe"]
        assert c["securityContext"]["runAsNonRoot"] is True
    store = next(
        d for d in docs if d["kind"] == "Component" and d["metadata"]["name"] == "local-store"
    )
    assert store["scopes"] == ["events-service"]
    secrets_file = next(x["value"] for x in store["spec"]["metadata"] if x["name"] == "secretsFile")
    events = deployments["events-service"]["spec"]["template"]
    volume, mount = events["metadata"]["annotations"]["dapr.io/volume-mounts"].split(":")
    assert secrets_file == mount + "/secrets.json"
    assert any(
        v["name"] == volume and v["secret"]["secretName"] == "seed-secrets"
        for v in events["spec"]["volumes"]
    )
    secret = next(d for d in docs if d["kind"] == "Secret")
    url = json.loads(secret["stringData"]["secrets.json"])["DB_URL"]["MYSQL"]
    (m,) = load_all("deploy", "kubernetes", "seed", "events-service.yaml")
    host = url.split("@")[1].split(":")[0]
    assert (
        host in m["server"]["network"]["lookup"] and "*:3306" in m["server"]["network"]["connect"]
    )
    assert any(d["kind"] == "Service" and d["metadata"]["name"] == host for d in docs)
    dockerfile = open(os.path.join(ROOT, "deploy", "kubernetes", "Dockerfile")).read()
    script = open(os.path.join(ROOT, "deploy", "kubernetes", "build-image.sh")).read()
    assert (
        "COPY seed/ /opt/edgecar/seed/" in dockerfile
        and 'cp deploy/kubernetes/seed/*.yaml "$ctx/seed/"' in script
    )
    for module, _, _ in SEED_APPS.values():
        assert module in script
