// Two user-assigned managed identities, created before everything that needs them (docs/reference/azure-deployment.md §2.6):
//   app: Azure RBAC on host storage, data storage, Key Vault, App Insights (and the Durable Task Scheduler if used);
//   bot: the bot's Microsoft App ID (msaAppType UserAssignedMSI) and the holder of the Graph application roles,
//        which an admin grants once with infra/scripts/grant-graph-roles.sh. Both survive a rebuild of the app.

@description('Azure region of the identities.')
param location string = resourceGroup().location

@description('Base name, for example greenlight-prod.')
param baseName string

@description('Tags for every resource.')
param tags object = {}

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${baseName}-app'
  location: location
  tags: tags
}

resource botIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${baseName}-bot'
  location: location
  tags: tags
}

output appIdentityId string = appIdentity.id
output appPrincipalId string = appIdentity.properties.principalId
output appClientId string = appIdentity.properties.clientId
output botIdentityId string = botIdentity.id
output botPrincipalId string = botIdentity.properties.principalId
output botClientId string = botIdentity.properties.clientId
