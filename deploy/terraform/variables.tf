variable "subscription_id" {
  type        = string
  description = "Azure subscription to deploy into; null uses ARM_SUBSCRIPTION_ID (scripts/deploy sets it from `az account show`)."
  default     = null

  validation {
    condition     = var.subscription_id == null || can(regex("^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$", var.subscription_id))
    error_message = "subscription_id must be a subscription GUID or null."
  }
}

variable "prefix" {
  type        = string
  description = "Short name used in every resource name (lower-case letters, digits and dashes, 3 to 16 characters, starting with a letter)."
  default     = "kaitorag"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}[a-z0-9]$", var.prefix))
    error_message = "prefix must be 3-16 characters of a-z, 0-9 and '-', start with a letter and not end with '-'."
  }
}

variable "location" {
  type        = string
  description = "Azure region. It must offer the GPU SKU in var.gpu_instance_type and your subscription needs quota for that family there."
  default     = "eastus"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]+$", var.location))
    error_message = "location must be a region name such as eastus, westeurope or swedencentral (lower-case, no spaces)."
  }
}

variable "kubernetes_version" {
  type        = string
  description = "AKS Kubernetes version (MAJOR.MINOR or MAJOR.MINOR.PATCH); null = the region's default."
  default     = null

  validation {
    condition     = var.kubernetes_version == null || can(regex("^1\\.[0-9]+(\\.[0-9]+)?$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.32 or 1.32.2, or be null."
  }
}

variable "system_node_vm_size" {
  type        = string
  description = "VM size of the system node pool (AKS add-ons, KAITO controllers)."
  default     = "Standard_D4ds_v5"

  validation {
    condition     = can(regex("^Standard_[A-Za-z0-9_]+$", var.system_node_vm_size))
    error_message = "system_node_vm_size must be an Azure VM size such as Standard_D4ds_v5."
  }
}

variable "system_node_count" {
  type        = number
  description = "Nodes in the system pool (2 or more keeps system add-ons available during upgrades)."
  default     = 2

  validation {
    condition     = var.system_node_count >= 1 && var.system_node_count <= 10 && floor(var.system_node_count) == var.system_node_count
    error_message = "system_node_count must be a whole number between 1 and 10."
  }
}

variable "user_node_vm_size" {
  type        = string
  description = "VM size of the CPU user node pool that runs Kaito-RAG."
  default     = "Standard_D4ds_v5"

  validation {
    condition     = can(regex("^Standard_[A-Za-z0-9_]+$", var.user_node_vm_size))
    error_message = "user_node_vm_size must be an Azure VM size such as Standard_D4ds_v5."
  }
}

variable "user_node_min_count" {
  type        = number
  description = "Minimum nodes of the autoscaled CPU user pool."
  default     = 1

  validation {
    condition     = var.user_node_min_count >= 1 && var.user_node_min_count <= 50 && floor(var.user_node_min_count) == var.user_node_min_count
    error_message = "user_node_min_count must be a whole number between 1 and 50."
  }
}

variable "user_node_max_count" {
  type        = number
  description = "Maximum nodes of the autoscaled CPU user pool (at least user_node_min_count)."
  default     = 3

  validation {
    condition     = var.user_node_max_count >= 1 && var.user_node_max_count <= 100 && floor(var.user_node_max_count) == var.user_node_max_count
    error_message = "user_node_max_count must be a whole number between 1 and 100."
  }
}

variable "gpu_instance_type" {
  type        = string
  description = "GPU VM size that KAITO provisions for the model Workspace (KAITO's documented default: Standard_NC24ads_A100_v4, 1x A100 80 GB). Not created by Terraform: the KAITO GPU provisioner creates the node when the Workspace is applied."
  default     = "Standard_NC24ads_A100_v4"

  validation {
    condition     = can(regex("^Standard_N[A-Za-z0-9_]+$", var.gpu_instance_type))
    error_message = "gpu_instance_type must be an Azure GPU (N-series) VM size such as Standard_NC24ads_A100_v4."
  }
}

variable "model_preset" {
  type        = string
  description = "Model for the KAITO Workspace: a key of deploy/kaito/render.sh (phi-3-mini-4k-instruct, phi-3-mini-128k-instruct, mistral-7b-instruct, falcon-7b-instruct)."
  default     = "phi-3-mini-4k-instruct"

  validation {
    condition     = contains(["phi-3-mini-4k-instruct", "phi-3-mini-128k-instruct", "mistral-7b-instruct", "falcon-7b-instruct"], var.model_preset)
    error_message = "model_preset must be one of phi-3-mini-4k-instruct, phi-3-mini-128k-instruct, mistral-7b-instruct, falcon-7b-instruct."
  }
}

variable "namespace" {
  type        = string
  description = "Kubernetes namespace for Kaito-RAG and its Workspace (used in the workload identity subject)."
  default     = "kaito-rag"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS-1123 label."
  }
}

variable "service_account_name" {
  type        = string
  description = "ServiceAccount of the Kaito-RAG pods (the Helm chart's default is the release's full name, kaito-rag)."
  default     = "kaito-rag"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.service_account_name))
    error_message = "service_account_name must be a DNS-1123 subdomain."
  }
}

variable "api_key_length" {
  type        = number
  description = "Length of the generated Kaito-RAG API key stored in Key Vault."
  default     = 48

  validation {
    condition     = var.api_key_length >= 32 && var.api_key_length <= 128
    error_message = "api_key_length must be between 32 and 128."
  }
}

