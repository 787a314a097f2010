// The subscription's activity log (who changed which Azure resource, role assignments included) into the workspace
// and the archive. Deployed at subscription scope: the deployer needs Monitoring Contributor (or Owner) on the
// subscription; set exportActivityLog=false in main.bicep when another team already exports it.
targetScope = 'subscription'

@description('Diagnostic setting name, unique within the subscription.')
param name string

@description('Log Analytics workspace resource id.')
param workspaceId string

@description('Archive storage account resource id.')
param archiveStorageAccountId string

resource activityLog 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: name
  properties: {
    workspaceId: workspaceId
    storageAccountId: archiveStorageAccountId
    logs: [
      {
        category: 'Administrative'
        enabled: true
      }
      {
        category: 'Security'
        enabled: true
      }
      {
        category: 'Policy'
        enabled: true
      }
      {
        category: 'Alert'
        enabled: true
      }
    ]
  }
}
