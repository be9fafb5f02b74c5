from authdoctor.cli import main

raise SystemExit(main())
