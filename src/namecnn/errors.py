"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class NameCNNError(Exception):
    """Bad input or configuration; the message names the file, line, key or character."""


def run(main):
    """Run a command's main(): a NameCNNError becomes one line on stderr and exit status 1."""
    import sys

    try:
        return main()
    except NameCNNError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
