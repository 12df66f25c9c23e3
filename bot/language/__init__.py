"""The `/ecs-tasks` command language: grammar, words, times, text, region names, help text and the codecs of
button values. Pure functions only: nothing here does I/O."""
