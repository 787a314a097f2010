// Optional Durable Task Scheduler backend (main.bicep: useDurableTaskScheduler). Host-side only: the Python code is
// unchanged, but host.json must then use storageProvider type "azureManaged" with
// connectionStringName DURABLE_TASK_SCHEDULER_CONNECTION_STRING (docs/reference/azure-deployment.md §4.3).
// Switching providers starts an empty task hub: drain in-flight approvals first.

@description('Azure region.')
param location string = resourceGroup().location

@description('Scheduler name.')
param name string

@description('Task hub name: letters and digits, starting with a letter.')
param taskHubName string = 'GreenlightHub'

@description('Principal (object) id of the app identity (Durable Task Data Contributor).')
param appPrincipalId string

@description('Client id of the app identity, required in the connection string for a user-assigned identity.')
param appClientId string

@description('Source addresses allowed to reach the scheduler. An empty list denies all traffic.')
param ipAllowlist array = [
  '0.0.0.0/0'
]

@description('Tags for every resource.')
param tags object = {}

var durableTaskDataContributor = '0ad04412-c4d5-4796-b79c-f76d14c8d402'

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    ipAllowlist: ipAllowlist
    sku: {
      name: 'Consumption'
    }
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

resource dataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(scheduler.id, appPrincipalId, durableTaskDataContributor)
  scope: scheduler
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Always the endpoint property: the URL carries a generated suffix.
output connectionString string = 'Endpoint=${scheduler.properties.endpoint};Authentication=ManagedIdentity;ClientID=${appClientId}'
output taskHubName string = taskHub.name
