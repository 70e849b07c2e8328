"""`python -m traceviz` runs the command line."""

from traceviz.cli import main

main()
