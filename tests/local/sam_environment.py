"""Run with SAM CLI's interpreter (.venv-sam/bin/python): print, as JSON, the environment `sam local invoke`
would give each function of TEMPLATE with --env-vars ENV_JSON, computed by SAM CLI's own code (its
function provider and LocalLambdaRunner's environment), so nothing but Docker is left out.

    .venv-sam/bin/python sam_environment.py TEMPLATE ENV_JSON
"""

from __future__ import annotations

import json
import sys

# SAM CLI lives in .venv-sam only (its own pins), out of mypy's sight.
from samcli.commands.local.lib.local_lambda import LocalLambdaRunner  # type: ignore[import-not-found]
from samcli.lib.providers.sam_function_provider import SamFunctionProvider  # type: ignore[import-not-found]
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider  # type: ignore[import-not-found]


def main(template: str, env_json: str) -> int:
    stacks, _ = SamLocalStackProvider.get_stacks(template)
    provider = SamFunctionProvider(stacks)
    with open(env_json, encoding="utf-8") as file:
        values = json.load(file)
    runner = LocalLambdaRunner(
        local_runtime=None,  # only the environment is asked for
        function_provider=provider,
        cwd=".",
        real_path=".",
        env_vars_values=values,
    )
    environments = {
        function.name: {"environment": runner._make_env_vars(function).resolve(), "handler": function.handler}
        for function in provider.get_all()
    }
    print(json.dumps(environments))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
