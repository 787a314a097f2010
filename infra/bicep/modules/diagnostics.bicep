// Diagnostic settings: who touched the vault, every write and delete on Greenlight's data (the Audit table
// included), and the Functions host log, into Log Analytics (queries, alerts) and the immutable archive.
// Reads of the data account are not logged (volume); the host account (task hub polling) neither.

@description('Key Vault name.')
param keyVaultName string

@description('Data storage account name.')
param dataStorageAccountName string

@description('Function app name.')
param functionAppName string

@description('Log Analytics workspace resource id.')
param workspaceId string

@description('Archive storage account resource id.')
param archiveStorageAccountId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource data 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: dataStorageAccountName
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices@2024-01-01' existing = {
  parent: data
  name: 'default'
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' existing = {
  parent: data
  name: 'default'
}

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource vaultLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'greenlight-audit'
  scope: vault
  properties: {
    workspaceId: workspaceId
    storageAccountId: archiveStorageAccountId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

resource tableLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'greenlight-audit'
  scope: tables
  properties: {
    workspaceId: workspaceId
    storageAccountId: archiveStorageAccountId
    logs: [
      {
        category: 'StorageWrite'
        enabled: true
      }
      {
        category: 'StorageDelete'
        enabled: true
      }
    ]
  }
}

resource blobLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'greenlight-audit'
  scope: blobs
  properties: {
    workspaceId: workspaceId
    storageAccountId: archiveStorageAccountId
    logs: [
      {
        category: 'StorageWrite'
        enabled: true
      }
      {
        category: 'StorageDelete'
        enabled: true
      }
    ]
  }
}

resource hostLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'greenlight-host'
  scope: site
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
  }
}
