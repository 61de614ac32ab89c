"""The run store: every audit recorded in a database (``db``), its tables and migrations
(``schema``), export and import of run bundles (``bundle``) and the artifact writer's liveness
lock (``lock``)."""
