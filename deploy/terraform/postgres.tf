# ---------------------------------------------------------------------------------------------
# Optional (enable_postgres): Azure Database for PostgreSQL Flexible Server for the Helm chart's
# shared mode (deploy/helm/profiles/shared.yaml: N replicas on --store postgres).
#   * private only: VNet-integrated in a subnet of the cluster's VNet delegated to Flexible
#     Server, name resolved through a private DNS zone linked to that VNet; no public access;
#   * pgvector allow-listed (azure.extensions = VECTOR); Kaito-RAG's migrations CREATE EXTENSION it;
#   * optional zone-redundant high availability (standby in another zone, automatic failover);
#   * a generated admin password, stored with the rest of the connection as the Key Vault
#     secret the chart reads (Secret or Key Vault CSI). Like the API key it is also in the state.
# ---------------------------------------------------------------------------------------------
locals {
  postgres_count = var.enable_postgres ? 1 : 0
  postgres_login = "kaitorag_admin"
  postgres_db    = "kaitorag"
}

resource "azurerm_subnet" "postgres" {
  count                = local.postgres_count
  name                 = "snet-postgres"
  resource_group_name  = azurerm_resource_group.main.name
  virtual_network_name = azurerm_virtual_network.main.name
  address_prefixes     = [var.postgres_subnet_cidr]

  delegation {
    name = "postgres-flexible-server"
    service_delegation {
      name    = "Microsoft.DBforPostgreSQL/flexibleServers"
      actions = ["Microsoft.Network/virtualNetworks/subnets/join/action"]
    }
  }
}

resource "azurerm_private_dns_zone" "postgres" {
  count               = local.postgres_count
  name                = "${local.name}.private.postgres.database.azure.com"
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
}

resource "azurerm_private_dns_zone_virtual_network_link" "postgres" {
  count                = local.postgres_count
  name                 = "postgres-${local.name}"
  private_dns_zone_id  = azurerm_private_dns_zone.postgres[0].id
  virtual_network_id   = azurerm_virtual_network.main.id
  registration_enabled = false
  tags                 = local.tags
}

# Flexible Server's password rules: 8-128 characters from three of upper, lower, digits, symbols.
# Letters and digits only, so the password needs no escaping inside the connection URL.
resource "random_password" "postgres_admin" {
  count       = local.postgres_count
  length      = 40
  special     = false
  min_upper   = 2
  min_lower   = 2
  min_numeric = 2
}

resource "azurerm_postgresql_flexible_server" "main" {
  count                         = var.enable_postgres ? 1 : 0
  name                          = "psql-${local.name}"
  resource_group_name           = azurerm_resource_group.main.name
  location                      = azurerm_resource_group.main.location
  version                       = var.postgres_version
  sku_name                      = var.postgres_sku_name
  storage_mb                    = var.postgres_storage_mb
  auto_grow_enabled             = true
  backup_retention_days         = var.postgres_backup_retention_days
  geo_redundant_backup_enabled  = false
  zone                          = var.postgres_zone
  delegated_subnet_id           = azurerm_subnet.postgres[0].id
  private_dns_zone_id           = azurerm_private_dns_zone.postgres[0].id
  public_network_access_enabled = false
  administrator_login           = local.postgres_login
  administrator_password        = random_password.postgres_admin[0].result
  tags                          = local.tags

  authentication {
    password_auth_enabled = true
  }

  dynamic "high_availability" {
    for_each = var.postgres_high_availability ? [1] : []
    content {
      mode                      = "ZoneRedundant"
      standby_availability_zone = var.postgres_standby_zone
    }
  }

  # The private DNS zone must be linked before the server registers its name in it.
  depends_on = [azurerm_private_dns_zone_virtual_network_link.postgres]

  lifecycle {
    # After a failover Azure swaps the primary and standby zones; do not fight it.
    ignore_changes = [zone, high_availability[0].standby_availability_zone]
    precondition {
      condition     = !var.postgres_high_availability || !startswith(var.postgres_sku_name, "B_")
      error_message = "postgres_high_availability needs a General Purpose (GP_) or Memory Optimized (MO_) SKU; Burstable has no HA."
    }
    precondition {
      condition     = !var.postgres_high_availability || var.postgres_zone != var.postgres_standby_zone
      error_message = "postgres_standby_zone must differ from postgres_zone for zone-redundant HA."
    }
  }
}

# pgvector is allow-listed per server; the extension itself is created by Kaito-RAG's migrations.
resource "azurerm_postgresql_flexible_server_configuration" "extensions" {
  count     = local.postgres_count
  name      = "azure.extensions"
  server_id = azurerm_postgresql_flexible_server.main[0].id
  value     = "VECTOR"
}

resource "azurerm_postgresql_flexible_server_database" "kaito_rag" {
  count     = local.postgres_count
  name      = local.postgres_db
  server_id = azurerm_postgresql_flexible_server.main[0].id
  charset   = "UTF8"
  collation = "en_US.utf8"
}

# The libpq URL Kaito-RAG takes as KAITO_RAG_PG_URL; the chart reads it from this secret.
resource "azurerm_key_vault_secret" "postgres_url" {
  count        = local.postgres_count
  name         = "kaito-rag-pg-url"
  key_vault_id = azurerm_key_vault.main.id
  content_type = "libpq URL for KAITO_RAG_PG_URL (--store postgres)"
  value = format("postgresql://%s:%s@%s:5432/%s?sslmode=require",
    local.postgres_login, random_password.postgres_admin[0].result,
  azurerm_postgresql_flexible_server.main[0].fqdn, local.postgres_db)
  tags = local.tags

  depends_on = [time_sleep.key_vault_rbac, azurerm_postgresql_flexible_server_configuration.extensions]
}
