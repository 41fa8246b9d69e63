from flowtime.cli.main import main

main()
