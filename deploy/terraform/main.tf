data "azurerm_client_config" "current" {}

resource "random_string" "suffix" {
  length  = 5
  lower   = true
  upper   = false
  numeric = true
  special = false
}

locals {
  name         = "${var.prefix}-${random_string.suffix.result}"
  cluster_name = "aks-${local.name}"
  # ACR and Key Vault names are global, alphanumeric (ACR) / 3-24 characters (Key Vault).
  acr_name       = substr(replace("acr${var.prefix}${random_string.suffix.result}", "-", ""), 0, 50)
  key_vault_name = substr("kv-${replace(var.prefix, "-", "")}-${random_string.suffix.result}", 0, 24)
  tags           = merge(var.tags, { "managed-by" = "terraform" })
}

resource "azurerm_resource_group" "main" {
  name     = "rg-${local.name}"
  location = var.location
  tags     = local.tags
}

# ---------------------------------------------------------------------------------------------
# Monitoring: Log Analytics + Container Insights (oms_agent with managed identity auth and the
# data collection rule the add-on reads).
# ---------------------------------------------------------------------------------------------
resource "azurerm_log_analytics_workspace" "main" {
  name                = "log-${local.name}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = local.tags
}

resource "azurerm_monitor_data_collection_rule" "container_insights" {
  name                = "MSCI-${var.location}-${local.cluster_name}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags

  destinations {
    log_analytics {
      name                  = "ciworkspace"
      workspace_resource_id = azurerm_log_analytics_workspace.main.id
    }
  }

  data_flow {
    streams      = ["Microsoft-ContainerInsights-Group-Default"]
    destinations = ["ciworkspace"]
  }

  data_sources {
    extension {
      name           = "ContainerInsightsExtension"
      extension_name = "ContainerInsights"
      streams        = ["Microsoft-ContainerInsights-Group-Default"]
      extension_json = jsonencode({
        dataCollectionSettings = {
          interval               = "1m"
          namespaceFilteringMode = "Off"
          enableContainerLogV2   = true
        }
      })
    }
  }
}

resource "azurerm_monitor_data_collection_rule_association" "container_insights" {
  name                    = "ContainerInsightsExtension"
  target_resource_id      = azurerm_kubernetes_cluster.main.id
  data_collection_rule_id = azurerm_monitor_data_collection_rule.container_insights.id
}

# ---------------------------------------------------------------------------------------------
# AKS with the AI toolchain operator (KAITO) add-on, OIDC issuer and workload identity.
# ---------------------------------------------------------------------------------------------
resource "azurerm_kubernetes_cluster" "main" {
  name                = local.cluster_name
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  dns_prefix          = local.name
  node_resource_group = "rg-${local.name}-nodes"
  kubernetes_version  = var.kubernetes_version
  sku_tier            = "Standard"
  tags                = local.tags

  # KAITO: the managed add-on installs the Workspace CRDs/controller and the GPU provisioner,
  # which authenticates as ai-toolchain-operator-<cluster> through workload identity (kaito.tf).
  ai_toolchain_operator_enabled = true
  oidc_issuer_enabled           = true
  workload_identity_enabled     = true

  automatic_upgrade_channel = "patch"
  node_os_upgrade_channel   = "NodeImage"
  azure_policy_enabled      = true

  default_node_pool {
    name                         = "system"
    vm_size                      = var.system_node_vm_size
    node_count                   = var.system_node_count
    only_critical_addons_enabled = true
    os_sku                       = "AzureLinux"
    temporary_name_for_rotation  = "systemtmp"
    vnet_subnet_id               = azurerm_subnet.aks.id
    tags                         = local.tags

    upgrade_settings {
      max_surge = "33%"
    }
  }

  identity {
    type = "SystemAssigned"
  }

  # Node pools as declared here (no node auto-provisioning); KAITO adds its GPU pools itself.
  node_provisioning_profile {
    mode = "Manual"
  }

  # Azure CNI overlay with Cilium enforces the chart's NetworkPolicy.
  network_profile {
    network_plugin      = "azure"
    network_plugin_mode = "overlay"
    network_data_plane  = "cilium"
    network_policy      = "cilium"
    load_balancer_sku   = "standard"
  }

  oms_agent {
    log_analytics_workspace_id      = azurerm_log_analytics_workspace.main.id
    msi_auth_for_monitoring_enabled = true
  }

  # Managed NGINX ingress (ingress class webapprouting.kubernetes.azure.com) for the chart's
  # optional Ingress.
  web_app_routing {
    dns_zone_ids = []
  }

  key_vault_secrets_provider {
    secret_rotation_enabled = true
  }

  lifecycle {
    ignore_changes = [
      # AKS raises the patch version by itself with automatic_upgrade_channel = "patch".
      kubernetes_version,
      default_node_pool[0].orchestrator_version,
    ]
  }
}

resource "azurerm_kubernetes_cluster_node_pool" "user" {
  name                  = "user"
  kubernetes_cluster_id = azurerm_kubernetes_cluster.main.id
  vm_size               = var.user_node_vm_size
  mode                  = "User"
  os_sku                = "AzureLinux"
  vnet_subnet_id        = azurerm_subnet.aks.id
  auto_scaling_enabled  = true
  min_count             = var.user_node_min_count
  max_count             = var.user_node_max_count
  tags                  = local.tags

  upgrade_settings {
    max_surge = "33%"
  }

  lifecycle {
    precondition {
      condition     = var.user_node_max_count >= var.user_node_min_count
      error_message = "user_node_max_count must be at least user_node_min_count."
    }
    ignore_changes = [node_count]
  }
}
