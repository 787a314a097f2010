// Flex Consumption (FC1) plan + the Python 3.11 function app (docs/reference/azure-deployment.md §2.3).
// Both identities are attached: the app identity for Azure RBAC (host storage, data, Key Vault, telemetry), the
// bot identity because botbuilder's UserAssignedMSI credentials and the Graph client get their tokens from it.
// App settings are inline in siteConfig.appSettings (a sites/config child would trip checkov's site-config checks).
// Every deployment replaces the whole list: a setting edited by hand in the portal is gone after the next deploy.
// That is deliberate (the parameter file is the reviewed record of the app's configuration); settings a deployer
// chooses are parameters, and anything else goes into `additionalAppSettings` (docs/DEPLOY.md §4).
// Settings deprecated on Flex (FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE, ...)
// are deliberately absent: runtime and version live in functionAppConfig.runtime.

@description('Azure region.')
param location string = resourceGroup().location

@description('Function app name (globally unique: <name>.azurewebsites.net).')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Resource id of the app identity.')
param appIdentityId string

@description('Client id of the app identity.')
param appClientId string

@description('Resource id of the bot identity.')
param botIdentityId string

@description('Client id of the bot identity (the bot\'s Microsoft App ID).')
param botClientId string

@description('Name of the host storage account (AzureWebJobsStorage__accountName).')
param hostStorageAccountName string

@description('Blob endpoint of the host storage account, with trailing slash.')
param hostBlobEndpoint string

@description('Container in host storage that holds the deployment package.')
param packageContainerName string = 'app-package'

@description('Application Insights connection string.')
param appInsightsConnectionString string

@description('Table endpoint of the data storage account.')
param dataTableEndpoint string

@description('Blob endpoint of the data storage account.')
param dataBlobEndpoint string

@description('Application ID URI of the HTTP API\'s Entra app registration (GREENLIGHT_API_AUDIENCE).')
param apiAudience string

@description('Client id of the HTTP API\'s app registration; v2 tokens carry it as the audience. Empty if not used.')
param apiClientId string = ''

@description('Comma-separated object ids of Entra groups whose members may request software.')
param requesterGroupIds string = ''

@description('Comma-separated object ids of Entra groups whose members may approve.')
param approverGroupIds string = ''

@description('Comma-separated object ids of Entra groups whose members administer Greenlight.')
param adminGroupIds string = ''

@description('Always-ready instances for the durable group (1 with the Azure Storage provider; 0 with the Durable Task Scheduler).')
@minValue(0)
@maxValue(2)
param alwaysReadyDurable int = 1

@description('Always-ready instances for the http group (1 keeps Teams bot replies under 15 s after idle; costs about one instance).')
@minValue(0)
@maxValue(2)
param alwaysReadyHttp int = 0

@description('Cap on scale-out, for cost and blast radius.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 20

@description('Extra app settings ({name, value} objects), for example the Durable Task Scheduler connection.')
param extraAppSettings array = []

@description('Object ids of users who may approve besides the approver groups (comma-separated).')
param approverOids string = ''

@description('Seconds the bot caches the approver groups\' members.')
@minValue(10)
@maxValue(86400)
param approverGroupCacheSeconds int = 300

@description('Tenants whose Teams users may talk to the bot (comma-separated; empty: the deploying tenant only).')
param botAllowedTenants string = ''

@description('Allowlist of installer download hosts (comma-separated; empty: any https host the manifest names).')
param wingetInstallerHosts string = ''

@description('Minutes between WinGet source index refreshes.')
@minValue(1)
@maxValue(1440)
param wingetRefreshMinutes int = 15

@description('Age in days after which a WinGet source index is refused as stale (0: no limit).')
@minValue(0)
@maxValue(3650)
param wingetMaxAgeDays int = 30

@description('Attempts per Microsoft Graph call (retries on 429/503/504).')
@minValue(1)
@maxValue(20)
param graphMaxAttempts int = 8

@description('Largest accepted HTTP API request body in bytes.')
@minValue(1024)
param maxBodyBytes int = 65536

@description('Further app settings as {"NAME": "value"} (Key Vault references welcome); kept across redeploys because they live in the parameter file.')
param additionalAppSettings object = {}

@description('Tags for every resource.')
param tags object = {}

var alwaysReadyDurableGroup = alwaysReadyDurable > 0 ? [
  {
    name: 'durable'
    instanceCount: alwaysReadyDurable
  }
] : []
var alwaysReadyHttpGroup = alwaysReadyHttp > 0 ? [
  {
    name: 'http'
    instanceCount: alwaysReadyHttp
  }
] : []

var baseAppSettings = [
  // Host storage through the app identity (no keys).
  {
    name: 'AzureWebJobsStorage__accountName'
    value: hostStorageAccountName
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: appClientId
  }
  // Telemetry with Entra auth (the component has local auth disabled).
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: appInsightsConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${appClientId};Authorization=AAD'
  }
  // DefaultAzureCredential in app code picks the app identity.
  {
    name: 'AZURE_CLIENT_ID'
    value: appClientId
  }
  // Production mode: every local shortcut off.
  {
    name: 'GREENLIGHT_ENV'
    value: 'azure'
  }
  // Greenlight data (greenlight/storage/account.py: identity-based access when the table URL is set).
  {
    name: 'GREENLIGHT_STORAGE_TABLE_URL'
    value: dataTableEndpoint
  }
  {
    name: 'GREENLIGHT_STORAGE_BLOB_URL'
    value: dataBlobEndpoint
  }
  // HTTP API: Entra bearer tokens of this tenant for this audience; roles from groups (or app roles).
  {
    name: 'GREENLIGHT_TENANT_ID'
    value: tenant().tenantId
  }
  {
    name: 'GREENLIGHT_API_AUDIENCE'
    value: apiAudience
  }
  {
    name: 'GREENLIGHT_API_CLIENT_ID'
    value: apiClientId
  }
  {
    name: 'GREENLIGHT_REQUESTER_GROUP_IDS'
    value: requesterGroupIds
  }
  {
    name: 'GREENLIGHT_APPROVER_GROUP_IDS'
    value: approverGroupIds
  }
  {
    name: 'GREENLIGHT_ADMIN_GROUP_IDS'
    value: adminGroupIds
  }
  // Microsoft Graph with the bot identity, which holds the app roles granted by grant-graph-roles.sh.
  {
    name: 'GREENLIGHT_GRAPH_AUTH'
    value: 'managed_identity'
  }
  {
    name: 'GREENLIGHT_GRAPH_CLIENT_ID'
    value: botClientId
  }
  // Bot Framework authentication (botbuilder ConfigurationBotFrameworkAuthentication, UserAssignedMSI).
  {
    name: 'MicrosoftAppType'
    value: 'UserAssignedMSI'
  }
  {
    name: 'MicrosoftAppId'
    value: botClientId
  }
  {
    name: 'MicrosoftAppTenantId'
    value: tenant().tenantId
  }
]

