"""The ``kontor`` command: the operator's interface to a node.

Each subcommand is a small function taking the parsed arguments and returning an exit
code, registered in ``node.cli_registry`` by the command modules imported below. Errors
the operator can fix print one line saying what is wrong and what to do, and exit 2;
they never print a traceback.
"""

from __future__ import annotations

import argparse
import errno
from pathlib import Path

from node import __version__
from node.cli_registry import COMMANDS, GROUPS, NO_CONFIG, UsageError, err
from node.errors import ConfigError, KontorError
from node.nodekey import KeyFileError
from node.services.setup import NotInitialised

# The command modules register their subcommands on import; their order is the help's.
# isort: off
from node import cli_node  # noqa: F401
from node import cli_accounts  # noqa: F401
from node import cli_business  # noqa: F401
from node import cli_shop  # noqa: F401
from node import cli_link  # noqa: F401
from node import cli_chat  # noqa: F401
from node import cli_federation  # noqa: F401
# isort: on


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kontor", description="Run and operate a Kontor messaging node.")
    parser.add_argument("--version", action="version", version=f"kontor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    for name, (_, add_args, help_text) in COMMANDS.items():
        group, _, leaf = name.partition(" ")
        if leaf:
            if group not in groups:
                gp = sub.add_parser(group, help=GROUPS.get(group, ""))
                groups[group] = gp.add_subparsers(dest="subcommand", metavar="SUBCOMMAND",
                                                  required=True)
            p = groups[group].add_parser(leaf, help=help_text, description=help_text)
        else:
            p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(command_name=name)
        if name not in NO_CONFIG:
            p.add_argument("-c", "--config", type=Path, default=None,
                           help="the node's INI file (default: $KONTOR_CONFIG, else "
                                "./node.ini, else /etc/kontor/node.ini)")
        add_args(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kontor`` console script."""
    ns = build_parser().parse_args(argv)
    fn = COMMANDS[ns.command_name][0]
    try:
        return fn(ns)
    except ConfigError as exc:
        err(f"{exc}\n  fix the file, then check it with: kontor check-config -c FILE")
        return 2
    except (KeyFileError, UsageError, NotInitialised) as exc:
        err(str(exc))
        return 2
    except KontorError as exc:  # the service refused: bad input (2) or a node problem (1)
        err(f"{exc.message} ({exc.code})")
        return 2 if exc.status < 500 else 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # a port in use, a folder that cannot be made, a missing file
        err(_explain(exc, ns))
        return 2


def _explain(exc: OSError, ns: argparse.Namespace) -> str:
    """One line saying what the operating system refused and what to do about it."""
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EADDRINUSE:
        return (f"cannot listen: {reason}; stop the other program on that port or set "
                "[http] listen_port in the config")
    if exc.errno == errno.EADDRNOTAVAIL:
        return (f"cannot listen: {reason}; [http] listen_host must be an address of this "
                "machine (127.0.0.1 or 0.0.0.0, for example)")
    return (f"{reason}{where}; check the paths and permissions in the config "
            f"(kontor check-config -c FILE)")
