# The AI toolchain operator add-on creates a user-assigned identity named
# ai-toolchain-operator-<cluster> in the node resource group. KAITO's GPU provisioner
# (ServiceAccount kube-system/kaito-gpu-provisioner) signs in as that identity through workload
# identity, and creates GPU agent pools for Workspaces. It needs:
#   * a federated credential: issuer = the cluster's OIDC issuer, subject =
#     system:serviceaccount:kube-system:kaito-gpu-provisioner, audience api://AzureADTokenExchange;
#   * Contributor on the node resource group (KAITO's own setup: the VM scale sets, NICs and
#     disks of the GPU nodes live there) and on the cluster resource (agent pools are
#     sub-resources of Microsoft.ContainerService/managedClusters, which the AKS documentation
#     grants through the cluster's resource group; the cluster scope is the narrower form).
# scripts/deploy restarts the kaito-gpu-provisioner deployment once these exist, as the AKS
# documentation asks.
data "azurerm_user_assigned_identity" "kaito" {
  name                = "ai-toolchain-operator-${azurerm_kubernetes_cluster.main.name}"
  resource_group_name = azurerm_kubernetes_cluster.main.node_resource_group
}

data "azurerm_resource_group" "nodes" {
  name = azurerm_kubernetes_cluster.main.node_resource_group
}

resource "azurerm_federated_identity_credential" "kaito_gpu_provisioner" {
  name                      = "kaito-federated-identity"
  user_assigned_identity_id = data.azurerm_user_assigned_identity.kaito.id
  issuer                    = azurerm_kubernetes_cluster.main.oidc_issuer_url
  subject                   = "system:serviceaccount:kube-system:kaito-gpu-provisioner"
  audience                  = ["api://AzureADTokenExchange"]
}

resource "azurerm_role_assignment" "kaito_node_resource_group" {
  scope                            = data.azurerm_resource_group.nodes.id
  role_definition_name             = "Contributor"
  principal_id                     = data.azurerm_user_assigned_identity.kaito.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

resource "azurerm_role_assignment" "kaito_cluster" {
  scope                            = azurerm_kubernetes_cluster.main.id
  role_definition_name             = "Contributor"
  principal_id                     = data.azurerm_user_assigned_identity.kaito.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}
