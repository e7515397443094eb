"""`python -m reportcycle.cli`, as the tests run the command in a real process."""

from reportcycle.cli.app import app

app()
