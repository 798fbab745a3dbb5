"""Reading Dockerfiles: the parser, variable expansion and the stage graph."""
