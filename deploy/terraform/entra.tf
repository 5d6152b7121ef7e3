# ---------------------------------------------------------------------------------------------
# Microsoft Entra ID: one app registration is both the API (its access tokens carry `roles`)
# and the web UI's public client (single-page app, auth code + PKCE). Users and service
# principals get the reader / writer / admin app roles; assignment is required, so an unassigned
# user gets no token at all. scripts/deploy passes the outputs to the Helm chart
# (auth.oidc.*) and prints how to assign roles.
# ---------------------------------------------------------------------------------------------
locals {
  entra_roles = {
    reader = "Read and search every shared collection; keep private collections of one's own."
    writer = "Upload and delete documents in shared collections, create shared collections."
    admin  = "Administer every shared collection and the server's API keys and snapshots."
  }
  entra_identifier_uri = "api://kaito-rag-${local.name}"
}

resource "random_uuid" "entra_role" {
  for_each = var.entra_app_registration ? local.entra_roles : {}
}

resource "random_uuid" "entra_scope" {
  count = var.entra_app_registration ? 1 : 0
}

resource "azuread_application" "kaito_rag" {
  count            = var.entra_app_registration ? 1 : 0
  display_name     = "kaito-rag-${local.name}"
  identifier_uris  = [local.entra_identifier_uri]
  sign_in_audience = "AzureADMyOrg"

  api {
    # v2 tokens: iss = https://login.microsoftonline.com/<tenant>/v2.0, aud = the client id.
    requested_access_token_version = 2

    oauth2_permission_scope {
      id                         = random_uuid.entra_scope[0].result
      value                      = "access_as_user"
      type                       = "User"
      enabled                    = true
      admin_consent_display_name = "Use Kaito-RAG"
      admin_consent_description  = "Ask questions about the documents the signed-in user may read."
      user_consent_display_name  = "Use Kaito-RAG"
      user_consent_description   = "Ask questions about the documents you may read."
    }
  }

  dynamic "app_role" {
    for_each = local.entra_roles
    content {
      id                   = random_uuid.entra_role[app_role.key].result
      value                = app_role.key
      display_name         = "Kaito-RAG ${app_role.key}"
      description          = app_role.value
      allowed_member_types = ["User", "Application"]
      enabled              = true
    }
  }

  single_page_application {
    redirect_uris = distinct(concat(var.entra_webapp_redirect_uris, ["http://localhost:8080/"]))
  }
}

resource "azuread_service_principal" "kaito_rag" {
  count                        = var.entra_app_registration ? 1 : 0
  client_id                    = azuread_application.kaito_rag[0].client_id
  app_role_assignment_required = true
  owners                       = [data.azurerm_client_config.current.object_id]
}

output "entra_oidc_issuer" {
  description = "OIDC issuer for auth.oidc.issuer (empty without the app registration)."
  value       = var.entra_app_registration ? "https://login.microsoftonline.com/${data.azurerm_client_config.current.tenant_id}/v2.0" : ""
}

output "entra_client_id" {
  description = "Client id of the app registration: the tokens' audience and the web UI's client id."
  value       = var.entra_app_registration ? azuread_application.kaito_rag[0].client_id : ""
}

output "entra_identifier_uri" {
  description = "The API's identifier URI; the web UI requests <uri>/access_as_user."
  value       = var.entra_app_registration ? local.entra_identifier_uri : ""
}

output "entra_service_principal_object_id" {
  description = "Enterprise application users and groups are assigned to (az rest ... appRoleAssignedTo)."
  value       = var.entra_app_registration ? azuread_service_principal.kaito_rag[0].object_id : ""
}

output "entra_app_role_ids" {
  description = "App role ids by value (reader, writer, admin), for role assignments."
  value       = { for role, id in random_uuid.entra_role : role => id.result }
}
