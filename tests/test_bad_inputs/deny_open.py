"""Run a stage script with one path unreadable, as a file without read permission is for
any user but root (the tests run as root, for whom chmod 000 changes nothing).

    python deny_open.py <path> <stage script> [arguments...]

Every Python-level open of <path> raises the PermissionError the system would raise.
"""
import builtins
import io
import os
import runpy
import sys

denied = os.path.abspath(sys.argv[1])
real_open = io.open


def guarded_open(file, *args, **kwargs):
    if isinstance(file, (str, bytes, os.PathLike)) and \
            os.path.abspath(os.fsdecode(file)) == denied:
        raise PermissionError(13, "Permission denied", os.fsdecode(file))
    return real_open(file, *args, **kwargs)


builtins.open = io.open = guarded_open
script = sys.argv[2]
sys.argv = sys.argv[2:]
sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
runpy.run_path(script, run_name="__main__")
