terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  # azurerm 5.x: the version deploy/terraform/validate.sh builds and validates against.
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 5.2"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.12"
    }
    azuread = {
      source  = "hashicorp/azuread"
      version = "~> 3.0"
    }
  }
}

provider "azurerm" {
  # ARM_SUBSCRIPTION_ID (exported by scripts/deploy from `az account show`) or var.subscription_id.
  subscription_id = var.subscription_id

  features {
    key_vault {
      # Purge protection is a variable; without it, `terraform destroy` purges the vault so the
      # name can be reused at once.
      purge_soft_delete_on_destroy    = true
      recover_soft_deleted_key_vaults = true
    }
    resource_group {
      prevent_deletion_if_contains_resources = false
    }
  }
}
