# InferenceSet (KAITO v0.11.0+, beta): one Workspace per replica, each with its own Service
# named after the generated Workspace; the served model name of every replica is the
# InferenceSet's name. Spreading requests over replicas needs a gateway (Gateway API
# Inference Extension) in front; point Kaito-RAG's llm.url at that gateway.
apiVersion: kaito.sh/v1beta1
kind: InferenceSet
metadata:
  name: ${INFERENCESET_NAME:-phi-3-mini-4k-instruct}
  namespace: ${NAMESPACE:-kaito-rag}
  labels:
    app.kubernetes.io/part-of: kaito-rag
    app.kubernetes.io/component: inference
spec:
  replicas: ${REPLICAS:-2}
  # Upper bound on GPU nodes the provisioner may create for this set (cost guard).
  nodeCountLimit: ${NODE_COUNT_LIMIT:-2}
  labelSelector:
    matchLabels:
      apps: ${GPU_NODE_LABEL:-phi-3-mini-4k-set}
  template:
    resource:
      instanceType: "${INSTANCE_TYPE:-Standard_NC24ads_A100_v4}"
    inference:
      preset:
        name: "${MODEL_PRESET:-phi-3-mini-4k-instruct}"
