from octolint.cli import main

main()
