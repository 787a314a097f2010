// Azure Bot registration whose identity is the bot UAMI (msaAppType UserAssignedMSI: no secret anywhere) and its
// Teams channel. New multi-tenant bots are deprecated; this one is bound to the deploying tenant.

@description('Bot resource name (globally unique).')
param name string

@description('Display name shown in Teams.')
param displayName string = 'Greenlight'

@description('Messaging endpoint, https://<function host>/api/messages.')
param endpoint string

@description('Client id of the bot identity.')
param botClientId string

@description('Resource id of the bot identity.')
param botIdentityId string

@description('F0 is enough: Teams is a standard channel.')
@allowed([
  'F0'
  'S1'
])
param sku string = 'F0'

@description('Tags for every resource.')
param tags object = {}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: name
  location: 'global'
  tags: tags
  kind: 'azurebot'
  sku: {
    name: sku
  }
  properties: {
    displayName: displayName
    endpoint: endpoint
    msaAppType: 'UserAssignedMSI'
    msaAppId: botClientId
    msaAppMSIResourceId: botIdentityId
    msaAppTenantId: tenant().tenantId
    disableLocalAuth: true
  }
}

resource teams 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
      enableCalling: false
    }
  }
}

output name string = bot.name
