apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: ${WORKSPACE_NAME:-workspace-phi-3-mini-4k}
  namespace: ${NAMESPACE:-kaito-rag}
  labels:
    app.kubernetes.io/part-of: kaito-rag
    app.kubernetes.io/component: inference
  annotations:
    # vllm (default, OpenAI-compatible, what Kaito-RAG is tested against) or transformers
    kaito.sh/runtime: "${KAITO_RUNTIME:-vllm}"
# v1alpha1 is still served (converted to the v1beta1 storage version). Workspace has no `spec`.
resource:
  # GPU node SKU that KAITO's GPU provisioner creates; check your regional quota for its family.
  instanceType: "${INSTANCE_TYPE:-Standard_NC24ads_A100_v4}"
  labelSelector:
    matchLabels:
      apps: ${GPU_NODE_LABEL:-phi-3-mini-4k}
inference:
  preset:
    name: "${MODEL_PRESET:-phi-3-mini-4k-instruct}"
