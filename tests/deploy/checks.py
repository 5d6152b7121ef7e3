#!/usr/bin/env python3
"""Offline checks of deploy/ that no off-the-shelf tool does. Called by tests/deploy/run.sh.

  checks.py terraform DIR                 essentials of the Terraform configuration (python-hcl2)
  checks.py policy FILE...                security policy of rendered Kubernetes manifests
  checks.py dockerfile DOCKERFILE         structure of the image build (setup.sh, user, healthcheck...)
  checks.py runtime-libs DOCKERFILE BIN   the runtime packages cover every library `ldd BIN` reports
  checks.py shared FILE                   the chart in shared mode (store.type=postgres): Deployment, HPA, PDB, no PVC
  checks.py chart-env FILE                print the rendered ConfigMap's KAITO_RAG_* data as NAME=VALUE lines

Each command prints one line per problem and exits 1 if there is any, 0 otherwise.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

problems: list[str] = []


def fail(message: str) -> None:
    problems.append(message)
    print(f"  - {message}")


def finish(what: str) -> int:
    if problems:
        print(f"{what}: {len(problems)} problem(s)")
        return 1
    print(f"{what}: OK")
    return 0


# ------------------------------------------------------------------------------------------
# Terraform
# ------------------------------------------------------------------------------------------
def unquote(value):
    """python-hcl2 8 keeps HCL quotes and ${} around expressions; normalise both."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            return value[1:-1]
        if value.startswith("${") and value.endswith("}"):
            return value[2:-1]
        return value
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k != "__is_block__"}
    return value


