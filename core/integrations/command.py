"""`foureyes exec`: a shell command as a gated action (CI jobs, runbooks).

The proposal's params are exactly what will run:

    {"argv": [...], "executable": "/usr/bin/terraform", "cwd": "/srv/infra",
     "env": {"TF_WORKSPACE": "prod"}, "clean_env": false}

`executable` is argv[0] resolved at proposal time, so the approved bytes name the program
and a PATH change between approval and execution cannot swap it. On approval the command
runs once from the *signed* values: that argv, that cwd, those variables. Variables not
named with --env are inherited unsigned (or dropped with --clean-env), except the gate's
own FOUREYES_*_TOKEN variables, which a gated command never sees. Output is passed through
and hashed; the receipt's result is {"exit_status", "stdout_sha256", "stderr_sha256"} and
its outcome "succeeded" only for exit status 0.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
from typing import IO, Any

from core.errors import InvalidData
from core.gate.sdk import Executed

HIDDEN_ENV = ("FOUREYES_AGENT_TOKEN", "FOUREYES_GATE_TOKEN")
CHUNK = 65536

# Exit statuses of `foureyes exec` when the command did not run (sysexits.h meanings);
# otherwise it exits with the command's own status.
EXIT_PENDING = 75      # EX_TEMPFAIL: still waiting for reviewers; run the same command again
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: queue unreachable, command not found
EXIT_REFUSED = 77      # EX_NOPERM: rejected, expired, denied, no quorum, already executed
EXIT_CONFIG = 78       # EX_CONFIG: the gate configuration or the summary is unusable


def command_params(argv: list[str], *, cwd: str, env_names: list[str],
                   environ: dict[str, str], clean_env: bool) -> dict[str, Any]:
    if not argv:
        raise InvalidData("config", "no command given after --")
    program = argv[0]
    if "/" in program:
        executable = os.path.abspath(os.path.join(cwd, program))
        if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
            executable = None
    else:
        executable = shutil.which(program, path=environ.get("PATH"))
    if executable is None:
        raise InvalidData("upstream", f"command not found: {program}; nothing was proposed")
    env = {}
    for name in env_names:
        if name in HIDDEN_ENV:
            raise InvalidData("config", f"{name} is the gate's secret; it is never passed on")
        if name not in environ:
            raise InvalidData("config", f"--env {name}: the variable is not set")
        env[name] = environ[name]
    return {"argv": list(argv), "executable": os.path.realpath(executable), "cwd": cwd,
            "env": env, "clean_env": clean_env}


def _pump(src: IO[bytes], dst: IO[bytes], digest: Any) -> None:
    while chunk := src.read1(CHUNK) if hasattr(src, "read1") else src.read(CHUNK):
        digest.update(chunk)
        dst.write(chunk)
        dst.flush()


def run_signed(signed: dict[str, Any], *, stdout: IO[bytes] | None = None,
               stderr: IO[bytes] | None = None) -> Executed:
    """Run the approved command once from the signed values, passing its output through."""
    base = {} if signed["clean_env"] else {k: v for k, v in os.environ.items()
                                          if k not in HIDDEN_ENV}
    env = {**base, **signed["env"]}
    out, err = stdout or sys.stdout.buffer, stderr or sys.stderr.buffer
    digests = hashlib.sha256(), hashlib.sha256()
    try:
        proc = subprocess.Popen(signed["argv"], executable=signed["executable"],
                                cwd=signed["cwd"], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as e:
        text = f"cannot start {signed['executable']}: {e.strerror}"
        return Executed(127, succeeded=False,
                        result={"exit_status": 127, "error": text[:200]})
    pumps = [threading.Thread(target=_pump, args=(proc.stdout, out, digests[0])),
             threading.Thread(target=_pump, args=(proc.stderr, err, digests[1]))]
    for t in pumps:
        t.start()
    for t in pumps:
        t.join()
    status = proc.wait()
    return Executed(status, succeeded=status == 0,
                    result={"exit_status": status, "stdout_sha256": digests[0].hexdigest(),
                            "stderr_sha256": digests[1].hexdigest()})
