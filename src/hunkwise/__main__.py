from hunkwise.cli.app import main

main()
