{{/*
The pod template shared by the StatefulSet (embedded store: one replica, data on its PVC) and the
Deployment (store.type=postgres: N stateless replicas, /data is scratch only).
*/}}
{{- define "kaito-rag.podTemplate" -}}
metadata:
  labels:
    {{- include "kaito-rag.selectorLabels" . | nindent 4 }}
    app.kubernetes.io/part-of: kaito-rag
    {{- if .Values.serviceAccount.workloadIdentity.enabled }}
    azure.workload.identity/use: "true"
    {{- end }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "kaito-rag.serviceAccountName" . }}
  # The server never talks to the Kubernetes API (workload identity mounts its own token).
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: kaito-rag
      image: {{ include "kaito-rag.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args: ["serve"]
      ports:
        - name: http
          containerPort: 8080
          protocol: TCP
      envFrom:
        - configMapRef:
            name: {{ include "kaito-rag.fullname" . }}
      env:
        # Scratch files of libraries go to the writable emptyDir (the root filesystem is read-only).
        - name: TMPDIR
          value: /tmp
        {{- if .Values.auth.enabled }}
        - name: KAITO_RAG_API_KEYS
          valueFrom:
            secretKeyRef:
              name: {{ include "kaito-rag.apiKeysSecretName" . }}
              key: {{ include "kaito-rag.apiKeysSecretKey" . }}
              optional: false
        {{- end }}
        {{- if eq .Values.store.type "postgres" }}
        # libpq URL with the password: from your Secret, or synced from Key Vault by the CSI driver.
        - name: KAITO_RAG_PG_URL
          valueFrom:
            secretKeyRef:
              name: {{ include "kaito-rag.pgSecretName" . }}
              key: {{ include "kaito-rag.pgSecretKey" . }}
              optional: false
        {{- end }}
        {{- if .Values.llm.apiKeySecret.name }}
        - name: KAITO_RAG_LLM_API_KEY
          valueFrom:
            secretKeyRef:
              name: {{ .Values.llm.apiKeySecret.name }}
              key: {{ .Values.llm.apiKeySecret.key }}
              optional: false
        {{- end }}
      startupProbe:
        httpGet:
          path: /healthz
          port: http
        periodSeconds: {{ .Values.probes.startup.periodSeconds }}
        failureThreshold: {{ .Values.probes.startup.failureThreshold }}
        timeoutSeconds: 3
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
        periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
        failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
        timeoutSeconds: 3
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
        periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
        failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
        timeoutSeconds: 5
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: data
          mountPath: /data
        - name: tmp
          mountPath: /tmp
        {{- if .Values.store.postgres.keyVault.enabled }}
        # Mounting is what makes the CSI driver sync the Key Vault secret into the Secret above.
        - name: key-vault
          mountPath: /mnt/key-vault
          readOnly: true
        {{- end }}
        {{- if .Values.auth.oidc.jwksConfigMap }}
        - name: jwks
          mountPath: /etc/kaito-rag/jwks
          readOnly: true
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 256Mi
    {{- if eq .Values.store.type "postgres" }}
    # Collections live in PostgreSQL: /data holds only upload scratch, lost with the pod.
    - name: data
      emptyDir:
        sizeLimit: {{ .Values.store.postgres.scratchSize }}
    {{- end }}
    {{- if .Values.store.postgres.keyVault.enabled }}
    - name: key-vault
      csi:
        driver: secrets-store.csi.k8s.io
        readOnly: true
        volumeAttributes:
          secretProviderClass: {{ include "kaito-rag.fullname" . }}-postgres
    {{- end }}
    {{- if .Values.auth.oidc.jwksConfigMap }}
    # Air-gapped: the issuer's signing keys, re-read on an unknown kid (update the ConfigMap to rotate).
    - name: jwks
      configMap:
        name: {{ .Values.auth.oidc.jwksConfigMap }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
