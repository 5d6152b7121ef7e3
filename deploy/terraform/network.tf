# The cluster's own VNet (instead of one AKS would create in the node resource group), so that
# other services can join it privately: the PostgreSQL Flexible Server's delegated subnet
# (postgres.tf) lives next to the nodes. Pods use Azure CNI overlay addresses (10.244.0.0/16 by
# default) and services 10.0.0.0/16; neither may overlap vnet_address_space.
resource "azurerm_virtual_network" "main" {
  name                = "vnet-${local.name}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  address_space       = [var.vnet_address_space]
  tags                = local.tags
}

resource "azurerm_subnet" "aks" {
  name                 = "snet-aks"
  resource_group_name  = azurerm_resource_group.main.name
  virtual_network_name = azurerm_virtual_network.main.name
  address_prefixes     = [var.aks_subnet_cidr]
}

# AKS manages load balancers and routes in a subnet it does not own only with this role.
resource "azurerm_role_assignment" "aks_subnet_network_contributor" {
  scope                = azurerm_subnet.aks.id
  role_definition_name = "Network Contributor"
  principal_id         = azurerm_kubernetes_cluster.main.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}
