"""Environment variables that the command line names in its help.

They live apart from the workspace that reads them so that `scorecard --help` can show
them without importing the workspace's models.
"""

TOKEN_ENV = "SCORECARD_API_TOKEN"
