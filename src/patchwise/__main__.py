from patchwise.cli.app import main

main()
