from ihanoi.cli import main

raise SystemExit(main())
