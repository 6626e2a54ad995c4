from datamarket.cli import main

raise SystemExit(main())