// Settings a deployer chooses (main.bicep parameters). Kept apart from baseAppSettings so that a setting added
// there and one added here merge without conflict.
var deployerAppSettings = [
  {
    name: 'GREENLIGHT_APPROVER_OIDS'
    value: approverOids
  }
  {
    name: 'GREENLIGHT_APPROVER_GROUP_CACHE_SECONDS'
    value: string(approverGroupCacheSeconds)
  }
  {
    name: 'GREENLIGHT_BOT_ALLOWED_TENANTS'
    value: botAllowedTenants
  }
  {
    name: 'GREENLIGHT_WINGET_INSTALLER_HOSTS'
    value: wingetInstallerHosts
  }
  {
    name: 'GREENLIGHT_WINGET_REFRESH_MINUTES'
    value: string(wingetRefreshMinutes)
  }
  {
    name: 'GREENLIGHT_WINGET_MAX_AGE_DAYS'
    value: string(wingetMaxAgeDays)
  }
  {
    name: 'GREENLIGHT_GRAPH_MAX_ATTEMPTS'
    value: string(graphMaxAttempts)
  }
  {
    name: 'GREENLIGHT_MAX_BODY_BYTES'
    value: string(maxBodyBytes)
  }
]
var additionalAppSettingsList = [for setting in items(additionalAppSettings): {
  name: setting.key
  value: setting.value
}]

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy on Flex needs 2+ always-ready instances per group, doubling the baseline cost of an internal tool
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: the Bot Framework Connector must reach /api/messages over the internet; auth = Bot Framework JWT and Entra bearer tokens
  // checkov:skip=CKV_AZURE_17: the Bot Framework Connector presents no client certificate; requests are authenticated by JWT
  // checkov:skip=CKV_AZURE_78: ftpsState is listed as not supported on Flex Consumption; there is no FTP endpoint to disable
  // checkov:skip=CKV_AZURE_212: numberOfWorkers does not apply to Flex; scale comes from functionAppConfig.scaleAndConcurrency
  // checkov:skip=CKV_AZURE_213: App Service health check is not meaningful with Flex per-function scaling
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${appIdentityId}': {}
      '${botIdentityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    // Key Vault references in app settings (@Microsoft.KeyVault(...)) resolve with the app identity, which holds
    // Key Vault Secrets User; greenlight.keyvault resolves kv:// references itself with the same identity.
    keyVaultReferenceIdentity: appIdentityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
      remoteDebuggingEnabled: false
      appSettings: concat(baseAppSettings, deployerAppSettings, extraAppSettings, additionalAppSettingsList)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostBlobEndpoint}${packageContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: appIdentityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: 2048
        alwaysReady: concat(alwaysReadyDurableGroup, alwaysReadyHttpGroup)
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Publishing with a user name and password (SCM/Kudu and FTP) is off: deployments use Entra identities only
// (`func azure functionapp publish` / `az functionapp deployment` with az login, or OIDC from CI).
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

output id string = site.id
output name string = site.name
output defaultHostName string = site.properties.defaultHostName
