# The Kaito-RAG API key lives in Key Vault (RBAC mode). scripts/deploy copies it into the
# Kubernetes Secret that the Helm chart references (auth.existingSecret); the pod identity below
# may also read it directly (e.g. through the Secrets Store CSI driver add-on).
resource "azurerm_key_vault" "main" {
  name                       = local.key_vault_name
  location                   = azurerm_resource_group.main.location
  resource_group_name        = azurerm_resource_group.main.name
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  rbac_authorization_enabled = true
  purge_protection_enabled   = var.key_vault_purge_protection
  soft_delete_retention_days = 7
  tags                       = local.tags
}

# Whoever runs Terraform writes the secret; scripts/deploy reads it back with the same login.
resource "azurerm_role_assignment" "deployer_key_vault" {
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

# Azure RBAC takes a short while to reach the Key Vault data plane.
resource "time_sleep" "key_vault_rbac" {
  depends_on      = [azurerm_role_assignment.deployer_key_vault]
  create_duration = "60s"
}

resource "random_password" "api_key" {
  length  = var.api_key_length
  special = false
}

resource "azurerm_key_vault_secret" "api_key" {
  name         = "kaito-rag-api-keys"
  value        = random_password.api_key.result
  key_vault_id = azurerm_key_vault.main.id
  content_type = "comma-separated bearer tokens for KAITO_RAG_API_KEYS"
  tags         = local.tags

  depends_on = [time_sleep.key_vault_rbac]
}