variable "acr_sku" {
  type        = string
  description = "Azure Container Registry SKU for the Kaito-RAG image."
  default     = "Standard"

  validation {
    condition     = contains(["Basic", "Standard", "Premium"], var.acr_sku)
    error_message = "acr_sku must be Basic, Standard or Premium."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Log Analytics retention in days (Container Insights logs)."
  default     = 30

  validation {
    condition     = var.log_retention_days >= 30 && var.log_retention_days <= 730
    error_message = "log_retention_days must be between 30 and 730."
  }
}

variable "key_vault_purge_protection" {
  type        = bool
  description = "Enable Key Vault purge protection. Safer for production, but a destroyed vault then stays soft-deleted (name reserved) for the retention period."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default = {
    workload = "kaito-rag"
  }
}

# -- Microsoft Entra ID sign-in (entra.tf) ------------------------------------------------------

variable "entra_app_registration" {
  type        = bool
  description = "Create the Entra ID app registration users sign in to (app roles reader/writer/admin). Needs the Application Administrator role (or Application.ReadWrite.OwnedBy) in the tenant."
  default     = true
}

variable "entra_webapp_redirect_uris" {
  type        = list(string)
  description = "Redirect URIs of the web UI (auth code + PKCE), e.g. [\"https://rag.example.com/\"]. http://localhost:8080/ is always added for port-forwarding."
  default     = []
}

# -- Network (network.tf) ------------------------------------------------------------------------

variable "vnet_address_space" {
  type        = string
  description = "Address space of the cluster's VNet. Must not overlap the pod (10.244.0.0/16) and service (10.0.0.0/16) ranges."
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrhost(var.vnet_address_space, 0))
    error_message = "vnet_address_space must be a CIDR such as 10.42.0.0/16."
  }
}

variable "aks_subnet_cidr" {
  type        = string
  description = "Subnet of the cluster's nodes (overlay networking: node addresses only)."
  default     = "10.42.0.0/22"

  validation {
    condition     = can(cidrhost(var.aks_subnet_cidr, 0))
    error_message = "aks_subnet_cidr must be a CIDR inside vnet_address_space."
  }
}

# -- PostgreSQL Flexible Server (postgres.tf) ------------------------------------------------------

variable "enable_postgres" {
  type        = bool
  description = "Create an Azure Database for PostgreSQL Flexible Server (pgvector, private in the cluster's VNet) for the Helm chart's shared mode."
  default     = false
}

variable "postgres_subnet_cidr" {
  type        = string
  description = "Subnet delegated to the Flexible Server (Helm: store.postgres.egressCidrs)."
  default     = "10.42.8.0/24"

  validation {
    condition     = can(cidrhost(var.postgres_subnet_cidr, 0))
    error_message = "postgres_subnet_cidr must be a CIDR inside vnet_address_space, apart from aks_subnet_cidr."
  }
}

variable "postgres_version" {
  type        = string
  description = "PostgreSQL major version (pgvector with HNSW needs 0.5+, which Flexible Server ships for 13 and later)."
  default     = "17"

  validation {
    condition     = contains(["13", "14", "15", "16", "17", "18"], var.postgres_version)
    error_message = "postgres_version must be 13 to 18."
  }
}

variable "postgres_sku_name" {
  type        = string
  description = "Flexible Server compute: tier + size, e.g. GP_Standard_D2ds_v5 (General Purpose, 2 vCores), B_Standard_B2s (Burstable, no HA)."
  default     = "GP_Standard_D2ds_v5"

  validation {
    condition     = can(regex("^(B|GP|MO)_Standard_[A-Za-z0-9_]+$", var.postgres_sku_name))
    error_message = "postgres_sku_name must look like GP_Standard_D2ds_v5, MO_Standard_E4ds_v5 or B_Standard_B2s."
  }
}

variable "postgres_storage_mb" {
  type        = number
  description = "Storage in MiB (grows automatically beyond it)."
  default     = 32768

  validation {
    condition     = contains([32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4193280, 4194304, 8388608, 16777216, 33553408], var.postgres_storage_mb)
    error_message = "postgres_storage_mb must be one of Flexible Server's sizes: 32768, 65536, 131072, 262144, 524288, ..."
  }
}

variable "postgres_backup_retention_days" {
  type        = number
  description = "Point-in-time restore window in days."
  default     = 7

  validation {
    condition     = var.postgres_backup_retention_days >= 7 && var.postgres_backup_retention_days <= 35
    error_message = "postgres_backup_retention_days must be between 7 and 35."
  }
}

variable "postgres_high_availability" {
  type        = bool
  description = "Zone-redundant HA: a standby in postgres_standby_zone with automatic failover (doubles the compute cost; GP_ or MO_ SKUs only)."
  default     = false
}

variable "postgres_zone" {
  type        = string
  description = "Availability zone of the primary server."
  default     = "1"

  validation {
    condition     = contains(["1", "2", "3"], var.postgres_zone)
    error_message = "postgres_zone must be 1, 2 or 3."
  }
}

variable "postgres_standby_zone" {
  type        = string
  description = "Availability zone of the HA standby (with postgres_high_availability)."
  default     = "2"

  validation {
    condition     = contains(["1", "2", "3"], var.postgres_standby_zone)
    error_message = "postgres_standby_zone must be 1, 2 or 3."
  }
}
