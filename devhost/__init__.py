"""devhost: a local stand-in for the Azure Functions host.

It serves any FunctionApp / DFApp over HTTP and (see `devhost.durable`) runs durable orchestrations through
the real azure-functions-durable SDK. Production code never imports this package.
"""
