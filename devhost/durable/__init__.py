"""A local stand-in for the Durable Functions extension, driving the real azure-functions-durable SDK.

Layout (one job per module):
- `clock`: real and virtual clocks (tests jump hours in milliseconds);
- `history`: DTFx history events as the extension serialises them, timestamps, the status API's history view;
- `actions`: reading the SDK's action list (leaves, ids, signatures for the non-determinism check);
- `retry`: DTFx RetryInterceptor arithmetic;
- `state`: the persisted per-instance record;
- `engine`: one episode: feed the SDK its context JSON, turn new actions into history events and effects;
- `store`: Table Storage persistence (instance row, one row per episode, inbox messages) with atomic commits;
- `runtime`: the scheduler: per-instance processors and inboxes, sub-orchestrations, recovery after a crash;
- `activities` / `timers`: the bounded activity worker pool and the durable timer service;
- `http_api` / `client_binding`: the extension's management endpoints and the client binding JSON;
- `sdk_timestamps`: a memo in front of the SDK's history timestamp parser, installed when the engine is built.

That last one is a dev-host optimisation, not a change of the SDK: every replay makes the SDK parse every history
timestamp again with dateutil (a quarter to a third of devhost's CPU); the memo returns exactly what dateutil returns
(the same `datetime`, tzinfo included) for complete timestamps and sends anything else to dateutil as before.
Production code never imports devhost, so the app on Azure runs the plain SDK.
"""
