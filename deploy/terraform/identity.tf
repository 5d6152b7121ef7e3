# Workload identity for the Kaito-RAG pods (ServiceAccount <namespace>/<service_account_name>),
# allowed to read Key Vault secrets. The Helm chart annotates its ServiceAccount with the
# client id when serviceAccount.workloadIdentity.enabled=true (scripts/deploy does).
resource "azurerm_user_assigned_identity" "kaito_rag" {
  name                = "id-${local.name}-kaito-rag"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
}

resource "azurerm_federated_identity_credential" "kaito_rag" {
  name                      = "kaito-rag"
  user_assigned_identity_id = azurerm_user_assigned_identity.kaito_rag.id
  issuer                    = azurerm_kubernetes_cluster.main.oidc_issuer_url
  subject                   = "system:serviceaccount:${var.namespace}:${var.service_account_name}"
  audience                  = ["api://AzureADTokenExchange"]
}

resource "azurerm_role_assignment" "kaito_rag_key_vault" {
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.kaito_rag.principal_id
  principal_type       = "ServicePrincipal"
}
