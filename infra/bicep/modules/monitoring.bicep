// Log Analytics workspace + workspace-based Application Insights with local (key) auth disabled: the app sends
// telemetry with its managed identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING), which needs Monitoring Metrics
// Publisher on the component.

@description('Azure region.')
param location string = resourceGroup().location

@description('Base name, for example greenlight-prod.')
param baseName string

@description('Principal (object) id of the app identity that publishes telemetry.')
param appPrincipalId string

@description('Daily ingestion cap of the workspace in GB; keeps a logging storm from becoming a bill. Logs beyond it are dropped, audit evidence included: size it with headroom.')
param dailyQuotaGb int = 5

@description('Days logs stay queryable (interactive retention); the audit trail needs at least 90.')
@minValue(90)
@maxValue(730)
param retentionDays int = 90

@description('Total days the audit-relevant tables are kept (interactive + long-term archive, searchable by restore/search jobs).')
@minValue(90)
@maxValue(4383)
param archiveDays int = 730

@description('Storage account (resource id) that receives an immutable copy of the app\'s telemetry.')
param archiveStorageAccountId string

@description('Tags for every resource.')
param tags object = {}

var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${baseName}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionDays
    workspaceCapping: {
      dailyQuotaGb: dailyQuotaGb
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${baseName}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

// Tables the audit trail and incident reviews read: kept archiveDays in total (interactive for retentionDays).
var auditTables = [
  'AppTraces'
  'AppRequests'
  'AppExceptions'
  'AppDependencies'
  'AzureActivity'
  'AzureDiagnostics'
  'StorageTableLogs'
  'StorageBlobLogs'
  'FunctionAppLogs'
]

resource tableRetention 'Microsoft.OperationalInsights/workspaces/tables@2022-10-01' = [
  for tableName in auditTables: {
    parent: workspace
    name: tableName
    properties: {
      retentionInDays: retentionDays
      totalRetentionInDays: archiveDays
    }
  }
]

// The app's telemetry (traces carry request ids and audit-relevant events) also goes to the immutable archive.
resource appInsightsArchive 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'greenlight-archive'
  scope: appInsights
  properties: {
    storageAccountId: archiveStorageAccountId
    logs: [
      {
        category: 'AppTraces'
        enabled: true
      }
      {
        category: 'AppRequests'
        enabled: true
      }
      {
        category: 'AppExceptions'
        enabled: true
      }
    ]
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appPrincipalId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The connection string identifies the component; it is not a credential because local auth is disabled.
output appInsightsConnectionString string = appInsights.properties.ConnectionString
output appInsightsName string = appInsights.name
output workspaceId string = workspace.id
output appInsightsId string = appInsights.id
