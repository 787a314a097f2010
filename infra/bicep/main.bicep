// Greenlight in one resource group: deploy with
//   az deployment group create -g <rg> -f infra/bicep/main.bicep -p env=prod opsGroupObjectId=<group id>
// then run infra/scripts/grant-graph-roles.sh with the botPrincipalId output (docs/DEPLOY.md).
// Kept to the Bicep subset checkov's parser reads (no user-defined types, lambdas, imports, nullable types,
// spread or extensions): tests/unit/infra runs checkov on this folder and fails on any parse error.
targetScope = 'resourceGroup'

@description('Deployment stage; part of every resource name.')
@allowed([
  'dev'
  'test'
  'prod'
])
param env string = 'dev'

@description('Azure region for regional resources (the bot registration is global).')
param location string = resourceGroup().location

@description('Short name prefix: lowercase letters, digits and hyphens.')
@minLength(2)
@maxLength(12)
param namePrefix string = 'greenlight'

@description('Use the Durable Task Scheduler instead of the Azure Storage provider (package with `make package DURABLE_BACKEND=dts`, DEPLOY.md).')
param useDurableTaskScheduler bool = false

@description('Source ranges allowed to reach the Durable Task Scheduler (non-empty; an empty list denies all). Flex without VNet has no fixed outbound address, hence the default; every call still needs an Entra token with Durable Task Data Contributor.')
param schedulerAllowedIpRanges array = [
  '0.0.0.0/0'
]

@description('Always-ready instances for HTTP triggers (0 or 1): 1 avoids slow first bot replies after idle, for about $21/month.')
@minValue(0)
@maxValue(2)
param alwaysReadyHttp int = 0

@description('Cap on function app scale-out.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 20

@description('Application ID URI of the HTTP API app registration, for example api://greenlight (docs/DEPLOY.md step 1).')
@minLength(1)
param apiAudience string

@description('Client id of the HTTP API app registration (optional; v2 tokens carry it as audience).')
param apiClientId string = ''

@description('Comma-separated object ids of Entra groups whose members may request software (empty: app roles only).')
param requesterGroupIds string = ''

@description('Comma-separated object ids of Entra groups whose members may approve.')
param approverGroupIds string = ''

@description('Comma-separated object ids of Entra groups whose members administer Greenlight.')
param adminGroupIds string = ''

@description('Object id of the Entra group that manages Key Vault secrets; empty to assign no one.')
param opsGroupObjectId string = ''

@description('Days before unused staged installers are deleted.')
@minValue(1)
param stagingRetentionDays int = 7

@description('Daily Log Analytics ingestion cap in GB (logs beyond it are dropped, audit evidence included).')
@minValue(1)
param logDailyCapGb int = 5

@description('Days logs stay interactively queryable (the audit trail needs at least 90).')
@minValue(90)
@maxValue(730)
param logRetentionDays int = 90

@description('Total days audit-relevant logs are kept (Log Analytics long-term retention) and archived blobs are immutable.')
@minValue(90)
@maxValue(4383)
param logArchiveDays int = 730

@description('Export the subscription activity log to the workspace and archive (needs Monitoring Contributor on the subscription).')
param exportActivityLog bool = true

@description('E-mail address that receives the operational alerts; empty to only show them in the portal.')
param alertEmail string = ''

@description('Open the Key Vault firewall; needed only once an app setting references a secret in it (no VNet in v1).')
param keyVaultAllowPublicAccess bool = false

@description('Object ids of users who may approve besides the approver groups (comma-separated) → GREENLIGHT_APPROVER_OIDS.')
param approverOids string = ''

@description('Seconds the bot caches the approver groups\' members → GREENLIGHT_APPROVER_GROUP_CACHE_SECONDS.')
param approverGroupCacheSeconds int = 300

@description('Tenants whose Teams users may use the bot (comma-separated; empty: this tenant) → GREENLIGHT_BOT_ALLOWED_TENANTS.')
param botAllowedTenants string = ''

@description('Installer download hosts allowed (comma-separated; empty: any https host) → GREENLIGHT_WINGET_INSTALLER_HOSTS.')
param wingetInstallerHosts string = ''

@description('Minutes between WinGet source refreshes → GREENLIGHT_WINGET_REFRESH_MINUTES.')
param wingetRefreshMinutes int = 15

@description('Days after which a WinGet source index is stale (0: no limit) → GREENLIGHT_WINGET_MAX_AGE_DAYS.')
param wingetMaxAgeDays int = 30

@description('Attempts per Microsoft Graph call → GREENLIGHT_GRAPH_MAX_ATTEMPTS.')
param graphMaxAttempts int = 8

@description('Largest HTTP API request body in bytes → GREENLIGHT_MAX_BODY_BYTES.')
param maxBodyBytes int = 65536

@description('Further app settings as {"NAME": "value"}; the only way to keep a setting across redeploys (hand edits are replaced).')
param additionalAppSettings object = {}

@description('Tags for every resource.')
param tags object = {
  app: 'greenlight'
}

var baseName = '${namePrefix}-${env}'
var suffix = take(uniqueString(resourceGroup().id, namePrefix, env), 6)
var compactPrefix = take(toLower(replace(namePrefix, '-', '')), 10)
var allTags = union(tags, {
  environment: env
})

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    location: location
    baseName: baseName
    tags: allTags
  }
}

