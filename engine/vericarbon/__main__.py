from vericarbon.cli import main

raise SystemExit(main())
