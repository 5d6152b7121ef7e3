{{/* Chart name, truncated to the 63 characters Kubernetes allows. */}}
{{- define "kaito-rag.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kaito-rag.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kaito-rag.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kaito-rag.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kaito-rag.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kaito-rag.labels" -}}
helm.sh/chart: {{ include "kaito-rag.chart" . }}
{{ include "kaito-rag.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kaito-rag
{{- end -}}

{{- define "kaito-rag.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kaito-rag.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kaito-rag.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Name of the Secret holding the API keys and the key inside it. */}}
{{- define "kaito-rag.apiKeysSecretName" -}}
{{- default (printf "%s-api-keys" (include "kaito-rag.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{- define "kaito-rag.apiKeysSecretKey" -}}
{{- if .Values.auth.existingSecret -}}{{ .Values.auth.existingSecretKey }}{{- else -}}api-keys{{- end -}}
{{- end -}}

{{- define "kaito-rag.workspaceNamespace" -}}
{{- default .Release.Namespace .Values.llm.workspace.namespace -}}
{{- end -}}

{{/* The model server URL: explicit llm.url, else the Workspace Service, else empty (extractive). */}}
{{- define "kaito-rag.llmUrl" -}}
{{- if .Values.llm.url -}}
{{- .Values.llm.url -}}
{{- else if .Values.llm.workspace.name -}}
{{- printf "http://%s.%s.svc.cluster.local/v1" .Values.llm.workspace.name (include "kaito-rag.workspaceNamespace" .) -}}
{{- end -}}
{{- end -}}

{{/* Secret and key holding the PostgreSQL URL (store.type=postgres). */}}
{{- define "kaito-rag.pgSecretName" -}}
{{- if .Values.store.postgres.keyVault.enabled -}}
{{- printf "%s-postgres" (include "kaito-rag.fullname" .) -}}
{{- else -}}
{{- .Values.store.postgres.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "kaito-rag.pgSecretKey" -}}
{{- if .Values.store.postgres.keyVault.enabled -}}url{{- else -}}{{ .Values.store.postgres.existingSecretKey }}{{- end -}}
{{- end -}}

{{- define "kaito-rag.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "kaito-rag.fullname" .)) .Values.ingress.tls.secretName -}}
{{- end -}}

{{/*
Guards that make unsafe installs fail to render with a clear message. Included by every
template that can expose the server, so `helm template`, `helm lint` and `helm install` all stop.
*/}}
{{- define "kaito-rag.validate" -}}
{{- $public := or .Values.ingress.enabled (eq .Values.service.type "LoadBalancer") -}}
{{- if and (not .Values.auth.enabled) $public -}}
{{- fail "kaito-rag: auth.enabled=false is only allowed with service.type=ClusterIP and ingress.enabled=false; a public endpoint must require an API key" -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.tls.enabled) -}}
{{- fail "kaito-rag: ingress.tls.enabled=false is refused: API keys would cross the network in clear text" -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) -}}
{{- fail "kaito-rag: ingress.enabled=true needs ingress.host (the DNS name in the TLS certificate)" -}}
{{- end -}}
{{- range $name, $value := .Values.config.extraEnv -}}
{{- if not (regexMatch "^KAITO_RAG_[A-Z0-9_]+$" $name) -}}
{{- fail (printf "kaito-rag: config.extraEnv key %q is not a KAITO_RAG_* variable" $name) -}}
{{- end -}}
{{- if has $name (list "KAITO_RAG_API_KEYS" "KAITO_RAG_LLM_API_KEY") -}}
{{- fail (printf "kaito-rag: %s must not be a plain value; use auth.existingSecret or llm.apiKeySecret" $name) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.workspace.create (not .Values.llm.workspace.name) -}}
{{- fail "kaito-rag: workspace.create=true needs llm.workspace.name (the Workspace to create)" -}}
{{- end -}}
{{- $pg := .Values.store.postgres -}}
{{- if eq .Values.store.type "postgres" -}}
{{- if and $pg.existingSecret $pg.keyVault.enabled -}}
{{- fail "kaito-rag: store.postgres.existingSecret and store.postgres.keyVault.enabled are exclusive; pick where the connection URL comes from" -}}
{{- end -}}
{{- if not (or $pg.existingSecret $pg.keyVault.enabled) -}}
{{- fail "kaito-rag: store.type=postgres needs the connection URL from a Secret: store.postgres.existingSecret (key store.postgres.existingSecretKey) or store.postgres.keyVault.enabled=true" -}}
{{- end -}}
{{- if and .Values.networkPolicy.enabled (not $pg.egressCidrs) -}}
{{- fail "kaito-rag: store.type=postgres with networkPolicy.enabled needs store.postgres.egressCidrs, the database's address range (Terraform output postgres_subnet_cidr), or the pods cannot reach it" -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (lt (int .Values.autoscaling.maxReplicas) (int .Values.autoscaling.minReplicas)) -}}
{{- fail "kaito-rag: autoscaling.maxReplicas must be at least autoscaling.minReplicas" -}}
{{- end -}}
{{- else if $pg.keyVault.enabled -}}
{{- fail "kaito-rag: store.postgres.keyVault.enabled=true needs store.type=postgres" -}}
{{- end -}}
{{- if $pg.keyVault.enabled -}}
{{- if not (and $pg.keyVault.name $pg.keyVault.tenantId) -}}
{{- fail "kaito-rag: store.postgres.keyVault.enabled=true needs store.postgres.keyVault.name and .tenantId (Terraform outputs key_vault_name and tenant_id)" -}}
{{- end -}}
{{- if not .Values.serviceAccount.workloadIdentity.enabled -}}
{{- fail "kaito-rag: store.postgres.keyVault.enabled=true reads Key Vault as the pods' workload identity: set serviceAccount.workloadIdentity.enabled=true and .clientId" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.serviceAccount.workloadIdentity.enabled (not .Values.serviceAccount.workloadIdentity.clientId) -}}
{{- fail "kaito-rag: serviceAccount.workloadIdentity.enabled=true needs serviceAccount.workloadIdentity.clientId (Terraform output kaito_rag_identity_client_id)" -}}
{{- end -}}
{{- end -}}
