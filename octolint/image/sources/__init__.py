"""Where images come from: a registry, a Docker engine, or an archive on disk."""
