"""Tools from MCP servers: configuration, connections kept alive, calls as registry tools."""
