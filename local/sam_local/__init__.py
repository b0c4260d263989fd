"""The local stack for `sam local` (README "With Docker: sam local"; docs/architecture.md).

`make local-stack` (`python -m local.sam_local`) runs moto server, with the resources of template.yaml,
and both emulators in one process until Ctrl-C, and writes into .sam-local/:

* env.json -- `sam local ... --env-vars`: for each function (by logical id) every variable it reads,
  resolved to the local resources; URLs the function calls name the host the containers reach this
  machine by (host.docker.internal); fake credentials, so no real AWS account is ever used;
* template.json -- template.yaml for `sam build` and `sam local` only: SAM CLI gives a function only the
  variables its template declares, so this one declares the local ones (local/sam_local/environment.py);
* stack.json -- where the servers are, for `python -m local.sam_local.sign` (signs an event file with the
  stack's keys) and `python -m local.sam_local.call` (one signed request to `sam local start-api`).

Modules: environment.py (env.json and the template, from the template and qbosync.config), stack.py
(the servers), events.py (the sample events and the handlers' input models), sign.py, call.py.
"""
