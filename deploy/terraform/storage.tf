# Azure Blob sources read as the Kaito-RAG workload identity (a source added with
# `auth: workload_identity`): the identity federated in identity.tf gets Storage Blob Data Reader
# on each storage account listed here, and needs no account key or SAS. The accounts are not
# managed here (they usually belong to whoever owns the documents); give their resource ids.

variable "blob_source_storage_account_ids" {
  type        = list(string)
  description = "Resource ids of storage accounts whose containers Kaito-RAG syncs as its workload identity (/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<name>)."
  default     = []

  validation {
    condition = alltrue([
      for id in var.blob_source_storage_account_ids :
      can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.Storage/storageAccounts/[a-z0-9]{3,24}$", id))
    ])
    error_message = "blob_source_storage_account_ids must be storage account resource ids (/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<name>)."
  }
}

resource "azurerm_role_assignment" "kaito_rag_blob_reader" {
  for_each             = toset(var.blob_source_storage_account_ids)
  scope                = each.value
  role_definition_name = "Storage Blob Data Reader"
  principal_id         = azurerm_user_assigned_identity.kaito_rag.principal_id
  principal_type       = "ServicePrincipal"
}
