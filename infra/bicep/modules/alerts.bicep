// Log-query alerts on what the code logs (the exact messages are named in greenlight/telemetry.py and
// docs/DEPLOY.md §9; tests/unit/infra/test_operations.py checks each query matches what the code writes).
// With an e-mail address an action group notifies it; without one the alerts still fire in the portal.

@description('Azure region of the rules (the workspace\'s).')
param location string = resourceGroup().location

@description('Base name, for example greenlight-prod.')
param baseName string

@description('Log Analytics workspace resource id the queries run on.')
param workspaceId string

@description('E-mail address for alert notifications; empty for none.')
param alertEmail string = ''

@description('Tags for every resource.')
param tags object = {}

// name, severity (0 critical .. 4 verbose), threshold (alert when the count is above it in the window), query.
var alertRules = [
  {
    name: 'publication-failed'
    description: 'A publication to Intune failed (orchestration log line or a failed publish function).'
    severity: 2
    threshold: 0
    query: 'union (AppTraces | where Message has "greenlight publication failed"), (AppRequests | where Success == false and Name startswith "publish")'
  }
  {
    name: 'graph-throttled'
    description: 'Microsoft Graph answered 429 more than 20 times in 15 minutes (calls are retried; sustained throttling delays publications).'
    severity: 3
    threshold: 20
    query: 'AppTraces | where Message has "graph " and Message has "answered 429"'
  }
  {
    name: 'bot-delivery-failed'
    description: 'An approval card or status card could not be delivered in Teams.'
    severity: 2
    threshold: 0
    query: 'AppTraces | where Message has_any ("not delivered to", "no approver could be reached", "greenlight bot delivery failed")'
  }
  {
    name: 'audit-modified'
    description: 'An Audit table entity was updated or deleted (the app only ever inserts).'
    severity: 1
    threshold: 0
    query: 'StorageTableLogs | where Uri has "/Audit" and OperationName in ("UpdateEntity", "MergeEntity", "DeleteEntity", "InsertOrReplaceEntity", "InsertOrMergeEntity", "DeleteTable")'
  }
  {
    name: 'trusted-group-unprotected'
    description: 'A configured approver or admin group is not role-assignable, so the app\'s own Graph permission could change its membership.'
    severity: 2
    threshold: 0
    query: 'AppTraces | where Message has "trusted group is not role-assignable"'
  }
]

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-${baseName}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take('greenlight', 12)
    enabled: true
    emailReceivers: [
      {
        name: 'operators'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

resource rules 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = [
  for rule in alertRules: {
    name: 'alert-${baseName}-${rule.name}'
    location: location
    tags: tags
    properties: {
      displayName: 'Greenlight ${rule.name}'
      description: rule.description
      severity: rule.severity
      enabled: true
      evaluationFrequency: 'PT5M'
      windowSize: 'PT15M'
      scopes: [
        workspaceId
      ]
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: rule.threshold
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: false
      actions: {
        actionGroups: empty(alertEmail) ? [] : [
          actionGroup.id
        ]
      }
    }
  }
]
