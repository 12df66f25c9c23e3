"""The `ecs-tasks` command line: queries and one poller tick from a terminal."""