def load_terraform(directory: Path) -> dict:
    import hcl2  # noqa: PLC0415 (installed into .venv by scripts/setup_deploy_tools.sh)

    merged: dict = {"resource": {}, "data": {}, "variable": {}, "output": {}, "terraform": [], "provider": []}
    files = sorted(directory.glob("*.tf"))
    if not files:
        fail(f"no .tf files in {directory}")
    for path in files:
        with path.open() as handle:
            try:
                doc = unquote(hcl2.load(handle))
            except Exception as error:  # noqa: BLE001 - any parse error is a finding
                fail(f"{path.name}: HCL does not parse: {error}")
                continue
        for block in doc.get("resource", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    merged["resource"].setdefault(rtype, {})[name] = body
        for block in doc.get("data", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    merged["data"].setdefault(rtype, {})[name] = body
        for block in doc.get("variable", []):
            merged["variable"].update(block)
        for block in doc.get("output", []):
            merged["output"].update(block)
        merged["terraform"] += doc.get("terraform", [])
        merged["provider"] += doc.get("provider", [])
    return merged


def first_block(value):
    if isinstance(value, list):
        return value[0] if value else {}
    return value or {}


def check_terraform(directory: Path, kaito_models: list[str]) -> int:
    tf = load_terraform(directory)
    res, data = tf["resource"], tf["data"]

    # Provider pinning.
    required = {}
    for block in tf["terraform"]:
        if "required_version" not in block:
            continue
        for providers in block.get("required_providers", []):
            required.update(providers)
    if not any("required_version" in b for b in tf["terraform"]):
        fail("terraform.required_version is missing")
    for name in ("azurerm", "random"):
        if name not in required:
            fail(f"required_providers has no {name}")
    for name, spec in required.items():
        version = spec.get("version", "") if isinstance(spec, dict) else ""
        if not version.startswith("~>"):
            fail(f"provider {name} is not pinned with a ~> constraint (version = {version!r})")
        if not isinstance(spec, dict) or not spec.get("source", "").startswith("hashicorp/"):
            fail(f"provider {name} has no hashicorp/ source")
    azurerm = required.get("azurerm", {})
    if isinstance(azurerm, dict) and not re.match(r"~>\s*5\.", azurerm.get("version", "")):
        fail("azurerm must be pinned to 5.x (the version deploy/terraform/validate.sh validates against)")

    # The cluster.
    clusters = res.get("azurerm_kubernetes_cluster", {})
    if len(clusters) != 1:
        fail(f"expected exactly one azurerm_kubernetes_cluster, found {len(clusters)}")
        return finish("terraform")
    cname, aks = next(iter(clusters.items()))
    ref = f"azurerm_kubernetes_cluster.{cname}"
    for attribute in ("ai_toolchain_operator_enabled", "oidc_issuer_enabled", "workload_identity_enabled"):
        if aks.get(attribute) is not True:
            fail(f"{ref}.{attribute} must be true (is {aks.get(attribute)!r})")
    oms = first_block(aks.get("oms_agent"))
    if "azurerm_log_analytics_workspace." not in str(oms.get("log_analytics_workspace_id", "")):
        fail(f"{ref}.oms_agent must send to an azurerm_log_analytics_workspace (Container Insights)")
    if oms.get("msi_auth_for_monitoring_enabled") is not True:
        fail(f"{ref}.oms_agent.msi_auth_for_monitoring_enabled must be true")
    network = first_block(aks.get("network_profile"))
    if not network.get("network_policy"):
        fail(f"{ref}.network_profile.network_policy is unset: the chart's NetworkPolicy would not be enforced")
    if not first_block(aks.get("default_node_pool")):
        fail(f"{ref} has no default (system) node pool")
    pools = res.get("azurerm_kubernetes_cluster_node_pool", {})
    if not any(p.get("mode") == "User" and ref in str(p.get("kubernetes_cluster_id")) for p in pools.values()):
        fail("no azurerm_kubernetes_cluster_node_pool with mode = User on the cluster")

    # KAITO GPU provisioner identity, federated credential and role assignments.
    identities = data.get("azurerm_user_assigned_identity", {})
    kaito_id = None
    for name, body in identities.items():
        if body.get("name") == f"ai-toolchain-operator-${{{ref}.name}}":
            kaito_id = name
            if body.get("resource_group_name") != f"{ref}.node_resource_group":
                fail(f"data.azurerm_user_assigned_identity.{name} must be looked up in {ref}.node_resource_group")
    if not kaito_id:
        fail(f'no data.azurerm_user_assigned_identity named "ai-toolchain-operator-${{{ref}.name}}"')
        return finish("terraform")
    id_ref = f"data.azurerm_user_assigned_identity.{kaito_id}"
    creds = [c for c in res.get("azurerm_federated_identity_credential", {}).values()
             if c.get("user_assigned_identity_id") == f"{id_ref}.id"]
    if len(creds) != 1:
        fail(f"expected one azurerm_federated_identity_credential with user_assigned_identity_id = {id_ref}.id, found {len(creds)}")
    else:
        cred = creds[0]
        if cred.get("issuer") != f"{ref}.oidc_issuer_url":
            fail(f"KAITO federated credential issuer must be {ref}.oidc_issuer_url (is {cred.get('issuer')!r})")
        if cred.get("subject") != "system:serviceaccount:kube-system:kaito-gpu-provisioner":
            fail(f"KAITO federated credential subject is {cred.get('subject')!r}")
        if cred.get("audience") != ["api://AzureADTokenExchange"]:
            fail(f"KAITO federated credential audience is {cred.get('audience')!r}")

    assignments = res.get("azurerm_role_assignment", {})
    node_rgs = {f"data.azurerm_resource_group.{n}.id" for n, b in data.get("azurerm_resource_group", {}).items()
                if b.get("name") == f"{ref}.node_resource_group"}
    kaito_roles = [a for a in assignments.values() if a.get("principal_id") == f"{id_ref}.principal_id"]
    if not any(a.get("role_definition_name") == "Contributor" and a.get("scope") in node_rgs for a in kaito_roles):
        fail("no Contributor role assignment for the KAITO identity scoped to the node resource group")
    if not any(a.get("role_definition_name") == "Contributor" and a.get("scope") == f"{ref}.id" for a in kaito_roles):
        fail("no Contributor role assignment for the KAITO identity on the cluster (agent pools)")

    # ACR + AcrPull for the kubelet identity.
    registries = res.get("azurerm_container_registry", {})
    if not registries:
        fail("no azurerm_container_registry")
    for name, body in registries.items():
        if body.get("admin_enabled") is not False:
            fail(f"azurerm_container_registry.{name}.admin_enabled must be false (pull through AcrPull)")
    if not any(a.get("role_definition_name") == "AcrPull"
               and a.get("principal_id") == f"{ref}.kubelet_identity[0].object_id"
               and any(a.get("scope") == f"azurerm_container_registry.{r}.id" for r in registries)
               for a in assignments.values()):
        fail("no AcrPull role assignment for the kubelet identity on the registry")

    # Key Vault + generated API key.
    if not res.get("azurerm_key_vault"):
        fail("no azurerm_key_vault")
    secrets = res.get("azurerm_key_vault_secret", {})
    if not any(str(s.get("value", "")).startswith("random_password.") for s in secrets.values()):
        fail("no azurerm_key_vault_secret whose value is a random_password")
    if not res.get("random_password"):
        fail("no random_password for the API key")

    check_postgres(res, tf["variable"], tf["output"])

    # Outputs: nothing secret unless sensitive.
    secret_patterns = [r"random_password\.", r"azurerm_key_vault_secret\.[A-Za-z0-9_]+\.value", r"kube_config",
                       r"kube_admin_config", r"access_key", r"shared_key", r"client_secret", r"admin_password",
                       r"client_key", r"client_certificate", r"\bpassword\b"]
    outputs = tf["output"]
    if not outputs:
        fail("no outputs (scripts/deploy reads them)")
    for name, body in outputs.items():
        if not body.get("description"):
            fail(f"output {name} has no description")
        value = str(body.get("value", ""))
        if any(re.search(p, value) for p in secret_patterns) and body.get("sensitive") is not True:
            fail(f"output {name} exposes a secret value ({value}) without sensitive = true")
    for needed in ("resource_group_name", "cluster_name", "acr_login_server", "key_vault_name", "api_key_secret_name",
                   "namespace", "model_preset", "gpu_instance_type", "kaito_rag_identity_client_id"):
        if needed not in outputs:
            fail(f"output {needed} (needed by scripts/deploy) is missing")

    # Variables: type + description everywhere; validation on every scalar/string input.
    variables = tf["variable"]
    for name, body in variables.items():
        if "type" not in body:
            fail(f"variable {name} has no type")
        if not body.get("description"):
            fail(f"variable {name} has no description")
        vtype = str(body.get("type", ""))
        if vtype in ("string", "number") and not body.get("validation"):
            fail(f"variable {name} ({vtype}) has no validation block")
    for needed in ("location", "gpu_instance_type", "model_preset", "prefix"):
        if needed not in variables:
            fail(f"variable {needed} is missing")
        elif "default" not in variables[needed]:
            fail(f"variable {needed} has no default")
    preset = variables.get("model_preset", {})
    conditions = " ".join(str(v.get("condition", "")) for v in preset.get("validation", []))
    for model in kaito_models:
        if f'"{model}"' not in conditions:
            fail(f"variable model_preset's validation does not accept {model} (a model of deploy/kaito/render.sh)")
    if preset.get("default") not in kaito_models:
        fail(f"variable model_preset default {preset.get('default')!r} is not a model of deploy/kaito/render.sh")

    # Kaito-RAG workload identity federated with the chart's ServiceAccount.
    subjects = [c.get("subject") for c in res.get("azurerm_federated_identity_credential", {}).values()]
    if "system:serviceaccount:${var.namespace}:${var.service_account_name}" not in subjects:
        fail("no federated credential for system:serviceaccount:${var.namespace}:${var.service_account_name}")
    return finish("terraform")


def check_postgres(res: dict, variables: dict, outputs: dict) -> None:
    """The optional Flexible Server: private, pgvector allowed, HA option, URL in Key Vault."""
    servers = res.get("azurerm_postgresql_flexible_server", {})
    if "enable_postgres" not in variables:
        fail("variable enable_postgres is missing")
    if len(servers) != 1:
        fail(f"expected one azurerm_postgresql_flexible_server, found {len(servers)}")
        return
    name, server = next(iter(servers.items()))
    ref = f"azurerm_postgresql_flexible_server.{name}"
    if "var.enable_postgres" not in str(server.get("count", "")):
        fail(f"{ref} is not optional (count on var.enable_postgres)")
    if server.get("public_network_access_enabled") is not False:
        fail(f"{ref}.public_network_access_enabled must be false (private networking only)")
    subnets = res.get("azurerm_subnet", {})
    subnet = next((n for n, b in subnets.items() if f"azurerm_subnet.{n}" in str(server.get("delegated_subnet_id"))), None)
    if subnet is None:
        fail(f"{ref}.delegated_subnet_id is not a subnet of this configuration")
    else:
        delegation = first_block(subnets[subnet].get("delegation"))
        service = first_block(delegation.get("service_delegation")) if delegation else {}
        if service.get("name") != "Microsoft.DBforPostgreSQL/flexibleServers":
            fail(f"azurerm_subnet.{subnet} is not delegated to Microsoft.DBforPostgreSQL/flexibleServers")
        if "azurerm_virtual_network." not in str(subnets[subnet].get("virtual_network_name")):
            fail(f"azurerm_subnet.{subnet} is not in the cluster's VNet")
    if "azurerm_private_dns_zone." not in str(server.get("private_dns_zone_id")):
        fail(f"{ref}.private_dns_zone_id is not a private DNS zone of this configuration")
    zones = res.get("azurerm_private_dns_zone", {})
    if not any(str(z.get("name", "")).endswith(".private.postgres.database.azure.com") for z in zones.values()):
        fail("the private DNS zone's name must end in .private.postgres.database.azure.com")
    if not res.get("azurerm_private_dns_zone_virtual_network_link"):
        fail("the private DNS zone is not linked to the VNet")
    ha = server.get("dynamic", [])
    if "ZoneRedundant" not in str(ha):
        fail(f"{ref} has no zone-redundant high_availability option")
    configs = res.get("azurerm_postgresql_flexible_server_configuration", {}).values()
    if not any(c.get("name") == "azure.extensions" and "VECTOR" in str(c.get("value", "")).upper().split(",")
               for c in configs):
        fail("azure.extensions does not allow VECTOR (pgvector)")
    if not str(server.get("administrator_password", "")).startswith("random_password."):
        fail(f"{ref}.administrator_password is not a generated random_password")
    secrets = res.get("azurerm_key_vault_secret", {}).values()
    if not any(ref in str(s.get("value", "")) and "random_password." in str(s.get("value", "")) for s in secrets):
        fail("no Key Vault secret holding the connection URL (server fqdn + generated password)")
    for needed in ("postgres_server_fqdn", "postgres_connection_secret_name", "postgres_subnet_cidr"):
        if needed not in outputs:
            fail(f"output {needed} (Helm shared profile) is missing")


# ------------------------------------------------------------------------------------------
# Rendered-manifest policy
# ------------------------------------------------------------------------------------------
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
# Names that hold credentials (KAITO_RAG_API_KEYS, *_SECRET, *_PASSWORD, *_TOKEN), but not
# KAITO_RAG_ANSWER_MAX_TOKENS and the like.
SECRETISH = re.compile(r"(API_?KEYS?|SECRET|PASSWORD|PASSWD|CREDENTIAL|(^|_)TOKEN($|_))", re.I)


def pod_spec(doc: dict) -> dict | None:
    kind = doc.get("kind")
    if kind == "Pod":
        return doc.get("spec") or {}
    if kind == "CronJob":
        return (((doc.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}).get("template", {}).get("spec") or {}
    if kind in WORKLOADS:
        return ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
    return None


def pod_labels(doc: dict) -> dict:
    if doc.get("kind") == "Pod":
        return (doc.get("metadata") or {}).get("labels") or {}
    return (((doc.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}


def has_auth(container: dict) -> bool:
    for env in container.get("env") or []:
        if env.get("name") == "KAITO_RAG_API_KEYS":
            ref = ((env.get("valueFrom") or {}).get("secretKeyRef")) or {}
            return bool(ref.get("name")) and bool(ref.get("key")) and ref.get("optional") is not True
    return False


def check_policy(files: list[str]) -> int:
    import yaml  # noqa: PLC0415

    docs = []
    for file in files:
        with open(file) as handle:
            docs += [(file, d) for d in yaml.safe_load_all(handle) if isinstance(d, dict)]
    if not docs:
        fail("no Kubernetes objects in " + ", ".join(files))
    workloads = []
    for file, doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        name = f"{file}: {doc['kind']}/{(doc.get('metadata') or {}).get('name')}"
        workloads.append((name, doc, spec))
        psc = spec.get("securityContext") or {}
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(flag):
                fail(f"{name}: {flag} is on")
        for volume in spec.get("volumes") or []:
            if "hostPath" in volume:
                fail(f"{name}: hostPath volume {volume.get('name')}")
        is_job = doc["kind"] in ("Job", "CronJob")
        containers = [(c, False) for c in spec.get("containers") or []] + [(c, True) for c in spec.get("initContainers") or []]
        if not spec.get("containers"):
            fail(f"{name}: no containers")
        for container, is_init in containers:
            cname = f"{name} container {container.get('name')}"
            sc = container.get("securityContext") or {}
            non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
            uid = sc.get("runAsUser", psc.get("runAsUser"))
            if non_root is not True:
                fail(f"{cname}: runAsNonRoot is not true (may run as root)")
            if uid == 0:
                fail(f"{cname}: runAsUser is 0 (root)")
            if sc.get("allowPrivilegeEscalation") is not False:
                fail(f"{cname}: allowPrivilegeEscalation is not false")
            if sc.get("privileged"):
                fail(f"{cname}: privileged")
            caps = sc.get("capabilities") or {}
            if "ALL" not in (caps.get("drop") or []):
                fail(f"{cname}: capabilities do not drop ALL")
            if caps.get("add"):
                fail(f"{cname}: adds capabilities {caps['add']}")
            if sc.get("readOnlyRootFilesystem") is not True:
                fail(f"{cname}: readOnlyRootFilesystem is not true")
            seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                fail(f"{cname}: seccompProfile is {seccomp!r} (RuntimeDefault expected)")
            if not is_init and not is_job:
                for probe in ("readinessProbe", "livenessProbe"):
                    if not container.get(probe):
                        fail(f"{cname}: no {probe}")
            resources = container.get("resources") or {}
            for section, keys in (("requests", ("cpu", "memory")), ("limits", ("memory",))):
                for key in keys:
                    if not (resources.get(section) or {}).get(key):
                        fail(f"{cname}: no resources.{section}.{key}")
            for env in container.get("env") or []:
                if "value" in env and SECRETISH.search(env.get("name", "")) and env.get("value"):
                    fail(f"{cname}: env {env['name']} carries a plain value (use a secretKeyRef)")
    for file, doc in docs:
        if doc.get("kind") == "ConfigMap":
            for key, value in (doc.get("data") or {}).items():
                if SECRETISH.search(key) and value:
                    fail(f"{file}: ConfigMap/{doc['metadata']['name']} holds a secret-looking key {key}")

    services = {(d.get("metadata") or {}).get("name"): d for _, d in docs if d.get("kind") == "Service"}

    def backends(service: dict):
        selector = (service.get("spec") or {}).get("selector") or {}
        if not selector:
            return []
        return [(n, d, s) for n, d, s in workloads if all(pod_labels(d).get(k) == v for k, v in selector.items())]

    def require_auth(what: str, service: dict | None):
        if service is None:
            fail(f"{what}: backend Service not found among the rendered objects")
            return
        found = backends(service)
        if not found:
            fail(f"{what}: Service/{service['metadata']['name']} selects no rendered workload")
        for name, _, spec in found:
            if not all(has_auth(c) for c in spec.get("containers") or []):
                fail(f"{what} exposes {name} without authentication (KAITO_RAG_API_KEYS from a Secret)")

    for file, doc in docs:
        kind = doc.get("kind")
        if kind == "Service" and (doc.get("spec") or {}).get("type") in ("LoadBalancer", "NodePort"):
            require_auth(f"{file}: {doc['spec']['type']} Service/{doc['metadata']['name']}", doc)
        if kind == "Ingress":
            what = f"{file}: Ingress/{doc['metadata']['name']}"
            spec = doc.get("spec") or {}
            if not spec.get("tls"):
                fail(f"{what}: no TLS")
            names = set()
            default = ((spec.get("defaultBackend") or {}).get("service") or {}).get("name")
            if default:
                names.add(default)
            for rule in spec.get("rules") or []:
                for path in ((rule.get("http") or {}).get("paths")) or []:
                    names.add(((path.get("backend") or {}).get("service") or {}).get("name"))
            for service_name in names:
                require_auth(what, services.get(service_name))
    return finish("policy")


# ------------------------------------------------------------------------------------------
# Dockerfile
# ------------------------------------------------------------------------------------------
def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out, current = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, rest = current.partition(" ")
        out.append((keyword.upper(), rest.strip()))
        current = ""
    return out


def stages(path: Path) -> dict[str, list[tuple[str, str]]]:
    result: dict[str, list[tuple[str, str]]] = {}
    name = None
    for keyword, rest in dockerfile_instructions(path):
        if keyword == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else f"stage{len(result)}"
            result[name] = [(keyword, rest)]
        elif name:
            result[name].append((keyword, rest))
    return result


def runtime_packages(path: Path) -> list[str]:
    stage = stages(path).get("runtime", [])
    packages = []
    for keyword, rest in stage:
        if keyword != "RUN" or "apt-get install" not in rest:
            continue
        for command in rest.split("&&"):
            words = command.split()
            if "install" in words and "apt-get" in words:
                for word in words[words.index("install") + 1:]:
                    if not word.startswith("-"):
                        packages.append(word)
    return packages


def check_dockerfile(path: Path) -> int:
    all_stages = stages(path)
    build, runtime = all_stages.get("build"), all_stages.get("runtime")
    if not build or not runtime:
        fail(f"stages 'build' and 'runtime' expected, found {list(all_stages)}")
        return finish("dockerfile")
    text = path.read_text()
    release = re.search(r"^ARG DEBIAN_RELEASE=(\S+)", text, re.M)
    release = release.group(1) if release else ""
    if release != "bookworm":
        fail(f"ARG DEBIAN_RELEASE must default to bookworm (Debian 12), is {release!r}")
    if build[0][1].split()[0].replace("${DEBIAN_RELEASE}", release) != "debian:bookworm":
        fail(f"build stage must start FROM debian:bookworm, is {build[0][1]}")
    if runtime[0][1].split()[0].replace("${DEBIAN_RELEASE}", release) != "debian:bookworm-slim":
        fail(f"runtime stage must start FROM debian:bookworm-slim, is {runtime[0][1]}")
    build_runs = [rest for keyword, rest in build if keyword == "RUN"]
    if not any(re.search(r"(^|\s|&&\s*)scripts/setup\.sh(\s|$)", r) for r in build_runs):
        fail("the build stage does not RUN scripts/setup.sh (the image must build the way the tests do)")
    if any(keyword in ("RUN",) and ("cmake " in rest and "scripts/setup.sh" not in rest) for keyword, rest in build):
        fail("the build stage runs cmake itself instead of through scripts/setup.sh")
    def last(keyword):
        values = [rest for k, rest in runtime if k == keyword]
        return values[-1] if values else None
    user = last("USER") or ""
    if user.split(":")[0] not in ("10001",):
        fail(f"runtime USER must be 10001 (non-root), is {user!r}")
    health = last("HEALTHCHECK") or ""
    health_cmd = re.search(r'CMD\s+\[\s*"([^"]+)"', health)
    if not health_cmd:
        fail("runtime stage has no HEALTHCHECK with an exec-form CMD")
    else:
        # The command must be a file COPY'd from the repository that probes /healthz.
        script = None
        for keyword, rest in runtime:
            words = [w for w in rest.split() if not w.startswith("--")]
            if keyword == "COPY" and "--from=" not in rest and words and words[-1] == health_cmd.group(1):
                script = path.parents[2] / words[0]
        if script is None or not script.exists():
            fail(f"HEALTHCHECK runs {health_cmd.group(1)}, which no COPY from the repository provides")
        elif "/healthz" not in script.read_text():
            fail(f"HEALTHCHECK script {script.name} does not probe /healthz")
        elif not os.access(script, os.X_OK):
            fail(f"HEALTHCHECK script {script.name} is not executable (COPY keeps the file mode)")
    if "8080" not in (last("EXPOSE") or ""):
        fail("runtime stage does not EXPOSE 8080")
    entry = last("ENTRYPOINT") or ""
    cmd = last("CMD") or ""
    if "kaito-rag" not in entry or "serve" not in (entry + cmd):
        fail(f"ENTRYPOINT/CMD must run kaito-rag serve (is {entry} {cmd})")
    env = " ".join(rest for k, rest in runtime if k == "ENV")
    for needed in ("KAITO_RAG_HOST=0.0.0.0", "KAITO_RAG_DATA_DIR=/data", "TMPDIR=/data/"):
        if needed not in env:
            fail(f"runtime ENV lacks {needed}")
    if "/data" not in (last("VOLUME") or ""):
        fail("runtime stage declares no VOLUME /data")
    labels = " ".join(rest for k, rest in runtime if k == "LABEL")
    for label in ("title", "description", "version", "revision", "created", "licenses", "base.name"):
        if f"org.opencontainers.image.{label}=" not in labels:
            fail(f"OCI label org.opencontainers.image.{label} missing")
    for keyword, rest in runtime:
        if keyword == "COPY":
            sources = [w for w in rest.split() if not w.startswith("--")][:-1]
            if "--from=" not in rest:
                for source in sources:
                    if not (path.parents[2] / source).exists():
                        fail(f"COPY source {source} does not exist in the repository")
    if "curl" in runtime_packages(path) or "wget" in runtime_packages(path):
        fail("runtime image installs curl/wget; the healthcheck uses bash /dev/tcp")
    ignore = path.parents[2] / ".dockerignore"
    if not ignore.exists():
        fail(".dockerignore is missing at the repository root (the build context)")
    else:
        patterns = [p.strip() for p in ignore.read_text().splitlines() if p.strip() and not p.startswith("#")]
        for needed in ("build/", ".git", ".venv"):
            if needed not in patterns:
                fail(f".dockerignore does not exclude {needed}")
        for kept in ("scripts", "src", "tests", "CMakeLists.txt", "CMakePresets.json", "deploy/docker"):
            if kept in patterns or f"{kept}/" in patterns:
                fail(f".dockerignore excludes {kept}, which the build needs")
        if "deploy/" in patterns and "!deploy/docker/" not in patterns:
            fail(".dockerignore excludes deploy/ without re-including deploy/docker/")
    return finish("dockerfile")


# ------------------------------------------------------------------------------------------
# Runtime libraries
# ------------------------------------------------------------------------------------------
def run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def owner(path: str) -> str | None:
    candidates = [path, os.path.realpath(path)]
    for candidate in list(candidates):
        if candidate.startswith("/lib/"):
            candidates.append("/usr" + candidate)
        elif candidate.startswith("/usr/lib/"):
            candidates.append(candidate[4:])
    for candidate in candidates:
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout.split(":")[0].strip()
    return None


def check_runtime_libs(dockerfile: Path, binary: Path) -> int:
    listed = runtime_packages(dockerfile)
    if not listed:
        fail("no apt-get install package list in the runtime stage")
        return finish("runtime-libs")
    print(f"  runtime packages in the Dockerfile: {' '.join(listed)}")
    for package in listed:
        if subprocess.run(["apt-cache", "show", "--no-all-versions", package], capture_output=True).returncode != 0:
            fail(f"{package} is not a known Debian package here (apt-cache show)")
    closure_text = run("apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                       "--no-breaks", "--no-replaces", "--no-enhances", "--no-pre-depends", *listed)
    closure = set(listed)
    for line in closure_text.splitlines():
        line = line.strip()
        match = re.match(r"^(?:\|?(?:Pre)?Depends:\s*)?(<?[A-Za-z0-9.+-]+(?::[a-z0-9]+)?>?)$", line)
        if match and not match.group(1).startswith("<"):
            closure.add(match.group(1).split(":")[0])
    # What debian:bookworm-slim already has: the Essential packages and apt, with their
    # dependencies (libc6, libgcc-s1, libstdc++6, ...).
    essential = [line.split()[0] for line in run("dpkg-query", "-W", "-f=${Package} ${Essential}\n").splitlines()
                 if line.endswith(" yes")]
    base = set(essential) | {"apt"}
    base_text = run("apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                    "--no-breaks", "--no-replaces", "--no-enhances", "--installed", *sorted(base))
    for line in base_text.splitlines():
        match = re.match(r"^\s*(?:\|?(?:Pre)?Depends:\s*)?([A-Za-z0-9.+-]+)(?::[a-z0-9]+)?$", line)
        if match:
            base.add(match.group(1))
    needed = [line.split()[-1] for line in run("objdump", "-p", str(binary)).splitlines() if "NEEDED" in line]
    ldd = run("ldd", str(binary))
    libraries = {}
    for line in ldd.splitlines():
        match = re.match(r"^\s*(\S+)\s+=>\s+(\S+)", line)
        if match and match.group(2) != "not":
            libraries[match.group(1)] = match.group(2)
        elif "not found" in line:
            fail(f"ldd: {line.strip()}")
    for soname, path in sorted(libraries.items()):
        package = owner(path)
        if package is None:
            fail(f"{soname} ({path}) belongs to no Debian package (dpkg -S)")
            continue
        in_base = package in base
        direct = soname in needed
        if direct and package not in listed and not in_base:
            fail(f"{soname} is linked directly but its package {package} is not in the Dockerfile's runtime list")
        elif package not in closure and not in_base:
            fail(f"{soname} comes from {package}, which the runtime packages do not pull in")
        else:
            where = "listed" if package in listed else ("base image" if in_base else "dependency")
            print(f"  {soname:28} {package:24} {where}")
    return finish("runtime-libs")


def check_shared(file: str) -> int:
    """The chart rendered with store.type=postgres: N stateless replicas on the shared database."""
    import yaml  # noqa: PLC0415

    with open(file) as handle:
        docs = [d for d in yaml.safe_load_all(handle) if isinstance(d, dict)]
    kinds = {d["kind"]: d for d in docs}
    if "StatefulSet" in kinds or "PersistentVolumeClaim" in kinds:
        fail("shared mode renders a StatefulSet or a PVC: replicas must keep no data of their own")
    deployment = kinds.get("Deployment")
    if deployment is None:
        fail("no Deployment rendered")
        return finish("shared")
    spec = pod_spec(deployment)
    for volume in spec.get("volumes") or []:
        if "persistentVolumeClaim" in volume:
            fail(f"volume {volume['name']} is a PVC")
    container = (spec.get("containers") or [{}])[0]
    env = {e["name"]: e for e in container.get("env") or []}
    ref = ((env.get("KAITO_RAG_PG_URL") or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
    if not (ref.get("name") and ref.get("key")) or ref.get("optional") is not False:
        fail("KAITO_RAG_PG_URL does not come from a required Secret key")
    if ((container.get("readinessProbe") or {}).get("httpGet") or {}).get("path") != "/readyz":
        fail("readiness is not GET /readyz (which follows the database)")
    strategy = (deployment["spec"].get("strategy") or {}).get("rollingUpdate") or {}
    if strategy.get("maxUnavailable") != 0:
        fail("a rollout may take serving replicas away before new ones are ready (maxUnavailable != 0)")
    config = (kinds.get("ConfigMap") or {}).get("data") or {}
    if config.get("KAITO_RAG_STORE") != "postgres":
        fail("ConfigMap lacks KAITO_RAG_STORE=postgres")
    hpa = kinds.get("HorizontalPodAutoscaler")
    if hpa is None:
        fail("no HorizontalPodAutoscaler")
    else:
        target = hpa["spec"]["scaleTargetRef"]
        if (target.get("kind"), target.get("name")) != ("Deployment", deployment["metadata"]["name"]):
            fail(f"HPA scales {target}, not the Deployment")
        if hpa["spec"].get("minReplicas", 1) < 2:
            fail("HPA minReplicas < 2: one node drain would stop the service")
        metrics = [m.get("resource", {}).get("name") for m in hpa["spec"].get("metrics") or []]
        if "cpu" not in metrics:
            fail("HPA does not scale on CPU")
        if "replicas" in deployment["spec"]:
            fail("Deployment sets replicas while the HPA owns them (every upgrade would reset the count)")
    pdb = kinds.get("PodDisruptionBudget")
    if pdb is None:
        fail("no PodDisruptionBudget")
    elif pdb["spec"].get("selector", {}).get("matchLabels") != deployment["spec"]["selector"]["matchLabels"]:
        fail("PodDisruptionBudget does not select the Deployment's pods")
    policy = kinds.get("NetworkPolicy")
    if policy is not None:
        ports = [p.get("port") for rule in policy["spec"].get("egress") or [] for p in rule.get("ports") or []]
        if 5432 not in ports:
            fail("NetworkPolicy allows no egress to PostgreSQL (5432)")
    return finish("shared")


def chart_env(file: str) -> int:
    import yaml  # noqa: PLC0415

    with open(file) as handle:
        for doc in yaml.safe_load_all(handle):
            if isinstance(doc, dict) and doc.get("kind") == "ConfigMap":
                for key, value in (doc.get("data") or {}).items():
                    print(f"{key}={value}")
                return 0
    print("no ConfigMap", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    command, args = argv[1], argv[2:]
    if command == "terraform":
        models = os.environ.get("KAITO_MODELS", "").split()
        return check_terraform(Path(args[0]), models)
    if command == "policy":
        return check_policy(args)
    if command == "dockerfile":
        return check_dockerfile(Path(args[0]))
    if command == "runtime-libs":
        return check_runtime_libs(Path(args[0]), Path(args[1]))
    if command == "shared":
        return check_shared(args[0])
    if command == "chart-env":
        return chart_env(args[0])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
