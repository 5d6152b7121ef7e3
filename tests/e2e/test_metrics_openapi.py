"""GET /metrics (Prometheus text) and GET /openapi.json (the contract the server keeps)."""
import json
import re

import pytest
import requests

from conftest import FIXTURES, SAMPLES, Server

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """{(name, frozenset(labels)): value}; checks the exposition format on the way."""
    samples = {}
    types = {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("#"):
            assert line.startswith("# HELP "), line
            continue
        m = LINE.match(line)
        assert m, f"not Prometheus text format: {line!r}"
        name, labels, value = m.groups()
        pairs = tuple(LABEL.findall(labels or ""))
        if labels:
            assert ",".join(f'{k}="{v}"' for k, v in pairs) == labels, line
        key = (name, frozenset(pairs))
        assert key not in samples, f"duplicate sample {line}"
        samples[key] = float(value)
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def series(samples, name):
    return [(dict(labels), v) for (n, labels), v in samples.items() if n == name]


def exercise(server):
    """Calls every route at least once, with successes and failures."""
    server.get("/healthz")
    server.get("/readyz")
    server.get("/openapi.json")
    server.get("/v1/collections")
    server.post("/v1/collections", json={"name": "made"})
    server.post("/v1/collections", json={"name": "made"})  # 409
    server.upload("hb", sorted(SAMPLES.iterdir()))
    server.upload("hb", [FIXTURES / "garbage.bin"])  # 415
    server.upload("hb", [SAMPLES / "employee-handbook.md"])  # unchanged
    server.get("/v1/collections/hb")
    docs = server.get("/v1/collections/hb/documents").json()["documents"]
    server.get(f"/v1/collections/hb/documents/{docs[0]['doc_id']}")
    server.get("/v1/collections/hb/documents/missing")
    server.post("/v1/collections/hb/search", json={"query": "vacation"})
    server.post("/v1/collections/hb/search", json={"query": ""})
    server.post("/v1/collections/hb/ask", json={"question": "How many vacation days?"})
    server.post("/v1/collections/hb/ask", json={"question": "How many vacation days?", "stream": True})
    server.delete(f"/v1/collections/hb/documents/{docs[-1]['doc_id']}")
    server.delete("/v1/collections/made")
    server.get("/no/such/route")
    server.get("/metrics")


@pytest.fixture(scope="module")
def exercised(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("metrics"), args=["--metrics-collection-labels", "true"]).start()
    exercise(s)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def spec(exercised):
    r = exercised.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    return r.json()


# -- metrics --------------------------------------------------------------------------------------

def test_metrics_is_prometheus_text(exercised):
    r = exercised.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    samples, types = parse_metrics(r.text)
    assert types["kaito_rag_http_requests_total"] == "counter"
    assert types["kaito_rag_http_request_duration_seconds"] == "histogram"
    assert types["kaito_rag_ingest_files_total"] == "counter"
    assert types["kaito_rag_collection_documents"] == "gauge"
    assert value(samples, "kaito_rag_ready") == 1


def test_request_counter_labels(exercised):
    samples, _ = parse_metrics(exercised.metrics())
    assert value(samples, "kaito_rag_http_requests_total", route="/v1/collections", method="POST", status="201") == 1
    assert value(samples, "kaito_rag_http_requests_total", route="/v1/collections", method="POST", status="409") == 1
    assert value(samples, "kaito_rag_http_requests_total", route="/v1/collections/{name}/documents", method="POST",
                 status="415") == 1
    assert value(samples, "kaito_rag_http_requests_total", route="/v1/collections/{name}/search", method="POST",
                 status="400") == 1
    assert value(samples, "kaito_rag_http_requests_total", route="unmatched", method="GET", status="404") >= 1
    for labels, v in series(samples, "kaito_rag_http_requests_total"):
        assert set(labels) == {"route", "method", "status"}, labels
        assert v >= 1
        # Routes are templates, never raw paths with ids in them.
        assert "hb" not in labels["route"] and "missing" not in labels["route"], labels


def test_duration_histogram_is_consistent(exercised):
    samples, _ = parse_metrics(exercised.metrics())
    buckets = {}
    for labels, v in series(samples, "kaito_rag_http_request_duration_seconds_bucket"):
        buckets.setdefault(labels["route"], []).append((float(labels["le"]), v))
    assert "/v1/collections/{name}/documents" in buckets
    for route, bs in buckets.items():
        bs.sort()
        counts = [v for _, v in bs]
        assert counts == sorted(counts), f"buckets of {route} are not cumulative: {bs}"
        assert bs[-1][0] == float("inf")
        count = value(samples, "kaito_rag_http_request_duration_seconds_count", route=route)
        assert bs[-1][1] == count
        assert value(samples, "kaito_rag_http_request_duration_seconds_sum", route=route) >= 0
        total = sum(v for labels, v in series(samples, "kaito_rag_http_requests_total") if labels["route"] == route)
        assert count == total, route


def test_ingest_and_collection_metrics(exercised):
    samples, _ = parse_metrics(exercised.metrics())
    outcomes = {labels["outcome"]: v for labels, v in series(samples, "kaito_rag_ingest_files_total")}
    assert set(outcomes) == {"added", "updated", "unchanged", "duplicate", "failed"}
    assert outcomes["added"] == 5 and outcomes["failed"] == 1 and outcomes["unchanged"] == 1
    docs = {labels["collection"]: v for labels, v in series(samples, "kaito_rag_collection_documents")}
    assert docs == {"hb": 4}
    chunks = value(samples, "kaito_rag_collection_chunks", collection="hb")
    assert chunks == exercised.get("/v1/collections/hb").json()["chunks"]


def test_metrics_change_after_requests(make_server):
    server = make_server(args=["--metrics-collection-labels", "true"])
    before, _ = parse_metrics(server.metrics())
    assert series(before, "kaito_rag_collection_documents") == []
    server.upload_ok("m", [SAMPLES / "employee-handbook.md", SAMPLES / "office-locations.csv"])
    for _ in range(3):
        server.search("m", "vacation")
    after, _ = parse_metrics(server.metrics())
    key = dict(route="/v1/collections/{name}/search", method="POST", status="200")
    assert value(after, "kaito_rag_http_requests_total", **key) == value(before, "kaito_rag_http_requests_total",
                                                                         **key) + 3
    assert value(after, "kaito_rag_ingest_files_total", outcome="added") == \
        value(before, "kaito_rag_ingest_files_total", outcome="added") + 2
    assert value(after, "kaito_rag_collection_documents", collection="m") == 2
    assert value(after, "kaito_rag_ingest_chunks_total") > value(before, "kaito_rag_ingest_chunks_total")
    server.delete("/v1/collections/m")
    gone, _ = parse_metrics(server.metrics())
    assert series(gone, "kaito_rag_collection_documents") == []


def test_metrics_label_values_are_escaped(server):
    # Collection names cannot hold quotes, but the route label of unmatched paths must never carry the raw path.
    server.get('/weird"path\\with\nstuff')
    parse_metrics(server.metrics())


# -- OpenAPI ----------------------------------------------------------------------------------------

def test_openapi_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    try:
        from openapi_spec_validator import validate
    except ImportError:  # pragma: no cover - listed in requirements.txt
        pytest.skip("openapi-spec-validator is not installed")
    validate(spec)


def placeholder_path(path):
    return path.replace("{name}", "openapi-probe").replace("{doc_id}", "0000probe")


def test_every_documented_operation_is_routed(exercised, spec):
    missing = []
    for path, item in spec["paths"].items():
        for method in ("get", "post", "put", "delete", "patch"):
            if method not in item:
                continue
            kw = {}
            if method in ("post", "put", "patch"):
                kw = {"json": {}}
            r = exercised.request(method.upper(), placeholder_path(path), **kw)
            unrouted = r.status_code == 405 or (
                r.status_code == 404 and r.json().get("error", {}).get("message", "").startswith("no route for"))
            if unrouted:
                missing.append(f"{method.upper()} {path}")
    assert missing == [], f"documented but not routed: {missing}"


def test_every_routed_label_is_documented(exercised, spec):
    samples, _ = parse_metrics(exercised.metrics())
    routes = {labels["route"] for labels, _ in series(samples, "kaito_rag_http_requests_total")}
    routes -= {"unmatched", "unauthenticated", "forbidden"}
    assert len(routes) >= 8
    undocumented = sorted(routes - set(spec["paths"]))
    assert undocumented == [], f"routes seen in /metrics but missing from /openapi.json: {undocumented}"


def test_every_observed_status_is_documented(exercised, spec):
    samples, _ = parse_metrics(exercised.metrics())
    undocumented = []
    for labels, _ in series(samples, "kaito_rag_http_requests_total"):
        if labels["route"] in ("unmatched", "unauthenticated"):
            continue
        op = spec["paths"].get(labels["route"], {}).get(labels["method"].lower())
        if op is None:
            undocumented.append(f"{labels['method']} {labels['route']} (operation)")
        elif labels["status"] not in op["responses"] and "default" not in op["responses"]:
            undocumented.append(f"{labels['method']} {labels['route']} -> {labels['status']}")
    assert undocumented == [], undocumented


def inline_refs(node, spec):
    if isinstance(node, dict):
        if "$ref" in node:
            target = spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return inline_refs(target, spec)
        return {k: inline_refs(v, spec) for k, v in node.items()}
    if isinstance(node, list):
        return [inline_refs(v, spec) for v in node]
    return node


def test_responses_match_their_schemas(server, spec):
    try:
        from openapi_schema_validator import OAS30Validator
    except ImportError:  # pragma: no cover
        pytest.skip("openapi-schema-validator is not installed")

    def check(r, path, method):
        op = spec["paths"][path][method]
        resp = op["responses"].get(str(r.status_code))
        assert resp is not None, f"{method.upper()} {path} returned undocumented {r.status_code}"
        schema = resp["content"]["application/json"]["schema"]
        errors = sorted(OAS30Validator(inline_refs(schema, spec)).iter_errors(r.json()), key=str)
        assert not errors, f"{method.upper()} {path} {r.status_code}: {[e.message for e in errors[:5]]}"

    check(server.post("/v1/collections", json={"name": "s"}), "/v1/collections", "post")
    check(server.get("/v1/collections"), "/v1/collections", "get")
    check(server.get("/v1/collections/s"), "/v1/collections/{name}", "get")
    check(server.get("/v1/collections/none"), "/v1/collections/{name}", "get")
    up = server.upload("s", [*sorted(SAMPLES.iterdir()), FIXTURES / "encrypted_ole2.docx"])
    check(up, "/v1/collections/{name}/documents", "post")
    check(server.upload("s", [FIXTURES / "garbage.bin"]), "/v1/collections/{name}/documents", "post")
    listed = server.get("/v1/collections/s/documents")
    check(listed, "/v1/collections/{name}/documents", "get")
    doc_id = listed.json()["documents"][0]["doc_id"]
    check(server.get(f"/v1/collections/s/documents/{doc_id}"), "/v1/collections/{name}/documents/{doc_id}", "get")
    check(server.post("/v1/collections/s/search", json={"query": "parental leave"}),
          "/v1/collections/{name}/search", "post")
    check(server.post("/v1/collections/s/search", json={"query": 1}), "/v1/collections/{name}/search", "post")
    check(server.post("/v1/collections/s/ask", json={"question": "parental leave"}), "/v1/collections/{name}/ask",
          "post")
    check(server.delete(f"/v1/collections/s/documents/{doc_id}"), "/v1/collections/{name}/documents/{doc_id}",
          "delete")
    check(server.delete("/v1/collections/s"), "/v1/collections/{name}", "delete")
