"""农货通: the WeChat side (server, protocol, config, CLI, outbound API)."""
