"""The one exception type the CLI turns into a one-line message and a non-zero exit."""
import sys


class NameCNNError(Exception):
    """Bad input or configuration; the message names the file, line, key or character."""


def guard(main):
    """Run a command's main(): a NameCNNError, or an OSError (a full disk, a read-only or missing path), becomes
    one line on stderr and exit status 1; Ctrl-C exit status 130."""
    try:
        return main()
    except NameCNNError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
