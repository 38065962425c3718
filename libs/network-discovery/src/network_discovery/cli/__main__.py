from network_discovery.cli.main import main

main()
