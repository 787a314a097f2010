"""devhost: a local stand-in for the Azure Functions host.

It serves any FunctionApp / DFApp over HTTP and (see `devhost.durable`) runs durable orchestrations through
the real azure-functions-durable SDK. Production code never imports this package. Its one intervention in the
SDK is a speed-up that leaves results unchanged: the SDK's history timestamp parser is memoized while devhost
serves (see `devhost.durable.sdk_timestamps`).
"""
