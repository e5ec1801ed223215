"""The error a build reports to its user: one line naming the option, file or variable to fix."""


class BuildInfoError(ValueError):
    """Bad input the user can fix: a build hook option, a lock file, an environment variable.

    The hook turns it into one line on the build's output and a failed build, with no traceback.
    """