module archive 'modules/archive.bicep' = {
  name: 'archive'
  params: {
    location: location
    name: 'st${compactPrefix}${env}a${suffix}'
    retentionDays: logArchiveDays
    tags: allTags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    baseName: baseName
    appPrincipalId: identity.outputs.appPrincipalId
    dailyQuotaGb: logDailyCapGb
    retentionDays: logRetentionDays
    archiveDays: logArchiveDays
    archiveStorageAccountId: archive.outputs.id
    tags: allTags
  }
}

module hostStorage 'modules/storage-host.bicep' = {
  name: 'storage-host'
  params: {
    location: location
    name: 'st${compactPrefix}${env}h${suffix}'
    appPrincipalId: identity.outputs.appPrincipalId
    tags: allTags
  }
}

module dataStorage 'modules/storage-data.bicep' = {
  name: 'storage-data'
  params: {
    location: location
    name: 'st${compactPrefix}${env}d${suffix}'
    appPrincipalId: identity.outputs.appPrincipalId
    stagingRetentionDays: stagingRetentionDays
    tags: allTags
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    name: 'kv${compactPrefix}${env}${suffix}'
    appPrincipalId: identity.outputs.appPrincipalId
    opsGroupObjectId: opsGroupObjectId
    allowPublicAccess: keyVaultAllowPublicAccess
    tags: allTags
  }
}

module dts 'modules/dts.bicep' = if (useDurableTaskScheduler) {
  name: 'dts'
  params: {
    location: location
    name: 'dts-${baseName}-${suffix}'
    appPrincipalId: identity.outputs.appPrincipalId
    appClientId: identity.outputs.appClientId
    ipAllowlist: schedulerAllowedIpRanges
    tags: allTags
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    location: location
    name: 'func-${baseName}-${suffix}'
    planName: 'plan-${baseName}'
    appIdentityId: identity.outputs.appIdentityId
    appClientId: identity.outputs.appClientId
    botIdentityId: identity.outputs.botIdentityId
    botClientId: identity.outputs.botClientId
    hostStorageAccountName: hostStorage.outputs.name
    hostBlobEndpoint: hostStorage.outputs.blobEndpoint
    packageContainerName: hostStorage.outputs.packageContainerName
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    dataTableEndpoint: dataStorage.outputs.tableEndpoint
    dataBlobEndpoint: dataStorage.outputs.blobEndpoint
    apiAudience: apiAudience
    apiClientId: apiClientId
    requesterGroupIds: requesterGroupIds
    approverGroupIds: approverGroupIds
    adminGroupIds: adminGroupIds
    // With the scheduler there are no storage queues to poll, so no instance has to stay warm for them.
    alwaysReadyDurable: useDurableTaskScheduler ? 0 : 1
    alwaysReadyHttp: alwaysReadyHttp
    maximumInstanceCount: maximumInstanceCount
    approverOids: approverOids
    approverGroupCacheSeconds: approverGroupCacheSeconds
    botAllowedTenants: botAllowedTenants
    wingetInstallerHosts: wingetInstallerHosts
    wingetRefreshMinutes: wingetRefreshMinutes
    wingetMaxAgeDays: wingetMaxAgeDays
    graphMaxAttempts: graphMaxAttempts
    maxBodyBytes: maxBodyBytes
    additionalAppSettings: additionalAppSettings
    extraAppSettings: useDurableTaskScheduler ? [
      {
        name: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
        value: dts.outputs.connectionString
      }
    ] : []
    tags: allTags
  }
}

module bot 'modules/bot.bicep' = {
  name: 'bot'
  params: {
    name: 'bot-${baseName}-${suffix}'
    endpoint: 'https://${functionApp.outputs.defaultHostName}/api/messages'
    botClientId: identity.outputs.botClientId
    botIdentityId: identity.outputs.botIdentityId
    tags: allTags
  }
}

module diagnostics 'modules/diagnostics.bicep' = {
  name: 'diagnostics'
  params: {
    keyVaultName: keyVault.outputs.name
    dataStorageAccountName: dataStorage.outputs.name
    functionAppName: functionApp.outputs.name
    workspaceId: monitoring.outputs.workspaceId
    archiveStorageAccountId: archive.outputs.id
  }
}

module activityLog 'modules/activity-log.bicep' = if (exportActivityLog) {
  name: 'activity-log-${baseName}'
  scope: subscription()
  params: {
    name: 'greenlight-${baseName}-${suffix}'
    workspaceId: monitoring.outputs.workspaceId
    archiveStorageAccountId: archive.outputs.id
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    baseName: baseName
    workspaceId: monitoring.outputs.workspaceId
    alertEmail: alertEmail
    tags: allTags
  }
}

output functionAppName string = functionApp.outputs.name
output functionAppHostName string = functionApp.outputs.defaultHostName
@description('Object id of the app identity (Azure RBAC).')
output appPrincipalId string = identity.outputs.appPrincipalId
output appClientId string = identity.outputs.appClientId
@description('Object id of the bot identity: pass it to infra/scripts/grant-graph-roles.sh.')
output botPrincipalId string = identity.outputs.botPrincipalId
@description('Client id of the bot identity: the botId / webApplicationInfo.id of the Teams app manifest.')
output botClientId string = identity.outputs.botClientId
output botName string = bot.outputs.name
output keyVaultUri string = keyVault.outputs.uri
output dataStorageAccountName string = dataStorage.outputs.name
@description('Which host.json the code package needs: make package DURABLE_BACKEND=<this>.')
output durableBackend string = useDurableTaskScheduler ? 'dts' : 'storage'
output archiveStorageAccountName string = archive.outputs.name
