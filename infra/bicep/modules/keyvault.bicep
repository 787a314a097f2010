// Key Vault in RBAC mode for the few secrets an operator may add later (Greenlight itself authenticates everywhere
// with managed identities, so the deployment creates no secrets). The app reads; humans in the ops group write.

@description('Azure region.')
param location string = resourceGroup().location

@description('Vault name (3-24 characters, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Principal (object) id of the app identity (Key Vault Secrets User).')
param appPrincipalId string

@description('Object id of the Entra group of operators who manage secrets (Key Vault Secrets Officer); empty for none.')
param opsGroupObjectId string = ''

@description('Open the vault\'s firewall (defaultAction Allow). Needed only once an app setting references a secret here: without VNet integration the Flex app has no fixed address to allow. Closed by default because the deployment stores no secret.')
param allowPublicAccess bool = false

@description('Tags for every resource.')
param tags object = {}

var secretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var secretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: defaultAction is Deny unless the deployer sets allowPublicAccess; checkov cannot evaluate that condition
  // checkov:skip=CKV_AZURE_189: no VNet in v1; the Flex app reaches the vault over its public endpoint with Entra auth
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: allowPublicAccess ? 'Allow' : 'Deny'
    }
  }
}

resource appSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, secretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource opsSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(opsGroupObjectId)) {
  name: guid(vault.id, opsGroupObjectId, secretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsOfficer)
    principalId: opsGroupObjectId
    principalType: 'Group'
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
