from ocscheck.cli import main

main()
