// Immutable archive of the audit evidence: diagnostic logs (Key Vault AuditEvent, storage writes and deletes of the
// data account, the activity log, the app's traces) are copied here by Azure Monitor. Why a separate account:
// the app identity holds Table Data Contributor on the data account (Azure has no append-only table role, so it
// could edit its own Audit table); here it holds no role at all, every blob is under a time-based retention policy
// that even an Owner cannot shorten once locked, and the firewall admits only trusted Azure services.
// docs/DEPLOY.md §9 explains how to lock the policy (irreversible) once the retention period is agreed.

@description('Azure region.')
param location string = resourceGroup().location

@description('Storage account name (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Days every archived blob is immutable (time-based retention) and then kept before deletion.')
@minValue(1)
@maxValue(146000)
param retentionDays int = 730

@description('Tags for every resource.')
param tags object = {}

resource account 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  // checkov:skip=CKV_AZURE_59: Azure Monitor writes diagnostic logs through the trusted-services bypass of the public endpoint; the firewall denies everything else
  // checkov:skip=CKV_AZURE_206: LRS is acceptable for the archive copy; the interactive copy lives in Log Analytics
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Cool'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Deny'
    }
    immutableStorageWithVersioning: {
      enabled: true
      immutabilityPolicy: {
        immutabilityPeriodSinceCreationInDays: retentionDays
        state: 'Unlocked'
        allowProtectedAppendWrites: true
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: account
  name: 'default'
  properties: {
    isVersioningEnabled: true
  }
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2024-01-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          enabled: true
          name: 'delete-after-retention'
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'appendBlob'
                'blockBlob'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterCreationGreaterThan: retentionDays + 1
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    blobService
  ]
}

output id string = account.id
output name string = account.name
