# Everything scripts/deploy needs. No secret values: the API key is only named (Key Vault
# secret), never output.
output "subscription_id" {
  description = "Subscription the resources were created in."
  value       = data.azurerm_client_config.current.subscription_id
}

output "tenant_id" {
  description = "Microsoft Entra tenant of the subscription."
  value       = data.azurerm_client_config.current.tenant_id
}

output "resource_group_name" {
  description = "Resource group of the cluster, registry, vault and monitoring."
  value       = azurerm_resource_group.main.name
}

output "location" {
  description = "Azure region."
  value       = azurerm_resource_group.main.location
}

output "cluster_name" {
  description = "AKS cluster name (az aks get-credentials -g <resource_group_name> -n <cluster_name>)."
  value       = azurerm_kubernetes_cluster.main.name
}

output "node_resource_group" {
  description = "AKS node resource group (holds the KAITO identity and the GPU nodes)."
  value       = azurerm_kubernetes_cluster.main.node_resource_group
}

output "oidc_issuer_url" {
  description = "The cluster's OIDC issuer (public metadata, used by the federated credentials)."
  value       = azurerm_kubernetes_cluster.main.oidc_issuer_url
}

output "kaito_identity_name" {
  description = "Identity of the KAITO GPU provisioner (created by the add-on, federated here)."
  value       = data.azurerm_user_assigned_identity.kaito.name
}

output "acr_name" {
  description = "Container registry for the Kaito-RAG image (az acr build -r <acr_name> ...)."
  value       = azurerm_container_registry.main.name
}

output "acr_login_server" {
  description = "Registry host for the image reference."
  value       = azurerm_container_registry.main.login_server
}

output "key_vault_name" {
  description = "Key Vault holding the API key."
  value       = azurerm_key_vault.main.name
}

output "api_key_secret_name" {
  description = "Name of the Key Vault secret with the API key(s) (az keyvault secret show --vault-name <key_vault_name> -n <this>)."
  value       = azurerm_key_vault_secret.api_key.name
}

output "kaito_rag_identity_client_id" {
  description = "Client id of the Kaito-RAG workload identity (Helm: serviceAccount.workloadIdentity.clientId)."
  value       = azurerm_user_assigned_identity.kaito_rag.client_id
}

output "namespace" {
  description = "Kubernetes namespace for Kaito-RAG and its Workspace."
  value       = var.namespace
}

output "service_account_name" {
  description = "ServiceAccount federated with the Kaito-RAG identity."
  value       = var.service_account_name
}

output "model_preset" {
  description = "Model key for deploy/kaito/render.sh."
  value       = var.model_preset
}

output "gpu_instance_type" {
  description = "GPU VM size for the KAITO Workspace."
  value       = var.gpu_instance_type
}

output "log_analytics_workspace_id" {
  description = "Log Analytics workspace with the Container Insights data."
  value       = azurerm_log_analytics_workspace.main.id
}

# -- PostgreSQL (enable_postgres); null when disabled -------------------------------------------

output "postgres_server_fqdn" {
  description = "Private host name of the Flexible Server (resolvable inside the cluster's VNet)."
  value       = one(azurerm_postgresql_flexible_server.main[*].fqdn)
}

output "postgres_database_name" {
  description = "Database Kaito-RAG uses."
  value       = var.enable_postgres ? local.postgres_db : null
}

output "postgres_connection_secret_name" {
  description = "Key Vault secret with the libpq URL (Helm: store.postgres.keyVault.secretName, or copy it into the Secret store.postgres.existingSecret)."
  value       = one(azurerm_key_vault_secret.postgres_url[*].name)
}

output "postgres_subnet_cidr" {
  description = "Address range of the database (Helm: store.postgres.egressCidrs)."
  value       = var.enable_postgres ? var.postgres_subnet_cidr : null
}
